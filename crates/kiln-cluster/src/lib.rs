//! Clustering on Burn tensors: runs on whatever device the data lives on, GPU or CPU.
//!
//! - [`KMeans`]: k-means++ initialisation (greedy, as scikit-learn), Lloyd iterations with
//!   distances as one matrix product per block, empty clusters re-seeded from the farthest
//!   points, `n_init` restarts; spherical K-means under [`Metric::Cosine`].
//! - [`MiniBatchKMeans`]: the same objective learnt batch by batch (`partial_fit`, or
//!   `fit_stream` over an iterator of tensors) for data that does not fit at once.
//! - [`Dbscan`]: neighbourhoods computed in row blocks on the device (memory bounded by
//!   `block_rows × n` floats, never `n × n`), cluster expansion on the host; noise is `None`.
//!
//! ```no_run
//! # fn demo(x: burn::tensor::Tensor<2>) -> Result<(), Box<dyn std::error::Error>> {
//! use kiln_cluster::{KMeans, Metric};
//! let model = KMeans::params(10).max_iter(300).tolerance(1e-4).n_init(3).seed(42).fit(&x)?;
//! println!("inertia {} after {} iterations", model.inertia(), model.n_iter());
//! let labels = model.predict(&x)?;
//! # Ok(()) }
//! ```

pub mod dbscan;
pub mod kmeans;
mod metric;

pub use dbscan::{Dbscan, DbscanError, DbscanParams, DbscanParamsError, FittedDbscan};
pub use kmeans::{
    FittedKMeans, KMeans, KMeansError, KMeansParams, KMeansParamsError, MiniBatchKMeans,
    MiniBatchKMeansModel, MiniBatchKMeansParams,
};
pub use metric::Metric;

use burn::tensor::{Device, Tensor, TensorData};

/// Errors common to every algorithm's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// No points.
    #[error("the input has no points")]
    Empty,
    /// Points with no coordinates.
    #[error("the points have 0 dimensions")]
    ZeroDimensions,
    /// A NaN or infinite coordinate.
    #[error("the input holds NaN or infinite values")]
    NonFinite,
    /// A zero vector, which has no direction under the cosine metric.
    #[error("point {index} is a zero vector, which has no cosine similarity")]
    ZeroVector {
        /// Its row.
        index: usize,
    },
    /// A slice whose length is not `rows × cols`.
    #[error("{len} values do not make {rows} × {cols} points")]
    Shape {
        /// Values given.
        len: usize,
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
    },
}

/// Builds an `[rows, cols]` tensor on `device` from row-major values.
///
/// # Errors
/// [`InputError::Shape`] when `values.len() != rows * cols`.
pub fn tensor_from_slice(
    values: &[f32],
    rows: usize,
    cols: usize,
    device: &Device,
) -> Result<Tensor<2>, InputError> {
    if values.len() != rows * cols {
        return Err(InputError::Shape {
            len: values.len(),
            rows,
            cols,
        });
    }
    Ok(Tensor::from_data(
        TensorData::new(values.to_vec(), [rows, cols]),
        device,
    ))
}

/// Checks an input matrix: not empty, finite, and (for cosine) no zero rows.
fn check_input(x: &Tensor<2>, metric: Metric) -> Result<(), InputError> {
    let [n, d] = x.dims();
    if n == 0 {
        return Err(InputError::Empty);
    }
    if d == 0 {
        return Err(InputError::ZeroDimensions);
    }
    let all_finite = x.clone().is_finite().all().into_scalar::<bool>();
    if !all_finite {
        return Err(InputError::NonFinite);
    }
    if metric == Metric::Cosine {
        let norms = metric::row_sq_norms(x).reshape([n]).into_data();
        if let Some(index) = norms.iter::<f32>().position(|v| v == 0.0) {
            return Err(InputError::ZeroVector { index });
        }
    }
    Ok(())
}

