//! The DCGAN training loop: epochs of D/G steps on real images, sample grids, quality scores,
//! checkpoints and resuming.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::config::Config;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor, TensorData};
use kiln_data::{DatasetKind, ImageBatcher, ImageDataset, Normalization};
use kiln_train::{
    ArtifactError, Rng, RunMode, load_json, load_module, replace_dir, save_json, save_module,
    write_atomic,
};
use serde::{Deserialize, Serialize};

use crate::quality::{ClassScore, FeatureStats, Judge, class_score, frechet_distance};
use crate::step::{Gan, StepStats, dcgan_adam};
use crate::{DcganConfigError, DiscriminatorConfig, Generator, GeneratorConfig};

/// The training config inside an artifact folder.
pub const CONFIG_FILE: &str = "config.json";
/// The trained generator's weights.
pub const GENERATOR_FILE: &str = "generator.bpk";
/// Per-epoch losses and quality scores (JSON).
pub const METRICS_FILE: &str = "metrics.json";
/// The folder of the last complete checkpoint.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Images in the per-epoch sample grid (from one fixed latent batch).
pub const GRID_SAMPLES: usize = 64;

/// Everything a DCGAN run needs besides the data; saved as `config.json`.
#[derive(Config, Debug)]
pub struct DcganTrainingConfig {
    /// The generator.
    #[config(default = "GeneratorConfig::new()")]
    pub generator: GeneratorConfig,
    /// The discriminator.
    #[config(default = "DiscriminatorConfig::new()")]
    pub discriminator: DiscriminatorConfig,
    /// The dataset trained on.
    #[config(default = "DatasetKind::Mnist")]
    pub dataset: DatasetKind,
    /// Passes over the training images.
    #[config(default = 10)]
    pub epochs: usize,
    /// Real (and fake) images per step.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam's learning rate for both networks (β1 0.5, β2 0.999).
    #[config(default = 2e-4)]
    pub learning_rate: f64,
    /// Generated images scored by the judge at the end of every epoch.
    #[config(default = 2000)]
    pub quality_samples: usize,
    /// Seed of the weights, the batch order and the latent noise.
    #[config(default = 42)]
    pub seed: u64,
}

/// An invalid training config value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DcganTrainingConfigError {
    /// A network size is invalid.
    #[error(transparent)]
    Network(#[from] DcganConfigError),
    /// Generator and discriminator disagree on the images.
    #[error("the generator makes {generator:?} images, the discriminator takes {discriminator:?}")]
    ImageMismatch {
        /// Generator's (channels, side).
        generator: (usize, usize),
        /// Discriminator's (channels, side).
        discriminator: (usize, usize),
    },
    /// `epochs` is 0.
    #[error("epochs must be at least 1")]
    ZeroEpochs,
    /// `batch_size` is below 2 (batch norm needs two samples).
    #[error("batch_size must be at least 2, got {0}")]
    BatchSize(usize),
    /// The learning rate is not in (0, 1].
    #[error("learning_rate must be in (0, 1], got {0}")]
    LearningRate(f64),
    /// Fewer than 2 quality samples (a covariance needs two).
    #[error("quality_samples must be at least 2, got {0}")]
    QualitySamples(usize),
}

impl DcganTrainingConfig {
    /// Checks every value.
    ///
    /// # Errors
    /// The first invalid value.
    pub fn validate(&self) -> Result<(), DcganTrainingConfigError> {
        self.generator.validate()?;
        self.discriminator.validate()?;
        let g = (self.generator.channels, self.generator.image_size);
        let d = (self.discriminator.channels, self.discriminator.image_size);
        if g != d {
            return Err(DcganTrainingConfigError::ImageMismatch {
                generator: g,
                discriminator: d,
            });
        }
        if self.epochs == 0 {
            return Err(DcganTrainingConfigError::ZeroEpochs);
        }
        if self.batch_size < 2 {
            return Err(DcganTrainingConfigError::BatchSize(self.batch_size));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(DcganTrainingConfigError::LearningRate(self.learning_rate));
        }
        if self.quality_samples < 2 {
            return Err(DcganTrainingConfigError::QualitySamples(
                self.quality_samples,
            ));
        }
        Ok(())
    }
}

