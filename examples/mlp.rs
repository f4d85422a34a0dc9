//! Train the MLP classifier on MNIST or Fashion-MNIST, or evaluate a trained one.
//!
//! ```text
//! cargo run --release --example mlp -- --dataset mnist --epochs 10
//! cargo run --release --example mlp -- --eval artifacts/mlp-mnist
//! cargo run --release --example mlp -- --eval pretrained --dataset fashion-mnist
//! cargo run --release --example mlp -- --export mlp.safetensors   # for PyTorch
//! cargo run --release --example mlp -- --eval mlp.pt              # a PyTorch state_dict
//! ```

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use kiln::backend;
use kiln::cli::{AnyError, parse, run};
use kiln::data::{DatasetKind, Split};
use kiln::mlp::run::{NormalizedImages, RunDir};
use kiln::mlp::{
    self, Activation, LrSchedule, MlpConfig, MlpTrainingConfig, OptimizerKind, PytorchWeights,
};

mod common;

/// What the example keeps beside the run's config: which dataset it trained on.
const DATASET_FILE: &str = "dataset.json";

/// Train or evaluate kiln's MLP classifier.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Dataset: mnist or fashion-mnist.
    #[arg(long, default_value = "mnist", value_parser = parse::<DatasetKind>)]
    dataset: DatasetKind,
    /// Backend, seed (default 42), data folder, artifact folder (default
    /// artifacts/mlp-DATASET), and --resume to continue a run up to --epochs.
    #[command(flatten)]
    common: common::CommonArgs,
    /// Evaluate on the test split instead of training: the model of a run folder, kiln's
    /// `pretrained` one for --dataset, or a PyTorch state_dict (.safetensors, .pt, .pth) of
    /// the network --hidden and --activation describe.
    #[arg(long, value_name = "DIR|pretrained|FILE", conflicts_with = "resume")]
    eval: Option<std::path::PathBuf>,
    #[command(flatten)]
    export: common::ExportArgs,
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
    #[arg(long, default_value_t = 0.1, value_parser = kiln::cli::finite)]
    dropout: f64,
    /// Optimiser: adam or sgd.
    #[arg(long, default_value = "adam", value_parser = parse::<OptimizerKind>)]
    optimizer: OptimizerKind,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3, value_parser = kiln::cli::finite)]
    lr: f64,
    /// Learning-rate schedule: cosine (anneal to 1% over the run) or constant.
    #[arg(long, default_value = "cosine", value_parser = parse::<LrSchedule>)]
    schedule: LrSchedule,
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Training images held out (the last ones of the training split) to validate on after
    /// every epoch, so the test split stays unseen until the final evaluation (0: none).
    #[arg(long, default_value_t = 5000)]
    validation_size: usize,
    /// Devices to train on, data-parallel (each batch split between them; gradients summed
    /// on the first): the backend's first N GPUs, or the first N devices of a remote server
    /// (`--backend remote=ws://...`). 1 is a plain run.
    #[arg(long, default_value = "1")]
    devices: std::num::NonZeroUsize,
}

fn main() -> ExitCode {
    kiln::cli::init_tracing(env!("CARGO_CRATE_NAME"));
    let args = Args::parse();
    run(|| -> Result<(), AnyError> {
        let (backend, devices) =
            backend::select_devices(args.common.backend.as_deref(), args.devices.get())?;
        tracing::info!("backend: {backend}");
        if let Some(file) = &args.export.export {
            let dir = args
                .common
                .artifact_dir_or(&format!("artifacts/mlp-{}", args.dataset));
            let trained = mlp::run::load_trained(&dir, &devices[0])?;
            return args.export.write(&trained.model, file);
        }
        match &args.eval {
            Some(source) => evaluate(&args, source, &devices[0]),
            None => train(&args, &devices),
        }
    })
}

