//! Where MNIST and Fashion-MNIST come from.
//!
//! [`load`] looks, in this order, in:
//! 1. the folder given by the caller (`--data-dir` in the examples), else the folder in the
//!    `KILN_DATA_DIR` environment variable: the four IDX files (raw or `.gz`) either directly
//!    in it or in its `mnist/` or `fashion-mnist/` subfolder. A folder that was asked for
//!    and lacks the files is an error, not a reason to look elsewhere or to download;
//! 2. kiln's download cache, [`cache_dir`]`/<kind>/` (`~/.cache/kiln/data/mnist/`, …);
//! 3. a download into that cache ([`Fetcher`]: mirrors, SHA-256 checks, retries), with a
//!    progress line on standard error.
//!
//! When none of these works, the error says what to do in one line.
//!
//! What is read is checked as it is read. A file of the cache is read in the form the
//! download wrote (`NAME.gz`; a raw `NAME` only where there is no `.gz`) and must be exactly
//! the recorded file, length and SHA-256, every time it is used: a file changed after its
//! download is a [`DataError::Checksum`], never a silently different dataset. A folder the
//! user gives is the user's data (kiln's own test fixtures are subsets): its files are read
//! raw first, and checked to be well formed and no larger than the recorded file of their
//! kind, which is checked against each file's header before anything is inflated.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::fetch::{Fetcher, cache_dir, stderr_progress};
use crate::idx::{self, FileCheck};
use crate::{DataError, ImageDataset, Normalization};

/// The environment variable naming a folder with the IDX files.
pub const DATA_DIR_ENV: &str = "KILN_DATA_DIR";

/// A dataset kiln can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits 0–9 (LeCun et al.).
    Mnist,
    /// Zalando's clothing images in 10 classes, MNIST's drop-in replacement.
    FashionMnist,
}

impl DatasetKind {
    /// Every kind, in a fixed order.
    pub const ALL: [DatasetKind; 2] = [DatasetKind::Mnist, DatasetKind::FashionMnist];

    /// The name used on command lines and as a subfolder name: `mnist`, `fashion-mnist`.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    /// The normalisation a classifier trained on this dataset expects: its training set's
    /// mean and standard deviation.
    pub fn standardization(self) -> Normalization {
        match self {
            DatasetKind::Mnist => Normalization::MNIST,
            DatasetKind::FashionMnist => Normalization::FASHION_MNIST,
        }
    }

    /// Number of classes (10 for both).
    pub fn num_classes(self) -> usize {
        10
    }

    /// Human-readable class names, index = label.
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            DatasetKind::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetKind::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = kiln_core::UnknownName;

    /// A kind's [`name`](Self::name), or `fashion` for Fashion-MNIST.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("fashion") {
            return Ok(Self::FashionMnist);
        }
        kiln_core::parse_name(s, "dataset", &Self::ALL, Self::name)
    }
}

/// The training or the test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// 60,000 images.
    Train,
    /// 10,000 images (the `t10k` files).
    Test,
}

impl Split {
    fn file_prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }

    /// The IDX file names of this split: (images, labels), without `.gz`.
    pub fn file_names(self) -> (String, String) {
        let p = self.file_prefix();
        (
            format!("{p}-images-idx3-ubyte"),
            format!("{p}-labels-idx1-ubyte"),
        )
    }
}

/// Loads one split of a dataset, looking where the module docs say, downloading it into
/// the cache when it is nowhere else.
///
/// `data_dir` is the caller's explicit folder (a command line's `--data-dir`); when it is
/// `None`, `KILN_DATA_DIR` is used if set.
///
/// # Errors
/// [`DataError::NotFound`] when an explicit folder lacks the files,
/// [`DataError::Download`]/[`DataError::Write`] when the download fails (the message says
/// what to do), or any error of the files found.
pub fn load(
    kind: DatasetKind,
    split: Split,
    data_dir: Option<&Path>,
) -> Result<ImageDataset, DataError> {
    if let Some(dir) = explicit_dir(data_dir) {
        return load_from_dir(kind, split, &dir);
    }
    let cache = cache_dir().ok_or(DataError::NoCacheDir)?;
    let dir = cache.join(kind.name());
    if let Some(found) = find_pair(&dir, split, Origin::Cache) {
        match read_pair(kind, split, found, Origin::Cache) {
            // Unreadable as a file: no download mends that.
            Err(e @ DataError::Io { .. }) => return Err(e),
            // Changed since its download (damaged, replaced, or another file): downloaded
            // again below, where the fetcher keeps only what is exactly the recorded file.
            Err(e) => eprintln!("{e}; downloading it again"),
            read => return read,
        }
    }
    Fetcher::new().fetch(kind, &cache, stderr_progress(kind))?;
    let found = find_pair(&dir, split, Origin::Cache).ok_or_else(|| DataError::NotFound {
        kind,
        searched: vec![dir.clone()],
    })?;
    read_pair(kind, split, found, Origin::Cache)
}

