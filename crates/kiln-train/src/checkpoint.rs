//! burn-train checkpoints, written atomically.

use std::path::{Path, PathBuf};

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

use crate::write_atomic;

/// Subfolder of a run's artifact folder that holds its checkpoints.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// The checkpoint record kinds burn-train's supervised loop writes each epoch.
const RECORDS: [&str; 3] = ["model", "optim", "scheduler"];

/// Like burn-train's `FileCheckpointer` (`{name}-{epoch}.bpk` in a folder), but each file is
/// written to a temporary file and renamed into place, so a crash mid-save never leaves a
/// truncated checkpoint under a valid name.
pub struct AtomicFileCheckpointer {
    directory: PathBuf,
    name: String,
}

impl AtomicFileCheckpointer {
    /// A checkpointer writing `{name}-{epoch}.bpk` files into `directory`.
    pub fn new(directory: &Path, name: &str) -> Self {
        Self {
            directory: directory.to_path_buf(),
            name: name.to_string(),
        }
    }

    /// The three checkpointers burn-train's supervised loop needs (model, optimizer,
    /// scheduler), all in `artifact_dir/checkpoint/`.
    pub fn triple(artifact_dir: &Path) -> (Self, Self, Self) {
        let dir = artifact_dir.join(CHECKPOINT_DIR);
        (
            Self::new(&dir, RECORDS[0]),
            Self::new(&dir, RECORDS[1]),
            Self::new(&dir, RECORDS[2]),
        )
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        write_atomic(&self.path(epoch), &bytes)
            .map_err(|e| CheckpointerError::IOError(std::io::Error::other(e.to_string())))
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }
}

/// The last epoch for which `artifact_dir/checkpoint/` holds all three records (model,
/// optimizer, scheduler), i.e. the epoch a run can resume from.
pub fn latest_checkpoint(artifact_dir: &Path) -> Option<usize> {
    let dir = artifact_dir.join(CHECKPOINT_DIR);
    let complete = |epoch: usize| {
        RECORDS
            .iter()
            .all(|r| dir.join(format!("{r}-{epoch}.bpk")).is_file())
    };
    std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .filter(|&epoch| complete(epoch))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_checkpoint_needs_all_three_records() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(latest_checkpoint(dir.path()), None);
        let ck = dir.path().join(CHECKPOINT_DIR);
        std::fs::create_dir_all(&ck).unwrap();
        for epoch in [1, 2] {
            for r in RECORDS {
                std::fs::write(ck.join(format!("{r}-{epoch}.bpk")), b"x").unwrap();
            }
        }
        std::fs::write(ck.join("model-3.bpk"), b"x").unwrap(); // epoch 3 incomplete
        std::fs::write(ck.join("model-x.bpk"), b"x").unwrap();
        assert_eq!(latest_checkpoint(dir.path()), Some(2));
    }
}
