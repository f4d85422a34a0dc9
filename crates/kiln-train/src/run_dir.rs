//! One training run's folder.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::manifest::{
    MANIFEST_FILE, read_listing, record_in_listing, verify_listing, verify_manifest, write_listing,
    write_manifest,
};
use crate::{Checkpoint, Parts, RunError, io_err, load_json, replace_dir, save_json};

/// The run's config inside its folder.
pub const CONFIG_FILE: &str = "config.json";
/// The folder of the last complete checkpoint inside a run's folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// The file a run holds an exclusive lock on for as long as it runs. The operating system
/// holds the lock, so a killed run leaves the file but not the lock.
pub const LOCK_FILE: &str = "run.lock";
/// The run's identity and the files it reads back while it runs (`config.json`, and what
/// [`RunDir::save_file`] wrote), each with its length and SHA-256.
pub const RUN_FILE: &str = "run.json";
/// Inside the checkpoint: how far the run had got, and whose run it is.
const PROGRESS_FILE: &str = "progress.json";
/// At most this many of a folder's names in a [`RunError::NotEmpty`] message.
const NAMES_SHOWN: usize = 4;

/// Whether a run starts afresh or continues the one in its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Start a new run; the folder must be new or empty.
    New,
    /// Continue from the last complete checkpoint in the folder.
    Resume,
}

#[derive(Debug, Serialize, Deserialize)]
struct CheckpointProgress {
    done: usize,
    /// The [`RUN_FILE`] id of the run that wrote it (absent before kiln recorded it).
    #[serde(default)]
    run: Option<String>,
}

/// A training run's folder: `config.json`, `checkpoint/` (replaced whole at every
/// checkpoint, so it is always one complete checkpoint, with a `manifest.json` of its files'
/// SHA-256), and whatever the model writes beside them (weights, metrics, plots), sealed by a
/// `manifest.json` of its own when the run finishes ([`RunDir::finish`]).
///
/// Nothing is read back unverified. [`RUN_FILE`] gives the run a random id when it starts
/// and lists the digests of the files the run reads back (`config.json`, and those written
/// with [`RunDir::save_file`]); resuming checks them, and a checkpoint carries the id of the
/// run that wrote it, so a checkpoint copied in from another run is refused. Symbolic links
/// are never followed: the lock file is opened with `O_NOFOLLOW`, and a listed file that is
/// a link fails its check.
///
/// While any clone of a `RunDir` lives, the process holds an exclusive lock on the folder's
/// [`LOCK_FILE`]: a second run (another process, or this one) is refused with
/// [`RunError::Locked`].
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    resume_from: Option<usize>,
    /// The run's id: drawn for a new run (written to [`RUN_FILE`] with its first file), read
    /// from [`RUN_FILE`] when resuming.
    id: String,
    _lock: Arc<File>,
}

