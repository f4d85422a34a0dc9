//! Train a DCGAN on MNIST or Fashion-MNIST and watch its samples, or generate from a trained
//! generator.
//!
//! ```text
//! cargo run --release --example dcgan -- --epochs 10 --backend flex
//! cargo run --release --example dcgan -- --generate artifacts/dcgan-mnist --count 64
//! cargo run --release --example dcgan -- --generate pretrained --output digits.png
//! cargo run --release --example dcgan -- --generate netG.pt --judge pretrained  # PyTorch's
//! cargo run --release --example dcgan -- --export generator.safetensors          # for PyTorch
//! ```
//!
//! Every epoch writes a grid of 64 samples from one fixed latent batch
//! (`samples/epoch-NNN.png`, and `generated_image.png`), the loss curves (`losses.png`),
//! `metrics.json`, and a checkpoint (`--resume` continues). Sample quality is judged by an
//! MLP classifier trained on the same dataset (`--judge DIR`; trained there first if absent).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::tensor::{Device, Tensor, TensorData};
use clap::Parser;
use kiln::backend;
use kiln::cli::{AnyError, parse, run};
use kiln::data::{DatasetKind, Normalization, NormalizedImages, Split};
use kiln::dcgan::pretrained::PretrainedGenerator;
use kiln::dcgan::run::{RunDir, save_image_grid};
use kiln::dcgan::{
    self, DcganTrainingConfig, DiffAugment, DiscriminatorNorm, GanLoss, GeneratorConfig, ImageData,
    Judge, LrSchedule, PytorchWeights, QualityCheck, Recipe, Rng, generate_in_batches, latent,
};
use kiln::mlp::{self, MlpTrainingConfig};

mod common;

/// What the example keeps beside the run's config: which dataset it trained on.
const DATASET_FILE: &str = "dataset.json";

