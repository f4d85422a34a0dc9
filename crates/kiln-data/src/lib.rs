//! Datasets for kiln.
//!
//! - [`idx`]: a validating reader for IDX files, raw or gzipped.
//! - [`ImageDataset`]: MNIST-style labelled images in memory, a Burn [`Dataset`](burn::data::dataset::Dataset).
//! - [`load`]: finds MNIST or Fashion-MNIST (explicit folder, `KILN_DATA_DIR`, kiln's
//!   download cache) or downloads it into the cache, and returns a typed error otherwise.
//! - [`Fetcher`]: the downloader behind it: mirrors, SHA-256 checks of every file,
//!   retries, atomic writes, progress reports (`cargo xtask data` prefetches both sets).
//! - [`Normalization`]: how pixel bytes become floats ([`NormalizedImages`] views a dataset
//!   through one).

mod dataset;
pub mod fetch;
pub mod idx;
mod normalization;
mod source;

pub use dataset::{ImageDataset, ImageItem, NormalizedImages};
pub use fetch::{
    FetchAttempt, FetchFailure, Fetcher, MIRROR_ENV, RemoteFile, cache_dir, stderr_progress,
};
pub use kiln_core::UnknownName;
pub use normalization::Normalization;
pub use source::{DATA_DIR_ENV, DatasetKind, Split, find, load, load_from_dir};

use std::path::PathBuf;

/// Errors of loading a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// No source had the files.
    #[error(
        "{kind} not found (looked in {searched:?}): pass --data-dir DIR or set KILN_DATA_DIR to a \
         folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte \
         and t10k-labels-idx1-ubyte (raw or .gz), directly or in a '{kind}' subfolder; or leave \
         both unset to download it (cargo xtask data)"
    )]
    NotFound {
        /// The dataset asked for.
        kind: DatasetKind,
        /// The folders looked in.
        searched: Vec<PathBuf>,
    },
    /// Every mirror failed to give a file.
    #[error(
        "cannot download {file}.gz: {tried}. Check the network (or set KILN_DATA_MIRROR to a \
         mirror), or put the file there by hand as {folder}/{file}.gz (raw or gzipped), or pass \
         --data-dir DIR with the four files", tried = join(.attempts), folder = .dest.display()
    )]
    Download {
        /// The file (without `.gz`).
        file: String,
        /// The folder it was to go into.
        dest: PathBuf,
        /// Each mirror's failure, in the order tried.
        attempts: Vec<FetchAttempt>,
    },
    /// A downloaded file cannot be written (a full disk, a read-only or missing folder).
    #[error("cannot write {shown}: {source}{hint}", shown = .path.display(), hint = write_hint(.source))]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Neither `XDG_CACHE_HOME`, `HOME` nor `LOCALAPPDATA` names a folder to download into.
    #[error(
        "no cache folder to download into (HOME is not set): pass --data-dir DIR or set \
         KILN_DATA_DIR to a folder with the four IDX files"
    )]
    NoCacheDir,
    /// The progress callback stopped the download.
    #[error("the download was cancelled")]
    Cancelled,
}

fn join(attempts: &[FetchAttempt]) -> String {
    if attempts.is_empty() {
        return "no mirror to try".into();
    }
    attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn write_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            " — the disk is full: free space (the two datasets take 43 MB) or point XDG_CACHE_HOME \
             or --data-dir at another disk"
        }
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            " — the folder is not writable: point XDG_CACHE_HOME or --data-dir elsewhere"
        }
        _ => "",
    }
}