impl RunDir {
    /// Opens `path` for a run in `mode` and locks it for the life of the returned value.
    /// A new run creates the folder if needed and needs it empty; resuming needs a folder
    /// with a complete checkpoint whose files match their manifest.
    ///
    /// A checkpoint left under `checkpoint.old/` by a crash between the two renames of
    /// [`replace_dir`] is moved back first, so no complete checkpoint is ever lost.
    ///
    /// # Errors
    /// [`RunError::Locked`] while another run holds the folder; for [`RunMode::New`],
    /// [`RunError::InUse`] where a checkpoint exists and [`RunError::NotEmpty`] where other
    /// files do; for [`RunMode::Resume`], [`RunError::NoRun`] for a missing folder,
    /// [`RunError::NoCheckpoint`] where there is no checkpoint, and
    /// [`RunError::Checksum`] / [`RunError::NoManifest`] for one whose files do not
    /// match its manifest; [`RunError::Io`] if the folder cannot be made or read.
    /// [`RunError::Checksum`] also when `config.json` or another run file differs from
    /// [`RUN_FILE`], and [`RunError::ForeignCheckpoint`] for a checkpoint of another run.
    pub fn open(path: impl Into<PathBuf>, mode: RunMode) -> Result<Self, RunError> {
        let path = path.into();
        match mode {
            RunMode::Resume if !path.is_dir() => return Err(RunError::NoRun(path)),
            RunMode::Resume => {}
            RunMode::New => {
                std::fs::create_dir_all(&path).map_err(io_err("create folder", &path))?;
            }
        }
        let lock = lock(&path)?;
        let checkpoint = path.join(CHECKPOINT_DIR);
        let old = path.join(format!("{CHECKPOINT_DIR}.old"));
        for folder in [&checkpoint, &old] {
            if std::fs::symlink_metadata(folder).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(RunError::Checksum {
                    path: folder.clone(),
                    reason: "a symbolic link: kiln never writes one".into(),
                });
            }
        }
        if !checkpoint.exists() && old.is_dir() {
            std::fs::rename(&old, &checkpoint).map_err(io_err("restore", &old))?;
        }
        let progress = checkpoint.join(PROGRESS_FILE);
        let mut id = kiln_core::random_id();
        let resume_from = match mode {
            RunMode::New if checkpoint.exists() => {
                let done = load_json::<CheckpointProgress>(&progress, "checkpoint progress")
                    .map_or(0, |p| p.done);
                return Err(RunError::InUse { dir: path, done });
            }
            RunMode::New => {
                let names = other_names_in(&path, NAMES_SHOWN)?;
                if !names.is_empty() {
                    return Err(RunError::NotEmpty { dir: path, names });
                }
                None
            }
            RunMode::Resume if !progress.is_file() => return Err(RunError::NoCheckpoint(path)),
            RunMode::Resume => {
                let run = verify_listing(&path, RUN_FILE, &[])?.run;
                id = run.clone().unwrap_or_default();
                let listed = verify_manifest(&checkpoint, &[PROGRESS_FILE])?;
                // Every file of the checkpoint is vouched for, none slipped in beside them.
                for name in other_names_in(&checkpoint, usize::MAX)? {
                    if name != MANIFEST_FILE && !listed.contains(&name) {
                        return Err(RunError::Checksum {
                            path: checkpoint.join(&name),
                            reason: "not listed in the checkpoint's manifest.json".into(),
                        });
                    }
                }
                let saved = load_json::<CheckpointProgress>(&progress, "checkpoint progress")?;
                if saved.run.is_none() || saved.run != run {
                    return Err(RunError::ForeignCheckpoint(checkpoint));
                }
                Some(saved.done)
            }
        };
        Ok(Self {
            path,
            resume_from,
            id,
            _lock: Arc::new(lock),
        })
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

    /// Writes the run's config as `config.json`, atomically, and records it in [`RUN_FILE`].
    ///
    /// # Errors
    /// As [`save_json`].
    pub fn save_config<C: Serialize>(&self, config: &C) -> Result<(), RunError> {
        self.save_file(CONFIG_FILE, config)
    }

    /// Writes `value` as the JSON file `name` of the run (a file the run reads back, such as
    /// the dataset it trains on), atomically, and records its digest in [`RUN_FILE`], which
    /// [`RunDir::load_file`] and resuming check.
    ///
    /// # Errors
    /// As [`save_json`], or [`RUN_FILE`] that cannot be read or written.
    pub fn save_file<T: Serialize>(&self, name: &str, value: &T) -> Result<(), RunError> {
        save_json(&self.file(name), value)?;
        let mut listing = self.listing()?;
        listing.run = Some(self.id.clone());
        record_in_listing(&self.path, RUN_FILE, name, listing)
    }

    /// [`RUN_FILE`] as it stands (empty before the run's first file).
    fn listing(&self) -> Result<crate::manifest::Manifest, RunError> {
        match read_listing(&self.path, RUN_FILE) {
            Err(RunError::NoManifest { .. }) => Ok(crate::manifest::Manifest::default()),
            listing => listing,
        }
    }

