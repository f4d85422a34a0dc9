//! Run folders for kiln's models: the optional layer that writes a training run to disk.
//!
//! Every model trains in memory first (its crate's `train`); its `run` layer drives the same
//! loop and uses this crate to keep the run in a folder:
//!
//! - [`RunDir`]: one run's folder — the config as JSON, a checkpoint swapped in whole after
//!   each epoch (or every N steps), an exclusive lock for the run's lifetime, and the refusal
//!   to start a new run in a folder holding anything, or to resume one that has no intact
//!   checkpoint ([`RunMode`], [`RunError`]).
//! - [`Checkpoint`]: the contract a training loop implements to list its checkpoint's
//!   parts (modules, optimisers, serde state) once; [`RunDir::save_state`] writes them and
//!   [`RunDir::restore`] reads them back.
//! - [`replace_dir`], [`save_json`] / [`load_json`], [`save_module`] / [`load_module`],
//!   [`save_optimizer`] / [`load_optimizer`]: every file is written to a temporary name and
//!   renamed into place (`kiln_core::write_atomic`), so a run killed mid-write leaves the
//!   previous file intact, never a half-written one.
//! - [`write_manifest`] / [`verify_manifest`]: the length and SHA-256 of every file of a
//!   checkpoint and of a finished model, written last and checked before loading, so a
//!   damaged or swapped file is [`RunError::Checksum`], not a silently worse model.
//!
//! ```
//! use kiln_train::{RunDir, RunMode, RunError};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let folder = tempfile::tempdir()?;
//! let run = RunDir::open(folder.path(), RunMode::New)?;
//! run.save_config(&vec![1, 2, 3])?;
//! run.save_checkpoint(1, |dir| kiln_train::save_json(&dir.join("state.json"), &"epoch 1"))?;
//! // While `run` lives, no other run may use the folder.
//! assert!(matches!(RunDir::open(folder.path(), RunMode::Resume), Err(RunError::Locked(_))));
//! drop(run);
//! // The folder now holds a run: a new one there is refused, resuming continues after unit 1.
//! assert!(matches!(RunDir::open(folder.path(), RunMode::New), Err(RunError::InUse { .. })));
//! assert_eq!(RunDir::open(folder.path(), RunMode::Resume)?.resume_from(), Some(1));
//! # Ok(()) }
//! ```

mod checkpoint;
mod manifest;
mod run_dir;

pub use checkpoint::{Checkpoint, Parts};
/// The run folder's error, defined in kiln-core so that every model crate's error enum holds
/// it whether or not its `run` feature is on.
pub use kiln_core::RunError;

pub use manifest::{MANIFEST_FILE, verify_manifest, write_manifest};
pub use run_dir::{CHECKPOINT_DIR, CONFIG_FILE, LOCK_FILE, RUN_FILE, RunDir, RunMode};

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RunError {
    let path = path.to_path_buf();
    move |source| RunError::Io {
        action,
        path,
        source,
    }
}

/// [`kiln_core::write_atomic`] with the error typed as an [`RunError`].
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    kiln_core::write_atomic(path, bytes).map_err(io_err("write", path))
}

/// Replaces the folder `target` as a whole: `fill` writes the new contents into
/// `target.new/`, then the old folder moves to `target.old/`, the new one into place, and the
/// old one is deleted. A crash leaves either the old or the new folder complete under
/// `target` (or, between the two renames, the old one complete under `target.old/`), never a
/// mixture. Used for checkpoints made of several files.
///
/// # Errors
/// Whatever `fill` returns, or [`RunError::Io`] if a rename fails.
pub fn replace_dir<E: From<RunError>>(
    target: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let with_suffix = |suffix: &str| {
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        target.with_file_name(name)
    };
    let (fresh, old) = (with_suffix(".new"), with_suffix(".old"));
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh).map_err(io_err("create folder", &fresh))?;
    fill(&fresh)?;
    let _ = std::fs::remove_dir_all(&old);
    if target.exists() {
        std::fs::rename(target, &old).map_err(io_err("move aside", target))?;
    }
    std::fs::rename(&fresh, target).map_err(io_err("move into place", &fresh))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Saves `value` as pretty JSON, atomically.
