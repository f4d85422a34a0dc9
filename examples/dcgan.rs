//! Train a DCGAN on MNIST or Fashion-MNIST and watch its samples, or generate from a trained
//! generator.
//!
//! ```text
//! cargo run --release --example dcgan -- --epochs 10 --backend flex
//! cargo run --release --example dcgan -- --generate artifacts/dcgan-mnist --count 64
//! ```
//!
//! Every epoch writes a grid of 64 samples from one fixed latent batch
//! (`samples/epoch-NNN.png`, and `generated_image.png`), the loss curves (`losses.png`),
//! `metrics.json`, and a checkpoint (`--resume` continues). Sample quality is judged by an
//! MLP classifier trained on the same dataset (`--judge DIR`; trained there first if absent).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use clap::Parser;
use kiln::backend;
use kiln::cli::{AnyError, parse, run};
use kiln::data::{self, DatasetKind, ImageBatcher, Normalization, Split};
use kiln::dcgan::{
    self, DcganTrainingConfig, GanEvent, Judge, QualityCheck, generate_in_batches, latent,
    save_image_grid,
};
use kiln::mlp::{self, MlpTrainingConfig};
use kiln::train::{Rng, RunMode};

/// Train kiln's DCGAN, or generate images with a trained one.
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
    /// Where the run writes everything (default: artifacts/dcgan-DATASET).
    #[arg(long)]
    artifact_dir: Option<PathBuf>,
    /// Continue the run in --artifact-dir from its last checkpoint, up to --epochs.
    #[arg(long)]
    resume: bool,
    /// Write --count samples of the generator saved in DIR as DIR/generated-SEED.png; no data
    /// needed.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    generate: Option<PathBuf>,
    /// Images to generate with --generate.
    #[arg(long, default_value_t = 64)]
    count: usize,
    /// Passes over the training images.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Adam's learning rate (β1 0.5).
    #[arg(long, default_value_t = 2e-4)]
    lr: f64,
    /// Seed of the weights, batch order and noise (and of --generate's latent vectors).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Train on the first N training images only (a quick look).
    #[arg(long)]
    limit: Option<usize>,
    /// The judge: a trained MLP classifier's folder (default: artifacts/mlp-DATASET; trained
    /// for 3 epochs there if it does not exist).
    #[arg(long)]
    judge: Option<PathBuf>,
    /// Skip the quality scores.
    #[arg(long)]
    no_judge: bool,
    /// Generated (and real test) images the judge compares each epoch.
    #[arg(long, default_value_t = 2000)]
    quality_samples: usize,
}

fn main() -> ExitCode {
    kiln::cli::init_tracing(env!("CARGO_CRATE_NAME"));
    let args = Args::parse();
    run(|| -> Result<(), AnyError> {
        let (backend, device) = backend::select(args.backend.as_deref())?;
        tracing::info!("backend: {backend}");
        match &args.generate {
            Some(dir) => generate(&args, dir, &device),
            None => train(&args, &device),
        }
    })
}

fn generate(args: &Args, dir: &Path, device: &Device) -> Result<(), AnyError> {
    if args.count == 0 {
        return Err("--count must be at least 1".into());
    }
    let trained = dcgan::load_generator(dir, device)?;
    let z = latent(
        args.count,
        trained.config.generator.latent_size,
        &mut Rng::new(args.seed),
        device,
    );
    let images = generate_in_batches(&trained.generator, z);
    let path = dir.join(format!("generated-{}.png", args.seed));
    save_image_grid(images, &path)?;
    println!("{} samples: {}", args.count, path.display());
    Ok(())
}

