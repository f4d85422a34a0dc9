//! Training helpers shared by kiln's models.
//!
//! Everything a training run writes goes through here, so that every artifact is written
//! atomically (a temporary file in the same folder, then a rename): a run killed mid-write
//! leaves the previous file intact, never a half-written one.
//!
//! - [`write_atomic`], [`save_json`] / [`load_json`]: files and configs.
//! - [`save_module`] / [`load_module`]: a module's weights as a burnpack (`.bpk`) file.
//! - [`AtomicFileCheckpointer`]: burn-train's checkpointer, written atomically, and
//!   [`latest_checkpoint`] to resume from the last complete epoch.
//! - [`LineRenderer`]: one progress line per epoch where there is no terminal for burn-train's UI.

mod checkpoint;
mod renderer;

pub use checkpoint::{AtomicFileCheckpointer, CHECKPOINT_DIR, latest_checkpoint};
pub use renderer::{LineRenderer, use_terminal_ui};

/// Whether a training run starts afresh or continues the one in its artifact folder (every
/// model's `train` takes one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Start a new run; the folder must hold no checkpoints of an earlier one.
    New,
    /// Continue from the last complete checkpoint in the folder.
    Resume,
}

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Errors of reading or writing training artifacts.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
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
    /// A weights file is corrupt or does not fit the model.
    #[error("{path} does not hold weights for this model: {reason}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// burn's reason.
        reason: String,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError {
    let path = path.to_path_buf();
    move |source| ArtifactError::Io {
        action,
        path,
        source,
    }
}

/// Writes `bytes` to `path` atomically: to a temporary file beside it, synced, then renamed
/// over `path`. Creates the parent folder if needed.
///
/// # Errors
/// [`ArtifactError::Io`] if any step fails; `path` is then untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io_err("create folder", &dir))?;
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err("write", path))
}

/// Replaces the folder `target` as a whole: `fill` writes the new contents into
/// `target.new/`, then the old folder moves to `target.old/`, the new one into place, and the
/// old one is deleted. A crash leaves either the old or the new folder complete under
/// `target` (or, between the two renames, the old one complete under `target.old/`), never a
/// mixture. Used for checkpoints made of several files.
///
/// # Errors
/// Whatever `fill` returns, or [`ArtifactError::Io`] if a rename fails.
pub fn replace_dir<E: From<ArtifactError>>(
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
/// [`ArtifactError::Io`] if the file cannot be written.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ArtifactError> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| ArtifactError::Json {
        path: path.to_path_buf(),
        what: "JSON value",
        source,
    })?;
    write_atomic(path, &json)
}

/// Loads a JSON file written by [`save_json`]; `what` names its content in errors.
///
/// # Errors
/// [`ArtifactError::Io`] if the file cannot be read, [`ArtifactError::Json`] if it does not
/// parse as `T`.
pub fn load_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, ArtifactError> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| ArtifactError::Json {
        path: path.to_path_buf(),
        what,
        source,
    })
}

/// Saves a module's weights as a burnpack file, atomically.
///
/// # Errors
/// [`ArtifactError::Weights`] if burn cannot serialise the record, else as [`write_atomic`].
pub fn save_module<M: Module>(module: M, path: &Path) -> Result<(), ArtifactError> {
    let bytes = module
        .into_record()
        .into_bytes()
        .map_err(|e| ArtifactError::Weights {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    write_atomic(path, &bytes)
}

/// Loads weights saved by [`save_module`] into `module` (built from the same config).
///
/// # Errors
/// [`ArtifactError::Io`] if the file cannot be read; [`ArtifactError::Weights`] if it is
/// corrupt or its tensors do not match the module's.
pub fn load_module<M: Module>(module: M, path: &Path) -> Result<M, ArtifactError> {
    if !path.is_file() {
        return Err(ArtifactError::Io {
            action: "read",
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let weights_err = |e: burn::store::RecordError| ArtifactError::Weights {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let record = ModuleRecord::load(path).map_err(weights_err)?;
    module.try_load_record(record).map_err(weights_err)
}

/// A small seeded generator (SplitMix64) for everything a training run draws on the host
/// (shuffles, exploration, replay sampling, latent noise, initial states): the same seed gives
/// the same run on every platform, its state can be checkpointed, and it adds no `rand`
/// features to Burn's build (which would rebuild Burn).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, values: &mut [T]) {
        for i in (1..values.len()).rev() {
            values.swap(i, self.below(i + 1));
        }
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rng_is_seeded_and_in_range() {
        let (mut a, mut b) = (super::Rng::new(1), super::Rng::new(1));
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let u = a.uniform(-0.05, 0.05);
            assert_eq!(u, b.uniform(-0.05, 0.05));
            assert!((-0.05..0.05).contains(&u));
            assert!(a.below(7) < 7);
            b.below(7);
            sum += a.normal();
            b.normal();
        }
        assert!(
            (sum / 10_000.0).abs() < 0.05,
            "normal mean {}",
            sum / 10_000.0
        );
        let mut v: Vec<u32> = (0..10).collect();
        a.shuffle(&mut v);
        v.sort_unstable();
        assert_eq!(v, (0..10).collect::<Vec<_>>());
    }

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
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        write_atomic(&p, b"old").unwrap();
        // A folder where the temporary file should go makes the write fail.
        std::fs::create_dir(dir.path().join(format!(".a.tmp-{}", std::process::id()))).unwrap();
        assert!(write_atomic(&p, b"new").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn bad_json_is_a_json_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, "{not json").unwrap();
        let err = load_json::<Vec<i32>>(&p, "list").unwrap_err();
        assert!(
            matches!(err, ArtifactError::Json { what: "list", .. }),
            "{err}"
        );
    }

    #[test]
    fn missing_json_is_an_io_error() {
        let err = load_json::<Vec<i32>>(Path::new("/nonexistent/kiln.json"), "list").unwrap_err();
        assert!(
            matches!(err, ArtifactError::Io { action: "read", .. }),
            "{err}"
        );
    }
}
