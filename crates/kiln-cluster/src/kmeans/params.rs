use burn::tensor::Tensor;

use super::FittedKMeans;
use crate::{Checked, ClusterError, Metric, ParamGuard};

/// Rows per block of the distance computation of every K-means model, unless set: a block
/// holds `block_rows × k` floats.
pub const DEFAULT_BLOCK_ROWS: usize = 65_536;

/// Entry point: `KMeans::params(k)`.
pub struct KMeans;

impl KMeans {
    /// Parameters for `k` clusters, with scikit-learn's defaults otherwise.
    pub fn params(k: usize) -> KMeansParams {
        KMeansParams {
            k,
            max_iter: 300,
            tolerance: 1e-4,
            n_init: 1,
            seed: 42,
            metric: Metric::Euclidean,
            block_rows: DEFAULT_BLOCK_ROWS,
            init: None,
        }
    }
}

/// K-means parameters, a builder: [`check`](ParamGuard::check) them once into
/// [`Checked`] parameters to fit with (or call [`fit`](Self::fit), which checks first).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KMeansParams {
    pub(crate) k: usize,
    pub(crate) max_iter: usize,
    pub(crate) tolerance: f64,
    pub(crate) n_init: usize,
    pub(crate) seed: u64,
    pub(crate) metric: Metric,
    pub(crate) block_rows: usize,
    pub(crate) init: Option<Vec<f32>>,
}

impl KMeansParams {
    /// Most Lloyd iterations per run (default 300).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Convergence: stop when the squared centroid shift is at most `tolerance` times the
    /// data's mean per-feature variance, as scikit-learn (default 1e-4). 0 runs to `max_iter`
    /// or an exactly stable assignment.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Start Lloyd's iterations from these centroids (`k × d` values, row-major) instead of
    /// k-means++, as scikit-learn's `init=array`: one run, whatever `n_init` says. Two
    /// implementations started from the same centroids do the same work, which is what a
    /// per-iteration comparison needs.
    pub fn init_centroids(mut self, centroids: &[f32]) -> Self {
        self.init = Some(centroids.to_vec());
        self
    }

    /// Runs with different seeds; the one of lowest inertia is kept (default 1).
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Seed of the k-means++ sampling (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Euclidean (default) or cosine (spherical K-means).
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// Rows per block of the distance computation: a block holds `block_rows × k` floats
    /// (default 65,536).
    pub fn block_rows(mut self, block_rows: usize) -> Self {
        self.block_rows = block_rows;
        self
    }

    /// [`check`](ParamGuard::check), then `Checked::fit`.
    ///
    /// # Errors
    /// Invalid parameters, else as `Checked::fit`.
    pub fn fit(&self, x: &Tensor<2>) -> Result<FittedKMeans, ClusterError> {
        self.clone().check()?.fit(x)
    }

    /// [`check`](ParamGuard::check), then `Checked::fit_blocks`.
    ///
    /// # Errors
    /// Invalid parameters, else as `Checked::fit_blocks`.
    pub fn fit_blocks(&self, blocks: &[Tensor<2>]) -> Result<FittedKMeans, ClusterError> {
        self.clone().check()?.fit_blocks(blocks)
    }
}

impl ParamGuard for KMeansParams {
    fn check_ref(&self) -> Result<(), ClusterError> {
        if self.k == 0 {
            return Err(ClusterError::ZeroClusters);
        }
        if self.max_iter == 0 {
            return Err(ClusterError::ZeroMaxIter);
        }
        if self.n_init == 0 {
            return Err(ClusterError::ZeroNInit);
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

impl Checked<KMeansParams> {
    /// Clusters the rows of `x` (`[n, d]`, on any device).
    ///
    /// # Errors
    /// Empty or non-finite input, zero vectors under cosine, or fewer points than clusters.
    pub fn fit(&self, x: &Tensor<2>) -> Result<FittedKMeans, ClusterError> {
        super::algorithm::fit(self, std::slice::from_ref(x))
    }

    /// `fit` on a matrix given as consecutive row blocks (`[n_b, d]`
    /// each, one `d`, on one device): the result is the fit of their concatenation, but no
    /// operation ever touches more than one block of the points at a time. This is how an
    /// input larger than a device's buffer limit is clustered (WGPU allocates at most 128 MiB
    /// per buffer on most adapters; a 60,000 × 784 MNIST matrix is 188 MB): keep each block
    /// below it.
    ///
    /// # Errors
    /// As `fit`; blocks of different widths are [`ClusterError::DimensionMismatch`], no
    /// blocks [`ClusterError::Empty`].
    pub fn fit_blocks(&self, blocks: &[Tensor<2>]) -> Result<FittedKMeans, ClusterError> {
        super::algorithm::fit(self, blocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(KMeans::params(3).check_ref(), Ok(()));
    }

    #[test]
    fn zero_clusters_is_rejected() {
        assert_eq!(
            KMeans::params(0).check_ref(),
            Err(ClusterError::ZeroClusters)
        );
    }

    #[test]
    fn zero_max_iter_is_rejected() {
        assert_eq!(
            KMeans::params(2).max_iter(0).check_ref(),
            Err(ClusterError::ZeroMaxIter)
        );
    }

    #[test]
    fn zero_n_init_is_rejected() {
        assert_eq!(
            KMeans::params(2).n_init(0).check_ref(),
            Err(ClusterError::ZeroNInit)
        );
    }

    #[test]
    fn bad_tolerance_is_rejected() {
        for t in [-1e-3, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                KMeans::params(2).tolerance(t).check_ref(),
                Err(ClusterError::Tolerance(_))
            ));
        }
    }

    #[test]
    fn zero_block_rows_is_rejected() {
        assert_eq!(
            KMeans::params(2).block_rows(0).check_ref(),
            Err(ClusterError::ZeroBlockRows)
        );
    }
}
