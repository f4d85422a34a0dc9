//! The DCGAN training loop: epochs of D/G steps on real images, in memory, with quality
//! scores.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use kiln_core::{ControlFlow, Progress, Rng};
use serde::{Deserialize, Serialize};

use crate::data::check_pixels;
use crate::quality::ClassScore;
use crate::step::{Gan, StepStats};
use crate::{DcganError, DcganTrainingConfig, Generator, ImageData, QualityCheck};

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Means over the epoch's steps.
    pub mean: StepStats,
    /// Fréchet distance of generated to real images in the judge's feature space.
    pub frechet_distance: Option<f64>,
    /// The judge's class score of generated images.
    pub class_score: Option<ClassScore>,
    /// With a generator average, the Fréchet distance of the trained generator's images (the
    /// scores above are the average's), from the same latent vectors: what the average
    /// adds, epoch by epoch.
    #[serde(default)]
    pub trained_frechet_distance: Option<f64>,
    /// With a generator average, the trained generator's class score.
    #[serde(default)]
    pub trained_class_score: Option<ClassScore>,
    /// Seconds the epoch's steps took.
    pub seconds: f64,
}

/// A generator with the config it was trained with and its metrics.
#[derive(Debug, Clone)]
pub struct TrainedGenerator {
    /// The run's config.
    pub config: DcganTrainingConfig,
    /// The generator to sample from (no autodiff): the moving average of the trained
    /// generator's weights when the config keeps one, the trained generator otherwise; with
    /// re-estimated batch-norm statistics when the config asks for standing statistics.
    pub generator: Generator,
    /// One entry per epoch trained (a resumed run includes the epochs before it).
    pub metrics: Vec<EpochMetrics>,
}

/// Standard-normal latent vectors `[count, latent]` from `rng`.
pub fn latent(count: usize, latent: usize, rng: &mut Rng, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..count * latent).map(|_| rng.normal() as f32).collect();
    Tensor::from_data(TensorData::new(values, [count, latent]), device)
}