/// Train kiln's DCGAN, or generate images with a trained one.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Dataset: mnist or fashion-mnist.
    #[arg(long, default_value = "mnist", value_parser = parse::<DatasetKind>)]
    dataset: DatasetKind,
    /// Backend, seed (default 42: weights, batch order, noise, and --generate's latent
    /// vectors), data folder, artifact folder (default artifacts/dcgan-DATASET), and
    /// --resume to continue a run up to --epochs.
    #[command(flatten)]
    common: common::CommonArgs,
    /// Draw --count samples instead of training, from the generator of a run folder, kiln's
    /// `pretrained` one, or a PyTorch state_dict (.safetensors, .pt, .pth) of kiln's default
    /// architecture, into --output; no data needed (unless --judge is given: then the samples
    /// are also scored against --quality-samples real test images).
    #[arg(long, value_name = "DIR|pretrained|FILE", conflicts_with = "resume")]
    generate: Option<PathBuf>,
    /// The PNG --generate writes (default: DIR/generated-SEED.png for a run folder,
    /// generated-SEED.png here otherwise).
    #[arg(long, value_name = "PNG", requires = "generate")]
    output: Option<PathBuf>,
    #[command(flatten)]
    export: common::ExportArgs,
    /// Write the discriminator of the run in --artifact-dir (its last checkpoint) to FILE as a
    /// PyTorch state_dict (safetensors), instead of training.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    export_discriminator: Option<PathBuf>,
    /// Images to generate with --generate (1 to 1,024: one PNG grid).
    #[arg(long, default_value_t = 64)]
    count: usize,
    /// Passes over the training images.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// The training recipe: kiln (the default: a spectrally normalised discriminator,
    /// generator 1.6e-3 and discriminator 4e-4, samples from the generator's average with
    /// decay 0.999, the classic losses) or classic (the DCGAN paper's, PyTorch's: Adam 2e-4
    /// for both networks, a batch-normalised discriminator). The flags below override its
    /// options one by one; docs/dcgan.md has both measured.
    #[arg(long, default_value = "kiln", value_parser = parse::<Recipe>)]
    recipe: Recipe,
    /// Adam's learning rate (β1 0.5): the generator's, and the discriminator's unless --d-lr
    /// or the recipe sets it (kiln: 1.6e-3; classic: 2e-4).
    #[arg(long, value_parser = kiln::cli::finite)]
    lr: Option<f64>,
    /// The discriminator's own learning rate (two time-scale updates). Default: the recipe's
    /// (kiln: 4e-4; classic: --lr).
    #[arg(long, value_parser = kiln::cli::finite)]
    d_lr: Option<f64>,
    /// The losses: classic (the DCGAN paper's) or hinge. Default: the recipe's (both
    /// recipes: classic).
    #[arg(long, value_parser = parse::<GanLoss>)]
    loss: Option<GanLoss>,
    /// Sample from an exponential moving average of the generator's weights with this decay
    /// (e.g. 0.999): the scores, grids and saved generator are the average's; 0 samples from
    /// the trained generator itself. Default: the recipe's (kiln: 0.999; classic: none).
    #[arg(long, value_name = "DECAY", value_parser = kiln::cli::finite)]
    ema: Option<f64>,
    /// One-sided label smoothing: the real images' target in the classic discriminator loss
    /// (e.g. 0.9). Default: none.
    #[arg(long, value_name = "TARGET", value_parser = kiln::cli::finite)]
    real_label: Option<f64>,
    /// Sample with batch-norm statistics re-estimated on N latent vectors (e.g. 2048) instead
    /// of the running statistics. Default: none.
    #[arg(long, value_name = "N")]
    standing_statistics: Option<usize>,
    /// Learning-rate schedule of both networks: constant, or cosine (each rate annealed to 1%
    /// of it over the run's steps). Default: constant.
    #[arg(long, value_parser = parse::<LrSchedule>)]
    schedule: Option<LrSchedule>,
    /// The discriminator's normalisation: batch (DCGAN's batch norm) or spectral (spectral
    /// normalisation of every layer, no batch norm). Default: the recipe's (kiln: spectral;
    /// classic: batch).
    #[arg(long, value_parser = parse::<DiscriminatorNorm>)]
    d_norm: Option<DiscriminatorNorm>,
    /// Differentiable augmentation (DiffAugment) of every image the discriminator sees:
    /// translation,cutout (the paper's policy), translation, cutout, or none. Default: none.
    #[arg(long, value_name = "POLICY", value_parser = parse::<DiffAugment>)]
    augment: Option<DiffAugment>,
    /// Train on the first N training images only (a quick look).
    #[arg(long)]
    limit: Option<usize>,
    /// The judge: a trained MLP classifier's folder (default: artifacts/mlp-DATASET; trained
    /// for 3 epochs there if it does not exist), or `pretrained` (kiln's classifier for
    /// --dataset).
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
        let (backend, device) = backend::select(args.common.backend.as_deref())?;
        tracing::info!("backend: {backend}");
        if args.export.export.is_some() || args.export_discriminator.is_some() {
            return export(&args, &device);
        }
        match &args.generate {
            Some(source) => generate(&args, source, &device),
            None => train(&args, &device),
        }
    })
}

/// The most images `--generate` draws: one PNG grid of 128 rows.
const MAX_GENERATE: usize = 1024;
/// The most images `--generate --judge` scores (the judge holds their features in memory).
const MAX_SCORED: usize = 100_000;

/// `--export` and `--export-discriminator`: the run's networks out to PyTorch.
fn export(args: &Args, device: &Device) -> Result<(), AnyError> {
    let dir = args
        .common
        .artifact_dir_or(&format!("artifacts/dcgan-{}", args.dataset));
    if let Some(file) = &args.export.export {
        let trained = dcgan::run::load_trained(&dir, device)?;
        args.export.write(&trained.generator, file)?;
    }
    if let Some(file) = &args.export_discriminator {
        let discriminator = dcgan::run::load_discriminator(&dir, device)?;
        args.export.write(&discriminator, file)?;
    }
    Ok(())
}

