//! k-means++ and Lloyd's iterations.

use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};

use super::KMeansParams;
use crate::Checked;
use crate::metric::{augment_cols, augment_rows, normalize_rows, row_sq_norms, sum_all, sum_rows};
use crate::{ClusterError, Metric, Rng, check_input, read_scalar, to_f32, to_f64, to_indices};
use burn::tensor::Bool;

/// A fitted K-means model.
///
/// Under the Euclidean metric every point is compared *relative to an origin* — the first
/// training point (or the first centroid of a model built from centroids) — rather than to
/// the coordinate system's zero: squared distances are computed as one matrix product,
/// `‖x‖² − 2x·c + ‖c‖²`, whose float32 rounding grows with `‖x‖²`, so data far from zero
/// (longitudes, projected metres, timestamps) would otherwise lose the differences between
/// points. Moving the data moves the origin with it, so labels and inertia do not depend on
/// where the data sit (docs/cluster.md, "Exact under translation").
#[derive(Debug, Clone)]
pub struct FittedKMeans {
    /// Relative to `origin`.
    pub(crate) centroids: Tensor<2>,
    /// `d` values subtracted from every point before it is compared (zeros under cosine).
    pub(crate) origin: Vec<f32>,
    pub(crate) labels: Vec<usize>,
    pub(crate) inertia: f64,
    pub(crate) n_iter: usize,
    pub(crate) metric: Metric,
    pub(crate) block_rows: usize,
}

impl FittedKMeans {
    /// The centroids, `[k, d]`, on the input's device (unit vectors under cosine).
    pub fn centroids(&self) -> Tensor<2> {
        self.centroids.clone() + origin_row(&self.origin, &self.centroids.device())
    }

    /// The distance used.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// A model from given centroids (`[k, d]`, finite; normalised to unit rows under
    /// cosine), to predict with. It has no training points: [`labels`](Self::labels) is
    /// empty and [`inertia`](Self::inertia) and [`n_iter`](Self::n_iter) are 0.
    ///
    /// # Errors
    /// [`ClusterError::InvalidCentroids`] for an empty or non-finite matrix.
    pub fn from_centroids(centroids: Tensor<2>, metric: Metric) -> Result<Self, ClusterError> {
        let [k, d] = centroids.dims();
        if k == 0 || d == 0 || !read_scalar::<1, Bool, bool>(centroids.clone().is_finite().all())? {
            return Err(ClusterError::InvalidCentroids);
        }
        let prepared = prepare(&centroids, metric);
        let origin = origin_of(&prepared, metric)?;
        Ok(Self {
            centroids: prepared - origin_row(&origin, &centroids.device()),
            origin,
            labels: Vec::new(),
            inertia: 0.0,
            n_iter: 0,
            metric,
            block_rows: super::DEFAULT_BLOCK_ROWS,
        })
    }

    /// The K-means objective on `x`: the sum of squared distances to the nearest centroid
    /// (cosine: of `1 − cos`); on the training points it is [`inertia`](Self::inertia).
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn inertia_on(&self, x: &Tensor<2>) -> Result<f64, ClusterError> {
        self.model().inertia_on(x)
    }

    /// The cluster of each training point.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Sum over points of the squared Euclidean distance to their centroid (Euclidean), or
    /// of the cosine distance `1 − cos` (cosine).
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Lloyd iterations the kept run made.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// The nearest centroid of each row of `x`.
    ///
    /// # Errors
    /// Invalid input, or points of another dimension than the centroids.
    pub fn predict(&self, x: &Tensor<2>) -> Result<Vec<usize>, ClusterError> {
        self.model().predict(x)
    }

    fn model(&self) -> Centroids<'_> {
        Centroids {
            relative: self.centroids.clone(),
            origin: &self.origin,
            metric: self.metric,
            block_rows: self.block_rows,
        }
    }
}

/// What both K-means models predict with: the one implementation of `predict` and
/// `inertia_on` for [`FittedKMeans`] and
/// [`FittedMiniBatchKMeans`](super::FittedMiniBatchKMeans).
pub(crate) struct Centroids<'a> {
    /// `[k, d]`, relative to `origin`, on any device.
    pub(crate) relative: Tensor<2>,
    pub(crate) origin: &'a [f32],
    pub(crate) metric: Metric,
    pub(crate) block_rows: usize,
}

