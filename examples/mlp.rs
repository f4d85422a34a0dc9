//! Train the MLP classifier on MNIST or Fashion-MNIST, or evaluate a trained one.
//!
//! ```text
//! cargo run --release --example mlp -- --dataset mnist --epochs 10
//! cargo run --release --example mlp -- --eval artifacts/mlp-mnist
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kiln::backend;
use kiln::cli::{AnyError, parse, run};
use kiln::data::{self, DatasetKind, Split};
use kiln::mlp::{
    self, Activation, LrSchedule, MlpConfig, MlpTrainingConfig, OptimizerKind, RunMode,
};

/// Train or evaluate kiln's MLP classifier.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Dataset: mnist or fashion-mnist.
    #[arg(long, default_value = "mnist", value_parser = parse::<DatasetKind>)]
    dataset: DatasetKind,
    /// Backend: cuda, vulkan, wgpu, flex, tch or ndarray (default: the best compiled in).
    #[arg(long)]
    backend: Option<String>,
    /// Folder with the IDX files (default: $KILN_DATA_DIR, else burn-dataset's cache).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where the run writes its config, checkpoints and weights (default: artifacts/mlp-DATASET).
    #[arg(long)]
    artifact_dir: Option<PathBuf>,
    /// Continue the run in --artifact-dir from its last checkpoint, up to --epochs.
    #[arg(long)]
    resume: bool,
    /// Evaluate the model saved in this folder on the test split instead of training.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    eval: Option<PathBuf>,
    /// Passes over the training images.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Hidden layer widths, comma-separated (empty for a linear model).
    #[arg(long, default_value = "512,256", value_delimiter = ',')]
    hidden: Vec<usize>,
    /// Activation: relu, sigmoid or tanh.
    #[arg(long, default_value = "relu", value_parser = parse::<Activation>)]
    activation: Activation,
    /// Dropout probability after each hidden layer.
    #[arg(long, default_value_t = 0.1)]
    dropout: f64,
    /// Optimiser: adam or sgd.
    #[arg(long, default_value = "adam", value_parser = parse_optimizer)]
    optimizer: OptimizerKind,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Learning-rate schedule: cosine (anneal to 1% over the run) or constant.
    #[arg(long, default_value = "cosine", value_parser = parse_schedule)]
    schedule: LrSchedule,
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Seed for weights, dropout and shuffling.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn parse_optimizer(s: &str) -> Result<OptimizerKind, String> {
    match s.to_ascii_lowercase().as_str() {
        "adam" => Ok(OptimizerKind::Adam),
        "sgd" => Ok(OptimizerKind::Sgd),
        _ => Err(format!("unknown optimizer '{s}': expected adam or sgd")),
    }
}

fn parse_schedule(s: &str) -> Result<LrSchedule, String> {
    match s.to_ascii_lowercase().as_str() {
        "cosine" => Ok(LrSchedule::Cosine),
        "constant" => Ok(LrSchedule::Constant),
        _ => Err(format!(
            "unknown schedule '{s}': expected cosine or constant"
        )),
    }
}

fn main() -> ExitCode {
    kiln::cli::init_tracing(env!("CARGO_CRATE_NAME"));
    let args = Args::parse();
    run(|| -> Result<(), AnyError> {
        let (backend, device) = backend::select(args.backend.as_deref())?;
        tracing::info!("backend: {backend}");
        match &args.eval {
            Some(dir) => evaluate(&args, dir, &device),
            None => train(&args, &device),
        }
    })
}

fn train(args: &Args, device: &burn::tensor::Device) -> Result<(), AnyError> {
    let dir = args
        .artifact_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("artifacts").join(format!("mlp-{}", args.dataset)));
    let config = if args.resume {
        // The saved config decides everything but the number of epochs.
        let saved: MlpTrainingConfig =
            kiln::train::load_json(&dir.join(mlp::CONFIG_FILE), "MLP training config")?;
        saved.with_epochs(args.epochs)
    } else {
        MlpTrainingConfig::new()
            .with_model(
                MlpConfig::new()
                    .with_hidden_sizes(args.hidden.clone())
                    .with_activation(args.activation)
                    .with_dropout(args.dropout),
            )
            .with_dataset(args.dataset)
            .with_optimizer(args.optimizer)
            .with_learning_rate(args.lr)
            .with_lr_schedule(args.schedule)
            .with_epochs(args.epochs)
            .with_batch_size(args.batch_size)
            .with_seed(args.seed)
    };
    config.validate()?;
    let train_split = data::load(config.dataset, Split::Train, args.data_dir.as_deref())?;
    let (train, valid) = config.split(&train_split)?;
    tracing::info!(
        "training on {} {} images, validating on {}; artifacts in {}",
        burn::data::dataset::Dataset::len(&train),
        config.dataset,
        burn::data::dataset::Dataset::len(&valid),
        dir.display()
    );
    let mode = if args.resume {
        RunMode::Resume
    } else {
        RunMode::New
    };
    mlp::train(&config, device, train, valid, &dir, mode)?;
    tracing::info!("saved {}", dir.join(mlp::MODEL_FILE).display());
    // Evaluate what was saved, exactly as --eval would.
    evaluate(args, &dir, device)
}

fn evaluate(
    args: &Args,
    dir: &std::path::Path,
    device: &burn::tensor::Device,
) -> Result<(), AnyError> {
    let trained = mlp::load_trained(dir, device)?;
    let config = &trained.config;
    let test = data::load(config.dataset, Split::Test, args.data_dir.as_deref())?;
    let eval = mlp::evaluate(
        &trained.model,
        &test,
        config.dataset.standardization(),
        1000,
        device,
    );
    println!(
        "test accuracy: {:.2}% on {} {} test images (mean loss {:.4})",
        eval.accuracy * 100.0,
        eval.count(),
        config.dataset,
        eval.mean_loss
    );
    println!("{}", eval.confusion_table(&config.dataset.class_names()));
    Ok(())
}