fn generate(args: &Args, source: &Path, device: &Device) -> Result<(), AnyError> {
    if !(1..=MAX_GENERATE).contains(&args.count) {
        // Refused before anything is read or allocated. The memory for MNIST's 28×28 images:
        // the images as f32, then the grid (each pixel drawn 3×3, RGBA).
        let bytes = (args.count as f64) * (28.0 * 28.0) * (4.0 + 9.0 * 4.0);
        return Err(format!(
            "--count {} is outside 1..={MAX_GENERATE} (one PNG grid): {} 28×28 images would need about {:.1} GiB",
            args.count,
            args.count,
            bytes / f64::from(1u32 << 30)
        )
        .into());
    }
    let seed = args.common.seed_or(42);
    let default_png = PathBuf::from(format!("generated-{seed}.png"));
    let (generator, dataset, default_png) = match common::Weights::from_arg(source) {
        common::Weights::Run(dir) => {
            let trained = dcgan::run::load_trained(&dir, device)?;
            let dataset: DatasetKind = RunDir::load_file(&dir, DATASET_FILE, "dataset name")?;
            (trained.generator, dataset, dir.join(default_png))
        }
        common::Weights::Pretrained => {
            let pretrained = match args.dataset {
                DatasetKind::Mnist => PretrainedGenerator::Mnist,
                other => {
                    return Err(format!(
                        "kiln has no pretrained generator for {other} (only for mnist)"
                    )
                    .into());
                }
            };
            println!("pretrained: {}", pretrained.weights().name);
            (pretrained.load(device)?, args.dataset, default_png)
        }
        common::Weights::File(file) => {
            let mut generator = GeneratorConfig::new().init(device)?;
            generator.load_pytorch(&file)?;
            (generator, args.dataset, default_png)
        }
    };
    let latent_size = generator.latent_size();
    let z = latent(args.count, latent_size, &mut Rng::new(seed), device);
    let images = generate_in_batches(&generator, z);
    let path = args.output.clone().unwrap_or(default_png);
    save_image_grid(images, &path)?;
    println!("{} samples: {}", args.count, path.display());
    if args.judge.is_some() {
        // Scored on their own latent batch, as an epoch's scores are.
        let n = args.quality_samples;
        if !(2..=MAX_SCORED).contains(&n) {
            return Err(format!("--quality-samples {n} is outside 2..={MAX_SCORED}").into());
        }
        let check = quality_check(args, n, dataset, device)?;
        let z = latent(n, latent_size, &mut Rng::new(seed ^ 0x9a11), device);
        let (fd, score) = check.score(generate_in_batches(&generator, z))?;
        println!(
            "{n} samples score: Fréchet distance {fd:.2}, class coverage {:.2}/10, \
             confidence {:.3}, IS {:.2}",
            score.class_coverage, score.mean_confidence, score.inception_score
        );
    }
    Ok(())
}

