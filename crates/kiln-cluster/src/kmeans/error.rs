use crate::InputError;

/// An invalid K-means parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KMeansParamsError {
    /// `k` is 0.
    #[error("k must be at least 1")]
    ZeroClusters,
    /// `max_iter` is 0.
    #[error("max_iter must be at least 1")]
    ZeroMaxIter,
    /// `n_init` is 0.
    #[error("n_init must be at least 1")]
    ZeroNInit,
    /// `tolerance` is negative or not finite.
    #[error("tolerance must be finite and non-negative, got {0}")]
    Tolerance(f64),
    /// `block_rows` is 0.
    #[error("block_rows must be at least 1")]
    ZeroBlockRows,
    /// Mini-batch `batch_size` is 0.
    #[error("batch_size must be at least 1")]
    ZeroBatchSize,
}

/// Errors of fitting or predicting with K-means.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KMeansError {
    /// A parameter is invalid.
    #[error(transparent)]
    Params(#[from] KMeansParamsError),
    /// The input is invalid.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Fewer points than clusters.
    #[error("k = {k} clusters need at least {k} points, got {n}")]
    TooFewPoints {
        /// Clusters asked for.
        k: usize,
        /// Points given.
        n: usize,
    },
    /// Centroids given to `from_centroids` are empty or not finite, or not `k` of them.
    #[error("centroids must be a non-empty [k, d] matrix of finite values")]
    InvalidCentroids,
    /// A saved model could not be written or read.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `predict` got points of another dimension than the centroids'.
    #[error("the model has {expected}-dimensional centroids, the points have {found} dimensions")]
    DimensionMismatch {
        /// Centroid dimension.
        expected: usize,
        /// Point dimension.
        found: usize,
    },
}
