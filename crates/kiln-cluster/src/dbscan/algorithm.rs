//! Neighbourhoods in blocks on the device, expansion on the host.

use burn::tensor::{Int, Tensor, TensorData};

use super::params::BLOCK_FLOATS;
use super::{DbscanError, DbscanParams};
use crate::metric::{augment_cols, augment_rows, normalize_rows, row_sq_norms, sum_rows};
use crate::{InputError, Metric, check_input, read, to_f32};

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

pub(crate) fn fit(p: &DbscanParams, blocks: &[Tensor<2>]) -> Result<FittedDbscan, DbscanError> {
    let Some(first) = blocks.first() else {
        return Err(InputError::Empty.into());
    };
    let d = first.dims()[1];
    let mut prepared = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        if block.dims()[1] != d {
            return Err(InputError::BlockWidth {
                block: index,
                expected: d,
                found: block.dims()[1],
            }
            .into());
        }
        check_input(block, p.metric)?;
        // Both metrics become a bound on the squared Euclidean distance: for unit vectors
        // ‖x − y‖² = 2 (1 − cos), so cosine distance ≤ eps ⇔ ‖x − y‖² ≤ 2 eps.
        prepared.push(match p.metric {
            Metric::Euclidean => block.clone(),
            Metric::Cosine => normalize_rows(block.clone()),
        });
    }
    let threshold = match p.metric {
        Metric::Euclidean => p.eps * p.eps,
        Metric::Cosine => 2.0 * p.eps,
    };
    let n: usize = prepared.iter().map(|b| b.dims()[0]).sum();
    let nb = neighbourhoods(
        &prepared,
        threshold,
        p.block_rows,
        p.max_neighbour_pairs,
        p.device_block_floats,
    )?
    .ok_or(DbscanError::TooManyNeighbours {
        eps: p.eps,
        n,
        limit: p.max_neighbour_pairs,
    })?;
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
/// Points are sorted on a grid: by their cell along the widest coordinate (cells one radius
/// wide), then by the second widest coordinate. A block of consecutive sorted rows within
/// one cell can only have neighbours in that cell or the next either side, within the radius
/// of the block's range on the second coordinate: at most three contiguous runs of sorted
/// columns. The sorted points are gathered once into
/// device chunks of at most `chunk_floats` floats (one chunk for any input that fits, several
/// for one past a device's buffer limit); each block of rows is compared with its band, chunk
/// by chunk, on the device (at most `block_rows × chunk` distances at a time, never `n × n`),
/// and the host reads the boolean masks back. `None` as soon as the lists would hold more
/// than `max_pairs` entries.
///
/// # Shapes
/// - blocks: `[n_b, d]` each, the points in order
/// - output: `n` lists, in sorted positions
fn neighbourhoods(
    blocks: &[Tensor<2>],
    threshold: f64,
    block_rows: Option<usize>,
    max_pairs: usize,
    chunk_floats: usize,
) -> Result<Option<Neighbourhoods>, InputError> {
    let d = blocks[0].dims()[1];
    let device = blocks[0].device();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(blocks.iter().scan(0, |acc, b| {
            *acc += b.dims()[0];
            Some(*acc)
        }))
        .collect();
    let n = starts[blocks.len()];
    // The two widest coordinates prune most: per-column sums and squares over all blocks.
    let (axis, second) = if d == 1 {
        (0, 0)
    } else {
        let (mut sum, mut sq) = (vec![0.0f64; d], vec![0.0f64; d]);
        for b in blocks {
            for (acc, v) in sum.iter_mut().zip(to_f32(sum_rows(b))?) {
                *acc += f64::from(v);
            }
            for (acc, v) in sq
                .iter_mut()
                .zip(to_f32(sum_rows(&b.clone().powi_scalar(2)))?)
            {
                *acc += f64::from(v);
            }
        }
        let var = |j: usize| sq[j] / n as f64 - (sum[j] / n as f64).powi(2);
        let mut axes: Vec<usize> = (0..d).collect();
        axes.sort_by(|&a, &b| var(b).total_cmp(&var(a)));
        (axes[0], axes[1])
    };
    let column = |j: usize| -> Result<Vec<f32>, InputError> {
        let mut values = Vec::with_capacity(n);
        for b in blocks {
            values.extend(to_f32(b.clone().narrow(1, j, 1))?);
        }
        Ok(values)
    };
    // |x_a − y_a| ≤ ‖x − y‖; a little slack covers the rounding of the matmul form.
    let radius = (threshold.sqrt() * (1.0 + 1e-3) + 1e-6) as f32;
    // A grid: cells `radius` wide along the widest coordinate, points sorted by cell and,
    // within a cell, by the second widest. A neighbour lies in the same cell or the next
    // one either side, within `radius` on the second coordinate: up to three contiguous
    // runs of sorted positions per block of rows, instead of one slab across the data.
    let keys_a = column(axis)?;
    let keys_b = if second == axis {
        keys_a.clone()
    } else {
        column(second)?
    };
    let min_a = keys_a.iter().copied().fold(f32::INFINITY, f32::min);
    let cells: Vec<i64> = keys_a
        .iter()
        .map(|&a| ((f64::from(a) - f64::from(min_a)) / f64::from(radius)).floor() as i64)
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        cells[a]
            .cmp(&cells[b])
            .then(keys_b[a].total_cmp(&keys_b[b]))
    });
    let sorted_cells: Vec<i64> = order.iter().map(|&i| cells[i]).collect();
    let sorted_b: Vec<f32> = order.iter().map(|&i| keys_b[i]).collect();
    // Each occupied cell's run of sorted positions: (cell, start, end).
    let mut runs: Vec<(i64, usize, usize)> = Vec::new();
    for (pos, &c) in sorted_cells.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if run.0 == c => run.2 = pos + 1,
            _ => runs.push((c, pos, pos + 1)),
        }
    }
    let run_of = |c: i64| -> Option<(usize, usize)> {
        let i = runs.partition_point(|r| r.0 < c);
        runs.get(i).filter(|r| r.0 == c).map(|r| (r.1, r.2))
    };

    // The sorted points in device chunks, augmented so that one matrix product gives squared
    // distances: [−2x, ‖x‖², 1] · [y, 1, ‖y‖²] = ‖x‖² − 2x·y + ‖y‖².
    let chunk = (chunk_floats / (d + 2)).max(1);
    let mut chunks: Vec<(usize, Tensor<2>, Tensor<2>)> = Vec::new(); // (start, rows, cols)
    for start in (0..n).step_by(chunk) {
        let ids = &order[start..(start + chunk).min(n)];
        let xs = gather(blocks, &starts, ids, &device); // [m, d]
        chunks.push((
            start,
            augment_rows(&xs),
            augment_cols(xs.clone(), row_sq_norms(&xs)),
        ));
    }

    let block = block_rows
        .unwrap_or(DEFAULT_BLOCK_ROWS)
        .min((BLOCK_FLOATS / n).max(1));
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut indices: Vec<u32> = Vec::new();
    let mut scratch: Vec<u32> = Vec::new();
    for (chunk_start, chunk_rows, _) in &chunks {
        let chunk_end = chunk_start + chunk_rows.dims()[0];
        let mut start = *chunk_start;
        while start < chunk_end {
            // A block of rows stays within one cell (and one chunk).
            let cell = sorted_cells[start];
            let cell_end = run_of(cell).map_or(chunk_end, |r| r.1);
            let len = block.min(chunk_end - start).min(cell_end - start);
            let rows = chunk_rows.clone().narrow(0, start - chunk_start, len);
            let lo = sorted_b[start] - radius;
            let hi = sorted_b[start + len - 1] + radius;
            // The candidate runs: in each neighbouring cell, the positions within reach on
            // the second coordinate.
            let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(3);
            for c in [cell - 1, cell, cell + 1] {
                if let Some((rs, re)) = run_of(c) {
                    let keys = &sorted_b[rs..re];
                    let first = rs + keys.partition_point(|&k| k < lo);
                    let last = rs + keys.partition_point(|&k| k <= hi);
                    if first < last {
                        ranges.push((first, last));
                    }
                }
            }
            let candidates: usize = ranges.iter().map(|(a, b)| b - a).sum();
            // Each range, piece by piece over the chunks it crosses.
            let mut pieces: Vec<(usize, usize, Vec<bool>)> = Vec::new();
            for &(first, last) in &ranges {
                for (cs, _, cols) in &chunks {
                    let ce = cs + cols.dims()[1];
                    let (a, b) = (first.max(*cs), last.min(ce));
                    if a >= b {
                        continue;
                    }
                    let within = read(
                        rows.clone()
                            .matmul(cols.clone().narrow(1, a - cs, b - a)) // [len, b − a]
                            .lower_equal_elem(threshold),
                    )?;
                    // Native bools can be read in place; other storages (u32 on WGPU) convert.
                    let flags = match within.as_slice::<bool>() {
                        Ok(slice) => slice.to_vec(),
                        Err(_) => within.iter::<bool>().collect(),
                    };
                    pieces.push((a, b - a, flags));
                }
            }
            // Room for this block's lists, reserved from the pairs per row so far projected
            // over the rows left (a few large reservations instead of doubling: at 40,000
            // points the lists hold ~46 M entries, and every doubling copies them all and
            // faults in fresh pages).
            if indices.capacity() - indices.len() < len * candidates {
                let done = start.max(1);
                let projected = indices.len() / done * (n - start) + indices.len() / 4;
                indices.reserve(projected.max(len * candidates).min(max_pairs + 1));
            }
            scratch.resize(candidates, 0);
            for r in 0..len {
                // Branch-free compaction into a scratch row (cache-resident, reused): write
                // every candidate, keep the ones within reach; then copy the kept ones.
                let mut kept = 0;
                for (a, width, flags) in &pieces {
                    for (j, &near) in flags[r * width..(r + 1) * width].iter().enumerate() {
                        scratch[kept] = (a + j) as u32;
                        kept += usize::from(near);
                    }
                }
                indices.extend_from_slice(&scratch[..kept]);
                if indices.len() > max_pairs {
                    return Ok(None);
                }
                offsets.push(indices.len());
            }
            start += len;
        }
    }
    Ok(Some(Neighbourhoods {
        order,
        offsets,
        indices,
    }))
}

