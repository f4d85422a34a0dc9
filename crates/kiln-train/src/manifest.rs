//! Manifests: the length and SHA-256 of each file of a checkpoint or a finished model, written
//! last (atomically) and verified before anything is loaded, so a flipped byte or a file from
//! another run is a typed error, never a silently worse model.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{RunError, io_err, save_json};

/// The manifest inside a checkpoint folder and beside a finished model.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The largest manifest read (a few hundred bytes per file): a bigger one is damaged.
const MANIFEST_MAX_BYTES: u64 = 1 << 20;

/// A listing of files with their digests: `manifest.json`, and `run.json` (which also
/// names its run).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The run's identifier (`run.json` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) run: Option<String>,
    pub(crate) files: BTreeMap<String, FileDigest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileDigest {
    len: u64,
    sha256: String,
}

/// The length and SHA-256 (lower-case hex) of the file at `path`, read in blocks (a
/// symbolic link is not followed).
fn digest(path: &Path) -> Result<FileDigest, RunError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(path).map_err(io_err("read", path))?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut block).map_err(io_err("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
        len += n as u64;
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(FileDigest { len, sha256 })
}

/// Writes `dir/manifest.json` with the length and SHA-256 of each of `names` (files in
/// `dir`). Call it after the files are complete: it is what says they are.
///
/// # Errors
/// [`RunError::Io`] if a file cannot be read or the manifest written.
pub fn write_manifest(dir: &Path, names: &[&str]) -> Result<(), RunError> {
    write_listing(dir, MANIFEST_FILE, names, None)
}

/// Adds `name` (a file in `dir`) to the listing `dir/file`, or renews its digest, keeping
/// every other entry as it was recorded (a file changed since is not vouched for anew).
pub(crate) fn record_in_listing(
    dir: &Path,
    file: &str,
    name: &str,
    mut listing: Manifest,
) -> Result<(), RunError> {
    listing
        .files
        .insert(name.to_string(), digest(&dir.join(name))?);
    save_json(&dir.join(file), &listing)
}

/// Writes the listing `dir/file` of `names` (files in `dir`), naming `run` when given.
pub(crate) fn write_listing(
    dir: &Path,
    file: &str,
    names: &[&str],
    run: Option<String>,
) -> Result<(), RunError> {
    let mut files = BTreeMap::new();
    for name in names {
        files.insert((*name).to_string(), digest(&dir.join(name))?);
    }
    save_json(&dir.join(file), &Manifest { run, files })
}

/// Checks every file `dir/manifest.json` lists (length, then SHA-256) and that each of
/// `required` is listed; returns the names listed.
///
/// # Errors
/// [`RunError::NoManifest`] when there is none; [`RunError::Checksum`] for the
/// first file that is missing, unlisted or differs; [`RunError::Json`] for a manifest
/// that does not parse.
pub fn verify_manifest(dir: &Path, required: &[&str]) -> Result<Vec<String>, RunError> {
    verify_listing(dir, MANIFEST_FILE, required).map(|m| m.files.into_keys().collect())
}

/// Reads the listing `dir/file` (a symbolic link, or one larger than any kiln writes, is
/// refused).
///
/// # Errors
/// As [`verify_manifest`].
pub(crate) fn read_listing(dir: &Path, file: &str) -> Result<Manifest, RunError> {
    let path = dir.join(file);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(RunError::NoManifest {
            dir: dir.to_path_buf(),
            file: file.to_string(),
        }),
        Err(e) => Err(io_err("read", &path)(e)),
        Ok(meta) if !meta.is_file() => Err(checksum(
            path,
            "not a plain file (a symbolic link?): kiln never writes one".into(),
        )),
        Ok(meta) if meta.len() > MANIFEST_MAX_BYTES => Err(checksum(
            path,
            format!("{} bytes, more than any manifest kiln writes", meta.len()),
        )),
        Ok(_) => crate::load_json::<Manifest>(&path, "manifest"),
    }
}

/// Checks every file the listing `dir/file` lists (length, then SHA-256; a symbolic link is
/// refused) and that each of `required` is listed; returns the listing.
///
/// # Errors
/// As [`verify_manifest`].
pub(crate) fn verify_listing(
    dir: &Path,
    listing: &str,
    required: &[&str],
) -> Result<Manifest, RunError> {
    let path = dir.join(listing);
    let manifest = read_listing(dir, listing)?;
    for name in required {
        if !manifest.files.contains_key(*name) {
            return Err(checksum(dir.join(name), format!("not listed in {listing}")));
        }
    }
    for (name, expected) in &manifest.files {
        // Names are plain file names: nothing in a manifest may point outside its folder.
        if name.is_empty() || name.contains(['/', '\\']) || name == ".." || name == "." {
            return Err(checksum(
                path,
                format!("it lists {name:?}, not a file name"),
            ));
        }
        let file = dir.join(name);
        let len = match std::fs::symlink_metadata(&file) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => {
                return Err(checksum(
                    file,
                    "not a plain file (a symbolic link?): kiln never writes one".into(),
                ));
            }
            Err(_) => return Err(checksum(file, format!("listed in {listing} but missing"))),
        };
        if len != expected.len {
            return Err(checksum(
                file,
                format!("{len} bytes, {listing} says {}", expected.len),
            ));
        }
        let found = digest(&file)?;
        if found.sha256 != expected.sha256 {
            return Err(checksum(
                file,
                format!("its SHA-256 differs from the one in {listing}"),
            ));
        }
    }
    Ok(manifest)
}

fn checksum(path: PathBuf, reason: String) -> RunError {
    RunError::Checksum { path, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bpk"), vec![7u8; 100_000]).unwrap();
        std::fs::write(dir.path().join("b.json"), b"{\"x\": 1}").unwrap();
        write_manifest(dir.path(), &["a.bpk", "b.json"]).unwrap();
        dir
    }

    #[test]
    fn an_intact_folder_verifies() {
        let dir = folder();
        let names = verify_manifest(dir.path(), &["a.bpk"]).unwrap();
        assert_eq!(names, ["a.bpk", "b.json"]);
    }

    #[test]
    fn one_flipped_byte_anywhere_is_a_checksum_error() {
        let dir = folder();
        let path = dir.path().join("a.bpk");
        for at in [0usize, 50_000, 99_999] {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            let err = verify_manifest(dir.path(), &[]).unwrap_err();
            assert!(
                matches!(&err, RunError::Checksum { path: p, .. } if p == &path),
                "{err}"
            );
            assert!(err.to_string().contains("SHA-256"), "{err}");
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
        }
        verify_manifest(dir.path(), &[]).unwrap();
    }

    #[test]
    fn missing_truncated_unlisted_and_absent_manifests_are_typed() {
        let dir = folder();
        let err = verify_manifest(dir.path(), &["c.bpk"]).unwrap_err();
        assert!(err.to_string().contains("not listed"), "{err}");
        std::fs::write(dir.path().join("b.json"), b"{}").unwrap();
        let err = verify_manifest(dir.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("2 bytes"), "{err}");
        std::fs::remove_file(dir.path().join("b.json")).unwrap();
        let err = verify_manifest(dir.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            br#"{"files": {"../x": {"len": 1, "sha256": "00"}}}"#,
        )
        .unwrap();
        let err = verify_manifest(dir.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("not a file name"), "{err}");
        std::fs::remove_file(dir.path().join(MANIFEST_FILE)).unwrap();
        let err = verify_manifest(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, RunError::NoManifest { .. }), "{err}");
    }
}
