//! DCGAN (Radford et al. 2016) on Burn: a generator and a discriminator for 28×28 images,
//! trained with the classic GAN losses
//! `L_D = −[log D(x) + log(1 − D(G(z)))]` and `L_G = −log D(G(z))` (computed from logits), with
//! sample grids, checkpoints, and sample quality judged by a `kiln-mlp` classifier (a
//! Fréchet distance between feature distributions and a class score).
//!
//! ```no_run
//! use kiln_dcgan::{GeneratorConfig, latent};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = burn::tensor::Device::default();
//! let generator = GeneratorConfig::new().init(&device)?;
//! let z = latent(16, 100, &mut kiln_train::Rng::new(0), &device);
//! let images = generator.forward(z); // [16, 1, 28, 28] in [−1, 1]
//! # Ok(()) }
//! ```

mod loss;
mod model;
mod quality;
mod step;
mod training;

pub use loss::{discriminator_loss, generator_loss, softplus};
pub use model::{DcganConfigError, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig};
pub use quality::{ClassScore, FeatureStats, Judge, Judgement, class_score, frechet_distance};
pub use step::{Gan, StepStats, dcgan_adam};
pub use training::{
    CHECKPOINT_DIR, CONFIG_FILE, DcganError, DcganTrainingConfig, DcganTrainingConfigError,
    EpochMetrics, GENERATOR_FILE, GRID_SAMPLES, GanEvent, METRICS_FILE, QualityCheck,
    TrainedGenerator, generate_in_batches, latent, load_generator, load_metrics, save_image_grid,
    train,
};
