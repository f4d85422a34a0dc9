//! The vocabulary every kiln model shares, with no dependency but `serde` (and Burn with
//! the `module` feature, Burn's burn-store with `pytorch`):
//!
//! - [`Rng`]: the one seeded host generator (SplitMix64) behind every random draw kiln makes
//!   on the host: shuffles, exploration, replay sampling, latent noise, k-means++.
//! - [`Progress`] and [`ControlFlow`]: what every training loop reports, and how a caller
//!   stops it. Every `train`/`fit` that runs for a while takes
//!   `on_progress: impl FnMut(&Progress) -> ControlFlow<()>`.
//! - [`weights`]: with the `pytorch` feature, the `PytorchWeights` trait every kiln network
//!   implements, to write its weights for PyTorch and read PyTorch's back; [`WeightsError`].
//! - [`module`]: with the `module` feature, [`module::soft_update`], the one weight blend
//!   (Polyak averaging) of any Burn module, behind the DQN's target network and the DCGAN's
//!   generator average.
//! - [`catch_panic`]: runs code that reports failure by panicking (a dependency's download, a
//!   device probe) and turns the panic into an error message, printing nothing.
//!
//! ```
//! use kiln_core::{ControlFlow, Progress, Rng, Unit};
//!
//! let mut rng = Rng::new(7);
//! let mut order: Vec<usize> = (0..5).collect();
//! rng.shuffle(&mut order);
//! assert_eq!(Rng::new(7).unit(), Rng::new(7).unit());
//!
//! // A callback that stops a run once its accuracy reaches 0.9.
//! let mut stop_at_90 = |p: &Progress| match p.metric("accuracy") {
//!     Some(a) if a >= 0.9 => ControlFlow::Break(()),
//!     _ => ControlFlow::Continue(()),
//! };
//! let p = Progress::new(Unit::Epoch, 3, 10).with("accuracy", 0.93);
//! assert!(stop_at_90(&p).is_break());
//! ```

pub use std::ops::ControlFlow;

#[cfg(feature = "module")]
pub mod module;
mod run_error;
pub use run_error::RunError;

pub mod weights;
#[cfg(feature = "pytorch")]
pub use weights::PytorchWeights;
pub use weights::{Precision, Pretrained, WeightsError};

use serde::{Deserialize, Serialize};

/// A small seeded generator (SplitMix64) for everything kiln draws on the host.
///
/// Why not `rand`'s generators: its `StdRng` may change algorithm between versions (so a seed
/// would stop reproducing a run), checkpointing a generator's state needs `rand`'s `serde`
/// feature, and adding features to the `rand` in Burn's tree rebuilds Burn. SplitMix64 is
/// seven lines, serialises as one number and gives the same stream on every platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
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

    /// Uniform in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

/// What a run counts its work in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Passes over the training data (MLP, DCGAN).
    Epoch,
    /// Optimiser steps within a run (DCGAN, between epoch ends).
    Step,
    /// Environment steps (DQN).
    EnvStep,
    /// Bytes of a download (kiln-data's fetcher): `done` and `total` count the current
    /// file's bytes (`total` is 0 while the server has not said), `epoch_end` is `Some(i)`
    /// when file `i` (from 1) is downloaded and verified, and the metrics `file` and
    /// `files` say which file of how many this is.
    Byte,
}

impl Unit {
    /// The unit's name in progress lines: `epoch`, `step`, `env step`, `byte`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Epoch => "epoch",
            Unit::Step => "step",
            Unit::EnvStep => "env step",
            Unit::Byte => "byte",
        }
    }
}

/// What every kiln training loop reports to its `on_progress` callback.
///
/// `done` of `total` units are finished; `metrics` holds the figures the loop tracks at that
/// point (loss, accuracy, mean return, …) under stable names that each loop documents.
/// `epoch_end` is `Some(e)` when this report closes epoch `e` (its metrics are then the
/// epoch's), so a display can print one line per epoch and a bar in between.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// What `done` and `total` count.
    pub unit: Unit,
    /// Units finished in the whole run (a resumed run counts from its checkpoint).
    pub done: usize,
    /// Units in the whole run.
    pub total: usize,
    /// `Some(e)` when this report closes epoch `e`.
    pub epoch_end: Option<usize>,
    /// Named figures, in display order.
    pub metrics: Vec<(&'static str, f64)>,
    /// Units per second since this call of the loop began.
    pub rate: f64,
}

impl Progress {
    /// A report of `done` of `total` units with no metrics.
    pub fn new(unit: Unit, done: usize, total: usize) -> Self {
        Self {
            unit,
            done,
            total,
            epoch_end: None,
            metrics: Vec::new(),
            rate: 0.0,
        }
    }

    /// Adds a named figure.
    pub fn with(mut self, name: &'static str, value: f64) -> Self {
        self.metrics.push((name, value));
        self
    }

    /// Adds a named figure if there is one.
    pub fn with_opt(self, name: &'static str, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.with(name, v),
            None => self,
        }
    }

    /// The figure called `name`, if this report has it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }

    /// Fraction of the run done, in `[0, 1]`.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
        }
    }
}