///
/// # Errors
/// [`RunError::Io`] if the file cannot be written.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RunError> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| RunError::Json {
        path: path.to_path_buf(),
        what: "JSON value",
        source,
    })?;
    write_atomic(path, &json)
}

/// Loads a JSON file written by [`save_json`]; `what` names its content in errors.
///
/// # Errors
/// [`RunError::Io`] if the file cannot be read, [`RunError::Json`] if it does not
/// parse as `T`.
pub fn load_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, RunError> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| RunError::Json {
        path: path.to_path_buf(),
        what,
        source,
    })
}

/// Saves a module's weights as a burnpack file, atomically.
///
/// # Errors
/// [`RunError::Weights`] if burn cannot serialise the record, else [`RunError::Io`] if the file cannot be written.
pub fn save_module<M: Module>(module: M, path: &Path) -> Result<(), RunError> {
    let bytes = module
        .into_record()
        .into_bytes()
        .map_err(|e| RunError::Weights {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    write_atomic(path, &bytes)
}

/// Loads weights saved by [`save_module`] into `module` (built from the same config).
///
/// # Errors
/// [`RunError::Io`] if the file cannot be read; [`RunError::Weights`] if it is
/// corrupt or its tensors do not match the module's.
pub fn load_module<M: Module>(module: M, path: &Path) -> Result<M, RunError> {
    let bytes = read_whole(path)?;
    let weights_err = |reason: String| RunError::Weights {
        path: path.to_path_buf(),
        reason,
    };
    // The whole file is read first: burn's file reader reads tensors lazily, and a file
    // damaged under it then panicked later on a device thread, not here.
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| weights_err(e.to_string()))?;
    kiln_core::catch_panic(std::panic::AssertUnwindSafe(|| {
        module.try_load_record(record)
    }))
    .map_err(weights_err)?
    .map_err(|e| weights_err(e.to_string()))
}

/// Saves an optimiser's state (Adam's moments, step counts) as a burnpack file, atomically.
///
/// # Errors
/// [`RunError::Weights`] if burn cannot serialise it, else [`RunError::Io`] if the file cannot be written.
pub fn save_optimizer(optim: &ModuleOptimizer, path: &Path) -> Result<(), RunError> {
    let bytes = optim.into_bytes().map_err(|e| RunError::Weights {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}

/// Loads an optimiser state saved by [`save_optimizer`] into `optim` (built with the same
/// settings).
///
/// # Errors
/// [`RunError::Io`] if the file cannot be read; [`RunError::Weights`] if it is
/// corrupt.
pub fn load_optimizer(optim: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer, RunError> {
    let bytes = read_whole(path)?;
    let weights_err = |reason: String| RunError::Weights {
        path: path.to_path_buf(),
        reason,
    };
    // burn 0.22.1 panics on some damaged optimizer records ("Optimizer record tensors should
    // carry a parameter id"): caught here and returned as the typed error.
    kiln_core::catch_panic(std::panic::AssertUnwindSafe(|| {
        optim.from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
    }))
    .map_err(weights_err)?
    .map_err(|e| weights_err(e.to_string()))
}

/// The whole file, or [`RunError::Io`].
fn read_whole(path: &Path) -> Result<Vec<u8>, RunError> {
    std::fs::read(path).map_err(io_err("read", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.json");
        save_json(&p, &vec![1, 2, 3]).unwrap();
        save_json(&p, &vec![4]).unwrap();
        assert_eq!(load_json::<Vec<i32>>(&p, "list").unwrap(), vec![4]);
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn failed_write_keeps_what_was_there_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder (not empty) under the name: the final rename fails.
        let p = dir.path().join("a");
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("inside"), b"old").unwrap();
        assert!(write_atomic(&p, b"new").is_err());
        assert_eq!(std::fs::read(p.join("inside")).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a")]);
    }

    #[test]
    fn bad_json_is_a_json_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, "{not json").unwrap();
        let err = load_json::<Vec<i32>>(&p, "list").unwrap_err();
        assert!(matches!(err, RunError::Json { what: "list", .. }), "{err}");
    }

    #[test]
    fn missing_json_is_an_io_error() {
        let err = load_json::<Vec<i32>>(Path::new("/nonexistent/kiln.json"), "list").unwrap_err();
        assert!(matches!(err, RunError::Io { action: "read", .. }), "{err}");
    }
}
