//! Neighbourhoods in blocks on the device, expansion on the host.

use burn::tensor::{Int, Tensor, TensorData};

use super::DbscanParams;
use crate::Checked;
use crate::DEFAULT_BLOCK_FLOATS;
use crate::metric::{augment_cols, augment_rows, normalize_rows, row_sq_norms, sum_rows};
use crate::{ClusterError, Metric, check_input, to_f32};

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

pub(crate) fn fit(
    p: &Checked<DbscanParams>,
    blocks: &[Tensor<2>],
) -> Result<FittedDbscan, ClusterError> {
    let Some(first) = blocks.first() else {
        return Err(ClusterError::Empty);
    };
    let d = first.dims()[1];
    let mut prepared = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        if block.dims()[1] != d {
            return Err(ClusterError::BlockWidth {
                block: index,
                expected: d,
                found: block.dims()[1],
            });
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
    // The points on the host, as given: the exact test of borderline pairs reads them.
    let mut host = Vec::with_capacity(n * d);
    for block in blocks {
        host.extend(to_f32(block.clone())?);
    }
    let exact = Exact {
        points: host,
        d,
        metric: p.metric,
    };
    let nb = neighbourhoods(
        &prepared,
        &exact,
        threshold,
        p.block_rows,
        p.max_neighbour_pairs,
        p.device_block_floats,
    )?
    .ok_or(ClusterError::TooManyNeighbours {
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
    exact: &Exact,
    threshold: f64,
    block_rows: Option<usize>,
    max_pairs: usize,
    chunk_floats: usize,
) -> Result<Option<Neighbourhoods>, ClusterError> {
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
    let column = |j: usize| -> Result<Vec<f32>, ClusterError> {
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

    // The sorted points in device chunks, centred on the points' mean and augmented so that
    // one matrix product gives squared distances: [−2x, ‖x‖², 1] · [y, 1, ‖y‖²] =
    // ‖x‖² − 2x·y + ‖y‖². Centring keeps ‖x‖² — and with it the product's rounding error —
    // at the scale of the data's spread, not of its distance from the origin; the error
    // bound below makes the result exact whatever the centre.
    let centre = exact.centre();
    let centre_row = Tensor::<2>::from_data(TensorData::new(centre.clone(), [1, d]), &device);
    // ‖x − centre‖², an upper bound of what the device holds for each sorted position.
    let norms = exact.centred_norms(&centre, &order);
    let chunk = (chunk_floats / (d + 2)).max(1);
    let mut chunks: Vec<(usize, Tensor<2>, Tensor<2>)> = Vec::new(); // (start, rows, cols)
    for start in (0..n).step_by(chunk) {
        let ids = &order[start..(start + chunk).min(n)];
        let xs = gather(blocks, &starts, ids, &device) - centre_row.clone(); // [m, d]
        chunks.push((
            start,
            augment_rows(&xs),
            augment_cols(xs.clone(), row_sq_norms(&xs)),
        ));
    }
    let unit = margin_per_norm(d);
    // Under cosine the device compares its own float32 unit vectors, a few float32 units
    // (per coordinate) away from the exact ones: that moves a square near the threshold `T`
    // by at most `2·√T·δ + δ²`, with `δ` bounding the two vectors' displacement.
    let perturbation = match exact.metric {
        Metric::Euclidean => 0.0,
        Metric::Cosine => {
            let delta = 16.0 * (d as f64).sqrt() * f64::from(f32::EPSILON);
            2.0 * (threshold.sqrt() + delta) * delta + delta * delta
        }
    };

    let block = block_rows
        .unwrap_or(DEFAULT_BLOCK_ROWS)
        .min((DEFAULT_BLOCK_FLOATS / n).max(1));
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut indices: Vec<u32> = Vec::new();
    let mut scratch: Vec<u32> = Vec::new();
    let mut border: Vec<usize> = Vec::new();
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
            // The rounding margin of this block's products: a pair whose computed square
            // lies within it of the threshold is decided exactly on the host.
            let widest = |r: std::ops::Range<usize>| norms[r].iter().copied().fold(0.0, f64::max);
            let mut col_norm = 0.0f64;
            for &(first, last) in &ranges {
                col_norm = col_norm.max(widest(first..last));
            }
            let margin = unit * (widest(start..start + len) + col_norm) + perturbation;
            let (sure, maybe) = ((threshold - margin) as f32, (threshold + margin) as f32);
            // Each range, piece by piece over the chunks it crosses.
            let mut pieces: Vec<(usize, usize, Vec<f32>)> = Vec::new();
            for &(first, last) in &ranges {
                for (cs, _, cols) in &chunks {
                    let ce = cs + cols.dims()[1];
                    let (a, b) = (first.max(*cs), last.min(ce));
                    if a >= b {
                        continue;
                    }
                    let squares = to_f32(
                        rows.clone().matmul(cols.clone().narrow(1, a - cs, b - a)), // [len, b − a]
                    )?;
                    pieces.push((a, b - a, squares));
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
                // every candidate, keep the ones surely within reach; then copy the kept ones.
                // The few within the rounding margin go to `border` and are tested exactly.
                let mut kept = 0;
                for (a, width, squares) in &pieces {
                    for (j, &sq) in squares[r * width..(r + 1) * width].iter().enumerate() {
                        scratch[kept] = (a + j) as u32;
                        kept += usize::from(sq <= sure);
                        if sq > sure && sq <= maybe {
                            border.push(a + j);
                        }
                    }
                }
                let row = order[start + r];
                for &pos in &border {
                    if exact.within(row, order[pos], threshold) {
                        scratch[kept] = pos as u32;
                        kept += 1;
                    }
                }
                border.clear();
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

/// The rounding error of the device's squared distance of points `x`, `y` (`d` coordinates,
/// float32), per unit of `‖x‖² + ‖y‖²`.
///
/// The product of `[−2x, fl(‖x‖²), 1]` and `[y, 1, fl(‖y‖²)]` is a sum of `d + 2` terms whose
/// absolute values add up to at most `2(‖x‖² + ‖y‖²)` (as `2|x·y| ≤ ‖x‖² + ‖y‖²`); in any
/// order of summation its rounding error is at most `γ_{d+2}` times that (Higham, *Accuracy
/// and Stability of Numerical Algorithms*, §3.1, `γ_m = m·u / (1 − m·u)`, `u = 2⁻²⁴`), and
/// each computed norm adds at most `γ_d` of itself: in all at most `3·γ_{d+2}·(‖x‖² + ‖y‖²)`.
/// kiln takes twice that (`6·(d + 2)·u`, plus `1e-30` below any float32 square), so a pair
/// whose computed square is more than the margin from the threshold is on the side it
/// appears to be, and only the pairs within it need the exact test. This assumes float32
/// products accumulated in float32 or wider — not TF32 or bf16 tensor-core arithmetic.
fn margin_per_norm(d: usize) -> f64 {
    let u = f64::from(f32::EPSILON) / 2.0; // 2⁻²⁴
    6.0 * (d + 2) as f64 * u
}

/// The points as given, on the host, for the exact test of pairs near the threshold.
struct Exact {
    /// Row-major, `n × d`, in the input's order.
    points: Vec<f32>,
    d: usize,
    metric: Metric,
}

impl Exact {
    fn row(&self, i: usize) -> &[f32] {
        &self.points[i * self.d..(i + 1) * self.d]
    }

    /// Whether points `i` and `j` (input rows) are neighbours, computed in float64 from
    /// their float32 coordinates: `Σ (x_k − y_k)² ≤ threshold` (Euclidean: eps²), or
    /// `‖x/‖x‖ − y/‖y‖‖² ≤ threshold` (cosine: 2·eps). Every difference is exact in float64,
    /// so the Euclidean test depends only on the differences: moving every point by the
    /// same (exactly representable) vector changes no decision.
    fn within(&self, i: usize, j: usize, threshold: f64) -> bool {
        let (x, y) = (self.row(i), self.row(j));
        let square = match self.metric {
            Metric::Euclidean => x
                .iter()
                .zip(y)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>(),
            Metric::Cosine => {
                let norm = |v: &[f32]| v.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
                let (nx, ny) = (norm(x), norm(y));
                x.iter()
                    .zip(y)
                    .map(|(&a, &b)| (f64::from(a) / nx - f64::from(b) / ny).powi(2))
                    .sum::<f64>()
            }
        };
        square <= threshold
    }

    /// The points' mean (float64, rounded to float32) in the space the device compares in:
    /// as given (Euclidean) or scaled to unit length (cosine).
    fn centre(&self) -> Vec<f32> {
        let n = self.points.len() / self.d.max(1);
        let mut sum = vec![0.0f64; self.d];
        for i in 0..n {
            let scale = self.scale(i);
            for (acc, &v) in sum.iter_mut().zip(self.row(i)) {
                *acc += f64::from(v) * scale;
            }
        }
        sum.iter().map(|&v| (v / n.max(1) as f64) as f32).collect()
    }

    /// 1, or 1/‖x_i‖ under cosine.
    fn scale(&self, i: usize) -> f64 {
        match self.metric {
            Metric::Euclidean => 1.0,
            Metric::Cosine => {
                1.0 / self
                    .row(i)
                    .iter()
                    .map(|&a| f64::from(a).powi(2))
                    .sum::<f64>()
                    .sqrt()
            }
        }
    }

    /// `‖x − centre‖²` of the point at each sorted position (`order[pos]` is its row), with
    /// a little slack so that it bounds what the device holds (its float32 subtraction and,
    /// under cosine, its own normalisation round differently from float64).
    fn centred_norms(&self, centre: &[f32], order: &[usize]) -> Vec<f64> {
        order
            .iter()
            .map(|&i| {
                let scale = self.scale(i);
                let sq: f64 = self
                    .row(i)
                    .iter()
                    .zip(centre)
                    .map(|(&v, &c)| (f64::from(v) * scale - f64::from(c)).powi(2))
                    .sum();
                match self.metric {
                    Metric::Euclidean => sq * (1.0 + 1e-5) + 1e-30,
                    // The device's unit vector differs from float64's by a few units of
                    // float32 rounding per coordinate, whatever the centred norm is.
                    Metric::Cosine => {
                        let slack = 4.0 * (self.d + 4) as f64 * f64::from(f32::EPSILON);
                        (sq.sqrt() + slack).powi(2)
                    }
                }
            })
            .collect()
    }
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
