//! K-means with k-means++ initialisation, full-batch (Lloyd) and mini-batch.

mod algorithm;
mod minibatch;
mod params;

pub use algorithm::FittedKMeans;
pub use minibatch::{FittedMiniBatchKMeans, MiniBatchKMeans, MiniBatchKMeansParams};
pub use params::{DEFAULT_BLOCK_ROWS, KMeans, KMeansParams};
