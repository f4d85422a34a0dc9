//! The DCGAN training config.

use burn::config::Config;

use crate::{
    DcganError, DiffAugment, DiscriminatorConfig, DiscriminatorNorm, GanLoss, GeneratorConfig,
    LrSchedule,
};

/// Everything a DCGAN run needs besides the data; the run layer saves it as `config.json`.
#[derive(Config, Debug)]
pub struct DcganTrainingConfig {
    /// The generator.
    #[config(default = "GeneratorConfig::new()")]
    pub generator: GeneratorConfig,
    /// The discriminator.
    #[config(default = "DiscriminatorConfig::new()")]
    pub discriminator: DiscriminatorConfig,
    /// Passes over the training images.
    #[config(default = 10)]
    pub epochs: usize,
    /// Real (and fake) images per step.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam's learning rate (β1 0.5, β2 0.999): the generator's, and the discriminator's
    /// unless `discriminator_learning_rate` is set.
    #[config(default = 2e-4)]
    pub learning_rate: f64,
    /// The discriminator's own learning rate, for two time-scale updates (TTUR, Heusel et
    /// al. 2017, e.g. 4e-4 with 1e-4 for the generator); `None`: `learning_rate`.
    pub discriminator_learning_rate: Option<f64>,
    /// The losses; `None`: [`GanLoss::Classic`], the DCGAN paper's. (Options are `Option`s
    /// so that a `config.json` written before they existed still reads.)
    pub loss: Option<GanLoss>,
    /// Sample from an exponential moving average of the generator's weights with this decay
    /// (in [0, 1), e.g. 0.999; [`GeneratorAverage`](crate::GeneratorAverage)): the per-epoch
    /// scores, the sample grids and the run's saved generator are the average's. `None`: the
    /// trained generator itself.
    pub generator_average: Option<f64>,
    /// One-sided label smoothing: the real images' target in the classic discriminator loss
    /// (in [0.5, 1], e.g. 0.9; [`smoothed_discriminator_loss`](crate::smoothed_discriminator_loss)).
    /// Not with the hinge loss, which has no target. `None`: 1.
    pub real_label: Option<f64>,
    /// Sample with batch-norm statistics re-estimated on this many latent vectors (2 to
    /// 65,536, e.g. 2,048; [`Generator::with_batch_statistics`](crate::Generator::with_batch_statistics))
    /// instead of the running statistics: the scores, grids and saved generator use them.
    /// `None`: the running statistics.
    pub standing_statistics: Option<usize>,
    /// How both learning rates change over the run's steps: with
    /// [`LrSchedule::Cosine`] each anneals from its rate to 1% of it
    /// ([`LrSchedule::rate`], step by step over every epoch). `None`: constant.
    pub lr_schedule: Option<LrSchedule>,
    /// Differentiable augmentation ([`DiffAugment`], Zhao et al. 2020) of every image the
    /// discriminator sees, real and generated, in both updates. `None`: none.
    pub augmentation: Option<DiffAugment>,
    /// Generated images scored by the judge at the end of every epoch.
    #[config(default = 2000)]
    pub quality_samples: usize,
    /// Seed of the weights, the batch order and the latent noise.
    #[config(default = 42)]
    pub seed: u64,
}

/// A named set of the training options that are not the networks' sizes, the data or the
/// seed: learning rates and their schedule, losses, label smoothing, generator average,
/// standing statistics, augmentation, the discriminator's normalisation.
///
/// [`DcganTrainingConfig::new`] is the classic recipe (the DCGAN paper's, PyTorch's: what a
/// `config.json` without the recipe options reads as); the `dcgan` example and
/// `Recipe::default()` train with [`Recipe::Kiln`], which beats it on MNIST and
/// Fashion-MNIST at 10 epochs (docs/dcgan.md, "Recipes").
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// The DCGAN paper's (Radford et al. 2016), as PyTorch's DCGAN trains:
    /// `L_G = −log D(G(z))`, `L_D = −[log D(x) + log(1 − D(G(z)))]`, Adam 2e-4 for both
    /// networks, a batch-normalised discriminator; what [`DcganTrainingConfig::new`] gives.
    Classic,
    /// kiln's: the classic losses, a spectrally normalised discriminator
    /// ([`DiscriminatorNorm::Spectral`]), two time scales with the generator the faster
    /// (Adam 1.6e-3 for the generator, 4e-4 for the discriminator), and samples from the
    /// generator's average with decay 0.999 ([`GeneratorAverage`](crate::GeneratorAverage)).
    Kiln,
}

