//! Neighbourhoods in blocks on the device, expansion on the host.

use burn::tensor::{Int, Tensor, TensorData};

use super::params::BLOCK_FLOATS;
use super::{DbscanError, DbscanParams};
use crate::metric::{normalize_rows, row_sq_norms};
use crate::{InputError, Metric, check_input, read, read_scalar, to_f32};

/// A fitted DBSCAN clustering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FittedDbscan {
    labels: Vec<Option<usize>>,
    core_sample_indices: Vec<usize>,
    n_clusters: usize,
}

impl FittedDbscan {
    /// The cluster of each point; `None` is noise.
    pub fn labels(&self) -> &[Option<usize>] {
        &self.labels
    }

    /// Indices of the core points, ascending.
    pub fn core_sample_indices(&self) -> &[usize] {
        &self.core_sample_indices
    }

    /// Number of clusters found.
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }
}

pub(crate) fn fit(p: &DbscanParams, x: &Tensor<2>) -> Result<FittedDbscan, DbscanError> {
    check_input(x, p.metric)?;
    let n = x.dims()[0];
    // Both metrics become a bound on the squared Euclidean distance: for unit vectors
    // ‖x − y‖² = 2 (1 − cos), so cosine distance ≤ eps ⇔ ‖x − y‖² ≤ 2 eps.
    let (x, threshold) = match p.metric {
        Metric::Euclidean => (x.clone(), p.eps * p.eps),
        Metric::Cosine => (normalize_rows(x.clone()), 2.0 * p.eps),
    };
    let nb = neighbourhoods(&x, threshold, p.block_rows, p.max_neighbour_pairs)?.ok_or(
        DbscanError::TooManyNeighbours {
            eps: p.eps,
            n,
            limit: p.max_neighbour_pairs,
        },
    )?;
    // Everything below works on sorted positions; `rank[i]` is point i's position.
    let mut rank = vec![0; n];
    for (pos, &i) in nb.order.iter().enumerate() {
        rank[i] = pos;
    }
    let core: Vec<bool> = (0..n)
        .map(|pos| nb.offsets[pos + 1] - nb.offsets[pos] >= p.min_samples)
        .collect();
    // Clusters are numbered and grown in scikit-learn's order (core points by index, each
    // cluster complete before the next), so border points that two clusters reach land where
    // scikit-learn puts them.
    let mut labels: Vec<Option<usize>> = vec![None; n];
    let mut cluster = 0;
    let mut stack = Vec::new();
    for &seed in &rank {
        if labels[seed].is_some() || !core[seed] {
            continue;
        }
        labels[seed] = Some(cluster);
        stack.push(seed);
        while let Some(q) = stack.pop() {
            for &v in &nb.indices[nb.offsets[q]..nb.offsets[q + 1]] {
                let v = v as usize;
                if labels[v].is_none() {
                    labels[v] = Some(cluster);
                    if core[v] {
                        stack.push(v);
                    }
                }
            }
        }
        cluster += 1;
    }
    let labels = (0..n).map(|i| labels[rank[i]]).collect();
    Ok(FittedDbscan {
        labels,
        core_sample_indices: (0..n).filter(|&i| core[rank[i]]).collect(),
        n_clusters: cluster,
    })
}

/// Rows per block when the caller does not choose: small blocks keep each block's band of
/// candidate columns narrow.
const DEFAULT_BLOCK_ROWS: usize = 256;

/// The indices within `sqrt(threshold)` of every point (itself included).
///
/// Points are sorted along their widest coordinate; a block of consecutive sorted rows can
/// only have neighbours whose coordinate lies within the radius of the block's range, which
/// is one contiguous band of sorted columns. Each block compares its rows with its band on
/// the device (at most `block_rows × n` distances, never `n × n`), and the host reads the
/// boolean mask back. `None` as soon as the lists would hold more than `max_pairs` entries.
///
/// # Shapes
/// - x: `[n, d]`
/// - output: `n` lists, in sorted positions
fn neighbourhoods(
    x: &Tensor<2>,
    threshold: f64,
    block_rows: Option<usize>,
    max_pairs: usize,
) -> Result<Option<Neighbourhoods>, InputError> {
    let [n, d] = x.dims();
    let device = x.device();
    // The widest coordinate prunes most.
    let axis = if d == 1 {
        0
    } else {
        let var = x.clone().var(0).reshape([d]); // [d]
        usize::try_from(read_scalar::<1, Int, i64>(var.argmax(0))?).unwrap_or(0)
    };
    let keys = to_f32(x.clone().narrow(1, axis, 1))?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    let sorted_keys: Vec<f32> = order.iter().map(|&i| keys[i]).collect();
    let ids: Vec<i64> = order.iter().map(|&i| i as i64).collect();
    let xs = x.clone().select(
        0,
        Tensor::<1, Int>::from_data(TensorData::new(ids, [n]), &device),
    ); // [n, d]
    // Augmented rows make one matrix product give squared distances directly:
    // [−2x, ‖x‖², 1] · [y, 1, ‖y‖²] = ‖x‖² − 2x·y + ‖y‖².
    let xs_sq = row_sq_norms(&xs); // [n, 1]
    let ones = Tensor::<2>::ones([n, 1], &device);
    let rows = Tensor::cat(vec![xs.clone() * -2.0, xs_sq.clone(), ones.clone()], 1); // [n, d + 2]
    let cols = Tensor::cat(vec![xs, ones, xs_sq], 1).transpose(); // [d + 2, n]

    // |x_a − y_a| ≤ ‖x − y‖; a little slack covers the rounding of the matmul form.
    let radius = (threshold.sqrt() * (1.0 + 1e-3) + 1e-6) as f32;
    let block = block_rows
        .unwrap_or(DEFAULT_BLOCK_ROWS)
        .min((BLOCK_FLOATS / n).max(1));
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut indices: Vec<u32> = Vec::new();
    for start in (0..n).step_by(block) {
        let len = block.min(n - start);
        let lo = sorted_keys[start] - radius;
        let hi = sorted_keys[start + len - 1] + radius;
        let first = sorted_keys.partition_point(|&k| k < lo);
        let last = sorted_keys.partition_point(|&k| k <= hi);
        let width = last - first;
        let within = rows
            .clone()
            .narrow(0, start, len)
            .matmul(cols.clone().narrow(1, first, width)) // [len, width]
            .lower_equal_elem(threshold); // [len, width]
        let within = read(within)?;
        // Native bools can be read in place; other storages (e.g. u32 on WGPU) are converted.
        let converted: Vec<bool>;
        let flags: &[bool] = match within.as_slice::<bool>() {
            Ok(slice) => slice,
            Err(_) => {
                converted = within.iter::<bool>().collect();
                &converted
            }
        };
        for row in flags.chunks_exact(width) {
            // Branch-free compaction: write every candidate, keep the ones within reach.
            let mut end = indices.len();
            indices.resize(end + width, 0);
            for (j, &near) in row.iter().enumerate() {
                indices[end] = (first + j) as u32;
                end += usize::from(near);
            }
            indices.truncate(end);
            if end > max_pairs {
                return Ok(None);
            }
            offsets.push(end);
        }
    }
    Ok(Some(Neighbourhoods {
        order,
        offsets,
        indices,
    }))
}

/// Neighbour lists in compressed rows, over points sorted along one coordinate.
struct Neighbourhoods {
    /// Sorted position → original row.
    order: Vec<usize>,
    /// Position `p`'s neighbours are `indices[offsets[p]..offsets[p + 1]]` (`n + 1` values).
    offsets: Vec<usize>,
    /// Neighbours as sorted positions.
    indices: Vec<u32>,
}
