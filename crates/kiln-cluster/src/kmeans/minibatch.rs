//! Mini-batch K-means (Sculley 2010, as scikit-learn's `MiniBatchKMeans`): each batch moves
//! every centroid towards the mean of its batch points with a per-centroid learning rate
//! `1 / (points it has seen)`, so data that never fits in memory at once can be clustered
//! batch by batch.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::DEFAULT_BLOCK_ROWS;
use super::algorithm::{
    Blocks, Centroids, FarthestPoints, assign, cluster_sums, kmeans_plus_plus, normalize_host_rows,
    origin_of, origin_row, prepare,
};
use crate::metric::{augment_rows, sum_all, sum_rows};
use crate::{Checked, ClusterError, Metric, ParamGuard, Rng, check_input, read_scalar, to_f32};

/// Entry point: `MiniBatchKMeans::params(k)`.
pub struct MiniBatchKMeans;

impl MiniBatchKMeans {
    /// Parameters for `k` clusters: batches of 1,024 points, at most 100 passes, tolerance
    /// 1e-4, seed 42, Euclidean.
    pub fn params(k: usize) -> MiniBatchKMeansParams {
        MiniBatchKMeansParams {
            k,
            batch_size: 1024,
            max_iter: 100,
            tolerance: 1e-4,
            max_no_improvement: 10,
            seed: 42,
            metric: Metric::Euclidean,
            block_rows: DEFAULT_BLOCK_ROWS,
        }
    }
}

/// Mini-batch K-means parameters, a builder: [`check`](ParamGuard::check) them once into
/// [`Checked`] parameters to fit with (or call [`fit`](Self::fit),
/// [`fit_stream`](Self::fit_stream) or [`partial_fit`](Self::partial_fit), which check first).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MiniBatchKMeansParams {
    pub(crate) k: usize,
    batch_size: usize,
    max_iter: usize,
    tolerance: f64,
    max_no_improvement: usize,
    seed: u64,
    pub(crate) metric: Metric,
    /// Models saved before this field read as the default.
    #[serde(default = "default_block_rows")]
    pub(crate) block_rows: usize,
}

fn default_block_rows() -> usize {
    DEFAULT_BLOCK_ROWS
}

impl MiniBatchKMeansParams {
    /// Points per batch in [`fit`](Self::fit) (default 1,024). Streams bring their own.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Most passes over the data in [`fit`](Self::fit) (default 100).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// [`fit`](Self::fit) stops after a pass whose squared centroid shift is at most
    /// `tolerance` times the data's mean per-feature variance (default 1e-4; 0 runs all
    /// `max_iter` passes).
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// [`fit`](Self::fit) also stops after this many consecutive batches without a new
    /// lowest smoothed batch inertia, as scikit-learn's `max_no_improvement` (default 10;
    /// 0 turns this off).
    pub fn max_no_improvement(mut self, batches: usize) -> Self {
        self.max_no_improvement = batches;
        self
    }

    /// Seed of the k-means++ sampling and of the batch order (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Euclidean (default) or cosine (spherical mini-batch K-means).
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// Rows per block when assigning points (default [`DEFAULT_BLOCK_ROWS`], as K-means):
    /// batches are small, prediction inputs may not be.
    pub fn block_rows(mut self, block_rows: usize) -> Self {
        self.block_rows = block_rows;
        self
    }

    /// The seed.
    pub(crate) fn seed_value(&self) -> u64 {
        self.seed
    }

    /// [`check`](ParamGuard::check), then `Checked::partial_fit`.
    ///
    /// # Errors
    /// Invalid parameters, else as `Checked::partial_fit`.
    pub fn partial_fit(&self, first: &Tensor<2>) -> Result<FittedMiniBatchKMeans, ClusterError> {
        self.clone().check()?.partial_fit(first)
    }

    /// [`check`](ParamGuard::check), then `Checked::fit`.
    ///
    /// # Errors
    /// Invalid parameters, else as `Checked::fit`.
    pub fn fit(&self, x: &Tensor<2>) -> Result<FittedMiniBatchKMeans, ClusterError> {
        self.clone().check()?.fit(x)
    }