kiln_core::named_enum!(Recipe, "DCGAN recipe", { Classic => "classic", Kiln => "kiln" });

impl Default for Recipe {
    /// [`Recipe::Kiln`], what the `dcgan` example trains with.
    fn default() -> Self {
        Recipe::Kiln
    }
}

impl DcganTrainingConfig {
    /// This config with `recipe`'s options (every recipe option is set, the discriminator's
    /// normalisation included, so the result does not depend on the options before). Give
    /// the networks first: a `with_discriminator` after it replaces the normalisation the
    /// recipe chose.
    pub fn with_recipe(mut self, recipe: Recipe) -> Self {
        // (generator rate, discriminator rate, generator average, discriminator norm); the
        // other options are the classic recipe's in both.
        let (rate, discriminator_rate, average, norm) = match recipe {
            Recipe::Classic => (2e-4, None, None, None),
            Recipe::Kiln => (
                1.6e-3,
                Some(4e-4),
                Some(0.999),
                Some(DiscriminatorNorm::Spectral),
            ),
        };
        self.discriminator.norm = norm;
        self.with_learning_rate(rate)
            .with_discriminator_learning_rate(discriminator_rate)
            .with_loss(Some(GanLoss::Classic))
            .with_generator_average(average)
            .with_real_label(None)
            .with_standing_statistics(None)
            .with_lr_schedule(None)
            .with_augmentation(None)
    }

    /// The losses the run trains with.
    pub fn gan_loss(&self) -> GanLoss {
        self.loss.unwrap_or(GanLoss::Classic)
    }

    /// The discriminator's learning rate.
    pub fn discriminator_rate(&self) -> f64 {
        self.discriminator_learning_rate
            .unwrap_or(self.learning_rate)
    }

    /// The generator's and the discriminator's learning rates at step `step` (from 0) of a
    /// run of `steps` steps, after the schedule.
    pub fn rates_at(&self, step: usize, steps: usize) -> (f64, f64) {
        let schedule = self.lr_schedule.unwrap_or(LrSchedule::Constant);
        (
            schedule.rate(self.learning_rate, step, steps),
            schedule.rate(self.discriminator_rate(), step, steps),
        )
    }