thread_local! {
    /// Whether a panic on this thread is being caught by [`catch_panic`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`; a panic in it becomes `Err` with the first line of its message, and prints
/// nothing. Other panics, on other threads or outside `f`, still reach the panic hook that
/// was installed before the first call.
///
/// The hook is wrapped once (not swapped in and out around each call, which raced when two
/// threads caught panics at once and could leave the silent hook installed for good); each
/// call only marks its own thread as quiet.
///
/// # Errors
/// The panic's message (first line), or "panicked" when it carried no text.
pub fn catch_panic<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, String> {
    static WRAP: std::sync::Once = std::sync::Once::new();
    WRAP.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was_quiet = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(f);
    QUIET.with(|q| q.set(was_quiet));
    result.map_err(|payload| {
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "panicked".into());
        text.lines().next().unwrap_or_default().to_string()
    })
}

/// The seed of epoch `epoch` (from 1) of a run seeded with `seed`: every loop's per-epoch
/// shuffling and noise come from `Rng::new(epoch_seed(seed, epoch))`, a function of the
/// run's seed and the epoch only, so a resumed run draws what an uninterrupted one would.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(epoch as u64)
}

/// A device that failed to compute or read back a result (a lost GPU, a buffer past its
/// limits, a remote server gone): the device's message on one line. Every kiln error enum
/// holds it as its `Device` variant, made by [`DeviceError::new`] from Burn's `try_`
/// readers' errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError(pub String);

impl DeviceError {
    /// The error `e` on one line.
    pub fn new(e: impl std::fmt::Display) -> Self {
        Self(one_line(&e))
    }
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeviceError {}

/// A name that is none of the values a setting takes (`"gelu"` for an activation): the
/// error of every kiln enum's `FromStr` (activations, optimisers, schedules, losses,
/// metrics, datasets), made by [`parse_name`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What the setting is (`"activation"`).
    pub what: &'static str,
    /// The name given.
    pub got: String,
    /// The names it takes.
    pub expected: Vec<&'static str>,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} '{}': expected ", self.what, self.got)?;
        match self.expected.split_last() {
            Some((last, [])) => write!(f, "{last}"),
            Some((last, rest)) => write!(f, "{} or {last}", rest.join(", ")),
            None => write!(f, "nothing"),
        }
    }
}

impl std::error::Error for UnknownName {}

/// The value among `all` whose `name` is `s`, ASCII case ignored: the one way kiln's enums
/// parse their names.
///
/// # Errors
/// [`UnknownName`] listing the names of `all`.
pub fn parse_name<T: Copy>(
    s: &str,
    what: &'static str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|&v| name(v).eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| UnknownName {
            what,
            got: s.to_string(),
            expected: all.iter().map(|&v| name(v)).collect(),
        })
}

/// Gives an enum of unit variants its command-line names: `ALL` (every variant, in order),
/// `name()`, and a `FromStr` through [`parse_name`] (error [`UnknownName`]). One definition
/// for every kiln enum that a flag or a config file names.
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// pub enum Loss { Mse, Huber }
/// kiln_core::named_enum!(Loss, "loss", { Mse => "mse", Huber => "huber" });
/// assert_eq!("Huber".parse::<Loss>(), Ok(Loss::Huber));
/// assert_eq!(Loss::ALL.map(Loss::name), ["mse", "huber"]);
/// ```
#[macro_export]
macro_rules! named_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in a fixed order.
            pub const ALL: [$ty; 0 $(+ { let _ = $name; 1 })+] = [$($ty::$variant),+];

            /// The name used on command lines and in files.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::parse_name(s, $what, &Self::ALL, Self::name)
            }
        }
    };
}