fn train(args: &Args, devices: &[burn::tensor::Device]) -> Result<(), AnyError> {
    let dir = args
        .common
        .artifact_dir_or(&format!("artifacts/mlp-{}", args.dataset));
    let run = args.common.open_run(&dir)?;
    let (config, dataset) = if args.common.resume {
        // The saved config and dataset decide everything but the number of epochs.
        let saved: MlpTrainingConfig = RunDir::load_config(&dir, "MLP training config")?;
        let dataset: DatasetKind = RunDir::load_file(&dir, DATASET_FILE, "dataset name")?;
        (saved.with_epochs(args.epochs), dataset)
    } else {
        let config = MlpTrainingConfig::new()
            .with_model(
                MlpConfig::new()
                    .with_hidden_sizes(args.hidden.clone())
                    .with_activation(args.activation)
                    .with_dropout(args.dropout),
            )
            .with_optimizer(args.optimizer)
            .with_learning_rate(args.lr)
            .with_lr_schedule(args.schedule)
            .with_epochs(args.epochs)
            .with_batch_size(args.batch_size)
            .with_seed(args.common.seed_or(42));
        (config, args.dataset)
    };
    config.validate()?;
    // The data before anything is written: a wrong --data-dir leaves the folder as it was.
    let split = args.common.load_data(dataset, Split::Train)?;
    let total = burn::data::dataset::Dataset::len(&split);
    if args.validation_size >= total {
        return Err(format!(
            "--validation-size {} leaves none of the {total} training images to train on",
            args.validation_size
        )
        .into());
    }
    let cut = total - args.validation_size;
    let normalization = dataset.standardization();
    let train = NormalizedImages::new(split.slice(0..cut), normalization);
    let valid = NormalizedImages::new(split.slice(cut..total), normalization);
    tracing::info!(
        "training on {cut} {dataset} images, validating on {}; artifacts in {}",
        args.validation_size,
        dir.display()
    );
    run.save_file(DATASET_FILE, &dataset)?;
    let mut printer = common::Printer::new();
    if devices.len() > 1 {
        tracing::info!("data-parallel on {} devices", devices.len());
    }
    // --validation-size 0: no validation figures at all, rather than figures of nothing.
    let valid = (args.validation_size > 0).then_some(&valid as &dyn mlp::ClassificationData);
    mlp::run::train_on_devices(&config, &train, valid, devices, &run, |p| printer.show(p))?;
    printer.finish();
    tracing::info!("saved {}", dir.join(mlp::run::MODEL_FILE).display());
    // Evaluate what was saved, exactly as --eval would.
    evaluate(args, &dir, &devices[0])
}

fn evaluate(args: &Args, source: &Path, device: &burn::tensor::Device) -> Result<(), AnyError> {
    let (model, dataset) = match common::Weights::from_arg(source) {
        common::Weights::Run(dir) => {
            let trained = mlp::run::load_trained(&dir, device)?;
            let dataset: DatasetKind = RunDir::load_file(&dir, DATASET_FILE, "dataset name")?;
            (trained.model, dataset)
        }
        common::Weights::Pretrained => {
            let pretrained = common::pretrained_classifier(args.dataset);
            println!("pretrained: {}", pretrained.weights().name);
            (pretrained.load(device)?, args.dataset)
        }
        common::Weights::File(file) => {
            let mut model = MlpConfig::new()
                .with_hidden_sizes(args.hidden.clone())
                .with_activation(args.activation)
                .with_dropout(args.dropout)
                .init(device)?;
            model.load_pytorch(&file)?;
            (model, args.dataset)
        }
    };
    let test = args.common.load_data(dataset, Split::Test)?;
    let test = NormalizedImages::new(test, dataset.standardization());
    let eval = mlp::evaluate(&model, &test, 1000)?;
    println!(
        "test accuracy: {:.2}% on {} {dataset} test images (mean loss {:.4})",
        eval.accuracy * 100.0,
        eval.count(),
        eval.mean_loss
    );
    println!("{}", eval.confusion_table(&dataset.class_names()));
    Ok(())
}
