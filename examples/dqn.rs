//! Train a DQN agent on CartPole-v1, or evaluate a trained one.
//!
//! ```text
//! cargo run --release --example dqn -- --backend flex
//! cargo run --release --example dqn -- --eval artifacts/dqn --episodes 100
//! cargo run --release --example dqn -- --eval pretrained
//! cargo run --release --example dqn -- --export q.safetensors   # for PyTorch
//! ```
//!
//! Training shows steps, ε, episode return and loss as it goes, checkpoints every 50,000
//! steps (`--resume` continues), and writes `metrics.json`, `returns.png` and `model.bpk`
//! into the artifact folder; then it evaluates the greedy policy.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use kiln::backend;
use kiln::cli::{AnyError, parse, run};
use kiln::plot::{Series, line_chart};
use kiln::rl::CartPole;
use kiln::rl::PytorchWeights;
use kiln::rl::dqn::{self, DqnMetrics, DqnTrainingConfig, TdLoss, TdTarget};
use kiln::rl::pretrained::PretrainedDqn;
use kiln::rl::run::RunDir;

mod common;

/// Train or evaluate kiln's DQN agent on CartPole-v1.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Backend, seed (default 1: weights, initial states, exploration and sampling), artifact
    /// folder (default artifacts/dqn), and --resume to continue a run up to --total-steps.
    #[command(flatten)]
    common: common::CommonArgs,
    /// Evaluate a greedy policy instead of training: the Q-network of a run folder, kiln's
    /// `pretrained` one, or a PyTorch state_dict (.safetensors, .pt, .pth) of a 4-120-84-2
    /// ReLU network (kiln_torch.Mlp, or CleanRL's QNetwork).
    #[arg(long, value_name = "DIR|pretrained|FILE", conflicts_with = "resume")]
    eval: Option<PathBuf>,
    #[command(flatten)]
    export: common::ExportArgs,
    /// Greedy evaluation episodes.
    #[arg(long, default_value_t = 100)]
    episodes: usize,
    /// Evaluation episode i starts from the state drawn with seed EVAL_SEED + i.
    #[arg(long, default_value_t = 1_000_000)]
    eval_seed: u64,
    /// Environment steps to train for.
    #[arg(long, default_value_t = 500_000)]
    total_steps: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 2.5e-4, value_parser = kiln::cli::finite)]
    lr: f64,
    /// TD loss: mse or huber.
    #[arg(long, default_value = "mse", value_parser = parse::<TdLoss>)]
    loss: TdLoss,
    /// Use Double DQN targets.
    #[arg(long)]
    double: bool,
    /// Target update rate (1 = hard copy every --target-every steps).
    #[arg(long, default_value_t = 1.0, value_parser = kiln::cli::finite)]
    tau: f64,
    /// Steps between target updates.
    #[arg(long, default_value_t = 500)]
    target_every: usize,
    /// Clip each parameter's gradient to this norm.
    #[arg(long, value_parser = kiln::cli::finite_f32)]
    max_grad_norm: Option<f32>,
    /// Steps of random play that fill the replay buffer before learning starts.
    #[arg(long, default_value_t = 10_000)]
    learning_starts: usize,
    /// Steps between checkpoints (each holds the networks, Adam's state and the buffer).
    #[arg(long, default_value_t = 50_000)]
    checkpoint_every: usize,
}

fn main() -> ExitCode {
    kiln::cli::init_tracing(env!("CARGO_CRATE_NAME"));
    let args = Args::parse();
    run(|| -> Result<(), AnyError> {
        let (backend, device) = backend::select(args.common.backend.as_deref())?;
        tracing::info!("backend: {backend}");
        if let Some(file) = &args.export.export {
            let dir = args.common.artifact_dir_or("artifacts/dqn");
            let trained = kiln::rl::run::load_trained(&dir, &device)?;
            return args.export.write(&trained.network, file);
        }
        match &args.eval {
            Some(source) => evaluate(&args, source, &device),
            None => train(&args, &device),
        }
    })
}

