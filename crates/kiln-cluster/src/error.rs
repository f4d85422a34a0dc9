//! The one error type of kiln-cluster: every algorithm's parameters, input, fitting,
//! prediction and saved models.

/// Errors of K-means, mini-batch K-means and DBSCAN: invalid parameters (refused by
/// `check`, before any fit), invalid input, and what fitting, predicting or loading a saved
/// model can meet.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    // Input.
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
    /// Two labellings compared by [`adjusted_rand_index`](crate::adjusted_rand_index) or
    /// [`purity`](crate::purity) label different numbers of points.
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
    // Parameters.
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
    /// `block_rows` is 0 (K-means or DBSCAN).
    #[error("block_rows must be at least 1")]
    ZeroBlockRows,
    /// Mini-batch `batch_size` is 0.
    #[error("batch_size must be at least 1")]
    ZeroBatchSize,
    /// `eps` is not a finite positive number.
    #[error("eps must be finite and positive, got {0}")]
    Eps(f64),
    /// `min_samples` is 0.
    #[error("min_samples must be at least 1")]
    ZeroMinSamples,
    /// `max_neighbour_pairs` is 0.
    #[error("max_neighbour_pairs must be at least 1")]
    ZeroMaxNeighbourPairs,
    // Fitting, predicting, saved models.
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
    /// `eps` reaches more neighbour pairs than the limit allows on the host.
    #[error(
        "eps = {eps} gives more than {limit} neighbour pairs among {n} points ({} MiB of \
         neighbour lists): lower eps, or raise the limit with max_neighbour_pairs",
        limit * 4 / (1 << 20)
    )]
    TooManyNeighbours {
        /// The radius.
        eps: f64,
        /// Points.
        n: usize,
        /// The limit that was reached.
        limit: usize,
    },
}
