//! Datasets and batchers for kiln.
//!
//! - [`idx`]: a validating reader for IDX files, raw or gzipped.
//! - [`ImageDataset`]: MNIST-style labelled images in memory, a Burn [`Dataset`](burn::data::dataset::Dataset).
//! - [`load`]: finds MNIST or Fashion-MNIST (explicit folder, `KILN_DATA_DIR`,
//!   burn-dataset's cache, or burn-dataset's download) and returns a typed error otherwise.
//! - [`ImageBatcher`]: normalised `[batch, 1, h, w]` tensors and `[batch]` labels.

mod batcher;
mod dataset;
pub mod idx;
mod source;

pub use batcher::{ImageBatch, ImageBatcher, Normalization};
pub use dataset::{ImageDataset, ImageItem, NormalizedImages};
pub use source::{DATA_DIR_ENV, DatasetKind, Split, load, load_from_dir};

use std::path::PathBuf;

/// Errors of loading a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An IDX file is missing, unreadable or malformed.
    #[error(transparent)]
    Idx(#[from] idx::IdxError),
    /// The image and label counts disagree.
    #[error("the image file holds {images} images but the label file {labels} labels")]
    CountMismatch {
        /// Images found.
        images: usize,
        /// Labels found.
        labels: usize,
    },
    /// A label is not a valid class.
    #[error("label {label} of item {index} is not below the {num_classes} classes")]
    LabelOutOfRange {
        /// The item.
        index: usize,
        /// Its label.
        label: u8,
        /// Number of classes.
        num_classes: usize,
    },
    /// The name is not a dataset kiln knows.
    #[error("unknown dataset '{0}': expected mnist or fashion-mnist")]
    UnknownDataset(String),
    /// No source had the files.
    #[error(
        "{kind} not found (looked in {searched:?}): pass --data-dir DIR or set KILN_DATA_DIR to a \
         folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte \
         and t10k-labels-idx1-ubyte (raw or .gz), directly or in a '{kind}' subfolder"
    )]
    NotFound {
        /// The dataset asked for.
        kind: DatasetKind,
        /// The folders looked in.
        searched: Vec<PathBuf>,
    },
    /// burn-dataset's MNIST download failed (usually: no network).
    #[error(
        "mnist is not in burn-dataset's cache and its download failed ({reason}): pass \
         --data-dir DIR or set KILN_DATA_DIR to a folder with the four IDX files"
    )]
    DownloadFailed {
        /// The first line of burn-dataset's error.
        reason: String,
    },
}
