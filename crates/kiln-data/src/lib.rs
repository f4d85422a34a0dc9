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
    // One IDX file that cannot be read or is malformed.
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{path} is not valid gzip: {source}")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decompression error.
        source: std::io::Error,
    },
    /// The file is shorter than its own header.
    #[error("{path} is truncated: its header needs {needed} bytes, the file has {found}")]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Bytes the header needs.
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// The magic number is not the one expected.
    #[error("{path} has magic number {found:#010x}, expected {expected:#010x} ({what})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number read.
        found: u32,
        /// The magic number expected.
        expected: u32,
        /// What kind of file was expected.
        what: &'static str,
    },
    /// A dimension in the header is zero.
    #[error("{path} declares an empty dimension: {dims:?}")]
    EmptyDimension {
        /// The file.
        path: PathBuf,
        /// The dimensions declared.
        dims: Vec<usize>,
    },
    /// The header's dimensions multiply to more bytes than a `usize` holds: a corrupt header.
    #[error("{path} declares dimensions {dims:?}, larger than any file")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The dimensions declared.
        dims: Vec<usize>,
    },
    /// The data is longer than the header declares (a gzipped file is inflated no further
    /// than one byte past that, so a small file that inflates to gigabytes stops there).
    #[error("{path} holds more data than its header {dims:?} declares ({expected} bytes)")]
    TooLong {
        /// The file.
        path: PathBuf,
        /// The dimensions declared.
        dims: Vec<usize>,
        /// Data bytes the header declares.
        expected: usize,
    },
    /// The data is shorter than the header declares.
    #[error("{path} holds {found} data bytes but its header {dims:?} declares {expected}")]
    LengthMismatch {
        /// The file.
        path: PathBuf,
        /// The dimensions declared.
        dims: Vec<usize>,
        /// Data bytes the header declares.
        expected: usize,
        /// Data bytes present.
        found: usize,
    },
    /// The file is larger than any file of its kind (its size on disk, or the length its
    /// header declares): refused before it is read or inflated.
    #[error("{path} is larger than the {limit} bytes a file of its kind has: not read")]
    Oversized {
        /// The file.
        path: PathBuf,
        /// The most bytes accepted.
        limit: u64,
    },
    /// A file of kiln's download cache is not the file recorded in kiln (changed since it was
    /// downloaded and verified).
    #[error(
        "{path} has SHA-256 {actual}, not the recorded {expected}: it was changed after it was \
         downloaded; delete it and kiln downloads it again"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The SHA-256 recorded in kiln.
        expected: String,
        /// The SHA-256 of the file found.
        actual: String,
    },
    // Datasets: pairing files, finding and downloading them.
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
        "{kind} not found (looked in {searched:?}): give a data folder, or set KILN_DATA_DIR to \
         one, holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte \
         and t10k-labels-idx1-ubyte (raw or .gz), directly or in a '{kind}' subfolder; or give \
         neither to download it into kiln's cache"
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
         mirror), or put the file there by hand as {folder}/{file}.gz (raw or gzipped), or give a \
         data folder with the four files", tried = join(.attempts), folder = .dest.display()
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
        "no cache folder to download into (HOME is not set): give a data folder, or set \
         KILN_DATA_DIR to one, with the four IDX files"
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
             or the data folder at another disk"
        }
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            " — the folder is not writable: point XDG_CACHE_HOME or the data folder elsewhere"
        }
        _ => "",
    }
}