/// Trains a DCGAN on `images` in memory and returns the generator with its metrics.
///
/// Every random draw comes from the run's seed (initial weights, drawn on the host) and the
/// epoch (batch order, latent noise), so a run is reproducible on the same backend and
/// threads. With `quality`, each epoch also scores `quality_samples` generated images
/// (Fréchet distance, class score). `on_progress` gets a report every 50 steps (unit
/// [`Unit::Step`](kiln_core::Unit::Step); metrics `epoch`, `d_loss`, `g_loss`, `d_real`, `d_fake`: running means
/// over the epoch) and one closing each epoch (`epoch_end` set; plus `frechet_distance`,
/// `class_coverage`, `confidence` with a quality check, and `trained_frechet_distance` when
/// the config keeps a generator average); `Break` ends the run after the
/// epoch.
///
/// # Errors
/// An invalid config, images whose shape is not the config's, a judge of another size, or
/// fewer images than a batch.
///
/// ```
/// use burn::tensor::Device;
/// use kiln_dcgan::{DcganTrainingConfig, DiscriminatorConfig, GeneratorConfig, ImageSet, train};
/// # fn main() -> Result<(), kiln_dcgan::DcganError> {
/// // 16 three-channel 8×8 images: a small colour DCGAN, one epoch.
/// let images = ImageSet::new((0..16 * 3 * 64).map(|i| ((i % 7) as f32 / 3.0) - 1.0).collect(), [3, 8, 8])?;
/// let config = DcganTrainingConfig::new()
///     .with_generator(GeneratorConfig::new().with_channels(3).with_image_size(8).with_features(4).with_latent_size(8))
///     .with_discriminator(DiscriminatorConfig::new().with_channels(3).with_image_size(8).with_features(4))
///     .with_epochs(1)
///     .with_batch_size(8);
/// let trained = train(&config, &images, &Device::flex(), None, kiln_dcgan::silent)?;
/// assert_eq!(trained.metrics.len(), 1);
/// let z = kiln_dcgan::latent(2, 8, &mut kiln_dcgan::Rng::new(0), &Device::flex());
/// assert_eq!(trained.generator.forward(z).dims(), [2, 3, 8, 8]);
/// # Ok(()) }
/// ```
pub fn train(
    config: &DcganTrainingConfig,
    images: &dyn ImageData,
    device: &Device,
    quality: Option<&QualityCheck>,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedGenerator, DcganError> {
    let mut trainer = Trainer::new(config, images, device, quality)?;
    trainer.fit(images, quality, on_progress, |_| Ok(()))?;
    Ok(trainer.finish())
}

/// The state of a run between epochs: what a checkpoint holds.
pub(crate) struct Trainer {
    config: DcganTrainingConfig,
    gan: Gan,
    metrics: Vec<EpochMetrics>,
    train_device: Device,
    plain: Device,
}

/// The checkpoint of a DCGAN run, listed once: both networks, both optimisers, the metrics.
#[cfg(feature = "run")]
impl kiln_train::Checkpoint for Trainer {
    type Error = DcganError;

    fn done(&self) -> usize {
        self.epochs_done()
    }

    fn parts(&mut self, parts: &mut kiln_train::Parts<'_>) -> Result<(), DcganError> {
        let gan = &mut self.gan;
        parts.module(crate::run::GENERATOR_FILE, &mut gan.generator)?;
        parts.module(crate::run::DISCRIMINATOR_FILE, &mut gan.discriminator)?;
        if let Some(average) = &mut gan.average {
            parts.module(crate::run::AVERAGE_FILE, &mut average.generator)?;
        }
        parts.optimizer("generator-adam.bpk", &mut gan.generator_optim)?;
        parts.optimizer("discriminator-adam.bpk", &mut gan.discriminator_optim)?;
        parts.state(crate::run::METRICS_FILE, "DCGAN metrics", &mut self.metrics)?;
        Ok(())
    }
}

impl Trainer {
    /// Checks the config and data, and builds both networks from the seed.
    pub(crate) fn new(
        config: &DcganTrainingConfig,
        images: &dyn ImageData,
        device: &Device,
        quality: Option<&QualityCheck>,
    ) -> Result<Self, DcganError> {
        config.validate()?;
        let side = config.generator.image_size;
        let expected = [config.generator.channels, side, side];
        if images.shape() != expected {
            return Err(DcganError::ImageShape {
                expected,
                found: images.shape(),
            });
        }
        if let Some(check) = quality {
            let pixels = expected.iter().product();
            if check.judge.input_size() != pixels {
                return Err(DcganError::JudgeInput {
                    judge: check.judge.input_size(),
                    pixels,
                });
            }
        }
        if images.len() < config.batch_size {
            return Err(DcganError::TooFewImages {
                images: images.len(),
                batch: config.batch_size,
            });
        }
        let plain = device.clone().inner();
        let train_device = device.clone().autodiff();
        // Initial weights from the seed on the host: the same on every backend, whatever else
        // draws from the device's generator.
        let gan = Gan::new(
            config.generator.init_seeded(&train_device, config.seed)?,
            config
                .discriminator
                .init_seeded(&train_device, config.seed.wrapping_add(1))?,
            config.learning_rate,
        )
        .with_discriminator_learning_rate(config.discriminator_rate())
        .with_loss(config.gan_loss())
        .with_real_label(config.real_label.unwrap_or(1.0));
        let gan = match &config.augmentation {
            // Reseeded every epoch (`fit`), so a resumed run draws what it would have.
            Some(policy) => gan.with_augmentation(policy.clone(), config.seed),
            None => gan,
        };
        let gan = match config.generator_average {
            Some(decay) => gan.with_generator_average(decay),
            None => gan,
        };
        let gan = match config.standing_statistics {
            Some(n) => {
                let mut rng = Rng::new(config.seed ^ 0x57a7_5eed);
                gan.with_standing_statistics(latent(
                    n,
                    config.generator.latent_size,
                    &mut rng,
                    &plain,
                ))
            }
            None => gan,
        };
        Ok(Self {
            config: config.clone(),
            gan,
            metrics: Vec::new(),
            train_device,
            plain,
        })
    }

    /// Epochs done so far.
    pub(crate) fn epochs_done(&self) -> usize {
        self.metrics.len()
    }

    /// The plain (non-autodiff) device.
    #[cfg(feature = "run")]
    pub(crate) fn plain_device(&self) -> &Device {
        &self.plain
    }

    /// The generator to sample from as it stands (the average when one is kept), without
    /// autodiff: for the run layer's sample grids.
    #[cfg(feature = "run")]
    pub(crate) fn generator(&self) -> Generator {
        self.gan.sampler()
    }

    /// The metrics of the epochs done.
    #[cfg(feature = "run")]
    pub(crate) fn metrics(&self) -> &[EpochMetrics] {
        &self.metrics
    }

    /// Trains the remaining epochs; `at_checkpoint` runs after each (the run layer writes its
    /// grid, metrics and checkpoint there), before the epoch's progress report.
    pub(crate) fn fit(
        &mut self,
        images: &dyn ImageData,
        quality: Option<&QualityCheck>,
        mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
        mut at_checkpoint: impl FnMut(&mut Trainer) -> Result<(), DcganError>,
    ) -> Result<(), DcganError> {
        let steps = images.len() / self.config.batch_size;
        let total = steps * self.config.epochs;
        let done = self.epochs_done();
        if let Some(average) = &mut self.gan.average {
            // One update per step; a resumed run continues the warm-up where it was.
            average.updates = (done * steps) as u64;
        }
        while self.epochs_done() < self.config.epochs {
            let clock = Instant::now();
            let epoch = self.epochs_done() + 1;
            let mut rng = Rng::new(kiln_core::epoch_seed(self.config.seed, epoch));
            // The augmentation draws from a stream of its own, so turning it on changes no
            // batch order and no latent vector.
            self.gan.augmentation_rng =
                Rng::new(kiln_core::epoch_seed(self.config.seed, epoch) ^ 0xa06_3e47);
            let mut order: Vec<usize> = (0..images.len()).collect();
            rng.shuffle(&mut order);
            // Summed on the device, read at progress reports only.
            let mut sum: Option<Tensor<1>> = None;
            let mut stop = false;
            for step in 0..steps {
                let real = self.batch(
                    images,
                    &order[step * self.config.batch_size..][..self.config.batch_size],
                )?;
                let z = latent(
                    self.config.batch_size,
                    self.config.generator.latent_size,
                    &mut rng,
                    &self.train_device,
                );
                // This step's rates (the configured ones without a schedule).
                (self.gan.learning_rate, self.gan.discriminator_learning_rate) =
                    self.config.rates_at((epoch - 1) * steps + step, total);
                let figures = self.gan.step_on_device(real, z);
                sum = Some(match sum.take() {
                    None => figures,
                    Some(s) => s + figures,
                });
                if (step + 1) % 50 == 0 && step + 1 < steps {
                    let read = sum
                        .clone()
                        .map_or(Ok(StepStats::default()), StepStats::read)?;
                    let mut p = read
                        .scaled(step + 1)
                        .progress((epoch - 1) * steps + step + 1, total);
                    p.metrics.insert(0, ("epoch", epoch as f64));
                    p.rate = (step + 1) as f64 / clock.elapsed().as_secs_f64().max(1e-9);
                    stop |= on_progress(&p).is_break();
                }
            }
            let seconds = clock.elapsed().as_secs_f64();
            let (frechet, score) = match quality {
                Some(check) => {
                    let (fd, score) = self.score(check, &self.gan.sampler())?;
                    (Some(fd), Some(score))
                }
                None => (None, None),
            };
            let (trained_frechet, trained_score) = match (quality, &self.gan.average) {
                (Some(check), Some(_)) => {
                    let (fd, score) = self.score(check, &self.gan.generator.valid())?;
                    (Some(fd), Some(score))
                }
                _ => (None, None),
            };
            let mean = sum.map_or(Ok(StepStats::default()), StepStats::read)?;
            let metrics = EpochMetrics {
                epoch,
                mean: mean.scaled(steps),
                frechet_distance: frechet,
                class_score: score,
                trained_frechet_distance: trained_frechet,
                trained_class_score: trained_score,
                seconds,
            };
            self.metrics.push(metrics.clone());
            at_checkpoint(self)?;
            let mut p = metrics
                .mean
                .progress(epoch * steps, total)
                .with_opt("frechet_distance", metrics.frechet_distance)
                .with_opt(
                    "class_coverage",
                    metrics.class_score.as_ref().map(|s| s.class_coverage),
                )
                .with_opt(
                    "confidence",
                    metrics.class_score.as_ref().map(|s| s.mean_confidence),
                )
                .with_opt("trained_frechet_distance", metrics.trained_frechet_distance);
            p.metrics.insert(0, ("epoch", epoch as f64));
            p.epoch_end = Some(epoch);
            p.rate = steps as f64 / seconds.max(1e-9);
            if stop || on_progress(&p).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The images at `indices` as a `[batch, c, h, w]` tensor on the autodiff device.
    fn batch(&self, images: &dyn ImageData, indices: &[usize]) -> Result<Tensor<4>, DcganError> {
        let [c, h, w] = images.shape();
        let size = c * h * w;
        let mut values = Vec::with_capacity(indices.len() * size);
        for &index in indices {
            match images.image(index) {
                Some(v) if v.len() == size => {
                    check_pixels(index, &v)?;
                    values.extend_from_slice(&v);
                }
                _ => {
                    return Err(DcganError::BadImage {
                        index,
                        expected: size,
                    });
                }
            }
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [indices.len(), c, h, w]),
            &self.train_device,
        ))
    }

    /// Quality of `quality_samples` images of `generator` from a fixed latent batch.
    fn score(
        &self,
        check: &QualityCheck,
        generator: &Generator,
    ) -> Result<(f64, ClassScore), DcganError> {
        let mut rng = Rng::new(self.config.seed ^ 0x0051_a71e);
        let z = latent(
            self.config.quality_samples,
            self.config.generator.latent_size,
            &mut rng,
            &self.plain,
        );
        check.score(generate_in_batches(generator, z))
    }

    /// The generator to sample from (the average when one is kept) without autodiff, with
    /// the config and metrics.
    pub(crate) fn finish(self) -> TrainedGenerator {
        TrainedGenerator {
            generator: self.gan.sampler(),
            config: self.config,
            metrics: self.metrics,
        }
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
