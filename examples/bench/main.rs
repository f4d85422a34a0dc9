//! kiln's benchmark runner; `cargo xtask bench` builds and runs it.
//!
//! Each workload runs on every backend compiled in (or those given with `--backends`) and,
//! where `python3` has PyTorch or scikit-learn, on them on the CPU with the same threads, so that the
//! ratio is measured in one run. Results are printed as one table and written as JSON.

mod cluster;
mod layers;
mod remote;
mod timing;
mod w1;
mod w2;
mod w3;

use std::path::PathBuf;

/// The examples' allocator (examples/common/mod.rs explains why), so the bench measures what
/// the examples run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use clap::Parser;
use kiln::backend::{self, Backend};
use kiln::cli::{AnyError, run};

/// Measure kiln's workloads on every compiled-in backend.
#[derive(Parser, Debug)]
struct Args {
    /// Workloads to run: w1 (MLP), w2 (DCGAN), w3 (DQN), w4 (k-means, with w5: DBSCAN),
    /// scaling (W4 and W5 at four sizes each), ops (the cost of one queued operation and of
    /// one read: what the remote backend adds), layers (W2's DCGAN layer by layer: forward and
    /// backward of each, and Adam).
    #[arg(long, value_delimiter = ',', default_value = "w1,w2,w3,w4")]
    workloads: Vec<String>,
    /// Backends to run on (default: every one compiled in that works here). `remote` is a
    /// Burn server on 127.0.0.1 that the bench starts, hosting flex (feature `remote-server`);
    /// it runs W1, W4/W5 and ops.
    #[arg(long, value_delimiter = ',')]
    backends: Vec<String>,
    /// Seconds each measurement runs for, after warm-up.
    #[arg(long, default_value_t = 5.0, value_parser = kiln::cli::seconds)]
    seconds: f64,
    /// Skip the Python reference columns (PyTorch, scikit-learn).
    #[arg(long)]
    no_pytorch: bool,
    /// Where the PyTorch columns of W1 and W2 run: cpu (default, with the same threads as
    /// kiln) or cuda (to compare with kiln's cuda backend on a GPU).
    #[arg(long, default_value = "cpu")]
    torch_device: String,
    /// Folder the JSON results go to.
    #[arg(long, default_value = "target/bench")]
    out_dir: PathBuf,
}

impl Row {
    /// A figure of `workload`'s `metric` for `runner`.
    pub fn new(workload: &str, metric: &str, runner: &str, value: f64) -> Self {
        Self {
            workload: workload.into(),
            metric: metric.into(),
            runner: runner.into(),
            value,
        }
    }
}

/// The backends given whose device works here; the others are reported and skipped.
pub fn working(backends: &[Backend], workload: &str) -> Vec<(Backend, burn::tensor::Device)> {
    backends
        .iter()
        .filter_map(|&b| match b {
            Backend::Remote if matches!(workload, "W2" | "W3" | "scaling" | "layers") => {
                eprintln!("{workload}: skipping remote (it runs W1, W4/W5 and ops)");
                None
            }
            Backend::Remote => remote::device()
                .map(|d| (b, d))
                .map_err(|e| eprintln!("{workload}: skipping remote: {e}"))
                .ok(),
            _ => match b.device() {
                Ok(d) => Some((b, d)),
                Err(e) => {
                    eprintln!("{workload}: skipping {b}: {e}");
                    None
                }
            },
        })
        .collect()
}

/// The runner name of a PyTorch column: `pytorch` on the CPU, `pytorch-cuda` on a GPU.
pub fn torch_runner(device: &str) -> String {
    if device == "cpu" {
        "pytorch".into()
    } else {
        format!("pytorch-{device}")
    }
}

/// One measured figure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Workload id, e.g. `W1`.
    pub workload: String,
    /// What is measured, e.g. `train samples/s`.
    pub metric: String,
    /// `flex`, `tch`, ..., or `pytorch`.
    pub runner: String,
    /// The figure (higher is better unless the metric says seconds).
    pub value: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run(|| -> Result<(), AnyError> {
        let backends: Vec<Backend> = if args.backends.is_empty() {
            // The remote column starts a server: only when asked for.
            backend::compiled()
                .into_iter()
                .filter(|b| *b != Backend::Remote)
                .collect()
        } else {
            args.backends
                .iter()
                .map(|b| b.parse())
                .collect::<Result<_, _>>()?
        };
        let env = timing::Environment::capture();
        println!("{}", env.describe());
        let mut rows = Vec::new();
        for workload in &args.workloads {
            match workload.to_ascii_lowercase().as_str() {
                "w1" => rows.extend(w1::run(
                    &backends,
                    args.seconds,
                    !args.no_pytorch,
                    &args.torch_device,
                )?),
                "w2" => rows.extend(w2::run(
                    &backends,
                    args.seconds,
                    !args.no_pytorch,
                    &args.torch_device,
                )?),
                "w3" => rows.extend(w3::run(&backends, !args.no_pytorch)?),
                "w4" | "w5" => rows.extend(cluster::run(&backends, !args.no_pytorch)?),
                "scaling" => rows.extend(cluster::scaling(&backends, !args.no_pytorch)?),
                "ops" => rows.extend(remote::run(&backends)?),
                "layers" => rows.extend(layers::run(&backends, args.seconds, !args.no_pytorch)?),
                other => {
                    return Err(format!(
                        "unknown workload '{other}': expected w1, w2, w3, w4, w5, scaling, ops or layers"
                    )
                    .into());
                }
            }
        }
        println!("{}", timing::table(&rows));
        std::fs::create_dir_all(&args.out_dir)?;
        let path = args.out_dir.join("results.json");
        let json = serde_json::json!({ "environment": env, "results": rows });
        kiln::train::save_json(&path, &json)?;
        println!("written {}", path.display());
        Ok(())
    })
}