    /// Reads the `config.json` of the run folder `dir`, verified as [`RunDir::load_file`]
    /// does; `what` names it in errors.
    ///
    /// # Errors
    /// As [`RunDir::load_file`].
    pub fn load_config<C: DeserializeOwned>(dir: &Path, what: &'static str) -> Result<C, RunError> {
        Self::load_file(dir, CONFIG_FILE, what)
    }

    /// Reads the JSON file `name` of the run folder `dir` after checking it, and every file
    /// listed with it, against [`RUN_FILE`] (or, for a run finished before kiln wrote
    /// [`RUN_FILE`], its `manifest.json`); `what` names it in errors.
    ///
    /// # Errors
    /// [`RunError::Checksum`] for a file that is unlisted or differs, [`RunError::NoManifest`]
    /// where neither listing exists, or as [`load_json`].
    pub fn load_file<T: DeserializeOwned>(
        dir: &Path,
        name: &str,
        what: &'static str,
    ) -> Result<T, RunError> {
        if dir.join(RUN_FILE).exists() || !dir.join(MANIFEST_FILE).exists() {
            verify_listing(dir, RUN_FILE, &[name])?;
        } else {
            verify_manifest(dir, &[name])?;
        }
        load_json(&dir.join(name), what)
    }

    /// Replaces the checkpoint with a new one after `done` units: `fill` writes its files
    /// into a fresh folder, a `manifest.json` of their lengths and SHA-256 is written last,
    /// and the folder is swapped in whole (see [`replace_dir`]).
    ///
    /// # Errors
    /// Whatever `fill` returns, or a write or rename that fails.
    pub fn save_checkpoint<E: From<RunError>>(
        &self,
        done: usize,
        fill: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<(), E> {
        // The run's id first: resuming reads it from RUN_FILE.
        if !self.file(RUN_FILE).exists() {
            write_listing(&self.path, RUN_FILE, &[], Some(self.id.clone()))?;
        }
        replace_dir(&self.checkpoint_dir(), |dir| {
            fill(dir)?;
            let run = Some(self.id.clone());
            save_json(&dir.join(PROGRESS_FILE), &CheckpointProgress { done, run })?;
            let names = other_names_in(dir, usize::MAX)?;
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            write_manifest(dir, &names)?;
            Ok(())
        })
    }

    /// Writes `state`'s checkpoint ([`Checkpoint::parts`], saving) after
    /// [`Checkpoint::done`] units, as [`RunDir::save_checkpoint`] does.
    ///
    /// # Errors
    /// A part that cannot be written.
    pub fn save_state<C: Checkpoint>(&self, state: &mut C) -> Result<(), C::Error> {
        let done = state.done();
        self.save_checkpoint(done, |dir| state.parts(&mut Parts::saving(dir)))
    }

    /// When this run resumes one, reads the checkpoint into `state` ([`Checkpoint::parts`],
    /// loading, then [`Checkpoint::restored`]) and returns `true`; a new run leaves `state`
    /// as it is and returns `false`.
    ///
    /// # Errors
    /// A part that cannot be read or does not fit `state`, or what `restored` refuses.
    pub fn restore<C: Checkpoint>(&self, state: &mut C) -> Result<bool, C::Error> {
        if self.resume_from.is_none() {
            return Ok(false);
        }
        state.parts(&mut Parts::loading(&self.checkpoint_dir()))?;
        state.restored()?;
        Ok(true)
    }

    /// Seals the finished run: writes `manifest.json` in the folder with the length and
    /// SHA-256 of `config.json` and of `files` (the final weights, metrics ...), which
    /// [`RunDir::verify_finished`] checks before anything is loaded.
    ///
    /// # Errors
    /// [`RunError::Checksum`] when a file listed in [`RUN_FILE`] changed since the run wrote
    /// it; [`RunError::Io`] if a file cannot be read or the manifest written.
    pub fn finish(&self, files: &[&str]) -> Result<(), RunError> {
        // What the run wrote is sealed only as it wrote it.
        let listing = match verify_listing(&self.path, RUN_FILE, &[]) {
            Err(RunError::NoManifest { .. }) => crate::manifest::Manifest::default(),
            listing => listing?,
        };
        let recorded: Vec<&str> = listing.files.keys().map(String::as_str).collect();
        if !self.file(RUN_FILE).exists() {
            write_listing(&self.path, RUN_FILE, &recorded, Some(self.id.clone()))?;
        }
        let mut names = vec![RUN_FILE, CONFIG_FILE];
        for name in recorded.iter().chain(files) {
            if !names.contains(name) {
                names.push(name);
            }
        }
        write_manifest(&self.path, &names)
    }

    /// Checks a finished run in `dir` before loading it: `config.json`, `files` and
    /// whatever else its manifest lists must match their lengths and SHA-256.
    ///
    /// # Errors
    /// [`RunError::NoManifest`] for a run that never finished (or one written before
    /// kiln wrote manifests); [`RunError::Checksum`] for the first file that differs.
    pub fn verify_finished(dir: &Path, files: &[&str]) -> Result<(), RunError> {
        let mut names = vec![CONFIG_FILE];
        names.extend_from_slice(files);
        verify_manifest(dir, &names).map(drop)
    }
}

/// An exclusive lock on `dir`'s [`LOCK_FILE`], held until the returned file is dropped or
/// the process ends. A lock file that is a symbolic link is refused, never followed.
fn lock(dir: &Path) -> Result<File, RunError> {
    let path = dir.join(LOCK_FILE);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        return Err(RunError::Checksum {
            path,
            reason: "not a plain file (a symbolic link?): kiln never writes one".into(),
        });
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A link planted between the check above and this open is not followed either.
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let file = options.open(&path).map_err(io_err("create", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(RunError::Locked(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(io_err("lock", &path)(e)),
    }
}

/// The names in `dir` other than [`LOCK_FILE`], sorted, the first `limit`.
fn other_names_in(dir: &Path, limit: usize) -> Result<Vec<String>, RunError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
        let name = entry
            .map_err(io_err("list", dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name != LOCK_FILE {
            names.push(name);
        }
    }
    names.sort();
    names.truncate(limit);
    Ok(names)
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
        run.save_checkpoint(3, |_| Ok::<(), RunError>(())).unwrap();
        drop(run);
        let err = RunDir::open(dir.path(), RunMode::New).unwrap_err();
        assert!(matches!(err, RunError::InUse { done: 3, .. }), "{err}");
        let resumed = RunDir::open(dir.path(), RunMode::Resume).unwrap();
        assert_eq!(resumed.resume_from(), Some(3));
    }

    #[test]
    fn a_second_run_is_refused_while_the_first_holds_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunDir::open(dir.path(), RunMode::New).unwrap();
        let clone = first.clone();
        drop(first);
        // A clone keeps the lock: the run is still going.
        for mode in [RunMode::New, RunMode::Resume] {
            let err = RunDir::open(dir.path(), mode).unwrap_err();
            assert!(matches!(err, RunError::Locked(_)), "{err}");
        }
        drop(clone);
        // Gone with the run: the lock file stays, its lock does not, and it is no run file.
        assert!(dir.path().join(LOCK_FILE).is_file());
        RunDir::open(dir.path(), RunMode::New).unwrap();
    }

    #[test]
    fn a_new_run_refuses_a_folder_with_any_file_and_resume_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), b"{}").unwrap();
        std::fs::write(dir.path().join("model.bpk"), b"weights").unwrap();
        let err = RunDir::open(dir.path(), RunMode::New).unwrap_err();
        match &err {
            RunError::NotEmpty { names, .. } => assert_eq!(names, &["config.json", "model.bpk"]),
            other => panic!("{other}"),
        }
        assert_eq!(
            std::fs::read(dir.path().join("model.bpk")).unwrap(),
            b"weights"
        );
        let missing = dir.path().join("nothing-here");
        let err = RunDir::open(&missing, RunMode::Resume).unwrap_err();
        assert!(matches!(err, RunError::NoRun(_)), "{err}");
        assert!(!missing.exists(), "resuming must not create the folder");
    }

    #[test]
    fn a_damaged_or_added_checkpoint_file_is_refused_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        run.save_checkpoint(1, |d| save_json(&d.join("w.json"), &vec![1.5f32; 64]))
            .unwrap();
        drop(run);
        let file = dir.path().join(CHECKPOINT_DIR).join("w.json");
        let good = std::fs::read(&file).unwrap();
        let mut bad = good.clone();
        bad[10] = if bad[10] == b'1' { b'2' } else { b'1' };
        std::fs::write(&file, &bad).unwrap();
        let err = RunDir::open(dir.path(), RunMode::Resume).unwrap_err();
        assert!(matches!(err, RunError::Checksum { .. }), "{err}");
        std::fs::write(&file, &good).unwrap();
        std::fs::write(dir.path().join(CHECKPOINT_DIR).join("extra.bpk"), b"x").unwrap();
        let err = RunDir::open(dir.path(), RunMode::Resume).unwrap_err();
        assert!(err.to_string().contains("extra.bpk"), "{err}");
        std::fs::remove_file(dir.path().join(CHECKPOINT_DIR).join("extra.bpk")).unwrap();
        assert_eq!(
            RunDir::open(dir.path(), RunMode::Resume)
                .unwrap()
                .resume_from(),
            Some(1)
        );
    }

    #[test]
    fn a_finished_run_verifies_and_a_swapped_file_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        run.save_config(&vec![32]).unwrap();
        save_json(&run.file("model.json"), &vec![0.25f32; 8]).unwrap();
        let err = RunDir::verify_finished(dir.path(), &["model.json"]).unwrap_err();
        assert!(matches!(err, RunError::NoManifest { .. }), "{err}");
        run.finish(&["model.json"]).unwrap();
        RunDir::verify_finished(dir.path(), &["model.json"]).unwrap();
        // Another run's config beside these weights: refused.
        run.save_config(&vec![48]).unwrap();
        let err = RunDir::verify_finished(dir.path(), &["model.json"]).unwrap_err();
        assert!(matches!(err, RunError::Checksum { .. }), "{err}");
    }

    #[test]
    fn a_checkpoint_left_aside_by_a_crash_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        run.save_checkpoint(2, |_| Ok::<(), RunError>(())).unwrap();
        // A crash between the two renames leaves the old checkpoint under checkpoint.old/.
        std::fs::rename(run.checkpoint_dir(), dir.path().join("checkpoint.old")).unwrap();
        drop(run);
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
            Err(RunError::Weights {
                path: PathBuf::from("x"),
                reason: "disk full".into(),
            })
        });
        assert!(failed.is_err());
        drop(run);
        let resumed = RunDir::open(dir.path(), RunMode::Resume).unwrap();
        assert_eq!(resumed.resume_from(), Some(1));
        assert_eq!(
            load_json::<i32>(&resumed.checkpoint_dir().join("a.json"), "a").unwrap(),
            1
        );
    }

    #[test]
    fn a_checkpoint_from_another_run_is_refused() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [&a, &b] {
            let run = RunDir::open(dir.path(), RunMode::New).unwrap();
            run.save_config(&vec![1]).unwrap();
            run.save_checkpoint(1, |d| save_json(&d.join("w.json"), &1))
                .unwrap();
        }
        // b's whole checkpoint, manifest and all, copied over a's.
        let (ours, theirs) = (a.path().join(CHECKPOINT_DIR), b.path().join(CHECKPOINT_DIR));
        std::fs::remove_dir_all(&ours).unwrap();
        std::fs::create_dir(&ours).unwrap();
        for entry in std::fs::read_dir(&theirs).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), ours.join(entry.file_name())).unwrap();
        }
        let err = RunDir::open(a.path(), RunMode::Resume).unwrap_err();
        assert!(matches!(err, RunError::ForeignCheckpoint(_)), "{err}");
        // The run it came from resumes; a whole folder copied elsewhere resumes too.
        assert_eq!(
            RunDir::open(b.path(), RunMode::Resume)
                .unwrap()
                .resume_from(),
            Some(1)
        );
    }

    #[test]
    fn an_edited_run_file_is_refused_on_resume_and_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        run.save_config(&vec![32]).unwrap();
        run.save_file("dataset.json", &"mnist").unwrap();
        run.save_checkpoint(1, |_| Ok::<(), RunError>(())).unwrap();
        drop(run);
        let name: String = RunDir::load_file(dir.path(), "dataset.json", "dataset").unwrap();
        assert_eq!(name, "mnist");
        std::fs::write(dir.path().join("dataset.json"), b"\"fashion-mnist\"").unwrap();
        let err = RunDir::load_file::<String>(dir.path(), "dataset.json", "dataset").unwrap_err();
        assert!(matches!(err, RunError::Checksum { .. }), "{err}");
        let err = RunDir::open(dir.path(), RunMode::Resume).unwrap_err();
        assert!(matches!(err, RunError::Checksum { .. }), "{err}");
        // A file the run never wrote is not read as one of its files.
        std::fs::write(dir.path().join("dataset.json"), b"\"mnist\"").unwrap();
        std::fs::write(dir.path().join("other.json"), b"1").unwrap();
        let err = RunDir::load_file::<i32>(dir.path(), "other.json", "other").unwrap_err();
        assert!(err.to_string().contains("not listed"), "{err}");
    }

    #[test]
    fn a_run_file_edited_while_the_run_goes_on_is_never_vouched_for() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        run.save_config(&vec![32]).unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), b"[48]").unwrap();
        // Recording another file keeps config.json's digest as the run wrote it.
        run.save_file("dataset.json", &"mnist").unwrap();
        let err = RunDir::load_config::<Vec<i32>>(dir.path(), "config").unwrap_err();
        assert!(matches!(err, RunError::Checksum { .. }), "{err}");
        let err = run.finish(&[]).unwrap_err();
        assert!(matches!(err, RunError::Checksum { .. }), "{err}");
        // A symbolic link in place of the checkpoint folder is refused.
        #[cfg(unix)]
        {
            let elsewhere = tempfile::tempdir().unwrap();
            let other = dir.path().join("other");
            std::fs::create_dir(&other).unwrap();
            std::os::unix::fs::symlink(elsewhere.path(), other.join(CHECKPOINT_DIR)).unwrap();
            let err = RunDir::open(&other, RunMode::Resume).unwrap_err();
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_in_a_run_folder_are_refused_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let run_dir = dir.path().join("run");
        std::fs::create_dir(&run_dir).unwrap();
        std::os::unix::fs::symlink(&victim, run_dir.join(LOCK_FILE)).unwrap();
        let err = RunDir::open(&run_dir, RunMode::New).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        // A dangling link is not created through either.
        std::fs::remove_file(run_dir.join(LOCK_FILE)).unwrap();
        let elsewhere = dir.path().join("created-elsewhere");
        std::os::unix::fs::symlink(&elsewhere, run_dir.join(LOCK_FILE)).unwrap();
        assert!(RunDir::open(&run_dir, RunMode::New).is_err());
        assert!(!elsewhere.exists());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        // A run file swapped for a link fails its check.
        std::fs::remove_file(run_dir.join(LOCK_FILE)).unwrap();
        let run = RunDir::open(&run_dir, RunMode::New).unwrap();
        run.save_config(&vec![1]).unwrap();
        std::fs::copy(run_dir.join(CONFIG_FILE), &victim).unwrap();
        std::fs::remove_file(run_dir.join(CONFIG_FILE)).unwrap();
        std::os::unix::fs::symlink(&victim, run_dir.join(CONFIG_FILE)).unwrap();
        let err = RunDir::load_config::<Vec<i32>>(&run_dir, "config").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
