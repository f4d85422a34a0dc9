//! A validating reader for the IDX format used by MNIST and Fashion-MNIST.
//!
//! An IDX file starts with a 4-byte magic number (two zero bytes, a type code and the
//! number of dimensions), followed by one big-endian `u32` per dimension and then the
//! data. MNIST images are `0x00000803` (2051: unsigned bytes, 3 dimensions) and labels
//! `0x00000801` (2049: unsigned bytes, 1 dimension). Files may be gzipped; the reader
//! recognises gzip by its own magic bytes, not by the file name.

use std::io::Read;

use sha2::Digest;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::DataError;

/// Magic number of an IDX file of unsigned-byte images (`[n, rows, cols]`).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels (`[n]`).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Images read from an IDX file: `count` images of `rows × cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows (height) of each image.
    pub rows: usize,
    /// Columns (width) of each image.
    pub cols: usize,
    /// `count * rows * cols` pixel values, 0..=255.
    pub pixels: Vec<u8>,
}

/// What a reader accepts of one file: at most `max_bytes` (header included, after
/// decompression) and, when `sha256` is given, exactly the file with that SHA-256.
///
/// The size is checked against the file's own header before anything is inflated, so a
/// small gzip that declares gigabytes is refused after its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCheck<'a> {
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
    /// The SHA-256 (lower-case hex) of the whole decompressed file, when it is known.
    pub sha256: Option<&'a str>,
}

impl FileCheck<'static> {
    /// Any well-formed file up to 1 GiB: what [`read_images`] and [`read_labels`] accept.
    pub const ANY: Self = Self {
        max_bytes: 1 << 30,
        sha256: None,
    };

    /// No larger than the recorded `file` (a folder the user gave: the fixture's subsets
    /// pass).
    pub fn bounded(file: &crate::RemoteFile) -> Self {
        Self {
            max_bytes: file.size,
            sha256: None,
        }
    }

    /// Exactly the recorded `file` (kiln's download cache).
    pub fn verified(file: &crate::RemoteFile) -> Self {
        Self {
            max_bytes: file.size,
            sha256: Some(file.sha256),
        }
    }
}

/// Reads an IDX image file (raw or gzipped) of up to 1 GiB and validates its header and
/// length.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    read_images_checked(path, FileCheck::ANY)
}

/// [`read_images`] accepting what `check` says.
pub fn read_images_checked(path: &Path, check: FileCheck<'_>) -> Result<IdxImages, DataError> {
    let (dims, pixels) = read_checked(path, IMAGES_MAGIC, "images: u8, 3 dimensions", check)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an IDX label file (raw or gzipped) of up to 1 GiB and validates its header and
/// length.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    read_labels_checked(path, FileCheck::ANY)
}

/// [`read_labels`] accepting what `check` says.
pub fn read_labels_checked(path: &Path, check: FileCheck<'_>) -> Result<Vec<u8>, DataError> {
    read_checked(path, LABELS_MAGIC, "labels: u8, 1 dimension", check).map(|(_, data)| data)
}

/// The validated dimensions and data of the IDX file at `path`.
fn read_checked(
    path: &Path,
    expected: u32,
    what: &'static str,
    check: FileCheck<'_>,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let ndim = (expected & 0xff) as usize;
    let mut bytes = read_bounded(path, ndim, check.max_bytes)?;
    if let Some(sha256) = check.sha256 {
        let actual = crate::fetch::hex(&sha2::Sha256::digest(&bytes));
        if actual != sha256 {
            return Err(DataError::Checksum {
                path: path.to_path_buf(),
                expected: sha256.to_string(),
                actual,
            });
        }
    }
    let (dims, _) = parse(path, &bytes, expected, what)?;
    // The data without a copy: the header's bytes are dropped in place.
    bytes.drain(..4 + 4 * ndim);
    Ok((dims, bytes))
}

/// The length an IDX header of `ndim` dimensions declares, header included (`None` when the
/// product overflows).
fn declared_len(header: &[u8]) -> Option<u64> {
    header[4..]
        .chunks_exact(4)
        .map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
        .try_fold(1u64, u64::checked_mul)?
        .checked_add(header.len() as u64)
}