    /// [`check`](ParamGuard::check), then `Checked::fit_stream`.
    ///
    /// # Errors
    /// Invalid parameters, else as `Checked::fit_stream`.
    pub fn fit_stream<I>(&self, batches: I) -> Result<FittedMiniBatchKMeans, ClusterError>
    where
        I: IntoIterator<Item = Tensor<2>>,
    {
        self.clone().check()?.fit_stream(batches)
    }
}

impl ParamGuard for MiniBatchKMeansParams {
    fn check_ref(&self) -> Result<(), ClusterError> {
        if self.k == 0 {
            return Err(ClusterError::ZeroClusters);
        }
        if self.batch_size == 0 {
            return Err(ClusterError::ZeroBatchSize);
        }
        if self.max_iter == 0 {
            return Err(ClusterError::ZeroMaxIter);
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(ClusterError::Tolerance(self.tolerance));
        }
        if self.block_rows == 0 {
            return Err(ClusterError::ZeroBlockRows);
        }
        Ok(())
    }
}

impl Checked<MiniBatchKMeansParams> {
    /// Starts a model on its first batch (`[m, d]`, `m ≥ k`): k-means++ seeds the centroids
    /// from it, then one mini-batch step uses it. Continue with
    /// [`FittedMiniBatchKMeans::partial_fit`].
    ///
    /// # Errors
    /// Invalid parameters or input, or a first batch smaller than `k`.
    pub fn partial_fit(&self, first: &Tensor<2>) -> Result<FittedMiniBatchKMeans, ClusterError> {
        check_input(first, self.metric)?;
        let [m, _] = first.dims();
        if m < self.k {
            return Err(ClusterError::TooFewPoints { k: self.k, n: m });
        }
        let first = prepare(first, self.metric);
        let origin = origin_of(&first, self.metric)?;
        let device = first.device();
        let first = first - origin_row(&origin, &device);
        let mut model = self.seeded(&first, Rng::new(self.seed), origin)?;
        model.update(&first)?;
        Ok(model)
    }

    /// A model whose centroids are k-means++ on a prepared sample of at least `k` rows
    /// (relative to `origin`).
    fn seeded(
        &self,
        sample: &Tensor<2>,
        mut rng: Rng,
        origin: Vec<f32>,
    ) -> Result<FittedMiniBatchKMeans, ClusterError> {
        let init = kmeans_plus_plus(&Blocks::single(sample), self.k, &mut rng)?;
        let d = sample.dims()[1];
        Ok(FittedMiniBatchKMeans {
            params: self.clone(),
            centroids: to_f32(init)?,
            origin,
            d,
            device: sample.device(),
            counts: vec![0.0; self.k],
            n_batches: 0,
            rng,
        })
    }

