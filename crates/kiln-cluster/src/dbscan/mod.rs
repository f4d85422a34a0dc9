//! DBSCAN: density-based clusters, noise as `None`.

mod algorithm;
mod params;

pub use algorithm::FittedDbscan;
pub use params::{DEFAULT_MAX_NEIGHBOUR_PAIRS, Dbscan, DbscanParams};
