//! (e) kiln's DCGAN on the application's own colour images, in memory.

use kiln_dcgan::{
    DcganTrainingConfig, DiscriminatorConfig, GeneratorConfig, ImageSet, Rng, latent, train,
};

use crate::Error;

/// What the run measured.
#[derive(Debug)]
pub struct Report {
    /// Epochs trained.
    pub epochs: usize,
    /// The last epoch's mean discriminator and generator losses.
    pub losses: (f64, f64),
    /// `[n, c, h, w]` of a generated batch.
    pub generated: [usize; 4],
    /// Mean absolute difference between the mean generated image and the mean training
    /// image, in `[−1, 1]` units: how far the generator is from the data's average colour.
    pub mean_image_gap: f64,
    /// The same for the generator as initialised, before training.
    pub untrained_gap: f64,
}

/// 256 three-channel 8×8 images: a red-to-blue horizontal gradient with noise.
fn gradients(rng: &mut Rng) -> Vec<f32> {
    let mut values = Vec::with_capacity(256 * 3 * 64);
    for _ in 0..256 {
        for channel in 0..3 {
            for _row in 0..8 {
                for col in 0..8 {
                    let t = col as f64 / 7.0;
                    let base = match channel {
                        0 => 1.0 - 2.0 * t, // red fades
                        1 => -0.5,          // little green
                        _ => 2.0 * t - 1.0, // blue grows
                    };
                    values.push((base + 0.1 * rng.normal()).clamp(-1.0, 1.0) as f32);
                }
            }
        }
    }
    values
}

/// Trains a small colour DCGAN for 15 epochs on [`gradients`].
///
/// # Errors
/// A config or data error from kiln-dcgan.
pub fn run() -> Result<Report, Error> {
    let device = crate::device();
    let values = gradients(&mut Rng::new(3));
    let images = ImageSet::new(values.clone(), [3, 8, 8])?;
    let config = DcganTrainingConfig::new()
        .with_generator(
            GeneratorConfig::new()
                .with_channels(3)
                .with_image_size(8)
                .with_features(16)
                .with_latent_size(16),
        )
        .with_discriminator(
            DiscriminatorConfig::new()
                .with_channels(3)
                .with_image_size(8)
                .with_features(16),
        )
        .with_epochs(15)
        .with_batch_size(32)
        .with_learning_rate(1e-3);
    let trained = train(&config, &images, &device, None, kiln_dcgan::silent)?;
    let z = latent(256, 16, &mut Rng::new(4), &device);
    let generated = trained.generator.forward(z.clone());
    let dims = generated.dims();
    let mut real = vec![0.0f64; 3 * 64];
    for (i, v) in values.iter().enumerate() {
        real[i % (3 * 64)] += f64::from(*v) / 256.0;
    }
    let gap = |images: burn::tensor::Tensor<4>| {
        let fake: Vec<f32> = images.mean_dim(0).into_data().iter::<f32>().collect();
        real.iter()
            .zip(&fake)
            .map(|(r, f)| (r - f64::from(*f)).abs())
            .sum::<f64>()
            / real.len() as f64
    };
    // The same generator as `train` starts from (its weights come from the seed).
    let untrained = config.generator.init_seeded(&device, config.seed)?;
    let untrained_gap = gap(untrained.forward(z));
    let last = trained.metrics.last().ok_or("no epoch trained")?;
    Ok(Report {
        epochs: trained.metrics.len(),
        losses: (last.mean.d_loss, last.mean.g_loss),
        generated: dims,
        mean_image_gap: gap(generated),
        untrained_gap,
    })
}
