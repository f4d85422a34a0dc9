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

/// Where `--eval` / `--generate` take a trained network from.
pub enum Weights {
    /// kiln's pretrained weights (the word `pretrained`).
    Pretrained,
    /// A PyTorch `state_dict`: a `.safetensors`, `.pt` or `.pth` file.
    File(PathBuf),
    /// A run folder that training wrote.
    Run(PathBuf),
}

impl Weights {
    /// `pretrained`, a weights file by its extension, or else a run folder.
    pub fn from_arg(arg: &std::path::Path) -> Self {
        let extension = arg
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if arg.as_os_str() == "pretrained" {
            Weights::Pretrained
        } else if matches!(extension.as_deref(), Some("safetensors" | "pt" | "pth")) {
            Weights::File(arg.to_path_buf())
        } else {
            Weights::Run(arg.to_path_buf())
        }
    }
}

/// kiln's pretrained classifier of `kind` (`--eval pretrained`, `--judge pretrained`).
pub fn pretrained_classifier(
    kind: kiln::data::DatasetKind,
) -> kiln::mlp::pretrained::PretrainedMlp {
    use kiln::data::DatasetKind;
    use kiln::mlp::pretrained::PretrainedMlp;
    match kind {
        DatasetKind::Mnist => PretrainedMlp::Mnist,
        DatasetKind::FashionMnist => PretrainedMlp::FashionMnist,
    }
}

/// `--export FILE` and `--half`: a trained network out to PyTorch.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Write the trained network of the run in --artifact-dir to FILE as a PyTorch
    /// `state_dict` (safetensors; python/kiln_torch.py has the matching module), instead of
    /// training.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub export: Option<PathBuf>,
    /// With --export: linear and convolution weights in 16-bit floats (half the size).
    #[arg(long, requires = "export")]
    pub half: bool,
}

impl ExportArgs {
    /// Writes `network` to `path` (`--export`), in f16 with `--half`.
    pub fn write<M: kiln::mlp::PytorchWeights>(
        &self,
        network: &M,
        path: &std::path::Path,
    ) -> Result<(), AnyError> {
        if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
            return Err(format!(
                "--export {}: the file is written as safetensors; name it FILE.safetensors",
                path.display()
            )
            .into());
        }
        if self.half {
            let bytes = network.to_safetensors(kiln::mlp::Precision::F16)?;
            kiln::write_atomic(path, &bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        } else {
            network.save_pytorch(path)?;
        }
        println!("{}: {} for PyTorch", path.display(), M::NAME);
        Ok(())
    }
}