/// One epoch's record in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Means over the epoch's steps.
    pub mean: StepStats,
    /// Fréchet distance of generated to real test images in the judge's feature space.
    pub frechet_distance: Option<f64>,
    /// The judge's class score of generated images.
    pub class_score: Option<ClassScore>,
    /// Seconds the epoch's steps took.
    pub seconds: f64,
}

/// What `train` reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum GanEvent {
    /// Every 50 steps: the epoch, step within it, steps per epoch and the running means.
    Step {
        /// Epoch, from 1.
        epoch: usize,
        /// Steps done in this epoch.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// Means over this epoch so far.
        mean: StepStats,
    },
    /// An epoch ended; its grid and metrics are written.
    Epoch(EpochMetrics),
}

/// A generator with the config it was trained with.
#[derive(Debug, Clone)]
pub struct TrainedGenerator {
    /// The run's config.
    pub config: DcganTrainingConfig,
    /// The generator (no autodiff).
    pub generator: Generator,
}

/// Errors of training or loading a DCGAN.
#[derive(Debug, thiserror::Error)]
pub enum DcganError {
    /// A config value is invalid.
    #[error(transparent)]
    Config(#[from] DcganTrainingConfigError),
    /// A network cannot be built.
    #[error(transparent)]
    Network(#[from] DcganConfigError),
    /// A file could not be written or read.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// An image could not be drawn.
    #[error("drawing {path}: {reason}")]
    Plot {
        /// The image.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The dataset's images do not fit the networks.
    #[error("the dataset has {found}×{found} images, the networks take {expected}×{expected}")]
    ImageSize {
        /// Networks' side.
        expected: usize,
        /// Dataset's side.
        found: usize,
    },
    /// The dataset has fewer images than one batch.
    #[error("{images} training images do not fill one batch of {batch}")]
    TooFewImages {
        /// Images available.
        images: usize,
        /// Batch size.
        batch: usize,
    },
    /// A new run was asked for in a folder that holds a checkpoint.
    #[error("{} already holds a run (checkpoint after epoch {epoch}); resume it or choose another folder", dir.display())]
    ArtifactDirInUse {
        /// The folder.
        dir: PathBuf,
        /// Its last epoch.
        epoch: usize,
    },
    /// Resume was asked for in a folder with no checkpoint.
    #[error("no checkpoint to resume in {}", .0.display())]
    NoCheckpoint(PathBuf),
}

/// How generated images are compared with real ones at the end of each epoch.
#[derive(Debug, Clone)]
pub struct QualityCheck {
    /// The classifier.
    pub judge: Judge,
    /// The judge's feature statistics of real (test) images.
    pub real: FeatureStats,
}

impl QualityCheck {
    /// A check against `real` images (`[n, 1, h, w]` in [−1, 1]).
    pub fn new(judge: Judge, real: Tensor<4>) -> Self {
        let seen = judge.judge(real);
        let real = FeatureStats::from_features(&seen.features, seen.dim);
        Self { judge, real }
    }

    /// Fréchet distance and class score of `images` (`[n, 1, h, w]` in [−1, 1]).
    pub fn score(&self, images: Tensor<4>) -> (f64, ClassScore) {
        let seen = self.judge.judge(images);
        let stats = FeatureStats::from_features(&seen.features, seen.dim);
        (
            frechet_distance(&self.real, &stats),
            class_score(&seen.probabilities, seen.classes),
        )
    }
}

/// Resumable state besides the networks and optimisers.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    epochs_done: usize,
    metrics: Vec<EpochMetrics>,
}

fn checkpoint_epoch(dir: &Path) -> Option<usize> {
    load_json::<RunState>(
        &dir.join(CHECKPOINT_DIR).join("state.json"),
        "DCGAN run state",
    )
    .ok()
    .map(|s| s.epochs_done)
}

/// Standard-normal latent vectors `[count, latent]` from `rng`.
pub fn latent(count: usize, latent: usize, rng: &mut Rng, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..count * latent).map(|_| rng.normal() as f32).collect();
    Tensor::from_data(TensorData::new(values, [count, latent]), device)
}

/// Seed of epoch `epoch`'s shuffling and noise: a function of the run's seed and the epoch
/// only, so a resumed run draws what an uninterrupted one would.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(epoch as u64)
}

