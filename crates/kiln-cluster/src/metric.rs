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
