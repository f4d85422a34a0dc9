//! DCGAN (Radford et al. 2016) on Burn: a generator and a discriminator for square images
//! of any channel count (28×28 grayscale by default), trained with the classic GAN losses
//! `L_D = −[log D(x) + log(1 − D(G(z)))]` and `L_G = −log D(G(z))` (computed from logits),
//! with sample quality judged by a `kiln-mlp` classifier (a Fréchet distance between feature
//! distributions and a class score).
//!
//! The core — needs only `burn` and kiln-mlp's core: the networks, the losses, one D/G
//! [`Gan::step`], the quality scores, and [`train`], an in-memory loop over any
//! [`ImageData`]. The run layer — feature `run`, on by default: [`run::train`] writes sample
//! grids, a loss plot, metrics and checkpoints into a folder and resumes;
//! [`run::load_trained`] reloads a generator.
//!
//! ```
//! use burn::tensor::Device;
//! use kiln_dcgan::{GeneratorConfig, Rng, latent};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = Device::flex();
//! let generator = GeneratorConfig::new().init_seeded(&device, 7)?;
//! let z = latent(16, 100, &mut Rng::new(0), &device);
//! let images = generator.forward(z); // [16, 1, 28, 28] in [−1, 1]
//! assert_eq!(images.dims(), [16, 1, 28, 28]);
//! # Ok(()) }
//! ```

mod augment;
mod config;
mod data;
mod error;
mod loss;
mod model;
#[cfg(feature = "pretrained")]
pub mod pretrained;
#[cfg(feature = "pytorch")]
mod pytorch;
mod quality;
#[cfg(feature = "run")]
pub mod run;
mod step;
mod training;

pub use augment::{AugmentDraw, DiffAugment, cutout, translate};
pub use config::{DcganTrainingConfig, Recipe};
pub use data::{ImageData, ImageSet};
pub use error::DcganError;
pub use kiln_core::{ControlFlow, Progress, Rng, Unit, WeightsError, silent};
#[cfg(feature = "pytorch")]
pub use kiln_core::{Precision, PytorchWeights};
pub use kiln_mlp::{LrSchedule, Mlp};
pub use loss::{
    GanLoss, discriminator_loss, generator_loss, hinge_discriminator_loss, hinge_generator_loss,
    smoothed_discriminator_loss, softplus,
};
pub use model::{
    Discriminator, DiscriminatorConfig, DiscriminatorNorm, Generator, GeneratorConfig,
    SpectralNorms, leaky_relu,
};
pub use quality::{
    ClassScore, FeatureStats, Judge, Judgement, QualityCheck, class_score, frechet_distance,
};
pub use step::{Gan, GeneratorAverage, StepStats, dcgan_adam};
pub use training::{EpochMetrics, TrainedGenerator, generate_in_batches, latent, train};

/// Reads a tensor back to the host; a device failure is [`DcganError::Device`] (one line)
/// instead of Burn's panic.
pub(crate) fn read<const D: usize>(
    t: burn::tensor::Tensor<D>,
) -> Result<burn::tensor::TensorData, DcganError> {
    Ok(t.try_into_data().map_err(kiln_core::DeviceError::new)?)
}

/// [`read`] of a one-element tensor, widened to `f64`.
pub(crate) fn read_scalar<const D: usize>(t: burn::tensor::Tensor<D>) -> Result<f64, DcganError> {
    Ok(t.try_into_scalar::<f32>()
        .map(f64::from)
        .map_err(kiln_core::DeviceError::new)?)
}