fn train(args: &Args, device: &Device) -> Result<(), AnyError> {
    let dir = args
        .artifact_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("artifacts").join(format!("dcgan-{}", args.dataset)));
    let (config, mode) = if args.resume {
        let saved: DcganTrainingConfig =
            kiln::train::load_json(&dir.join(dcgan::CONFIG_FILE), "DCGAN config")?;
        (saved.with_epochs(args.epochs), RunMode::Resume)
    } else {
        let config = DcganTrainingConfig::new()
            .with_dataset(args.dataset)
            .with_epochs(args.epochs)
            .with_batch_size(args.batch_size)
            .with_learning_rate(args.lr)
            .with_quality_samples(args.quality_samples)
            .with_seed(args.seed);
        (config, RunMode::New)
    };
    config.validate()?;
    let mut images = data::load(config.dataset, Split::Train, args.data_dir.as_deref())?;
    if let Some(limit) = args.limit {
        images = images.slice(0..limit.min(images.len()));
    }
    let quality = if args.no_judge {
        None
    } else {
        Some(quality_check(args, &config, device)?)
    };
    tracing::info!(
        "training a DCGAN on {} {} images for {} epochs; artifacts in {}",
        images.len(),
        config.dataset,
        config.epochs,
        dir.display()
    );
    let terminal = kiln::train::use_terminal_ui();
    dcgan::train(
        &config,
        &images,
        device,
        &dir,
        mode,
        quality.as_ref(),
        |event| show(event, terminal),
    )?;
    println!(
        "saved {} and {}",
        dir.join(dcgan::GENERATOR_FILE).display(),
        dir.join("generated_image.png").display()
    );
    Ok(())
}

/// The judge and the real test images' statistics.
fn quality_check(
    args: &Args,
    config: &DcganTrainingConfig,
    device: &Device,
) -> Result<QualityCheck, AnyError> {
    let judge_dir = args
        .judge
        .clone()
        .unwrap_or_else(|| PathBuf::from("artifacts").join(format!("mlp-{}", config.dataset)));
    if !judge_dir.join(mlp::MODEL_FILE).is_file() {
        println!(
            "no judge in {}: training an MLP classifier on {} for 3 epochs first",
            judge_dir.display(),
            config.dataset
        );
        let judge_config = MlpTrainingConfig::new()
            .with_dataset(config.dataset)
            .with_epochs(3);
        let all = data::load(config.dataset, Split::Train, args.data_dir.as_deref())?;
        let (train, valid) = judge_config.split(&all)?;
        mlp::train(
            &judge_config,
            device,
            train,
            valid,
            &judge_dir,
            RunMode::New,
        )?;
    }
    let trained = mlp::load_trained(&judge_dir, device)?;
    let judge = Judge::new(trained.model.mlp, trained.config.dataset.standardization());
    let test = data::load(config.dataset, Split::Test, args.data_dir.as_deref())?;
    let n = config.quality_samples.min(test.len() / 2);
    let batch = |range: std::ops::Range<usize>| {
        let items = range.filter_map(|i| test.item(i)).collect();
        ImageBatcher::new(Normalization::Symmetric)
            .batch(items, device)
            .images
    };
    let check = QualityCheck::new(judge, batch(0..n));
    // What a perfect generator would score: other real images against the reference.
    let (floor, score) = check.score(batch(n..2 * n));
    println!(
        "judge: {}; reference: its features of {n} real test images. Another {n} real test \
         images score: Fréchet distance {floor:.2}, class coverage {:.2}/10, confidence {:.3}, \
         IS {:.2}",
        judge_dir.display(),
        score.class_coverage,
        score.mean_confidence,
        score.inception_score
    );
    Ok(check)
}

fn show(event: &GanEvent, terminal: bool) {
    match event {
        GanEvent::Step {
            epoch,
            step,
            steps,
            mean,
        } if terminal => {
            let width = 24;
            let filled = step * width / steps;
            print!(
                "\repoch {epoch} [{}{}] {step}/{steps}  D loss {:.3}  G loss {:.3}  D(x) {:.3}  D(G(z)) {:.3}",
                "#".repeat(filled),
                ".".repeat(width - filled),
                mean.d_loss,
                mean.g_loss,
                mean.d_real,
                mean.d_fake
            );
            let _ = std::io::stdout().flush();
        }
        GanEvent::Step { .. } => {}
        GanEvent::Epoch(m) => {
            if terminal {
                println!();
            }
            let quality = match (&m.frechet_distance, &m.class_score) {
                (Some(fd), Some(s)) => format!(
                    "  Fréchet distance {fd:.2}  class coverage {:.2}/10  confidence {:.3}  IS {:.2}",
                    s.class_coverage, s.mean_confidence, s.inception_score
                ),
                _ => String::new(),
            };
            println!(
                "epoch {}: D loss {:.3}  G loss {:.3}  D(x) {:.3}  D(G(z)) {:.3}  ({:.0} s){quality}",
                m.epoch, m.mean.d_loss, m.mean.g_loss, m.mean.d_real, m.mean.d_fake, m.seconds
            );
        }
    }
}