/// The fixed latent batch of the sample grids.
fn grid_latent(config: &DcganTrainingConfig, device: &Device) -> Tensor<2> {
    let mut rng = Rng::new(config.seed ^ 0x5eed_6a1d);
    latent(GRID_SAMPLES, config.generator.latent_size, &mut rng, device)
}

/// Trains a DCGAN on `train` and writes into `artifact_dir`: `config.json`; after every epoch
/// `samples/epoch-NNN.png` (64 images from one fixed latent batch, so the same digits can be
/// watched sharpening), `generated_image.png` (the latest grid), `losses.png`,
/// `metrics.json`, and a checkpoint (`checkpoint/`: both networks, both optimisers, the
/// metrics; swapped in whole); at the end `generator.bpk`.
///
/// Every random draw comes from the run's seed (initial weights) and the epoch (batch order,
/// latent noise), on the host, and checkpoints are taken at epoch ends, so a resumed run gives the
/// same weights as an uninterrupted one with the same seed (on the same backend and threads).
///
/// With `quality`, each epoch also scores `quality_samples` generated images against the real
/// test images (Fréchet distance, class score).
///
/// # Errors
/// An invalid config, a dataset that does not fit, an artifact folder that does not fit
/// `mode`, or a file that cannot be written.
pub fn train(
    config: &DcganTrainingConfig,
    train: &ImageDataset,
    device: &Device,
    artifact_dir: &Path,
    mode: RunMode,
    quality: Option<&QualityCheck>,
    mut on_event: impl FnMut(&GanEvent),
) -> Result<TrainedGenerator, DcganError> {
    config.validate()?;
    let side = config.generator.image_size;
    if train.height() != side || train.width() != side {
        return Err(DcganError::ImageSize {
            expected: side,
            found: train.height(),
        });
    }
    let images = train.len();
    if images < config.batch_size {
        return Err(DcganError::TooFewImages {
            images,
            batch: config.batch_size,
        });
    }
    match (mode, checkpoint_epoch(artifact_dir)) {
        (RunMode::New, Some(epoch)) => {
            return Err(DcganError::ArtifactDirInUse {
                dir: artifact_dir.to_path_buf(),
                epoch,
            });
        }
        (RunMode::Resume, None) => {
            return Err(DcganError::NoCheckpoint(artifact_dir.to_path_buf()));
        }
        _ => {}
    }
    save_json(&artifact_dir.join(CONFIG_FILE), config)?;

    let plain = device.clone().inner();
    let train_device = device.clone().autodiff();
    // Initial weights from the seed on the host: the same on every backend, whatever else
    // draws from the device's generator.
    let mut gan = Gan::new(
        config.generator.init_seeded(&train_device, config.seed)?,
        config
            .discriminator
            .init_seeded(&train_device, config.seed.wrapping_add(1))?,
        config.learning_rate,
    );
    let mut state = RunState {
        epochs_done: 0,
        metrics: Vec::new(),
    };
    if mode == RunMode::Resume {
        let dir = artifact_dir.join(CHECKPOINT_DIR);
        gan.generator = load_module(gan.generator, &dir.join("generator.bpk"))?;
        gan.discriminator = load_module(gan.discriminator, &dir.join("discriminator.bpk"))?;
        gan.generator_optim = load_optimizer(dcgan_adam(), &dir.join("generator-adam.bpk"))?;
        gan.discriminator_optim =
            load_optimizer(dcgan_adam(), &dir.join("discriminator-adam.bpk"))?;
        state = load_json(&dir.join("state.json"), "DCGAN run state")?;
    }

    let batcher = ImageBatcher::new(Normalization::Symmetric);
    let steps = images / config.batch_size;
    let fixed = grid_latent(config, &plain);
    for epoch in state.epochs_done + 1..=config.epochs {
        let clock = Instant::now();
        let mut rng = Rng::new(epoch_seed(config.seed, epoch));
        let mut order: Vec<usize> = (0..images).collect();
        rng.shuffle(&mut order);
        let mut sum = StepStats {
            d_loss: 0.0,
            g_loss: 0.0,
            d_real: 0.0,
            d_fake: 0.0,
        };
        for step in 0..steps {
            let items = order[step * config.batch_size..(step + 1) * config.batch_size]
                .iter()
                .filter_map(|&i| train.item(i))
                .collect();
            let real = batcher.batch(items, &train_device).images;
            let z = latent(
                config.batch_size,
                config.generator.latent_size,
                &mut rng,
                &train_device,
            );
            let s = gan.step(real, z);
            sum.d_loss += s.d_loss;
            sum.g_loss += s.g_loss;
            sum.d_real += s.d_real;
            sum.d_fake += s.d_fake;
            if (step + 1) % 50 == 0 || step + 1 == steps {
                on_event(&GanEvent::Step {
                    epoch,
                    step: step + 1,
                    steps,
                    mean: scaled(sum, step + 1),
                });
            }
        }
        let seconds = clock.elapsed().as_secs_f64();
        let generator = gan.generator.valid();
        save_grid(&generator, &fixed, artifact_dir, epoch)?;
        let (frechet, score) = match quality {
            Some(check) => {
                let mut rng = Rng::new(config.seed ^ 0x0051_a71e);
                let z = latent(
                    config.quality_samples,
                    config.generator.latent_size,
                    &mut rng,
                    &plain,
                );
                let images = generate_in_batches(&generator, z);
                let (fd, score) = check.score(images);
                (Some(fd), Some(score))
            }
            None => (None, None),
        };
        let metrics = EpochMetrics {
            epoch,
            mean: scaled(sum, steps),
            frechet_distance: frechet,
            class_score: score,
            seconds,
        };
        state.metrics.push(metrics.clone());
        state.epochs_done = epoch;
        save_json(&artifact_dir.join(METRICS_FILE), &state.metrics)?;
        save_loss_plot(&state.metrics, &artifact_dir.join("losses.png"))?;
        save_checkpoint(artifact_dir, &gan, &state)?;
        on_event(&GanEvent::Epoch(metrics));
    }
    let generator = gan.generator.valid();
    save_module(generator.clone(), &artifact_dir.join(GENERATOR_FILE))?;
    Ok(TrainedGenerator {
        config: config.clone(),
        generator,
    })
}

