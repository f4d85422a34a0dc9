//! Distances computed as matrix products.

use burn::tensor::Tensor;

/// How two points are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

/// Squared Euclidean distances between every row of `x` and every row of `c`, as
/// `‖x‖² − 2x·cᵀ + ‖c‖²`, clamped at 0 against rounding.
///
/// # Shapes
/// - x: `[n, d]`, x_sq: `[n, 1]`, c: `[k, d]`, c_sq: `[k, 1]`
/// - output: `[n, k]`
pub(crate) fn sq_distances(
    x: Tensor<2>,
    x_sq: Tensor<2>,
    c: Tensor<2>,
    c_sq: Tensor<2>,
) -> Tensor<2> {
    let cross = x.matmul(c.transpose()); // [n, k]
    (x_sq - cross * 2.0 + c_sq.transpose()).clamp_min(0.0)
}