/// Writes `bytes` to `path` atomically: into a new temporary file beside it
/// (`.NAME.tmp-PID-RANDOM`), flushed to disk, then renamed over `path`; on failure the
/// temporary file is removed and `path` is left as it was. Creates the parent folder if
/// needed. The one atomic write of every kiln crate (kiln-train, kiln-cluster, kiln-plot and
/// kiln-data call it).
///
/// The temporary file is created exclusively (`O_CREAT | O_EXCL`): a file or symbolic link
/// planted under its name is never opened or followed (another name is drawn instead), so
/// nothing outside the folder can be written through it.
///
/// # Errors
/// The first I/O error.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut f) = create_new_beside(path, &name)?;
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new file `.NAME.tmp-PID-RANDOM` beside `path`, created exclusively; a name already
/// taken (by a planted file or link) is passed over for another.
fn create_new_beside(
    path: &std::path::Path,
    name: &str,
) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let mut last = None;
    for attempt in 0u64..16 {
        let tmp = path.with_file_name(format!(
            ".{name}.tmp-{}-{:016x}",
            std::process::id(),
            random_u64(attempt)
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// A random 128-bit identifier in hex (from std's per-process random seed and the clock):
/// unique enough to tell one run from another, not a secret.
pub fn random_id() -> String {
    format!("{:016x}{:016x}", random_u64(1), random_u64(2))
}

/// 64 unpredictable bits: std's `RandomState` (keys drawn from the system's randomness once
/// per process, then stepped for each new state) hashing `salt` and the clock.
fn random_u64(salt: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(salt);
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A message on one line: every run of whitespace, newlines included, becomes one space
/// (Burn's device errors span several lines; kiln's errors are one line each), and every
/// other control character (a terminal's escape sequences among them: text from a server
/// or a file can hold them) and every invisible formatting character (bidirectional
/// overrides, zero-width characters, which can make text display other than it reads)
/// becomes `?`.
///
/// ```
/// assert_eq!(kiln_core::one_line(&"a\n  b\x1b[2Jc\u{202e}d"), "a b?[2Jc?d");
/// ```
pub fn one_line(message: &dyn std::fmt::Display) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{200b}'..='\u{200f}'
                    | '\u{202a}'..='\u{202e}'
                    | '\u{2060}'..='\u{2069}'
                    | '\u{feff}'
            )
    };
    message
        .to_string()
        .split_whitespace()
        .map(|word| {
            word.chars()
                .map(|c| if hidden(c) { '?' } else { c })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The position and value of the first NaN or infinite value in `values`, if any.
///
/// kiln's one rule for numeric input, the same in every crate: a NaN or an infinity in what
/// a model trains or predicts on (features, pixels, observations, points) is refused with a
/// typed error naming where it is, before it reaches a device, never propagated into a NaN
/// loss or a silently wrong result. Host-side data goes through this function; kiln-cluster,
/// whose input is already a tensor, applies the same rule on the device
/// (`is_finite().all()`).
///
/// ```
/// assert_eq!(kiln_core::first_non_finite(&[0.0, 1.5, -2.0]), None);
/// assert_eq!(kiln_core::first_non_finite(&[0.0, f32::INFINITY]).map(|(i, _)| i), Some(1));
/// ```
pub fn first_non_finite(values: &[f32]) -> Option<(usize, f32)> {
    values
        .iter()
        .position(|v| !v.is_finite())
        .map(|i| (i, values[i]))
}

/// A callback that never stops the run, for callers that want no progress.
pub fn silent(_: &Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn write_atomic_never_follows_a_planted_temporary_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let target = dir.path().join("config.json");
        // A link under the temporary name kiln used to write through (.NAME.tmp-PID).
        let planted = dir
            .path()
            .join(format!(".config.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        super::write_atomic(&target, b"{}").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&target).unwrap(), b"{}");
        assert_ne!(super::random_id(), super::random_id());
    }

    use super::*;

    #[test]
    fn rng_is_seeded_and_in_range() {
        let (mut a, mut b) = (Rng::new(1), Rng::new(1));
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
        assert_ne!(
            v,
            (0..10).collect::<Vec<_>>(),
            "a shuffle of 10 left them in order"
        );
        v.sort_unstable();
        assert_eq!(v, (0..10).collect::<Vec<_>>());
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn splitmix_matches_the_reference_stream() {
        // First outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn rng_state_round_trips_through_json() {
        let mut a = Rng::new(5);
        a.unit();
        let mut b: Rng = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn epoch_seeds_differ_by_epoch_and_run() {
        assert_ne!(epoch_seed(1, 1), epoch_seed(1, 2));
        assert_ne!(epoch_seed(1, 1), epoch_seed(2, 1));
    }

    #[test]
    fn names_parse_ignoring_case_and_unknown_ones_list_the_choices() {
        let all = [Unit::Epoch, Unit::Step];
        assert_eq!(parse_name("STEP", "unit", &all, Unit::name), Ok(Unit::Step));
        let err = parse_name("batch", "unit", &all, Unit::name).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown unit 'batch': expected epoch or step"
        );
    }

    #[test]
    fn progress_metrics_and_fraction() {
        let p = Progress::new(Unit::Epoch, 2, 8)
            .with("loss", 0.5)
            .with_opt("accuracy", None);
        assert_eq!(p.metric("loss"), Some(0.5));
        assert_eq!(p.metric("accuracy"), None);
        assert_eq!(p.fraction(), 0.25);
        assert_eq!(Progress::new(Unit::Step, 0, 0).fraction(), 1.0);
        assert!(silent(&p).is_continue());
    }

    #[test]
    fn caught_panics_are_quiet_and_leave_the_hook_in_place_under_concurrency() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        // The hook in place before the first catch_panic (this is the only test of this
        // binary that panics, so it owns the hook).
        std::panic::set_hook(Box::new(|_| {
            SEEN.fetch_add(1, Ordering::SeqCst);
        }));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let r = catch_panic(|| -> u32 { panic!("probe {t}-{i}\nmore") });
                        assert_eq!(r, Err(format!("probe {t}-{i}")));
                        assert_eq!(catch_panic(|| 7), Ok(7));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            SEEN.load(Ordering::SeqCst),
            0,
            "a caught panic reached the hook"
        );
        // An ordinary panic still reaches the hook: the silent one was not left installed.
        let _ = std::thread::spawn(|| panic!("not caught quietly")).join();
        assert_eq!(SEEN.load(Ordering::SeqCst), 1);
        let _ = std::panic::take_hook();
    }
}
