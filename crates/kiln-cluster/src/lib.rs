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
mod error;
mod guard;
pub mod kmeans;
mod metric;
mod record;

pub use dbscan::{DEFAULT_MAX_NEIGHBOUR_PAIRS, Dbscan, DbscanParams, FittedDbscan};
pub use error::ClusterError;
pub use guard::{Checked, ParamGuard};
pub use kiln_core::{Rng, UnknownName};
pub use kmeans::{
    DEFAULT_BLOCK_ROWS, FittedKMeans, FittedMiniBatchKMeans, KMeans, KMeansParams, MiniBatchKMeans,
    MiniBatchKMeansParams,
};
pub use metric::Metric;
pub use record::{KMeansRecord, MiniBatchKMeansRecord};

use burn::tensor::{Device, Tensor, TensorData};

/// Floats one device tensor of the points holds by default: 2²⁴ (64 MiB of f32), half of
/// WGPU's usual 128 MiB buffer limit. DBSCAN's
/// [`device_block_floats`](DbscanParams::device_block_floats) default, and what
/// [`blocks_from_slice`] is usually given.
pub const DEFAULT_BLOCK_FLOATS: usize = 1 << 24;

/// Row-major values as consecutive `[rows_b, cols]` tensors on `device` of at most
/// `max_floats` floats each (at least one row), for `fit_blocks`: an input larger than the
/// device's buffer limit (MNIST's 188 MB on WGPU) is clustered block by block.
///
/// # Errors
/// [`ClusterError::Shape`] when `values.len() != rows * cols`.
pub fn blocks_from_slice(
    values: &[f32],
    rows: usize,
    cols: usize,
    max_floats: usize,
    device: &Device,
) -> Result<Vec<Tensor<2>>, ClusterError> {
    if values.len() != rows * cols || cols == 0 {
        return Err(ClusterError::Shape {
            len: values.len(),
            rows,
            cols,
        });
    }
    let per_block = (max_floats / cols).max(1);
    values
        .chunks(per_block * cols)
        .map(|chunk| tensor_from_slice(chunk, chunk.len() / cols, cols, device))
        .collect()
}

