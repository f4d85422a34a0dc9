//! `cargo xtask`: the project's commands, the same for people and CI.
//!
//! - `cargo xtask bench [--features F] [ARGS...]`: builds the `bench` example in release
//!   mode with the backend features and runs it; ARGS go to it (`--workloads w1`,
//!   `--backends flex,tch`, `--seconds 5`, `--no-pytorch`).
//! - `cargo xtask fuzz [--cases N] [--features F]`: the bad-bytes tests (`tests/kiln/fuzz.rs`)
//!   with N cases per reader (CI runs 300).
//! - `cargo xtask data [ARGS...]`: downloads and verifies MNIST and Fashion-MNIST into kiln's
//!   cache (the `data` example, built with the default features, as `cargo run --release
//!   --example mlp` builds them); ARGS go to it (`--dir D`, `--mirror URL`, `--dataset mnist`).

use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "kiln's project commands")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure the workloads on every compiled-in backend, with a PyTorch column where
    /// python3 has torch; one table on stdout, JSON in target/bench/.
    Bench {
        /// Backend features to build with. Default: flex,ndarray,wgpu,remote-server, plus tch
        /// when LIBTORCH or LIBTORCH_USE_PYTORCH is set (LibTorch is needed to build it).
        #[arg(long)]
        features: Option<String>,
        /// Threads for every runtime on every side (default: the physical cores): set as
        /// RAYON_NUM_THREADS (flex, ndarray), OMP_NUM_THREADS and MKL_NUM_THREADS (LibTorch,
        /// NumPy, scikit-learn) and KILN_BENCH_THREADS (torch.set_num_threads, threadpoolctl).
        #[arg(long)]
        threads: Option<usize>,
        /// Keep OMP_WAIT_POLICY from the environment. By default the bench runs with OpenMP's
        /// default policy, what a user gets (PASSIVE slows PyTorch and LibTorch by about a
        /// third here: docs/benchmarks.md).
        #[arg(long)]
        keep_omp_policy: bool,
        /// Arguments for the benchmark runner (see `cargo xtask bench -- --help`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Download MNIST and Fashion-MNIST into kiln's cache and check their SHA-256s (see
    /// `cargo xtask data -- --help`).
    Data {
        /// Arguments for the downloader: --dir DIR, --mirror URL, --only-mirror,
        /// --dataset mnist|fashion-mnist|all.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Feed every file reader truncations, bit flips and random bytes (tests/kiln/fuzz.rs)
    /// with more cases than CI's 300 per reader.
    Fuzz {
        /// Cases per reader.
        #[arg(long, default_value_t = 20_000)]
        cases: usize,
        /// Backend features to build with (as `bench`).
        #[arg(long)]
        features: Option<String>,
    },
}

fn default_features() -> String {
    // remote-server: the bench's `remote` column (a loopback Burn server), asked for by name.
    let mut f = vec!["flex", "ndarray", "wgpu", "remote-server"];
    if std::env::var_os("LIBTORCH").is_some() || std::env::var_os("LIBTORCH_USE_PYTORCH").is_some()
    {
        f.push("tch");
    }
    f.join(",")
}

/// `cargo` in the workspace root, without the variables `cargo run` gave this process.
fn cargo() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(cargo);
    command.current_dir(root);
    // `cargo run` gave this process CARGO_MANIFEST_DIR, CARGO_PKG_* and friends. Some
    // build scripts (ring's) track CARGO_MANIFEST_DIR, so passing them on would make
    // the inner build differ from a plain `cargo test` and rebuild half of Burn.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || matches!(
                key.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            command.env_remove(key.as_ref());
        }
    }
    command
}

fn exit(status: std::io::Result<std::process::ExitStatus>) -> ExitCode {
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Physical cores (distinct core/package pairs in /proc/cpuinfo), else the logical CPUs.
fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return logical;
    };
    let mut cores = std::collections::BTreeSet::new();
    let mut package = "";
    for line in info.lines() {
        if let Some((key, value)) = line.split_once(':') {
            match key.trim() {
                "physical id" => package = value.trim(),
                "core id" => {
                    cores.insert((package.to_string(), value.trim().to_string()));
                }
                _ => {}
            }
        }
    }
    if cores.is_empty() {
        logical
    } else {
        cores.len().min(logical)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Bench {
            features,
            threads,
            keep_omp_policy,
            args,
        } => {
            let features = features.unwrap_or_else(default_features);
            let threads = threads.unwrap_or_else(physical_cores).max(1).to_string();
            eprintln!("building the benchmark with --features {features}; {threads} threads");
            let mut command = cargo();
            for var in [
                "RAYON_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
                "KILN_BENCH_THREADS",
            ] {
                command.env(var, &threads);
            }
            if !keep_omp_policy && std::env::var_os("OMP_WAIT_POLICY").is_some() {
                eprintln!("OMP_WAIT_POLICY is unset for the bench (--keep-omp-policy keeps it)");
                command.env_remove("OMP_WAIT_POLICY");
            }
            let status = command
                .args([
                    "run",
                    "--release",
                    "--quiet",
                    "--example",
                    "bench",
                    "--features",
                    &features,
                    "--",
                ])
                .args(&args)
                .status();
            exit(status)
        }
        Cmd::Data { args } => {
            let status = cargo()
                .args(["run", "--release", "--quiet", "--example", "data", "--"])
                .args(args.iter().filter(|a| *a != "--"))
                .status();
            exit(status)
        }
        Cmd::Fuzz { cases, features } => {
            let features = features.unwrap_or_else(default_features);
            let status = cargo()
                .env("KILN_FUZZ_CASES", cases.to_string())
                .args([
                    "test",
                    "--release",
                    "--workspace",
                    "--features",
                    &features,
                    "--test",
                    "kiln",
                    "--",
                    "fuzz::",
                    "--nocapture",
                ])
                .status();
            exit(status)
        }
    }
}
