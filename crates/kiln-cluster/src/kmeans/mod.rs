//! K-means with k-means++ initialisation, full-batch (Lloyd) and mini-batch.

mod algorithm;
mod error;
mod minibatch;
mod params;

pub use algorithm::FittedKMeans;
pub use error::{KMeansError, KMeansParamsError};
pub use minibatch::{FittedMiniBatchKMeans, MiniBatchKMeans, MiniBatchKMeansParams};
pub use params::{KMeans, KMeansParams};