/// Row-major indices pulled to the host.
fn to_indices(t: Tensor<1, burn::tensor::Int>) -> Vec<usize> {
    let data = t.into_data();
    match data.clone().try_into_vec_as::<i64>() {
        Ok(v) => v
            .into_iter()
            .map(|v| usize::try_from(v).unwrap_or(0))
            .collect(),
        Err(_) => data
            .iter::<i64>()
            .map(|v| usize::try_from(v).unwrap_or(0))
            .collect(),
    }
}

/// Values of a float tensor pulled to the host, row-major.
///
/// `TensorData::iter` goes through a boxed iterator per element; a whole-buffer conversion
/// is several times faster for the large reads (distances of every point) done here.
fn to_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    let data = t.into_data();
    match data.clone().try_into_vec_as::<f32>() {
        Ok(v) => v,
        Err(_) => data.iter::<f32>().collect(),
    }
}

/// Values of a float tensor pulled to the host, widened to `f64`.
fn to_f64(t: Tensor<1>) -> Vec<f64> {
    to_f32(t).into_iter().map(f64::from).collect()
}

/// `n` points drawn round-robin around `centres` (each of the same dimension) with normal
/// noise of the given std, deterministic for a seed, like scikit-learn's `make_blobs`.
/// Returns row-major values and each point's centre index.
pub fn make_blobs(n: usize, centres: &[Vec<f32>], std: f32, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed);
    let mut values = Vec::with_capacity(n * centres.first().map_or(0, Vec::len));
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let k = i % centres.len().max(1);
        for &c in &centres[k] {
            values.push(c + std * rng.normal() as f32);
        }
        labels.push(k);
    }
    (values, labels)
}

/// `k` centres in `d` dimensions, uniform in `±spread`, deterministic for a seed.
pub fn random_centres(k: usize, d: usize, spread: f32, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    (0..k)
        .map(|_| {
            (0..d)
                .map(|_| (rng.unit() as f32 * 2.0 - 1.0) * spread)
                .collect()
        })
        .collect()
}

/// A small seeded generator (SplitMix64): the same seed gives the same clustering on every
/// platform, and no dependency pulls new features into Burn's own `rand`.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Fisher-Yates shuffle in place.
    pub(crate) fn shuffle<T>(&mut self, values: &mut [T]) {
        for i in (1..values.len()).rev() {
            values.swap(i, self.below(i + 1));
        }
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

/// The adjusted Rand index of two labellings of the same points: 1 for identical partitions
/// (up to renumbering), about 0 for independent ones.
///
/// # Panics
/// If the two slices differ in length.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    assert_eq!(a.len(), b.len(), "labellings of different lengths");
    let n = a.len();
    let mut table = std::collections::HashMap::<(usize, usize), u64>::new();
    let mut rows = std::collections::HashMap::<usize, u64>::new();
    let mut cols = std::collections::HashMap::<usize, u64>::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let pairs = |c: u64| (c * c.saturating_sub(1)) as f64 / 2.0;
    let index: f64 = table.values().map(|&c| pairs(c)).sum();
    let sum_rows: f64 = rows.values().map(|&c| pairs(c)).sum();
    let sum_cols: f64 = cols.values().map(|&c| pairs(c)).sum();
    let total = pairs(n as u64);
    let expected = if total > 0.0 {
        sum_rows * sum_cols / total
    } else {
        0.0
    };
    let max = (sum_rows + sum_cols) / 2.0;
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_is_one_for_renumbered_partitions_and_low_for_unrelated_ones() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1, 2], &[5, 5, 3, 3, 9]), 1.0);
        let ari = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 1, 0, 1, 0, 1]);
        assert!(ari < 0.1, "{ari}");
    }

    #[test]
    fn splitmix_is_deterministic_and_in_range() {
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        for _ in 0..100 {
            let u = a.unit();
            assert_eq!(u, b.unit());
            assert!((0.0..1.0).contains(&u));
            assert!(a.below(3) < 3);
            b.below(3);
        }
    }
}
