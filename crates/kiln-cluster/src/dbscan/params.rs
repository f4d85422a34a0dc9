use burn::tensor::Tensor;

use super::FittedDbscan;
use crate::{Checked, ClusterError, Metric, ParamGuard};

/// Entry point: `Dbscan::params(eps, min_samples)`.
pub struct Dbscan;

impl Dbscan {
    /// Points within `eps` of each other are neighbours; a point with at least
    /// `min_samples` neighbours (itself included, as scikit-learn counts) is a core point.
    pub fn params(eps: f64, min_samples: usize) -> DbscanParams {
        DbscanParams {
            eps,
            min_samples,
            metric: Metric::Euclidean,
            block_rows: None,
            max_neighbour_pairs: DEFAULT_MAX_NEIGHBOUR_PAIRS,
            device_block_floats: crate::DEFAULT_BLOCK_FLOATS,
        }
    }
}

/// DBSCAN parameters, a builder: [`check`](ParamGuard::check) them once into [`Checked`]
/// parameters to fit with (or call [`fit`](Self::fit), which checks first).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DbscanParams {
    pub(crate) eps: f64,
    pub(crate) min_samples: usize,
    pub(crate) metric: Metric,
    pub(crate) block_rows: Option<usize>,
    pub(crate) max_neighbour_pairs: usize,
    pub(crate) device_block_floats: usize,
}

/// Neighbour pairs DBSCAN keeps on the host by default: 2²⁸, 1 GiB of `u32` indices.
pub const DEFAULT_MAX_NEIGHBOUR_PAIRS: usize = 1 << 28;

impl DbscanParams {
    /// Euclidean distance (default) or cosine distance `1 − cos`.
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// Rows per block of the neighbour computation. A block compares its rows with the band
    /// of points that can be within `eps` along the widest coordinate, so it holds at most
    /// `block_rows × n` distances on the device. Default 256, and never more rows than fit
    /// in 2²⁴ distances.
    pub fn block_rows(mut self, block_rows: usize) -> Self {
        self.block_rows = Some(block_rows);
        self
    }

    /// The most neighbour pairs (each point's neighbours, itself included, summed over all
    /// points) the fit may hold on the host, 4 bytes each; default
    /// [`DEFAULT_MAX_NEIGHBOUR_PAIRS`] (2²⁸, 1 GiB). When `eps` reaches so many points that
    /// the lists would grow past it — they grow as n² when `eps` covers most of the data —
    /// the fit stops with [`ClusterError::TooManyNeighbours`] instead of exhausting memory.
    pub fn max_neighbour_pairs(mut self, pairs: usize) -> Self {
        self.max_neighbour_pairs = pairs;
        self
    }

    /// The most floats one device tensor of the (sorted, augmented) points may hold; default
    /// 2²⁴ (64 MiB, half of WGPU's usual 128 MiB buffer limit). An input larger than that is
    /// gathered into several such tensors, and every block of rows is compared with its band
    /// piece by piece.
    pub fn device_block_floats(mut self, floats: usize) -> Self {
        self.device_block_floats = floats;
        self
    }

    /// [`check`](ParamGuard::check), then `Checked::fit`.
    ///
    /// # Errors
    /// Invalid parameters, else as `Checked::fit`.
    pub fn fit(&self, x: &Tensor<2>) -> Result<FittedDbscan, ClusterError> {
        self.clone().check()?.fit(x)
    }

    /// [`check`](ParamGuard::check), then `Checked::fit_blocks`.
    ///
    /// # Errors
    /// Invalid parameters, else as `Checked::fit_blocks`.
    pub fn fit_blocks(&self, blocks: &[Tensor<2>]) -> Result<FittedDbscan, ClusterError> {
        self.clone().check()?.fit_blocks(blocks)
    }
}

impl ParamGuard for DbscanParams {
    fn check_ref(&self) -> Result<(), ClusterError> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(ClusterError::Eps(self.eps));
        }
        if self.min_samples == 0 {
            return Err(ClusterError::ZeroMinSamples);
        }
        if self.block_rows == Some(0) {
            return Err(ClusterError::ZeroBlockRows);
        }
        if self.max_neighbour_pairs == 0 {
            return Err(ClusterError::ZeroMaxNeighbourPairs);
        }
        Ok(())
    }
}

impl Checked<DbscanParams> {
    /// Clusters the rows of `x` (`[n, d]`, on any device).
    ///
    /// # Errors
    /// Empty or non-finite input, zero vectors under cosine, or more neighbour pairs than
    /// [`max_neighbour_pairs`](DbscanParams::max_neighbour_pairs).
    pub fn fit(&self, x: &Tensor<2>) -> Result<FittedDbscan, ClusterError> {
        super::algorithm::fit(self, std::slice::from_ref(x))
    }

    /// `fit` on points given as consecutive row blocks (`[n_b, d]` each, one `d`, on one
    /// device), for an input larger than the device's buffer limit: each block, and every
    /// tensor the fit makes, stays within
    /// [`device_block_floats`](DbscanParams::device_block_floats). The result is the fit of
    /// the concatenation.
    ///
    /// # Errors
    /// As `fit`; no blocks or blocks of different widths are [`ClusterError`]s.
    pub fn fit_blocks(&self, blocks: &[Tensor<2>]) -> Result<FittedDbscan, ClusterError> {
        super::algorithm::fit(self, blocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Dbscan::params(0.5, 5).check_ref(), Ok(()));
    }

    #[test]
    fn bad_eps_is_rejected() {
        for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Dbscan::params(eps, 5).check_ref(),
                Err(ClusterError::Eps(_))
            ));
        }
    }

    #[test]
    fn zero_min_samples_is_rejected() {
        assert_eq!(
            Dbscan::params(0.5, 0).check_ref(),
            Err(ClusterError::ZeroMinSamples)
        );
    }

    #[test]
    fn zero_block_rows_is_rejected() {
        assert_eq!(
            Dbscan::params(0.5, 5).block_rows(0).check_ref(),
            Err(ClusterError::ZeroBlockRows)
        );
    }
}
