//! DBSCAN: density-based clusters, noise as `None`.

mod algorithm;
mod error;
mod params;

pub use algorithm::FittedDbscan;
pub use error::{DbscanError, DbscanParamsError};
pub use params::{DEFAULT_MAX_NEIGHBOUR_PAIRS, Dbscan, DbscanParams};
