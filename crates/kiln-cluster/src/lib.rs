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
//! Fitted models are named alike (`FittedKMeans`, `FittedMiniBatchKMeans`, `FittedDbscan`),
//! and the K-means ones save and load as JSON or are rebuilt from given centroids.
//!
//! ```
//! use burn::tensor::Device;
//! use kiln_cluster::{Dbscan, FittedKMeans, KMeans, make_blobs, tensor_from_slice};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = Device::flex();
//! // 300 points around three centres in 2-D.
//! let centres = vec![vec![0.0, 0.0], vec![8.0, 0.0], vec![0.0, 8.0]];
//! let (values, truth) = make_blobs(300, &centres, 0.5, 1)?;
//! let x = tensor_from_slice(&values, 300, 2, &device)?;
//!
//! let model = KMeans::params(3).n_init(3).seed(42).fit(&x)?;
//! println!("inertia {:.1} after {} iterations", model.inertia(), model.n_iter());
//! assert_eq!(kiln_cluster::adjusted_rand_index(model.labels(), &truth)?, 1.0);
//!
//! // Save, reload, predict: the same labels.
//! let path = std::env::temp_dir().join(format!("kiln-kmeans-doc-{}.json", std::process::id()));
//! model.save(&path)?;
//! let back = FittedKMeans::load(&path, &device)?;
//! assert_eq!(back.predict(&x)?, model.labels());
//! # std::fs::remove_file(&path)?;
//!
//! let dbscan = Dbscan::params(1.5, 5).fit(&x)?;
//! assert_eq!(dbscan.n_clusters(), 3);
//! # Ok(()) }
//! ```

pub mod dbscan;
pub mod kmeans;
mod metric;
mod record;

pub use dbscan::{
    DEFAULT_MAX_NEIGHBOUR_PAIRS, Dbscan, DbscanError, DbscanParams, DbscanParamsError, FittedDbscan,
};
pub use kiln_core::{Rng, UnknownName};
pub use kmeans::{
    FittedKMeans, FittedMiniBatchKMeans, KMeans, KMeansError, KMeansParams, KMeansParamsError,
    MiniBatchKMeans, MiniBatchKMeansParams,
};
pub use metric::Metric;
pub use record::{KMeansRecord, MiniBatchKMeansRecord};

use burn::tensor::{Device, Tensor, TensorData};