    /// Checks every value.
    ///
    /// # Errors
    /// The first invalid value.
    pub fn validate(&self) -> Result<(), DcganError> {
        self.generator.validate()?;
        self.discriminator.validate()?;
        let g = (self.generator.channels, self.generator.image_size);
        let d = (self.discriminator.channels, self.discriminator.image_size);
        if g != d {
            return Err(DcganError::ImageMismatch {
                generator: g,
                discriminator: d,
            });
        }
        if self.epochs == 0 {
            return Err(DcganError::ZeroEpochs);
        }
        if self.batch_size < 2 {
            return Err(DcganError::BatchSize(self.batch_size));
        }
        let in_range = |rate: f64| rate > 0.0 && rate <= 1.0;
        if !in_range(self.learning_rate) {
            return Err(DcganError::LearningRate(self.learning_rate));
        }
        if let Some(rate) = self.discriminator_learning_rate.filter(|&r| !in_range(r)) {
            return Err(DcganError::DiscriminatorLearningRate(rate));
        }
        if let Some(decay) = self.generator_average.filter(|d| !(0.0..1.0).contains(d)) {
            return Err(DcganError::GeneratorAverage(decay));
        }
        if let Some(label) = self.real_label {
            if !(0.5..=1.0).contains(&label) {
                return Err(DcganError::RealLabel(label));
            }
            if self.gan_loss() == GanLoss::Hinge && label != 1.0 {
                return Err(DcganError::RealLabelWithHinge);
            }
        }
        if let Some(n) = self
            .standing_statistics
            .filter(|n| !(2..=65_536).contains(n))
        {
            return Err(DcganError::StandingStatistics(n));
        }
        if let Some(policy) = &self.augmentation {
            policy.validate()?;
        }
        if self.quality_samples < 2 {
            return Err(DcganError::QualitySamples(self.quality_samples));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_dcgans_and_valid() {
        let c = DcganTrainingConfig::new();
        assert!(matches!(c.validate(), Ok(())));
        assert_eq!((c.batch_size, c.learning_rate), (64, 2e-4));
        assert_eq!(c.generator.latent_size, 100);
    }

    /// A `config.json` written before the recipe options existed still reads, as the
    /// classic recipe.
    #[test]
    fn a_config_without_the_recipe_options_reads_as_the_classic_recipe() {
        let mut json = serde_json::to_value(DcganTrainingConfig::new()).unwrap();
        let fields = json.as_object_mut().unwrap();
        assert!(fields.remove("loss").is_some());
        assert!(fields.remove("discriminator_learning_rate").is_some());
        assert!(fields.remove("generator_average").is_some());
        assert!(fields.remove("real_label").is_some());
        assert!(fields.remove("standing_statistics").is_some());
        assert!(fields.remove("lr_schedule").is_some());
        assert!(fields.remove("augmentation").is_some());
        let old: DcganTrainingConfig = serde_json::from_value(json).unwrap();
        assert_eq!(old.gan_loss(), GanLoss::Classic);
        assert_eq!(old.generator_average, None);
        assert_eq!(old.real_label, None);
        assert_eq!(old.discriminator_rate(), old.learning_rate);
        assert_eq!(
            old.rates_at(900, 1000),
            (old.learning_rate, old.learning_rate)
        );
    }

    /// Both rates follow the schedule: from their own rate at the first step to 1% of it
    /// at the end, half-way between at the middle; constant without one.
    #[test]
    fn the_schedule_anneals_both_rates() {
        let c = DcganTrainingConfig::new()
            .with_learning_rate(4e-4)
            .with_discriminator_learning_rate(Some(1e-4));
        assert_eq!(c.rates_at(500, 1000), (4e-4, 1e-4));
        let c = c.with_lr_schedule(Some(LrSchedule::Cosine));
        assert_eq!(c.rates_at(0, 1000), (4e-4, 1e-4));
        let close = |(g, d): (f64, f64), (eg, ed): (f64, f64)| {
            assert!((g - eg).abs() < 1e-15 && (d - ed).abs() < 1e-15, "{g}, {d}");
        };
        close(c.rates_at(500, 1000), (4e-4 * 0.505, 1e-4 * 0.505));
        close(c.rates_at(1000, 1000), (4e-6, 1e-6));
    }

    /// The classic recipe is the seed's formulation, and `new()`'s; the kiln recipe (the
    /// default one) is another config, whatever the config had before.
    #[test]
    fn recipes_set_every_option() {
        let spectral = DiscriminatorConfig::new().with_norm(Some(DiscriminatorNorm::Spectral));
        let classic = DcganTrainingConfig::new()
            .with_discriminator(spectral)
            .with_generator_average(Some(0.9))
            .with_recipe(Recipe::Classic);
        assert_eq!(
            (classic.learning_rate, classic.discriminator_rate()),
            (2e-4, 2e-4)
        );
        assert_eq!(classic.gan_loss(), GanLoss::Classic);
        assert_eq!(
            (
                classic.generator_average,
                classic.real_label,
                classic.standing_statistics
            ),
            (None, None, None)
        );
        assert_eq!(classic.lr_schedule, None);
        assert_eq!(classic.discriminator.norm, None);
        assert_eq!(classic.batch_size, 64);
        let new = DcganTrainingConfig::new();
        assert_eq!(
            (new.learning_rate, new.discriminator_rate(), new.gan_loss()),
            (2e-4, 2e-4, GanLoss::Classic)
        );
        assert_eq!(
            (new.generator_average, new.discriminator.norm),
            (None, None)
        );
        assert_eq!(Recipe::default(), Recipe::Kiln);
        let kiln = DcganTrainingConfig::new()
            .with_real_label(Some(0.9))
            .with_lr_schedule(Some(LrSchedule::Cosine))
            .with_augmentation(Some(DiffAugment::new()))
            .with_recipe(Recipe::Kiln);
        assert_eq!(
            (kiln.learning_rate, kiln.discriminator_rate()),
            (1.6e-3, 4e-4)
        );
        assert_eq!(kiln.gan_loss(), GanLoss::Classic);
        assert_eq!(
            (kiln.generator_average, kiln.real_label, kiln.lr_schedule),
            (Some(0.999), None, None)
        );
        assert_eq!(kiln.discriminator.norm, Some(DiscriminatorNorm::Spectral));
        assert_eq!(kiln.augmentation, None);
        assert_eq!(kiln.batch_size, 64);
        assert!(matches!(kiln.validate(), Ok(())));
        assert_eq!("kiln".parse::<Recipe>(), Ok(Recipe::Kiln));
        assert_eq!("classic".parse::<Recipe>(), Ok(Recipe::Classic));
    }

    #[test]
    fn each_invalid_value_has_its_error() {
        let c = DcganTrainingConfig::new;
        assert!(matches!(
            c().with_epochs(0).validate(),
            Err(DcganError::ZeroEpochs)
        ));
        assert!(matches!(
            c().with_batch_size(1).validate(),
            Err(DcganError::BatchSize(1))
        ));
        assert!(matches!(
            c().with_learning_rate(0.0).validate(),
            Err(DcganError::LearningRate(_))
        ));
        assert!(matches!(
            c().with_discriminator_learning_rate(Some(f64::NAN))
                .validate(),
            Err(DcganError::DiscriminatorLearningRate(_))
        ));
        for decay in [1.0, -0.1, f64::NAN] {
            assert!(matches!(
                c().with_generator_average(Some(decay)).validate(),
                Err(DcganError::GeneratorAverage(_))
            ));
        }
        for label in [0.4, 1.1, f64::NAN] {
            assert!(matches!(
                c().with_real_label(Some(label)).validate(),
                Err(DcganError::RealLabel(_))
            ));
        }
        assert!(matches!(
            c().with_loss(Some(GanLoss::Hinge))
                .with_real_label(Some(0.9))
                .validate(),
            Err(DcganError::RealLabelWithHinge)
        ));
        for n in [0, 1, 65_537] {
            assert!(matches!(
                c().with_standing_statistics(Some(n)).validate(),
                Err(DcganError::StandingStatistics(_))
            ));
        }
        for (translation, cutout) in [(0.6, 0.5), (0.125, 1.5), (f64::NAN, 0.5), (0.1, -0.1)] {
            let policy = DiffAugment::new()
                .with_translation(translation)
                .with_cutout(cutout);
            assert!(matches!(
                c().with_augmentation(Some(policy)).validate(),
                Err(DcganError::Augmentation { .. })
            ));
        }
        assert!(matches!(
            c().with_quality_samples(1).validate(),
            Err(DcganError::QualitySamples(1))
        ));
        assert!(matches!(
            c().with_discriminator(DiscriminatorConfig::new().with_image_size(32))
                .validate(),
            Err(DcganError::ImageMismatch { .. })
        ));
        assert!(matches!(
            c().with_generator(GeneratorConfig::new().with_latent_size(0))
                .validate(),
            Err(DcganError::ZeroLatentSize)
        ));
    }
}