fn scaled(sum: StepStats, n: usize) -> StepStats {
    let n = n.max(1) as f64;
    StepStats {
        d_loss: sum.d_loss / n,
        g_loss: sum.g_loss / n,
        d_real: sum.d_real / n,
        d_fake: sum.d_fake / n,
    }
}

/// Images for a large latent batch, 500 at a time.
///
/// # Shapes
/// - z: `[n, latent]`
/// - output: `[n, channels, size, size]`
pub fn generate_in_batches(generator: &Generator, z: Tensor<2>) -> Tensor<4> {
    let n = z.dims()[0];
    let parts: Vec<Tensor<4>> = (0..n)
        .step_by(500)
        .map(|start| generator.forward(z.clone().narrow(0, start, 500.min(n - start))))
        .collect();
    Tensor::cat(parts, 0)
}

fn load_optimizer(optim: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer, DcganError> {
    if !path.is_file() {
        return Err(ArtifactError::Io {
            action: "read",
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        }
        .into());
    }
    optim.load(path).map_err(|e| {
        ArtifactError::Weights {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
        .into()
    })
}

fn save_checkpoint(artifact_dir: &Path, gan: &Gan, state: &RunState) -> Result<(), DcganError> {
    replace_dir(&artifact_dir.join(CHECKPOINT_DIR), |dir| {
        save_module(gan.generator.valid(), &dir.join("generator.bpk"))?;
        save_module(gan.discriminator.valid(), &dir.join("discriminator.bpk"))?;
        for (optim, name) in [
            (&gan.generator_optim, "generator-adam.bpk"),
            (&gan.discriminator_optim, "discriminator-adam.bpk"),
        ] {
            let path = dir.join(name);
            let bytes = optim.into_bytes().map_err(|e| ArtifactError::Weights {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            write_atomic(&path, &bytes)?;
        }
        save_json(&dir.join("state.json"), state)?;
        Ok::<(), DcganError>(())
    })
}

/// A grid of images in [−1, 1] (`[n, c, s, s]`), 8 per row, each pixel drawn 3×3, as PNG.
///
/// # Errors
/// [`DcganError::Plot`] if the image cannot be made or written.
pub fn save_image_grid(images: Tensor<4>, path: &Path) -> Result<(), DcganError> {
    let [n, c, h, w] = images.dims();
    let values: Vec<f32> = ((images + 1.0) * 0.5).into_data().iter::<f32>().collect();
    kiln_plot::image_grid(&values, [n, c, h, w], 8, 3)
        .and_then(|grid| grid.save_png(path))
        .map_err(|e| DcganError::Plot {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn save_grid(
    generator: &Generator,
    fixed: &Tensor<2>,
    artifact_dir: &Path,
    epoch: usize,
) -> Result<(), DcganError> {
    let images = generator.forward(fixed.clone());
    let path = artifact_dir
        .join("samples")
        .join(format!("epoch-{epoch:03}.png"));
    save_image_grid(images.clone(), &path)?;
    save_image_grid(images, &artifact_dir.join("generated_image.png"))
}

fn save_loss_plot(metrics: &[EpochMetrics], path: &Path) -> Result<(), DcganError> {
    let series = |name: &str, f: fn(&EpochMetrics) -> f64| {
        kiln_plot::Series::new(
            name,
            metrics.iter().map(|m| (m.epoch as f64, f(m))).collect(),
        )
    };
    kiln_plot::line_chart(
        "DCGAN LOSSES PER EPOCH",
        "EPOCH",
        "MEAN LOSS",
        &[
            series("discriminator", |m| m.mean.d_loss),
            series("generator", |m| m.mean.g_loss),
        ],
    )
    .save_png(path)
    .map_err(|e| DcganError::Plot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Loads the config and generator saved by [`train`] in `dir`, on `device`.
///
/// # Errors
/// A missing or corrupt file, or weights that do not fit the saved config.
pub fn load_generator(dir: &Path, device: &Device) -> Result<TrainedGenerator, DcganError> {
    let config: DcganTrainingConfig = load_json(&dir.join(CONFIG_FILE), "DCGAN config")?;
    config.validate()?;
    let generator = load_module(config.generator.init(device)?, &dir.join(GENERATOR_FILE))?;
    Ok(TrainedGenerator { config, generator })
}

/// The metrics saved by [`train`] in `dir`.
///
/// # Errors
/// A missing or corrupt file.
pub fn load_metrics(dir: &Path) -> Result<Vec<EpochMetrics>, DcganError> {
    Ok(load_json(&dir.join(METRICS_FILE), "DCGAN metrics")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_dcgans_and_valid() {
        let c = DcganTrainingConfig::new();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!((c.batch_size, c.learning_rate), (64, 2e-4));
        assert_eq!(c.generator.latent_size, 100);
    }

    #[test]
    fn each_invalid_value_has_its_error() {
        let c = DcganTrainingConfig::new;
        assert_eq!(
            c().with_epochs(0).validate(),
            Err(DcganTrainingConfigError::ZeroEpochs)
        );
        assert_eq!(
            c().with_batch_size(1).validate(),
            Err(DcganTrainingConfigError::BatchSize(1))
        );
        assert!(matches!(
            c().with_learning_rate(0.0).validate(),
            Err(DcganTrainingConfigError::LearningRate(_))
        ));
        assert_eq!(
            c().with_quality_samples(1).validate(),
            Err(DcganTrainingConfigError::QualitySamples(1))
        );
        assert!(matches!(
            c().with_discriminator(DiscriminatorConfig::new().with_image_size(32))
                .validate(),
            Err(DcganTrainingConfigError::ImageMismatch { .. })
        ));
        assert!(matches!(
            c().with_generator(GeneratorConfig::new().with_latent_size(0))
                .validate(),
            Err(DcganTrainingConfigError::Network(
                DcganConfigError::ZeroLatentSize
            ))
        ));
    }

    #[test]
    fn epoch_seeds_differ_by_epoch_and_run() {
        assert_ne!(epoch_seed(1, 1), epoch_seed(1, 2));
        assert_ne!(epoch_seed(1, 1), epoch_seed(2, 1));
    }
}