impl Centroids<'_> {
    /// The nearest centroid of each row of `x`.
    pub(crate) fn predict(&self, x: &Tensor<2>) -> Result<Vec<usize>, ClusterError> {
        let (labels, _) = self.nearest(x)?;
        to_indices(labels)
    }

    /// The sum of squared distances to the nearest centroid (cosine: of `1 − cos`).
    pub(crate) fn inertia_on(&self, x: &Tensor<2>) -> Result<f64, ClusterError> {
        let (_, dists) = self.nearest(x)?;
        let total = f64::from(read_scalar::<1, burn::tensor::Float, f32>(sum_all(dists))?);
        Ok(match self.metric {
            Metric::Euclidean => total,
            Metric::Cosine => total / 2.0,
        })
    }

    fn nearest(&self, x: &Tensor<2>) -> Result<(Tensor<1, Int>, Tensor<1>), ClusterError> {
        let expected = self.relative.dims()[1];
        let found = x.dims()[1];
        if found != expected {
            return Err(ClusterError::DimensionMismatch { expected, found });
        }
        check_input(x, self.metric)?;
        let x = prepare(x, self.metric) - origin_row(self.origin, &x.device());
        let centroids = self.relative.clone().to_device(&x.device());
        Ok(assign(&augment_rows(&x), &centroids, self.block_rows))
    }
}

pub(super) fn prepare(x: &Tensor<2>, metric: Metric) -> Tensor<2> {
    match metric {
        Metric::Euclidean => x.clone(),
        Metric::Cosine => normalize_rows(x.clone()),
    }
}

/// The origin points are compared relative to: the first row of `prepared` under the
/// Euclidean metric (a point of the data itself, so it moves with the data: `x − origin` is
/// the same for data moved by any exactly representable vector), zeros under cosine (whose
/// unit vectors are already at the scale of 1, and which is not translation-invariant).
pub(crate) fn origin_of(prepared: &Tensor<2>, metric: Metric) -> Result<Vec<f32>, ClusterError> {
    let d = prepared.dims()[1];
    match metric {
        Metric::Euclidean => to_f32(prepared.clone().narrow(0, 0, 1)),
        Metric::Cosine => Ok(vec![0.0; d]),
    }
}

/// `origin` as a `[1, d]` row on `device`.
pub(crate) fn origin_row(origin: &[f32], device: &burn::tensor::Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(origin.to_vec(), [1, origin.len()]), device)
}

/// Nearest centroid and squared distance to it for every row, `block_rows` rows at a time.
///
/// # Shapes
/// - x_aug: `[n, d + 2]` ([`augment_rows`] of the points), c: `[k, d]`
/// - output: labels `[n]`, squared distances `[n]`
pub(super) fn assign(
    x_aug: &Tensor<2>,
    c: &Tensor<2>,
    block_rows: usize,
) -> (Tensor<1, Int>, Tensor<1>) {
    let n = x_aug.dims()[0];
    let c_aug = augment_cols(c.clone(), row_sq_norms(c)); // [d + 2, k]
    let mut labels = Vec::new();
    let mut dists = Vec::new();
    for start in (0..n).step_by(block_rows) {
        let len = block_rows.min(n - start);
        let d = x_aug.clone().narrow(0, start, len).matmul(c_aug.clone()); // [len, k]
        let (min, idx) = d.min_dim_with_indices(1); // [len, 1] each
        // Clamped after the minimum: rounding can leave a tiny negative square.
        dists.push(min.reshape([len]).clamp_min(0.0));
        labels.push(idx.reshape([len]));
    }
    (Tensor::cat(labels, 0), Tensor::cat(dists, 0))
}

/// The rows of one matrix held as consecutive row blocks (one block for an ordinary input;
/// several for one larger than a device's buffer limit), each with its augmented rows.
pub(super) struct Blocks {
    x: Vec<Tensor<2>>,
    x_aug: Vec<Tensor<2>>,
    /// First row of each block, then `n`.
    starts: Vec<usize>,
}

