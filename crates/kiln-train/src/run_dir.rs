//! One training run's folder.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{ArtifactError, io_err, load_json, replace_dir, save_json};

/// The run's config inside its folder.
pub const CONFIG_FILE: &str = "config.json";
/// The folder of the last complete checkpoint inside a run's folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Inside the checkpoint: how far the run had got.
const PROGRESS_FILE: &str = "progress.json";

/// Whether a run starts afresh or continues the one in its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Start a new run; the folder must hold no checkpoint of an earlier one.
    New,
    /// Continue from the last complete checkpoint in the folder.
    Resume,
}

/// Why a run folder cannot be used as asked.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file could not be read or written.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A new run was asked for in a folder holding another run's checkpoint.
    #[error(
        "{} already holds a run (checkpoint after {done} units): resume it with --resume, or choose another folder",
        dir.display()
    )]
    InUse {
        /// The folder.
        dir: PathBuf,
        /// Units (epochs, steps) its checkpoint had done; 0 if unreadable.
        done: usize,
    },
    /// Resuming was asked for but the folder holds no complete checkpoint.
    #[error("{} holds no complete checkpoint to resume from", .0.display())]
    NoCheckpoint(PathBuf),
}

#[derive(Debug, Serialize, Deserialize)]
struct CheckpointProgress {
    done: usize,
}

/// A training run's folder: `config.json`, `checkpoint/` (replaced whole at every
/// checkpoint, so it is always one complete checkpoint), and whatever the model writes beside
/// them (weights, metrics, plots).
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    resume_from: Option<usize>,
}

impl RunDir {
    /// Opens `path` for a run in `mode`, creating it if needed.
    ///
    /// A checkpoint left under `checkpoint.old/` by a crash between the two renames of
    /// [`replace_dir`] is moved back first, so no complete checkpoint is ever lost.
    ///
    /// # Errors
    /// [`RunError::InUse`] for [`RunMode::New`] where a checkpoint exists;
    /// [`RunError::NoCheckpoint`] for [`RunMode::Resume`] where none does;
    /// [`RunError::Artifact`] if the folder cannot be made or the checkpoint's progress file
    /// is unreadable when resuming.
    pub fn open(path: impl Into<PathBuf>, mode: RunMode) -> Result<Self, RunError> {
        let path = path.into();
        std::fs::create_dir_all(&path).map_err(io_err("create folder", &path))?;
        let checkpoint = path.join(CHECKPOINT_DIR);
        let old = path.join(format!("{CHECKPOINT_DIR}.old"));
        if !checkpoint.exists() && old.is_dir() {
            std::fs::rename(&old, &checkpoint).map_err(io_err("restore", &old))?;
        }
        let progress = checkpoint.join(PROGRESS_FILE);
        let resume_from = match mode {
            RunMode::New if checkpoint.exists() => {
                let done = load_json::<CheckpointProgress>(&progress, "checkpoint progress")
                    .map_or(0, |p| p.done);
                return Err(RunError::InUse { dir: path, done });
            }
            RunMode::New => None,
            RunMode::Resume if !progress.is_file() => return Err(RunError::NoCheckpoint(path)),
            RunMode::Resume => {
                Some(load_json::<CheckpointProgress>(&progress, "checkpoint progress")?.done)
            }
        };
        Ok(Self { path, resume_from })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The folder of the current checkpoint.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.path.join(CHECKPOINT_DIR)
    }

    /// Units the checkpoint had done, when this run resumes one.
    pub fn resume_from(&self) -> Option<usize> {
        self.resume_from
    }

    /// Writes the run's config as `config.json`, atomically.
    ///
    /// # Errors
    /// As [`save_json`].
    pub fn save_config<C: Serialize>(&self, config: &C) -> Result<(), ArtifactError> {
        save_json(&self.file(CONFIG_FILE), config)
    }

    /// Reads the `config.json` of the run folder `dir`; `what` names it in errors.
    ///
    /// # Errors
    /// As [`load_json`].
    pub fn load_config<C: DeserializeOwned>(
        dir: &Path,
        what: &'static str,
    ) -> Result<C, ArtifactError> {
        load_json(&dir.join(CONFIG_FILE), what)
    }

    /// Replaces the checkpoint with a new one after `done` units: `fill` writes its files
    /// into a fresh folder, which is swapped in whole (see [`replace_dir`]).
    ///
    /// # Errors
    /// Whatever `fill` returns, or a write or rename that fails.
    pub fn save_checkpoint<E: From<ArtifactError>>(
        &self,
        done: usize,
        fill: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<(), E> {
        replace_dir(&self.checkpoint_dir(), |dir| {
            fill(dir)?;
            save_json(&dir.join(PROGRESS_FILE), &CheckpointProgress { done })?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_run_refuses_a_folder_with_a_checkpoint_and_resume_needs_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = RunDir::open(dir.path(), RunMode::Resume).unwrap_err();
        assert!(matches!(err, RunError::NoCheckpoint(_)), "{err}");
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        assert_eq!(run.resume_from(), None);
        run.save_checkpoint(3, |_| Ok::<(), ArtifactError>(()))
            .unwrap();
        let err = RunDir::open(dir.path(), RunMode::New).unwrap_err();
        assert!(matches!(err, RunError::InUse { done: 3, .. }), "{err}");
        let resumed = RunDir::open(dir.path(), RunMode::Resume).unwrap();
        assert_eq!(resumed.resume_from(), Some(3));
    }

    #[test]
    fn a_checkpoint_left_aside_by_a_crash_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        run.save_checkpoint(2, |_| Ok::<(), ArtifactError>(()))
            .unwrap();
        // A crash between the two renames leaves the old checkpoint under checkpoint.old/.
        std::fs::rename(run.checkpoint_dir(), dir.path().join("checkpoint.old")).unwrap();
        let resumed = RunDir::open(dir.path(), RunMode::Resume).unwrap();
        assert_eq!(resumed.resume_from(), Some(2));
    }

    #[test]
    fn a_failed_fill_keeps_the_previous_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        run.save_checkpoint(1, |d| save_json(&d.join("a.json"), &1))
            .unwrap();
        let failed = run.save_checkpoint(2, |_| {
            Err(ArtifactError::Weights {
                path: PathBuf::from("x"),
                reason: "disk full".into(),
            })
        });
        assert!(failed.is_err());
        let resumed = RunDir::open(dir.path(), RunMode::Resume).unwrap();
        assert_eq!(resumed.resume_from(), Some(1));
        assert_eq!(
            load_json::<i32>(&resumed.checkpoint_dir().join("a.json"), "a").unwrap(),
            1
        );
    }
}