fn train(args: &Args, device: &burn::tensor::Device) -> Result<(), AnyError> {
    let dir = &args.common.artifact_dir_or("artifacts/dqn");
    let run = args.common.open_run(dir)?;
    let config = if args.common.resume {
        let saved: DqnTrainingConfig = RunDir::load_config(dir, "DQN config")?;
        saved.with_total_steps(args.total_steps)
    } else {
        DqnTrainingConfig::new()
            .with_total_steps(args.total_steps)
            .with_seed(args.common.seed_or(1))
            .with_learning_rate(args.lr)
            .with_loss(args.loss)
            .with_target(if args.double {
                TdTarget::DoubleDqn
            } else {
                TdTarget::Dqn
            })
            .with_tau(args.tau)
            .with_target_update_every(args.target_every)
            .with_max_grad_norm(args.max_grad_norm)
            .with_learning_starts(args.learning_starts)
            .with_checkpoint_every(args.checkpoint_every)
    };
    config.validate()?;
    tracing::info!(
        "training a DQN on CartPole-v1 for {} steps (seed {}); artifacts in {}",
        config.total_steps,
        config.seed,
        dir.display()
    );
    let mut env = CartPole::new(config.seed);
    let mut printer = common::Printer::new();
    let trained = kiln::rl::run::train(&config, &mut env, device, &run, |p| printer.show(p))?;
    printer.finish();
    let plot = dir.join("returns.png");
    plot_returns(&trained.metrics, config.seed, &plot)?;
    println!(
        "saved {}, {} and {}",
        dir.join(kiln::rl::run::MODEL_FILE).display(),
        dir.join(kiln::rl::run::METRICS_FILE).display(),
        plot.display()
    );
    report(&trained.network, args)
}

fn evaluate(args: &Args, source: &Path, device: &burn::tensor::Device) -> Result<(), AnyError> {
    let network = match common::Weights::from_arg(source) {
        common::Weights::Run(dir) => {
            let trained = kiln::rl::run::load_trained(&dir, device)?;
            println!(
                "loaded the policy in {} ({} training steps, seed {})",
                dir.display(),
                trained.config.total_steps,
                trained.config.seed
            );
            trained.network
        }
        common::Weights::Pretrained => {
            let pretrained = PretrainedDqn::CartPole;
            println!("pretrained: {}", pretrained.weights().name);
            pretrained.load(device)?
        }
        common::Weights::File(file) => {
            let mut network = DqnTrainingConfig::new().network.init(device)?;
            network.load_pytorch(&file)?;
            network
        }
    };
    report(&network, args)
}

/// Greedy evaluation: mean ± std return over `--episodes` episodes.
fn report(network: &kiln::mlp::Mlp, args: &Args) -> Result<(), AnyError> {
    if args.episodes == 0 {
        return Err("--episodes must be at least 1".into());
    }
    let returns = dqn::evaluate(
        network,
        &mut CartPole::new(0),
        args.episodes,
        args.eval_seed,
    )?;
    let n = returns.len().max(1) as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let min = returns.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "greedy return over {} episodes: {mean:.1} ± {std:.1} (min {min}, seeds {}..{})",
        returns.len(),
        args.eval_seed,
        args.eval_seed + args.episodes as u64
    );
    Ok(())
}

/// Episode returns against steps, with their 20-episode moving average.
fn plot_returns(metrics: &DqnMetrics, seed: u64, path: &Path) -> Result<(), AnyError> {
    let raw: Vec<(f64, f64)> = metrics
        .episodes
        .iter()
        .map(|e| (e.step as f64, e.episode_return))
        .collect();
    let average: Vec<(f64, f64)> = (0..raw.len())
        .map(|i| {
            let window = &raw[i.saturating_sub(19)..=i];
            let mean = window.iter().map(|p| p.1).sum::<f64>() / window.len() as f64;
            (raw[i].0, mean)
        })
        .collect();
    line_chart(
        &format!("DQN ON CARTPOLE-V1, SEED {seed}"),
        "ENVIRONMENT STEPS",
        "EPISODE RETURN",
        &[
            Series::new("episode return", raw),
            Series::new("mean of last 20", average),
        ],
    )
    .save_png(path)?;
    Ok(())
}