impl Blocks {
    /// Checks and prepares `blocks` (each `[n_b, d]`, one `d`), relative to `origin`.
    fn new(blocks: &[Tensor<2>], metric: Metric, origin: &[f32]) -> Result<Self, ClusterError> {
        let Some(first) = blocks.first() else {
            return Err(ClusterError::Empty);
        };
        let d = first.dims()[1];
        let mut starts = vec![0];
        let (mut x, mut x_aug) = (Vec::new(), Vec::new());
        for block in blocks {
            let found = block.dims()[1];
            if found != d {
                return Err(ClusterError::DimensionMismatch { expected: d, found });
            }
            check_input(block, metric)?;
            let prepared = prepare(block, metric) - origin_row(origin, &block.device());
            x_aug.push(augment_rows(&prepared));
            x.push(prepared);
            starts.push(starts.last().copied().unwrap_or(0) + block.dims()[0]);
        }
        Ok(Self { x, x_aug, starts })
    }

    /// One prepared tensor as blocks (mini-batch K-means' samples).
    pub(super) fn single(x: &Tensor<2>) -> Self {
        Self {
            x_aug: vec![augment_rows(x)],
            x: vec![x.clone()],
            starts: vec![0, x.dims()[0]],
        }
    }

    fn n(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Row `i` as `[1, d]`.
    pub(super) fn row(&self, i: usize) -> Tensor<2> {
        let b = self.starts.partition_point(|&s| s <= i).saturating_sub(1);
        self.x[b].clone().narrow(0, i - self.starts[b], 1)
    }

    /// Rows `idx` as `[idx.len(), d]`.
    fn rows(&self, idx: &[usize]) -> Tensor<2> {
        Tensor::cat(idx.iter().map(|&i| self.row(i)).collect(), 0)
    }

    /// Squared distances of every row to the rows `c` (`[t, d]`), row-major `n × t` on the
    /// host, clamped at 0 against rounding.
    fn distances_to(&self, c: Tensor<2>) -> Result<Vec<f32>, ClusterError> {
        let c_sq = row_sq_norms(&c);
        let c_aug = augment_cols(c, c_sq);
        let mut out = Vec::new();
        for x_aug in &self.x_aug {
            out.extend(to_f32(x_aug.clone().matmul(c_aug.clone()))?);
        }
        out.iter_mut().for_each(|v| *v = v.max(0.0));
        Ok(out)
    }

    /// Nearest centroid and squared distance of every row.
    fn assign(&self, c: &Tensor<2>, block_rows: usize) -> (Tensor<1, Int>, Tensor<1>) {
        let (labels, dists): (Vec<_>, Vec<_>) = self
            .x_aug
            .iter()
            .map(|x_aug| assign(x_aug, c, block_rows))
            .unzip();
        (Tensor::cat(labels, 0), Tensor::cat(dists, 0))
    }

    /// Points per cluster and each cluster's sum, over all blocks.
    fn cluster_sums(
        &self,
        labels: &Tensor<1, Int>,
        k: usize,
    ) -> Result<(Vec<f64>, Vec<f32>), ClusterError> {
        let mut total: Option<(Vec<f64>, Vec<f32>)> = None;
        for (b, x) in self.x.iter().enumerate() {
            let part =
                labels
                    .clone()
                    .narrow(0, self.starts[b], self.starts[b + 1] - self.starts[b]);
            let (counts, sums) = cluster_sums(x, part, k)?;
            match &mut total {
                None => total = Some((counts, sums)),
                Some((tc, ts)) => {
                    tc.iter_mut().zip(&counts).for_each(|(a, b)| *a += b);
                    ts.iter_mut().zip(&sums).for_each(|(a, b)| *a += b);
                }
            }
        }
        total.ok_or(ClusterError::Empty)
    }

    /// The mean per-feature variance (two passes: the mean, then the centred squares).
    fn mean_variance(&self) -> Result<f64, ClusterError> {
        let n = self.n();
        let d = self.x[0].dims()[1];
        let sum = self
            .x
            .iter()
            .map(sum_rows)
            .reduce(|a, b| a + b)
            .ok_or(ClusterError::Empty)?; // [1, d]
        let mean = sum / n as f64;
        let mut squares = 0.0;
        for x in &self.x {
            let centred = x.clone() - mean.clone();
            squares += f64::from(read_scalar::<1, burn::tensor::Float, f32>(sum_all(
                centred.powi_scalar(2),
            ))?);
        }
        Ok(squares / (n * d) as f64)
    }
}

pub(crate) fn fit(
    p: &Checked<KMeansParams>,
    blocks: &[Tensor<2>],
) -> Result<FittedKMeans, ClusterError> {
    let Some(first) = blocks.first() else {
        return Err(ClusterError::Empty);
    };
    check_input(first, p.metric)?;
    let origin = origin_of(&prepare(first, p.metric), p.metric)?;
    let x = Blocks::new(blocks, p.metric, &origin)?;
    let n = x.n();
    if p.k > n {
        return Err(ClusterError::TooFewPoints { k: p.k, n });
    }
    // scikit-learn's tolerance is relative to the mean per-feature variance.
    let tol = p.tolerance * x.mean_variance()?;
    if let Some(values) = &p.init {
        let d = blocks[0].dims()[1];
        if values.len() != p.k * d || !values.iter().all(|v| v.is_finite()) {
            return Err(ClusterError::InvalidCentroids);
        }
        let init = Tensor::<2>::from_data(
            TensorData::new(values.clone(), [p.k, d]),
            &blocks[0].device(),
        );
        let init = prepare(&init, p.metric) - origin_row(&origin, &init.device());
        return lloyd(p, &x, init, tol, &origin);
    }

    let mut best: Option<FittedKMeans> = None;
    for run in 0..p.n_init {
        let mut rng = Rng::new(p.seed.wrapping_add(run as u64));
        let init = kmeans_plus_plus(&x, p.k, &mut rng)?;
        let fitted = lloyd(p, &x, init, tol, &origin)?;
        if best.as_ref().is_none_or(|b| fitted.inertia < b.inertia) {
            best = Some(fitted);
        }
    }
    best.ok_or(ClusterError::Empty)
}

/// Greedy k-means++ (as scikit-learn): each new centre is the best, by total potential, of
/// `2 + ln k` candidates sampled proportionally to the squared distance to the nearest centre.
pub(super) fn kmeans_plus_plus(
    x: &Blocks,
    k: usize,
    rng: &mut Rng,
) -> Result<Tensor<2>, ClusterError> {
    let n = x.n();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let rows = |idx: &[usize]| x.rows(idx);
    // [n, t] squared distances to the candidate rows, row-major on the host.
    let distances_to = |idx: &[usize]| x.distances_to(rows(idx));

    let mut centres = vec![rng.below(n)];
    let mut closest = distances_to(&centres)?;
    let mut cumulative = vec![0.0f64; n];
    while centres.len() < k {
        // Sampling ∝ closest: binary search in the running sum.
        let mut total = 0.0;
        for (c, &d) in cumulative.iter_mut().zip(&closest) {
            total += f64::from(d);
            *c = total;
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                if total <= 0.0 {
                    return rng.below(n);
                }
                let target = rng.unit() * total;
                cumulative.partition_point(|&c| c <= target).min(n - 1)
            })
            .collect();
        let dist = distances_to(&candidates)?;
        let t = candidates.len();
        // The potential each candidate would leave, in one pass over the rows.
        let mut potential = vec![0.0f64; t];
        for (row, &c) in dist.chunks_exact(t).zip(&closest) {
            for (p, &d) in potential.iter_mut().zip(row) {
                *p += f64::from(c.min(d));
            }
        }
        let best = (0..t)
            .min_by(|&a, &b| potential[a].total_cmp(&potential[b]))
            .expect("at least two candidates");
        for (c, row) in closest.iter_mut().zip(dist.chunks_exact(t)) {
            *c = c.min(row[best]);
        }
        centres.push(candidates[best]);
    }
    Ok(rows(&centres))
}