/// The file's bytes, decompressed when it is gzip (recognised by its magic bytes), read no
/// further than one byte past what its header declares, and refused without reading on when
/// that is more than `max_bytes`.
fn read_bounded(path: &Path, ndim: usize, max_bytes: u64) -> Result<Vec<u8>, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let oversized = || DataError::Oversized {
        path: path.to_path_buf(),
        limit: max_bytes,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let on_disk = file.metadata().map_err(io)?.len();
    let mut reader = std::io::BufReader::new(file);
    let gzip = {
        use std::io::BufRead;
        reader.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC)
    };
    // A gzip is at most a little larger than what it holds (stored blocks).
    if on_disk > max_bytes.saturating_add(max_bytes / 8192 + 4096) {
        return Err(oversized());
    }
    let mut source: Box<dyn Read> = if gzip {
        Box::new(GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let read_error = |source| {
        if gzip {
            DataError::Gzip {
                path: path.to_path_buf(),
                source,
            }
        } else {
            io(source)
        }
    };
    let header = 4 + 4 * ndim;
    let mut out = Vec::with_capacity(header);
    (&mut source)
        .take(header as u64)
        .read_to_end(&mut out)
        .map_err(read_error)?;
    if out.len() < header {
        return Ok(out); // parse reports the short header
    }
    // Dimensions that overflow: parse says so. Past the limit: refused before inflating.
    let Some(len) = declared_len(&out) else {
        return Ok(out);
    };
    if len > max_bytes {
        return Err(oversized());
    }
    // Room for what the file can hold: a raw file no more than its size on disk, a gzip no
    // more than deflate's largest ratio (1032:1) of it.
    let possible = if gzip {
        on_disk.saturating_mul(1032)
    } else {
        on_disk
    };
    let room = usize::try_from(len.min(possible).saturating_add(1)).unwrap_or(usize::MAX);
    out.reserve_exact(room.saturating_sub(header));
    source
        .take(len.saturating_add(1).saturating_sub(header as u64))
        .read_to_end(&mut out)
        .map_err(read_error)?;
    Ok(out)
}

/// Splits `bytes` into validated dimensions and data.
fn parse<'a>(
    path: &Path,
    bytes: &'a [u8],
    expected: u32,
    what: &'static str,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let ndim = (expected & 0xff) as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(DataError::TruncatedHeader {
            path: path.to_path_buf(),
            needed: header,
            found: bytes.len(),
        });
    }
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let magic = word(0);
    if magic != expected {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
            expected,
            what,
        });
    }
    let dims: Vec<usize> = (0..ndim).map(|d| word(4 + 4 * d) as usize).collect();
    if dims.contains(&0) {
        return Err(DataError::EmptyDimension {
            path: path.to_path_buf(),
            dims,
        });
    }
    // Checked: u32 dimensions can multiply past usize, and a wrapped product could even
    // match the data's length.
    let Some(expected_len) = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            dims,
        });
    };
    let data = &bytes[header..];
    if data.len() > expected_len {
        return Err(DataError::TooLong {
            path: path.to_path_buf(),
            dims,
            expected: expected_len,
        });
    }
    if data.len() != expected_len {
        return Err(DataError::LengthMismatch {
            path: path.to_path_buf(),
            dims,
            expected: expected_len,
            found: data.len(),
        });
    }
    Ok((dims, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn reads_raw_and_gzipped_images_alike() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx(
            IMAGES_MAGIC,
            &[2, 2, 3],
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        );
        let raw = read_images(&write(&dir, "raw", &bytes)).unwrap();
        let gz = read_images(&write(&dir, "gz", &gzip(&bytes))).unwrap();
        assert_eq!(raw, gz);
        assert_eq!((raw.count, raw.rows, raw.cols), (2, 2, 3));
        assert_eq!(raw.pixels[11], 11);
    }

    #[test]
    fn reads_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "l", &idx(LABELS_MAGIC, &[3], &[7, 2, 1]));
        assert_eq!(read_labels(&p).unwrap(), vec![7, 2, 1]);
    }

    #[test]
    fn missing_file_is_io_error() {
        let err = read_labels(Path::new("/nonexistent/kiln/labels")).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err}");
    }

    #[test]
    fn corrupt_gzip_is_gzip_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = gzip(&idx(LABELS_MAGIC, &[3], &[7, 2, 1]));
        let n = bytes.len();
        bytes.truncate(n - 6); // cut into the deflate stream and its checksum
        let err = read_labels(&write(&dir, "l.gz", &bytes)).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err}");
    }

    #[test]
    fn short_header_is_truncated_header() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx(IMAGES_MAGIC, &[1, 2], &[]); // 3-D magic, only two dimensions
        let err = read_images(&write(&dir, "i", &bytes)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TruncatedHeader {
                    needed: 16,
                    found: 12,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn labels_file_read_as_images_is_bad_magic() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx(LABELS_MAGIC, &[1, 1, 1], &[0]);
        let err = read_images(&write(&dir, "i", &bytes)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    found: LABELS_MAGIC,
                    expected: IMAGES_MAGIC,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn zero_dimension_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx(IMAGES_MAGIC, &[0, 28, 28], &[]);
        let err = read_images(&write(&dir, "i", &bytes)).unwrap_err();
        assert!(matches!(err, DataError::EmptyDimension { .. }), "{err}");
    }

    #[test]
    fn truncated_data_is_length_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx(IMAGES_MAGIC, &[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7]);
        let err = read_images(&write(&dir, "i", &bytes)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LengthMismatch {
                    expected: 8,
                    found: 7,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_are_length_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx(LABELS_MAGIC, &[2], &[1, 2, 3]);
        let err = read_labels(&write(&dir, "l", &bytes)).unwrap_err();
        assert!(
            matches!(err, DataError::TooLong { expected: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_gzip_bomb_is_inflated_no_further_than_its_header_declares() {
        // A valid 10-label header followed by 64 MiB of zeros, gzipped to ~64 KiB.
        let dir = tempfile::tempdir().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&idx(LABELS_MAGIC, &[10], &[])).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&zeros).unwrap();
        }
        let gz = enc.finish().unwrap();
        assert!(gz.len() < 1 << 20, "{}", gz.len());
        let path = write(&dir, "bomb.gz", &gz);
        let out = read_bounded(&path, 1, 1 << 30).unwrap();
        assert_eq!(out.len(), 8 + 10 + 1, "inflated past the declared length");
        let err = read_labels(&path).unwrap_err();
        assert!(
            matches!(err, DataError::TooLong { expected: 10, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_header_declaring_more_than_the_limit_is_refused_before_inflating() {
        // 4 GiB of zeros declared (and 64 MiB present), against a 1 MiB limit.
        let dir = tempfile::tempdir().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&idx(IMAGES_MAGIC, &[1 << 16, 256, 256], &[]))
            .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&zeros).unwrap();
        }
        let path = write(&dir, "bomb.gz", &enc.finish().unwrap());
        let check = FileCheck {
            max_bytes: 1 << 20,
            sha256: None,
        };
        let err = read_images_checked(&path, check).unwrap_err();
        assert!(
            matches!(err, DataError::Oversized { limit, .. } if limit == 1 << 20),
            "{err}"
        );
        // A raw file past the limit is refused by its size on disk.
        let raw = write(&dir, "raw", &vec![0u8; (1 << 20) + 8192]);
        let err = read_labels_checked(&raw, check).unwrap_err();
        assert!(matches!(err, DataError::Oversized { .. }), "{err}");
    }

    #[test]
    fn a_verified_read_refuses_any_other_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = idx(LABELS_MAGIC, &[3], &[7, 2, 1]);
        let sha = crate::fetch::hex(&sha2::Sha256::digest(&good));
        let check = FileCheck {
            max_bytes: good.len() as u64,
            sha256: Some(&sha),
        };
        for bytes in [good.clone(), gzip(&good)] {
            let p = write(&dir, "l", &bytes);
            assert_eq!(read_labels_checked(&p, check).unwrap(), vec![7, 2, 1]);
        }
        // Every label zeroed: as well formed as the original, and refused.
        let poisoned = idx(LABELS_MAGIC, &[3], &[0, 0, 0]);
        let err = read_labels_checked(&write(&dir, "p", &poisoned), check).unwrap_err();
        assert!(matches!(err, DataError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("SHA-256"), "{err}");
    }

    #[test]
    fn dimensions_whose_product_overflows_are_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[0; 16]);
        let err = read_images(&write(&dir, "huge", &bytes)).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    }
}
