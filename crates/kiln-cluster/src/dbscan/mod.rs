//! DBSCAN: density-based clusters, noise as `None`.

mod algorithm;
mod error;
mod params;

pub use algorithm::FittedDbscan;
pub use error::{DbscanError, DbscanParamsError};
pub use params::{Dbscan, DbscanParams};