    /// Clusters the rows of `x` (`[n, d]`) in shuffled batches of `batch_size`, pass after
    /// pass until the centroids move less than the tolerance over a pass, the smoothed
    /// batch inertia stops improving (see
    /// [`max_no_improvement`](MiniBatchKMeansParams::max_no_improvement)), or `max_iter` passes are done.
    /// k-means++ seeds the centroids from a random sample of `3 × batch_size` points (as
    /// scikit-learn's `init_size`).
    ///
    /// # Errors
    /// Invalid parameters or input, or fewer points than clusters.
    pub fn fit(&self, x: &Tensor<2>) -> Result<FittedMiniBatchKMeans, ClusterError> {
        check_input(x, self.metric)?;
        let [n, _] = x.dims();
        if self.k > n {
            return Err(ClusterError::TooFewPoints { k: self.k, n });
        }
        let x = prepare(x, self.metric);
        let origin = origin_of(&x, self.metric)?;
        let x = x.clone() - origin_row(&origin, &x.device());
        let centred = x.clone() - sum_rows(&x) / n as f64;
        let tol = self.tolerance
            * f64::from(read_scalar::<1, burn::tensor::Float, f32>(sum_all(
                centred.powi_scalar(2),
            ))?)
            / x.dims().iter().product::<usize>() as f64;
        let device = x.device();
        let rows = |idx: &[usize]| {
            let ids: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
            x.clone().select(
                0,
                Tensor::<1, Int>::from_data(TensorData::new(ids, [idx.len()]), &device),
            )
        };

        let mut order: Vec<usize> = (0..n).collect();
        let init_size = (3 * self.batch_size).max(self.k).min(n);
        let mut rng = Rng::new(self.seed);
        rng.shuffle(&mut order);
        let mut model = self.seeded(&rows(&order[..init_size]), rng, origin)?;
        // scikit-learn's smoothing: an exponentially weighted average of the mean batch
        // inertia with weight 2 · batch / (n + 1).
        let alpha = (2.0 * self.batch_size as f64 / (n as f64 + 1.0)).min(1.0);
        let (mut smoothed, mut best, mut stale) = (None::<f64>, f64::INFINITY, 0);
        'passes: for _ in 0..self.max_iter {
            let before = model.centroids.clone();
            model.rng.shuffle(&mut order);
            for batch in order.chunks(self.batch_size) {
                let mean = model.update(&rows(batch))? / batch.len() as f64;
                let s = smoothed.map_or(mean, |s| s * (1.0 - alpha) + mean * alpha);
                smoothed = Some(s);
                if s < best {
                    (best, stale) = (s, 0);
                } else {
                    stale += 1;
                    if self.max_no_improvement > 0 && stale >= self.max_no_improvement {
                        break 'passes;
                    }
                }
            }
            let after = &model.centroids;
            let shift: f64 = before
                .iter()
                .zip(after)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum();
            if shift <= tol {
                break;
            }
        }
        Ok(model)
    }

    /// Clusters a stream of batches (each `[m, d]`, any sizes, any device), one pass: the
    /// data never needs to be in memory at once. The first batch must hold at least `k`
    /// points.
    ///
    /// # Errors
    /// Invalid parameters, an invalid batch, or a batch of another dimension.
    pub fn fit_stream<I>(&self, batches: I) -> Result<FittedMiniBatchKMeans, ClusterError>
    where
        I: IntoIterator<Item = Tensor<2>>,
    {
        let mut batches = batches.into_iter();
        let first = batches.next().ok_or(ClusterError::Empty)?;
        let mut model = self.partial_fit(&first)?;
        for batch in batches {
            model.partial_fit(&batch)?;
        }
        Ok(model)
    }
}

/// A mini-batch K-means model that learns batch by batch.
#[derive(Debug, Clone)]
pub struct FittedMiniBatchKMeans {
    pub(crate) params: Checked<MiniBatchKMeansParams>,
    /// `k × d` row-major on the host, relative to `origin`.
    pub(crate) centroids: Vec<f32>,
    /// The point every batch is compared relative to (the first point it saw; zeros under
    /// cosine), as in [`FittedKMeans`](super::FittedKMeans).
    pub(crate) origin: Vec<f32>,
    pub(crate) d: usize,
    /// Where [`centroids`](Self::centroids) builds its tensor: the first batch's device.
    pub(crate) device: Device,
    pub(crate) counts: Vec<f64>,
    pub(crate) n_batches: usize,
    pub(crate) rng: Rng,
}

impl FittedMiniBatchKMeans {
    /// Updates the centroids with one more batch (`[m, d]`, any size).
    ///
    /// # Errors
    /// Invalid input, or another dimension than the centroids'. The model is unchanged on
    /// error.
    pub fn partial_fit(&mut self, batch: &Tensor<2>) -> Result<(), ClusterError> {
        check_input(batch, self.params.metric)?;
        let found = batch.dims()[1];
        if found != self.d {
            return Err(ClusterError::DimensionMismatch {
                expected: self.d,
                found,
            });
        }
        let batch = prepare(batch, self.params.metric) - origin_row(&self.origin, &batch.device());
        // A failed step leaves the model as it was.
        let mut next = self.clone();
        next.update(&batch)?;
        *self = next;
        Ok(())
    }

    /// The centroids, `[k, d]`, on the device of the first batch (unit vectors under
    /// cosine).
    pub fn centroids(&self) -> Tensor<2> {
        self.centroids_on(&self.device) + origin_row(&self.origin, &self.device)
    }