/// Builds an `[rows, cols]` tensor on `device` from row-major values.
///
/// # Errors
/// [`ClusterError::Shape`] when `values.len() != rows * cols`.
pub fn tensor_from_slice(
    values: &[f32],
    rows: usize,
    cols: usize,
    device: &Device,
) -> Result<Tensor<2>, ClusterError> {
    if values.len() != rows * cols {
        return Err(ClusterError::Shape {
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
fn check_input(x: &Tensor<2>, metric: Metric) -> Result<(), ClusterError> {
    let [n, d] = x.dims();
    if n == 0 {
        return Err(ClusterError::Empty);
    }
    if d == 0 {
        return Err(ClusterError::ZeroDimensions);
    }
    let all_finite = read_scalar::<1, burn::tensor::Bool, bool>(x.clone().is_finite().all())?;
    if !all_finite {
        return Err(ClusterError::NonFinite);
    }
    if metric == Metric::Cosine {
        let norms = read(metric::row_sq_norms(x).reshape([n]))?;
        if let Some(index) = norms.iter::<f32>().position(|v| v == 0.0) {
            return Err(ClusterError::ZeroVector { index });
        }
    }
    Ok(())
}

/// Reads a tensor back to the host; a failure of the device (a lost GPU, a buffer past its
/// limits) is [`ClusterError::Device`], on one line, instead of Burn's panic.
pub(crate) fn read<const D: usize, K: burn::tensor::kind::Basic>(
    t: Tensor<D, K>,
) -> Result<TensorData, ClusterError> {
    Ok(t.try_into_data().map_err(kiln_core::DeviceError::new)?)
}

/// [`read`] of a one-element tensor as a scalar.
pub(crate) fn read_scalar<
    const D: usize,
    K: burn::tensor::kind::Basic,
    E: burn::tensor::Element,
>(
    t: Tensor<D, K>,
) -> Result<E, ClusterError> {
    Ok(t.try_into_scalar::<E>()
        .map_err(kiln_core::DeviceError::new)?)
}

/// Row-major indices pulled to the host.
fn to_indices(t: Tensor<1, burn::tensor::Int>) -> Result<Vec<usize>, ClusterError> {
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
fn to_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, ClusterError> {
    let data = read(t)?;
    Ok(match data.clone().try_into_vec_as::<f32>() {
        Ok(v) => v,
        Err(_) => data.iter::<f32>().collect(),
    })
}

/// Values of a float tensor pulled to the host, widened to `f64`.
fn to_f64(t: Tensor<1>) -> Result<Vec<f64>, ClusterError> {
    Ok(to_f32(t)?.into_iter().map(f64::from).collect())
}

/// `n` points drawn round-robin around `centres` (each of the same dimension) with normal
/// noise of the given std, deterministic for a seed, like scikit-learn's `make_blobs`.
/// Returns row-major values and each point's centre index.
///
/// # Errors
/// [`ClusterError::Empty`] without centres, [`ClusterError::ZeroDimensions`] for 0-dimensional
/// ones, [`ClusterError::Shape`] when a centre's length differs from the first's.
pub fn make_blobs<C: AsRef<[f32]>>(
    n: usize,
    centres: &[C],
    std: f32,
    seed: u64,
) -> Result<(Vec<f32>, Vec<usize>), ClusterError> {
    let centres: Vec<&[f32]> = centres.iter().map(AsRef::as_ref).collect();
    let d = centres.first().ok_or(ClusterError::Empty)?.len();
    if d == 0 {
        return Err(ClusterError::ZeroDimensions);
    }
    if let Some(c) = centres.iter().find(|c| c.len() != d) {
        return Err(ClusterError::Shape {
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
        for &c in centres[k] {
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

/// The share of points whose cluster's most common true class is their own (noise, `None`,
/// counts as wrong): 1 for clusters that never mix classes.
///
/// # Errors
/// [`ClusterError::LabelLengths`] if the two slices differ in length.
pub fn purity(labels: &[Option<usize>], truth: &[usize]) -> Result<f64, ClusterError> {
    if labels.len() != truth.len() {
        return Err(ClusterError::LabelLengths {
            left: labels.len(),
            right: truth.len(),
        });
    }
    let mut counts = std::collections::HashMap::<(usize, usize), usize>::new();
    for (label, &class) in labels.iter().zip(truth) {
        if let Some(cluster) = label {
            *counts.entry((*cluster, class)).or_default() += 1;
        }
    }
    let mut best = std::collections::HashMap::<usize, usize>::new();
    for ((cluster, _), n) in counts {
        let b = best.entry(cluster).or_default();
        *b = (*b).max(n);
    }
    Ok(best.values().sum::<usize>() as f64 / truth.len().max(1) as f64)
}

/// The adjusted Rand index of two labellings of the same points: 1 for identical partitions
/// (up to renumbering), about 0 for independent ones.
///
/// # Errors
/// [`ClusterError::LabelLengths`] if the two slices differ in length.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64, ClusterError> {
    if a.len() != b.len() {
        return Err(ClusterError::LabelLengths {
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
            Err(ClusterError::LabelLengths { left: 2, right: 1 })
        ));
        let ari = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 1, 0, 1, 0, 1]).unwrap();
        assert!(ari < 0.1, "{ari}");
    }

    #[test]
    fn purity_counts_each_clusters_majority_class() {
        let labels = [Some(0), Some(0), Some(0), Some(1), Some(1), None];
        let truth = [1, 1, 2, 2, 2, 2];
        // Cluster 0: two of class 1; cluster 1: two of class 2; noise is wrong.
        assert!((purity(&labels, &truth).unwrap() - 4.0 / 6.0).abs() < 1e-12);
        assert!(purity(&labels, &truth[..5]).is_err());
    }

    #[test]
    fn blocks_hold_at_most_the_floats_asked_and_all_rows() {
        let values: Vec<f32> = (0..30).map(|v| v as f32).collect();
        let blocks = blocks_from_slice(&values, 10, 3, 7, &Device::flex()).unwrap();
        let rows: Vec<usize> = blocks.iter().map(|b| b.dims()[0]).collect();
        assert_eq!(rows, vec![2, 2, 2, 2, 2]);
        assert!(blocks_from_slice(&values, 9, 3, 7, &Device::flex()).is_err());
    }

    #[test]
    fn make_blobs_refuses_no_centres_and_ragged_ones() {
        assert_eq!(
            make_blobs::<Vec<f32>>(10, &[], 1.0, 0),
            Err(ClusterError::Empty)
        );
        assert_eq!(
            make_blobs(10, &[vec![]], 1.0, 0),
            Err(ClusterError::ZeroDimensions)
        );
        assert!(matches!(
            make_blobs(10, &[vec![0.0, 1.0], vec![2.0]], 1.0, 0),
            Err(ClusterError::Shape {
                len: 1,
                cols: 2,
                ..
            })
        ));
        let (values, labels) = make_blobs(5, &[vec![0.0, 0.0], vec![9.0, 9.0]], 0.1, 0).unwrap();
        assert_eq!((values.len(), labels), (10, vec![0, 1, 0, 1, 0]));
    }
}