fn train(args: &Args, device: &Device) -> Result<(), AnyError> {
    let dir = args
        .common
        .artifact_dir_or(&format!("artifacts/dcgan-{}", args.dataset));
    let run = args.common.open_run(&dir)?;
    let (config, dataset) = if args.common.resume {
        let saved: DcganTrainingConfig = RunDir::load_config(&dir, "DCGAN config")?;
        let dataset: DatasetKind = RunDir::load_file(&dir, DATASET_FILE, "dataset name")?;
        (saved.with_epochs(args.epochs), dataset)
    } else {
        let mut config = DcganTrainingConfig::new()
            .with_recipe(args.recipe)
            .with_epochs(args.epochs)
            .with_batch_size(args.batch_size)
            .with_quality_samples(args.quality_samples)
            .with_seed(args.common.seed_or(42));
        // Each flag given overrides its option of the recipe.
        if let Some(lr) = args.lr {
            config.learning_rate = lr;
        }
        config.discriminator_learning_rate = args.d_lr.or(config.discriminator_learning_rate);
        config.loss = args.loss.or(config.loss);
        config.generator_average = args.ema.or(config.generator_average);
        config.real_label = args.real_label.or(config.real_label);
        config.standing_statistics = args.standing_statistics.or(config.standing_statistics);
        config.lr_schedule = args.schedule.or(config.lr_schedule);
        config.discriminator.norm = args.d_norm.or(config.discriminator.norm);
        config.augmentation = args.augment.clone().or(config.augmentation);
        (config, args.dataset)
    };
    config.validate()?;
    // The data (and the judge) before anything is written: a wrong --data-dir leaves the
    // folder as it was.
    let mut images = args.common.load_data(dataset, Split::Train)?;
    if let Some(limit) = args.limit {
        images = images.slice(0..limit.min(burn::data::dataset::Dataset::len(&images)));
    }
    let images = NormalizedImages::new(images, Normalization::Symmetric);
    let quality = if args.no_judge {
        None
    } else {
        Some(quality_check(
            args,
            config.quality_samples,
            dataset,
            device,
        )?)
    };
    run.save_file(DATASET_FILE, &dataset)?;
    tracing::info!(
        "training a DCGAN on {} {dataset} images for {} epochs; artifacts in {}",
        images.len(),
        config.epochs,
        dir.display()
    );
    let mut printer = common::Printer::new();
    dcgan::run::train(&config, &images, device, quality.as_ref(), &run, |p| {
        printer.show(p)
    })?;
    printer.finish();
    println!(
        "saved {} and {}",
        dir.join(dcgan::run::GENERATOR_FILE).display(),
        dir.join("generated_image.png").display()
    );
    Ok(())
}

/// The judge and the real test images' statistics.
fn quality_check(
    args: &Args,
    samples: usize,
    dataset: DatasetKind,
    device: &Device,
) -> Result<QualityCheck, AnyError> {
    let judge_dir = args
        .judge
        .clone()
        .unwrap_or_else(|| PathBuf::from("artifacts").join(format!("mlp-{dataset}")));
    let normalization = dataset.standardization();
    let pretrained = judge_dir.as_os_str() == "pretrained";
    if !pretrained && !judge_dir.join(mlp::run::MODEL_FILE).is_file() {
        println!(
            "no judge in {}: training an MLP classifier on {dataset} for 3 epochs first",
            judge_dir.display()
        );
        let judge_config = MlpTrainingConfig::new().with_epochs(3);
        let all = args.common.load_data(dataset, Split::Train)?;
        let total = burn::data::dataset::Dataset::len(&all);
        let cut = total.saturating_sub(5000);
        let train = NormalizedImages::new(all.slice(0..cut), normalization);
        let valid = NormalizedImages::new(all.slice(cut..total), normalization);
        let run = RunDir::open(&judge_dir, kiln::train::RunMode::New)?;
        run.save_file(DATASET_FILE, &dataset)?;
        let mut printer = common::Printer::new();
        mlp::run::train(&judge_config, &train, Some(&valid), device, &run, |p| {
            printer.show(p)
        })?;
        printer.finish();
    }
    let classifier = if pretrained {
        common::pretrained_classifier(dataset).load(device)?
    } else {
        mlp::run::load_trained(&judge_dir, device)?.model
    };
    let (mean, std) = normalization.mean_std();
    let judge = Judge::new(classifier, mean, std);
    let test = NormalizedImages::new(
        args.common.load_data(dataset, Split::Test)?,
        Normalization::Symmetric,
    );
    let n = samples.min(test.len() / 2);
    let batch = |range: std::ops::Range<usize>| {
        let [c, h, w] = test.shape();
        let len = range.len();
        let values: Vec<f32> = range.filter_map(|i| test.image(i)).flatten().collect();
        Tensor::<4>::from_data(TensorData::new(values, [len, c, h, w]), device)
    };
    let check = QualityCheck::new(judge, batch(0..n))?;
    // What a perfect generator would score: other real images against the reference.
    let (floor, score) = check.score(batch(n..2 * n))?;
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