/// Errors common to every algorithm's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// No points.
    #[error("the input has no points")]
    Empty,
    /// The device failed to compute or read back a result. On WGPU an input past the
    /// device's storage-buffer limit (usually 128 MiB, 33 million floats) fails this way:
    /// split it into row blocks and fit with `MiniBatchKMeans::fit_stream`, or use a CPU
    /// backend.
    #[error(
        "the device could not compute or read back a result ({0}); an input past the device's \
         buffer limit (WGPU: usually 128 MiB) must be split into row blocks \
         (MiniBatchKMeans::fit_stream) or fitted on a CPU backend"
    )]
    Device(#[from] kiln_core::DeviceError),
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
    /// A block of a blocked input does not have the first block's width.
    #[error("block {block} has {found} columns, the first block {expected}")]
    BlockWidth {
        /// The block's position.
        block: usize,
        /// The first block's columns.
        expected: usize,
        /// This block's columns.
        found: usize,
    },
    /// Two labellings compared by [`adjusted_rand_index`] label different numbers of points.
    #[error("the labellings have {left} and {right} points; they must label the same points")]
    LabelLengths {
        /// Points of the first.
        left: usize,
        /// Points of the second.
        right: usize,
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
    let all_finite = read_scalar::<1, burn::tensor::Bool, bool>(x.clone().is_finite().all())?;
    if !all_finite {
        return Err(InputError::NonFinite);
    }
    if metric == Metric::Cosine {
        let norms = read(metric::row_sq_norms(x).reshape([n]))?;
        if let Some(index) = norms.iter::<f32>().position(|v| v == 0.0) {
            return Err(InputError::ZeroVector { index });
        }
    }
    Ok(())
}

/// Reads a tensor back to the host; a failure of the device (a lost GPU, a buffer past its
/// limits) is [`InputError::Device`], on one line, instead of Burn's panic.
pub(crate) fn read<const D: usize, K: burn::tensor::kind::Basic>(
    t: Tensor<D, K>,
) -> Result<TensorData, InputError> {
    Ok(t.try_into_data().map_err(kiln_core::DeviceError::new)?)
}

/// [`read`] of a one-element tensor as a scalar.
pub(crate) fn read_scalar<
    const D: usize,
    K: burn::tensor::kind::Basic,
    E: burn::tensor::Element,
>(
    t: Tensor<D, K>,
) -> Result<E, InputError> {
    Ok(t.try_into_scalar::<E>()
        .map_err(kiln_core::DeviceError::new)?)
}

/// Row-major indices pulled to the host.
fn to_indices(t: Tensor<1, burn::tensor::Int>) -> Result<Vec<usize>, InputError> {
    let data = read(t)?;
    Ok(match data.clone().try_into_vec_as::<i64>() {
        Ok(v) => v
            .into_iter()
            .map(|v| usize::try_from(v).unwrap_or(0))
            .collect(),
        Err(_) => data
            .iter::<i64>()
            .map(|v| usize::try_from(v).unwrap_or(0))
            .collect(),
    })
}

/// Values of a float tensor pulled to the host, row-major.
///
/// `TensorData::iter` goes through a boxed iterator per element; a whole-buffer conversion
/// is several times faster for the large reads (distances of every point) done here.
fn to_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, InputError> {
    let data = read(t)?;
    Ok(match data.clone().try_into_vec_as::<f32>() {
        Ok(v) => v,
        Err(_) => data.iter::<f32>().collect(),
    })
}

/// Values of a float tensor pulled to the host, widened to `f64`.
fn to_f64(t: Tensor<1>) -> Result<Vec<f64>, InputError> {
    Ok(to_f32(t)?.into_iter().map(f64::from).collect())
}

/// `n` points drawn round-robin around `centres` (each of the same dimension) with normal
/// noise of the given std, deterministic for a seed, like scikit-learn's `make_blobs`.
/// Returns row-major values and each point's centre index.
///
/// # Errors
/// [`InputError::Empty`] without centres, [`InputError::ZeroDimensions`] for 0-dimensional
/// ones, [`InputError::Shape`] when a centre's length differs from the first's.
pub fn make_blobs(
    n: usize,
    centres: &[Vec<f32>],
    std: f32,
    seed: u64,
) -> Result<(Vec<f32>, Vec<usize>), InputError> {
    let d = centres.first().ok_or(InputError::Empty)?.len();
    if d == 0 {
        return Err(InputError::ZeroDimensions);
    }
    if let Some(c) = centres.iter().find(|c| c.len() != d) {
        return Err(InputError::Shape {
            len: c.len(),
            rows: 1,
            cols: d,
        });
    }
    let mut rng = Rng::new(seed);
    let mut values = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let k = i % centres.len();
        for &c in &centres[k] {
            values.push(c + std * rng.normal() as f32);
        }
        labels.push(k);
    }
    Ok((values, labels))
}

/// `k` centres in `d` dimensions, uniform in `±spread`, deterministic for a seed.
pub fn random_centres(k: usize, d: usize, spread: f32, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed ^ 0x5eed);
    (0..k)
        .map(|_| {
            (0..d)
                .map(|_| (rng.unit() as f32 * 2.0 - 1.0) * spread)
                .collect()
        })
        .collect()
}

/// The adjusted Rand index of two labellings of the same points: 1 for identical partitions
/// (up to renumbering), about 0 for independent ones.
///
/// # Errors
/// [`InputError::LabelLengths`] if the two slices differ in length.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64, InputError> {
    if a.len() != b.len() {
        return Err(InputError::LabelLengths {
            left: a.len(),
            right: b.len(),
        });
    }
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
        return Ok(1.0);
    }
    Ok((index - expected) / (max - expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_is_one_for_renumbered_partitions_and_low_for_unrelated_ones() {
        assert_eq!(
            adjusted_rand_index(&[0, 0, 1, 1, 2], &[5, 5, 3, 3, 9]),
            Ok(1.0)
        );
        assert!(matches!(
            adjusted_rand_index(&[0, 1], &[0]),
            Err(InputError::LabelLengths { left: 2, right: 1 })
        ));
        let ari = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 1, 0, 1, 0, 1]).unwrap();
        assert!(ari < 0.1, "{ari}");
    }

    #[test]
    fn make_blobs_refuses_no_centres_and_ragged_ones() {
        assert_eq!(make_blobs(10, &[], 1.0, 0), Err(InputError::Empty));
        assert_eq!(
            make_blobs(10, &[vec![]], 1.0, 0),
            Err(InputError::ZeroDimensions)
        );
        assert!(matches!(
            make_blobs(10, &[vec![0.0, 1.0], vec![2.0]], 1.0, 0),
            Err(InputError::Shape {
                len: 1,
                cols: 2,
                ..
            })
        ));
        let (values, labels) = make_blobs(5, &[vec![0.0, 0.0], vec![9.0, 9.0]], 0.1, 0).unwrap();
        assert_eq!((values.len(), labels), (10, vec![0, 1, 0, 1, 0]));
    }
}
