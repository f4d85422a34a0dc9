//! What every kiln example shares: the common command-line options and the one progress
//! printer. Each example includes it with `mod common;` (Cargo builds only `examples/*.rs`
//! and `examples/*/main.rs` as examples, so this folder is not one).

#![allow(dead_code)] // Each example uses part of it.

/// kiln's programs allocate through mimalloc. Burn's CPU backends allocate a fresh buffer for
/// most operations; glibc's allocator hands large ones back to the kernel when they are freed
/// and gets zeroed pages again on the next allocation, so a DCGAN iteration on flex spent 28%
/// of its time in page faults and page zeroing (`perf record` of `bench --workloads w2`).
/// mimalloc keeps freed memory for reuse: flex's W2 went from ~3.9 to ~5.2 iterations/s
/// (docs/benchmarks.md, W2). A library cannot choose the allocator; an application embedding
/// kiln makes the same choice in its own binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kiln::cli::AnyError;
use kiln::train::{RunDir, RunMode};
use kiln::{ControlFlow, Progress};

/// Options every training example takes, flattened into its own arguments.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Backend: cuda, vulkan, wgpu, flex, tch, tch-cuda, ndarray, or remote=ws://HOST:PORT
    /// for a Burn server's device (credential in KILN_REMOTE_TOKEN). Default: the best
    /// compiled in.
    #[arg(long)]
    pub backend: Option<String>,
    /// Seed of the run (weights, batch order, noise, exploration).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder with the IDX files (default: $KILN_DATA_DIR, else kiln's download cache,
    /// downloading into it when needed).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where the run writes its config, checkpoints, weights, metrics and plots.
    #[arg(long)]
    pub artifact_dir: Option<PathBuf>,
    /// Continue the run in --artifact-dir from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
}

impl CommonArgs {
    /// The artifact folder, or `default` when none was given.
    pub fn artifact_dir_or(&self, default: &str) -> PathBuf {
        self.artifact_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(default))
    }

    /// The seed, or `default`.
    pub fn seed_or(&self, default: u64) -> u64 {
        self.seed.unwrap_or(default)
    }

    /// New or resume, as asked.
    pub fn mode(&self) -> RunMode {
        if self.resume {
            RunMode::Resume
        } else {
            RunMode::New
        }
    }

    /// [`kiln::data::load`] of `kind`'s `split` from `--data-dir` (else `KILN_DATA_DIR`, else
    /// kiln's cache or a download); where the library's message suggests a data folder, it
    /// gains the flag that gives one.
    pub fn load_data(
        &self,
        kind: kiln::data::DatasetKind,
        split: kiln::data::Split,
    ) -> Result<kiln::data::ImageDataset, AnyError> {
        use kiln::data::DataError;
        kiln::data::load(kind, split, self.data_dir.as_deref()).map_err(|e| -> AnyError {
            match e {
                DataError::NotFound { .. }
                | DataError::Download { .. }
                | DataError::Write { .. }
                | DataError::NoCacheDir => format!("{e} (a data folder: --data-dir DIR)").into(),
                e => e.into(),
            }
        })
    }

    /// Opens the run folder `dir` in the mode asked for; the library's message gains the
    /// flag that does what it suggests.
    pub fn open_run(&self, dir: &std::path::Path) -> Result<RunDir, AnyError> {
        use kiln::train::RunError;
        RunDir::open(dir, self.mode()).map_err(|e| -> AnyError {
            match e {
                RunError::InUse { .. } => {
                    format!("{e} (resume: --resume; another folder: --artifact-dir DIR)").into()
                }
                RunError::NoRun(_) => format!("{e} (leave out --resume)").into(),
                e => e.into(),
            }
        })
    }
}

/// The one progress display of kiln's examples, for every model's `Progress` reports: a bar
/// with the latest figures in a terminal, and otherwise a line per epoch end (or every 10% of
/// a run without epochs).
pub struct Printer {
    bar: Option<ProgressBar>,
    last_tenth: usize,
}

impl Printer {
    /// A printer; a bar only when standard error is a terminal.
    pub fn new() -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("#>."),
            );
            bar
        });
        Self { bar, last_tenth: 0 }
    }

    /// Shows one report; never stops the run.
    pub fn show(&mut self, p: &Progress) -> ControlFlow<()> {
        let figures = format_metrics(p);
        let line = format!(
            "{} {}/{}  {figures}  ({:.1} {}s/s)",
            p.unit.name(),
            p.done,
            p.total,
            p.rate,
            p.unit.name()
        );
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
                bar.set_message(figures);
                if p.epoch_end.is_some() {
                    bar.println(line);
                }
            }
            None => {
                let tenth = (p.fraction() * 10.0).floor() as usize;
                if p.epoch_end.is_some() || tenth > self.last_tenth || p.done == p.total {
                    self.last_tenth = tenth;
                    println!("{line}");
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `name value` pairs, integers without decimals.
fn format_metrics(p: &Progress) -> String {
    p.metrics
        .iter()
        .map(|(name, v)| {
            if v.fract() == 0.0 && v.abs() < 1e9 {
                format!("{name} {v:.0}")
            } else if v.abs() < 1e-3 {
                format!("{name} {v:.2e}")
            } else if v.abs() >= 100.0 {
                format!("{name} {v:.1}")
            } else {
                format!("{name} {v:.4}")
            }
        })
        .collect::<Vec<_>>()
        .join("  ")
}
