//! `cargo xtask`: the project's commands, the same for people and CI.
//!
//! - `cargo xtask bench [--features F] [ARGS...]`: builds the `bench` example in release
//!   mode with the backend features and runs it; ARGS go to it (`--workloads w1`,
//!   `--backends flex,tch`, `--seconds 5`, `--no-pytorch`).

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
        /// Backend features to build with. Default: flex,ndarray,wgpu, plus tch when
        /// LIBTORCH or LIBTORCH_USE_PYTORCH is set (LibTorch is needed to build it).
        #[arg(long)]
        features: Option<String>,
        /// Arguments for the benchmark runner (see `cargo xtask bench -- --help`).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

fn default_features() -> String {
    let mut f = vec!["flex", "ndarray", "wgpu"];
    if std::env::var_os("LIBTORCH").is_some() || std::env::var_os("LIBTORCH_USE_PYTORCH").is_some()
    {
        f.push("tch");
    }
    f.join(",")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Bench { features, args } => {
            let features = features.unwrap_or_else(default_features);
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            eprintln!("building the benchmark with --features {features}");
            let mut command = Command::new(cargo);
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
            let status = command
                .current_dir(&root)
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
            match status {
                Ok(s) if s.success() => ExitCode::SUCCESS,
                Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
                Err(e) => {
                    eprintln!("error: cannot run cargo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
