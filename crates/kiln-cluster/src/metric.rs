//! Distances computed as matrix products.

use burn::tensor::Tensor;

/// How two points are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Metric {
    /// ‖x − y‖ (K-means minimises its square).
    #[default]
    Euclidean,
    /// Cosine distance `1 − x·y / (‖x‖‖y‖)`. K-means under it is spherical K-means.
    Cosine,
}

kiln_core::named_enum!(Metric, "metric", { Euclidean => "euclidean", Cosine => "cosine" });

/// `‖x_i‖²` for each row.
///
/// # Shapes
/// - x: `[n, d]`
/// - output: `[n, 1]`
pub(crate) fn row_sq_norms(x: &Tensor<2>) -> Tensor<2> {
    x.clone().powi_scalar(2).sum_dim(1)
}

/// Rows scaled to unit length (rows must be non-zero).
pub(crate) fn normalize_rows(x: Tensor<2>) -> Tensor<2> {
    let norms = row_sq_norms(&x).sqrt(); // [n, 1]
    x / norms
}

/// Rows `[−2x, ‖x‖², 1]`: their product with [`augment_cols`] of `c` is the matrix of squared
/// distances `‖x‖² − 2x·c + ‖c‖²` in one matrix product, with no elementwise pass.
///
/// # Shapes
/// - x: `[n, d]`
/// - output: `[n, d + 2]`
pub(crate) fn augment_rows(x: &Tensor<2>) -> Tensor<2> {
    let ones = Tensor::<2>::ones([x.dims()[0], 1], &x.device());
    Tensor::cat(vec![x.clone() * -2.0, row_sq_norms(x), ones], 1)
}

/// Columns `[c, 1, ‖c‖²]ᵀ`, the partner of [`augment_rows`].
///
/// # Shapes
/// - c: `[k, d]`, c_sq: `[k, 1]`
/// - output: `[d + 2, k]`
pub(crate) fn augment_cols(c: Tensor<2>, c_sq: Tensor<2>) -> Tensor<2> {
    let ones = Tensor::<2>::ones([c.dims()[0], 1], &c.device());
    Tensor::cat(vec![c, ones, c_sq], 1).transpose()
}

/// Rows (or elements) per reduction. Burn 0.22.1's WGPU reductions (CubeCL 0.11.3) cover only
/// the first 65,532 elements of a longer axis — measured on lavapipe: `sum_dim(0)` of
/// `[100000, 1]` ones gives 65,532, `max_dim(0)` stops at row 65,531, `sum()` of 1,000,000
/// ones gives 262,132 — so every reduction over points runs in slices of this many and adds
/// the partial results (an upstream bug; flex, ndarray and tch are exact either way).
pub(crate) const REDUCE_ROWS: usize = 32_768;

/// The column sums, slice by slice ([`REDUCE_ROWS`]).
///
/// # Shapes
/// - x: `[n, d]`
/// - output: `[1, d]`
pub(crate) fn sum_rows(x: &Tensor<2>) -> Tensor<2> {
    let n = x.dims()[0];
    (0..n.max(1))
        .step_by(REDUCE_ROWS)
        .map(|start| {
            x.clone()
                .narrow(0, start, REDUCE_ROWS.min(n - start))
                .sum_dim(0)
        })
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| x.clone().sum_dim(0))
}

/// The sum of every element, slice by slice ([`REDUCE_ROWS`]).
///
/// # Shapes
/// - x: any
/// - output: `[1]`
pub(crate) fn sum_all<const D: usize>(x: Tensor<D>) -> Tensor<1> {
    let flat: Tensor<1> = x.flatten(0, D - 1);
    let len = flat.dims()[0];
    if len <= REDUCE_ROWS {
        return flat.sum();
    }
    let parts: Vec<Tensor<1>> = (0..len)
        .step_by(REDUCE_ROWS)
        .map(|start| {
            flat.clone()
                .narrow(0, start, REDUCE_ROWS.min(len - start))
                .sum()
        })
        .collect();
    Tensor::cat(parts, 0).sum()
}
