//! The run folder's error.

use std::path::PathBuf;

/// Errors of a run folder (kiln-train's `RunDir` and file helpers; re-exported there): a
/// file that cannot be read or written or fails its checksum, and a folder that cannot be
/// used as asked (in use, not empty, nothing to resume). It lives here so that every model
/// crate's error enum holds it (`Run`) with or without its `run` feature: the enums have one
/// shape in every build.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("write", "read", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file does not hold what was expected.
    #[error("{path} is not a valid {what}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What it should hold.
        what: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A file differs from what the manifest written with it says: changed or damaged since.
    #[error("{path} failed its checksum ({reason}): it was changed or damaged after kiln wrote it")]
    Checksum {
        /// The file (or the manifest itself).
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A folder that should hold a manifest (`manifest.json` of a checkpoint or a finished
    /// run, `run.json` of a run) holds none.
    #[error(
        "{} has no {file}: it is not a complete checkpoint or run written by this version of kiln",
        dir.display()
    )]
    NoManifest {
        /// The folder.
        dir: PathBuf,
        /// The manifest looked for.
        file: String,
    },
    /// A weights file is corrupt or does not fit the model.
    #[error("{path} does not hold weights for this model: {reason}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// burn's reason.
        reason: String,
    },

    /// A new run was asked for in a folder holding another run's checkpoint.
    #[error(
        "{} already holds a run (checkpoint after {done} units): resume it, or choose another folder",
        dir.display()
    )]
    InUse {
        /// The folder.
        dir: PathBuf,
        /// Units (epochs, steps) its checkpoint had done; 0 if unreadable.
        done: usize,
    },
    /// A new run was asked for in a folder that already holds files (a finished run's model,
    /// anything else): a new run never overwrites them.
    #[error(
        "{} already holds files ({}): a new run writes only into a new or empty folder; choose another one",
        dir.display(),
        names.join(", ")
    )]
    NotEmpty {
        /// The folder.
        dir: PathBuf,
        /// The first few names in it.
        names: Vec<String>,
    },
    /// Another process runs in the folder now (it holds the lock on the folder's `run.lock`).
    #[error(
        "{} is in use by another kiln run right now (it holds run.lock): wait for it to end, or choose another folder",
        .0.display()
    )]
    Locked(PathBuf),
    /// The checkpoint was written by another run (its run id differs from the folder's
    /// `run.json`, or it has none): a checkpoint copied in from elsewhere.
    #[error(
        "{} belongs to another run (its run id is not this folder's run.json's): resume the run \
         it came from, or copy a whole run folder, never a checkpoint alone",
        .0.display()
    )]
    ForeignCheckpoint(PathBuf),
    /// Resuming was asked for but the folder holds no complete checkpoint.
    #[error("{} holds no complete checkpoint to resume from", .0.display())]
    NoCheckpoint(PathBuf),
    /// Resuming was asked for in a folder that does not exist.
    #[error(
        "{} does not exist: there is no run to resume (start a new run there instead)",
        .0.display()
    )]
    NoRun(PathBuf),
}