    /// The centroids relative to the origin, on `device`.
    fn centroids_on(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.centroids.clone(), [self.params.k, self.d]),
            device,
        )
    }

    /// Points each centroid has absorbed so far.
    pub fn counts(&self) -> &[f64] {
        &self.counts
    }

    /// Batches seen so far.
    pub fn n_batches(&self) -> usize {
        self.n_batches
    }

    /// The distance used.
    pub fn metric(&self) -> Metric {
        self.params.metric
    }

    /// The nearest centroid of each row of `x`.
    ///
    /// # Errors
    /// Invalid input, or another dimension than the centroids'.
    pub fn predict(&self, x: &Tensor<2>) -> Result<Vec<usize>, ClusterError> {
        self.model(&x.device()).predict(x)
    }

    /// The K-means objective on `x`: the sum of squared distances to the nearest centroid
    /// (cosine: of `1 − cos`), as [`FittedKMeans::inertia_on`](super::FittedKMeans::inertia_on).
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn inertia_on(&self, x: &Tensor<2>) -> Result<f64, ClusterError> {
        self.model(&x.device()).inertia_on(x)
    }

    fn model(&self, device: &Device) -> Centroids<'_> {
        Centroids {
            relative: self.centroids_on(device),
            origin: &self.origin,
            metric: self.params.metric,
            block_rows: self.params.block_rows,
        }
    }

    /// One mini-batch step on a prepared batch, after initialisation; returns the batch's
    /// squared distances to the centroids it was assigned to, summed.
    ///
    /// # Shapes
    /// - batch: `[m, d]`
    fn update(&mut self, batch: &Tensor<2>) -> Result<f64, ClusterError> {
        let k = self.params.k;
        let centroids = self.centroids_on(&batch.device());
        let d = self.d;
        let (labels, dists) = assign(&augment_rows(batch), &centroids, self.params.block_rows);
        let (batch_counts, sums) = cluster_sums(batch, labels, k)?;
        let mut far: Option<FarthestPoints> = None;
        let values = &mut self.centroids;
        for c in 0..k {
            let row = &mut values[c * d..(c + 1) * d];
            let seen = batch_counts[c];
            if seen > 0.0 {
                // c ← c + (Σ batch points − seen·c) / (all points seen by c)
                self.counts[c] += seen;
                let rate = (1.0 / self.counts[c]) as f32;
                for (v, s) in row.iter_mut().zip(&sums[c * d..(c + 1) * d]) {
                    *v += (s - seen as f32 * *v) * rate;
                }
            } else if self.counts[c] == 0.0 {
                // A centroid that has never won a point moves to the batch point farthest
                // from its own centroid, as empty clusters do in full K-means.
                if far.is_none() {
                    far = Some(FarthestPoints::new(&dists)?);
                }
                if let Some(point) = far
                    .as_mut()
                    .and_then(|f| f.next(&Blocks::single(batch)).transpose())
                    .transpose()?
                {
                    row.copy_from_slice(&point);
                }
            }
        }
        if self.params.metric == Metric::Cosine {
            normalize_host_rows(values, d);
        }
        self.n_batches += 1;
        Ok(f64::from(read_scalar::<1, burn::tensor::Float, f32>(
            sum_all(dists),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(MiniBatchKMeans::params(3).check_ref(), Ok(()));
    }

    #[test]
    fn zero_clusters_is_rejected() {
        assert_eq!(
            MiniBatchKMeans::params(0).check_ref(),
            Err(ClusterError::ZeroClusters)
        );
    }

    #[test]
    fn zero_batch_size_is_rejected() {
        assert_eq!(
            MiniBatchKMeans::params(2).batch_size(0).check_ref(),
            Err(ClusterError::ZeroBatchSize)
        );
    }

    #[test]
    fn zero_max_iter_is_rejected() {
        assert_eq!(
            MiniBatchKMeans::params(2).max_iter(0).check_ref(),
            Err(ClusterError::ZeroMaxIter)
        );
    }

    #[test]
    fn bad_tolerance_is_rejected() {
        assert!(matches!(
            MiniBatchKMeans::params(2).tolerance(-1.0).check_ref(),
            Err(ClusterError::Tolerance(_))
        ));
    }
}
