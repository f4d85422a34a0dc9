use crate::InputError;

/// An invalid DBSCAN parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DbscanParamsError {
    /// `eps` is not a finite positive number.
    #[error("eps must be finite and positive, got {0}")]
    Eps(f64),
    /// `min_samples` is 0.
    #[error("min_samples must be at least 1")]
    ZeroMinSamples,
    /// `block_rows` is 0.
    #[error("block_rows must be at least 1")]
    ZeroBlockRows,
    /// `max_neighbour_pairs` is 0.
    #[error("max_neighbour_pairs must be at least 1")]
    ZeroMaxNeighbourPairs,
}

/// Errors of fitting DBSCAN.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DbscanError {
    /// A parameter is invalid.
    #[error(transparent)]
    Params(#[from] DbscanParamsError),
    /// The input is invalid.
    #[error(transparent)]
    Input(#[from] InputError),
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