/// Where [`load`] would read `split` of `kind` from, without downloading: the image and
/// label files, from the explicit folder (or `KILN_DATA_DIR`) when one is given, else
/// from the download cache.
///
/// # Errors
/// [`DataError::NotFound`] naming the folders looked in.
pub fn find(
    kind: DatasetKind,
    split: Split,
    data_dir: Option<&Path>,
) -> Result<(PathBuf, PathBuf), DataError> {
    let (candidates, origin) = match explicit_dir(data_dir) {
        Some(dir) => (vec![dir.join(kind.name()), dir], Origin::Given),
        None => (
            cache_dir()
                .map(|c| c.join(kind.name()))
                .into_iter()
                .collect(),
            Origin::Cache,
        ),
    };
    candidates
        .iter()
        .find_map(|dir| find_pair(dir, split, origin))
        .ok_or(DataError::NotFound {
            kind,
            searched: candidates,
        })
}

fn explicit_dir(data_dir: Option<&Path>) -> Option<PathBuf> {
    data_dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(DATA_DIR_ENV).map(PathBuf::from))
}

/// Loads one split from `dir` (or its `mnist/` / `fashion-mnist/` subfolder).
///
/// # Errors
/// [`DataError::NotFound`] when neither folder holds both files.
pub fn load_from_dir(
    kind: DatasetKind,
    split: Split,
    dir: &Path,
) -> Result<ImageDataset, DataError> {
    let candidates = [dir.join(kind.name()), dir.to_path_buf()];
    for candidate in &candidates {
        if let Some(found) = find_pair(candidate, split, Origin::Given) {
            return read_pair(kind, split, found, Origin::Given);
        }
    }
    Err(DataError::NotFound {
        kind,
        searched: candidates.to_vec(),
    })
}

/// Where files come from, which says how they are checked (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A folder the user gave: well formed, no larger than the recorded file.
    Given,
    /// kiln's download cache: exactly the recorded file.
    Cache,
}

fn read_pair(
    kind: DatasetKind,
    split: Split,
    (images, labels): (PathBuf, PathBuf),
    origin: Origin,
) -> Result<ImageDataset, DataError> {
    let files = kind.files();
    let (image_file, label_file) = match split {
        Split::Train => (&files[0], &files[1]),
        Split::Test => (&files[2], &files[3]),
    };
    let check = |file| match origin {
        Origin::Given => FileCheck::bounded(file),
        Origin::Cache => FileCheck::verified(file),
    };
    let img = idx::read_images_checked(&images, check(image_file))?;
    let lab = idx::read_labels_checked(&labels, check(label_file))?;
    ImageDataset::from_idx(img, lab, kind.num_classes())
}

/// Both files of `split` in `dir`, each raw or gzipped: raw first in a folder the user gave,
/// `.gz` first in the cache (the download writes `.gz`; a raw file beside it is not used).
fn find_pair(dir: &Path, split: Split, origin: Origin) -> Option<(PathBuf, PathBuf)> {
    let (images, labels) = split.file_names();
    let find = |name: &str| {
        let (raw, gz) = (dir.join(name), dir.join(format!("{name}.gz")));
        let order = match origin {
            Origin::Given => [raw, gz],
            Origin::Cache => [gz, raw],
        };
        order.into_iter().find(|p| p.is_file())
    };
    Some((find(&images)?, find(&labels)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in DatasetKind::ALL {
            assert_eq!(k.name().parse::<DatasetKind>().unwrap(), k);
        }
        assert!(matches!(
            "cifar".parse::<DatasetKind>(),
            Err(kiln_core::UnknownName { got, .. }) if got == "cifar"
        ));
    }

    #[test]
    fn empty_dir_is_not_found_naming_both_folders() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_from_dir(DatasetKind::FashionMnist, Split::Test, dir.path()).unwrap_err();
        match &err {
            DataError::NotFound { searched, .. } => assert_eq!(searched.len(), 2),
            other => panic!("unexpected {other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("give a data folder") && msg.contains("t10k-images-idx3-ubyte"),
            "{msg}"
        );
    }
}