/// Points in decreasing order of distance to their centroid, handed out one at a time to
/// re-seed empty clusters.
pub(super) struct FarthestPoints(std::vec::IntoIter<usize>);

impl FarthestPoints {
    /// The order of `dists` (`[n]`, each point's squared distance to its centroid).
    pub(super) fn new(dists: &Tensor<1>) -> Result<Self, ClusterError> {
        let dist = to_f64(dists.clone())?;
        let mut idx: Vec<usize> = (0..dist.len()).collect();
        idx.sort_by(|a, b| dist[*b].total_cmp(&dist[*a]));
        Ok(Self(idx.into_iter()))
    }

    /// The next farthest row of `x` not yet handed out.
    pub(super) fn next(&mut self, x: &Blocks) -> Result<Option<Vec<f32>>, ClusterError> {
        let Some(pick) = self.0.next() else {
            return Ok(None);
        };
        Ok(Some(to_f32(x.row(pick))?))
    }
}

/// Scales each `d`-long row of `values` to unit length (zero rows stay zero).
pub(super) fn normalize_host_rows(values: &mut [f32], d: usize) {
    for row in values.chunks_mut(d) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// Points per cluster and the sum of each cluster's points, pulled to the host.
///
/// Both are scatter-adds of the rows into their cluster's row (`select_assign` with
/// `IndexingUpdateOp::Add`): one pass over the points. The former one-hot form (an `[n, k]`
/// comparison matrix, its column sums, and `onehotᵀ · x`) wrote and read `n × k` floats and
/// took 25% longer per Lloyd iteration on flex and tch (docs/benchmarks.md, W4). Counts add
/// integers, so they stay exact at any size. On GPU backends the float additions' order is not
/// fixed, so sums may differ in the last bits from run to run.
///
/// # Shapes
/// - x: `[n, d]`, labels: `[n]`
/// - output: counts `k`, sums `k × d` row-major
pub(super) fn cluster_sums(
    x: &Tensor<2>,
    labels: Tensor<1, Int>,
    k: usize,
) -> Result<(Vec<f64>, Vec<f32>), ClusterError> {
    let [n, d] = x.dims();
    let device = x.device();
    let add = IndexingUpdateOp::Add;
    let counts = Tensor::<1, Int>::zeros([k], &device).select_assign(
        0,
        labels.clone(),
        Tensor::ones([n], &device),
        add,
    );
    let sums = Tensor::<2>::zeros([k, d], &device).select_assign(0, labels, x.clone(), add);
    let counts = to_indices(counts)?.into_iter().map(|c| c as f64).collect();
    Ok((counts, to_f32(sums)?))
}

fn lloyd(
    p: &KMeansParams,
    x: &Blocks,
    init: Tensor<2>,
    tol: f64,
    origin: &[f32],
) -> Result<FittedKMeans, ClusterError> {
    let d = init.dims()[1];
    let device = init.device();
    let k = p.k;
    let mut centroids = init;
    let mut n_iter = 0;
    for iter in 1..=p.max_iter {
        n_iter = iter;
        let (labels, dists) = x.assign(&centroids, p.block_rows);
        let (counts, sums) = x.cluster_sums(&labels, k)?;
        let mut new = sums;
        let mut far: Option<FarthestPoints> = None;
        for (c, &count) in counts.iter().enumerate() {
            let row = &mut new[c * d..(c + 1) * d];
            if count > 0.0 {
                row.iter_mut().for_each(|v| *v /= count as f32);
                continue;
            }
            // An empty cluster takes the point farthest from its centroid not yet used.
            if far.is_none() {
                far = Some(FarthestPoints::new(&dists)?);
            }
            if let Some(point) = far
                .as_mut()
                .and_then(|f| f.next(x).transpose())
                .transpose()?
            {
                row.copy_from_slice(&point);
            }
        }
        if p.metric == Metric::Cosine {
            normalize_host_rows(&mut new, d);
        }
        let new = Tensor::<2>::from_data(TensorData::new(new, [k, d]), &device);
        let shift = f64::from(read_scalar::<1, burn::tensor::Float, f32>(
            (new.clone() - centroids).powi_scalar(2).sum(),
        )?);
        centroids = new;
        if shift <= tol {
            break;
        }
    }
    let (labels, dists) = x.assign(&centroids, p.block_rows);
    let mut inertia = f64::from(read_scalar::<1, burn::tensor::Float, f32>(sum_all(dists))?);
    if p.metric == Metric::Cosine {
        inertia /= 2.0; // ‖x − c‖² = 2 (1 − cos) for unit vectors
    }
    Ok(FittedKMeans {
        centroids,
        origin: origin.to_vec(),
        labels: to_indices(labels)?,
        inertia,
        n_iter,
        metric: p.metric,
        block_rows: p.block_rows,
    })
}