/// The rows `ids` (indices into the concatenation of `blocks`, whose first rows are
/// `starts`) as one `[ids.len(), d]` tensor, in the order of `ids`: selected block by block,
/// then put in order.
fn gather(
    blocks: &[Tensor<2>],
    starts: &[usize],
    ids: &[usize],
    device: &burn::tensor::Device,
) -> Tensor<2> {
    let to_int = |v: Vec<i64>| {
        let len = v.len();
        Tensor::<1, Int>::from_data(TensorData::new(v, [len]), device)
    };
    if blocks.len() == 1 {
        return blocks[0]
            .clone()
            .select(0, to_int(ids.iter().map(|&i| i as i64).collect()));
    }
    let mut parts = Vec::new();
    let mut placed = Vec::with_capacity(ids.len()); // position in `ids` of each gathered row
    for (b, block) in blocks.iter().enumerate() {
        let (lo, hi) = (starts[b], starts[b + 1]);
        let mine: Vec<usize> = (0..ids.len())
            .filter(|&k| (lo..hi).contains(&ids[k]))
            .collect();
        if mine.is_empty() {
            continue;
        }
        parts.push(block.clone().select(
            0,
            to_int(mine.iter().map(|&k| (ids[k] - lo) as i64).collect()),
        ));
        placed.extend(mine);
    }
    // Row r of the concatenation is ids[placed[r]]: invert to put them back in order.
    let mut inverse = vec![0i64; ids.len()];
    for (r, &k) in placed.iter().enumerate() {
        inverse[k] = r as i64;
    }
    Tensor::cat(parts, 0).select(0, to_int(inverse))
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
