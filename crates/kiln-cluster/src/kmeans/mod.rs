//! K-means with k-means++ initialisation.

mod algorithm;
mod error;
mod params;

pub use algorithm::FittedKMeans;
pub use error::{KMeansError, KMeansParamsError};
pub use params::{KMeans, KMeansParams};
