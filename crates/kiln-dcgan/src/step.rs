//! One DCGAN training step: the discriminator, then the generator.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use kiln_core::Rng;
use kiln_core::module::soft_update;

use crate::loss::{GanLoss, smoothed_discriminator_loss};
use crate::{DcganError, DiffAugment, Discriminator, Generator};

/// Losses and discriminator outputs of one step (means over the batch).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepStats {
    /// `L_D`.
    pub d_loss: f64,
    /// `L_G`.
    pub g_loss: f64,
    /// Mean `D(x)` on the real batch (before the D update; augmented, with an augmentation).
    pub d_real: f64,
    /// Mean `D(G(z))` on the fake batch (before the D update; augmented, with an
    /// augmentation).
    pub d_fake: f64,
}

impl std::ops::Add for StepStats {
    type Output = StepStats;

    /// The element-wise sum.
    fn add(self, o: StepStats) -> StepStats {
        StepStats {
            d_loss: self.d_loss + o.d_loss,
            g_loss: self.g_loss + o.g_loss,
            d_real: self.d_real + o.d_real,
            d_fake: self.d_fake + o.d_fake,
        }
    }
}

impl StepStats {
    /// The figures of a [`Gan::step_on_device`] tensor (or a sum of them), read back.
    ///
    /// # Errors
    /// [`DcganError::Device`] if the device fails.
    pub fn read(t: Tensor<1>) -> Result<StepStats, DcganError> {
        let v: Vec<f64> = crate::read(t)?.iter::<f32>().map(f64::from).collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(f64::NAN);
        Ok(StepStats {
            d_loss: at(0),
            g_loss: at(1),
            d_real: at(2),
            d_fake: at(3),
        })
    }

    /// Divided by `n` (a sum over `n` steps made a mean).
    pub fn scaled(self, n: usize) -> StepStats {
        let n = n.max(1) as f64;
        StepStats {
            d_loss: self.d_loss / n,
            g_loss: self.g_loss / n,
            d_real: self.d_real / n,
            d_fake: self.d_fake / n,
        }
    }

    /// A [`Step`](kiln_core::Unit::Step) progress report with these figures (`d_loss`,
    /// `g_loss`, `d_real`, `d_fake`).
    pub fn progress(self, done: usize, total: usize) -> kiln_core::Progress {
        kiln_core::Progress::new(kiln_core::Unit::Step, done, total)
            .with("d_loss", self.d_loss)
            .with("g_loss", self.g_loss)
            .with("d_real", self.d_real)
            .with("d_fake", self.d_fake)
    }
}

/// The two networks and their optimisers, on an autodiff device.
#[derive(Clone)]
pub struct Gan {
    /// The generator.
    pub generator: Generator,
    /// The discriminator.
    pub discriminator: Discriminator,
    /// Adam for the generator.
    pub generator_optim: ModuleOptimizer,
    /// Adam for the discriminator.
    pub discriminator_optim: ModuleOptimizer,
    /// The generator's learning rate.
    pub learning_rate: f64,
    /// The discriminator's learning rate (the generator's unless set: two time-scale updates,
    /// Heusel et al. 2017, give it another).
    pub discriminator_learning_rate: f64,
    /// The losses (classic unless set).
    pub loss: GanLoss,
    /// The real images' target in the classic discriminator loss (1 unless set: below 1 is
    /// one-sided label smoothing, [`smoothed_discriminator_loss`]).
    pub real_label: f64,
    /// An exponential moving average of the generator's weights, updated after every
    /// generator step, to sample from (none unless set).
    pub average: Option<GeneratorAverage>,
    /// Latent vectors on the plain device on which the sampler re-estimates its batch-norm
    /// statistics ([`Generator::with_batch_statistics`]); none: it keeps its running
    /// statistics.
    pub standing_statistics: Option<Tensor<2>>,
    /// Differentiable augmentation of every image the discriminator sees, in both updates
    /// (none unless set).
    pub augmentation: Option<DiffAugment>,
    /// The augmentation's draws (the training loop reseeds it every epoch).
    pub augmentation_rng: Rng,
}

/// An exponential moving average of a generator's weights (Yazıcı et al. 2019), kept on the
/// plain device beside the trained generator and used to sample: the trained generator
/// oscillates from step to step as the two networks chase each other; the average of its
/// recent weights does not.
///
/// After update `t` (from 1) every float of the generator, batch-norm running statistics
/// included, is `avg ← d·avg + (1 − d)·trained` with `d = min(decay, (1 + t) / (10 + t))`:
/// the warm-up lets the average leave the initial weights within the first few hundred
/// steps instead of the `1 / (1 − decay)` that the full decay would take.
#[derive(Clone, Debug)]
pub struct GeneratorAverage {
    /// The averaged generator (no autodiff).
    pub generator: Generator,
    /// The decay `d` once warmed up, in [0, 1).
    pub decay: f64,
    /// Updates so far.
    pub updates: u64,
}

impl GeneratorAverage {
    /// An average starting at `generator`'s weights.
    pub fn new(generator: &Generator, decay: f64) -> Self {
        Self {
            generator: generator.valid(),
            decay,
            updates: 0,
        }
    }

    /// The decay the next update uses.
    pub fn next_decay(&self) -> f64 {
        let t = (self.updates + 1) as f64;
        self.decay.min((1.0 + t) / (10.0 + t))
    }

    /// Moves the average towards `trained`'s weights (on any device kind: autodiff or not):
    /// [`soft_update`] with `τ = 1 − d`.
    pub fn update(&mut self, trained: &Generator) {
        let tau = 1.0 - self.next_decay();
        self.generator = soft_update(self.generator.clone(), trained, tau);
        self.updates += 1;
    }
}

/// Adam as DCGAN trains: β1 = 0.5, β2 = 0.999 (ε 1e-8 as PyTorch).
pub fn dcgan_adam() -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(0.5)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .init()
}

impl Gan {
    /// Fresh optimisers for `generator` and `discriminator` (both on an autodiff device), one
    /// learning rate for both and the classic losses: the DCGAN paper's recipe.
    pub fn new(generator: Generator, discriminator: Discriminator, learning_rate: f64) -> Self {
        Self {
            generator,
            discriminator,
            generator_optim: dcgan_adam(),
            discriminator_optim: dcgan_adam(),
            learning_rate,
            discriminator_learning_rate: learning_rate,
            loss: GanLoss::Classic,
            real_label: 1.0,
            average: None,
            standing_statistics: None,
            augmentation: None,
            augmentation_rng: Rng::new(0),
        }
    }

    /// The same GAN transforming every image its discriminator sees with `policy`
    /// ([`DiffAugment`]: real and generated images, in both updates, gradients through the
    /// transformation), drawing from `Rng::new(seed)`.
    pub fn with_augmentation(mut self, policy: DiffAugment, seed: u64) -> Self {
        self.augmentation = Some(policy);
        self.augmentation_rng = Rng::new(seed);
        self
    }

    /// `images` as the discriminator is to see them: transformed by a fresh draw of the
    /// augmentation, or as they are without one.
    fn augmented(&mut self, images: Tensor<4>) -> Tensor<4> {
        match &self.augmentation {
            Some(policy) => policy.apply(images, &mut self.augmentation_rng),
            None => images,
        }
    }

    /// The same GAN with the real images' target `real_label` in the classic discriminator
    /// loss (one-sided label smoothing, e.g. 0.9; the hinge loss has no target and ignores
    /// it).
    pub fn with_real_label(mut self, real_label: f64) -> Self {
        self.real_label = real_label;
        self
    }

    /// The same GAN keeping an exponential moving average of its generator's weights with
    /// `decay` ([`GeneratorAverage`]), from the generator as it is now.
    pub fn with_generator_average(mut self, decay: f64) -> Self {
        self.average = Some(GeneratorAverage::new(&self.generator, decay));
        self
    }

    /// The same GAN sampling with batch-norm statistics re-estimated on the latent vectors
    /// `z` (on the plain device, e.g. 2,048 of them) each time a sampler is made.
    pub fn with_standing_statistics(mut self, z: Tensor<2>) -> Self {
        self.standing_statistics = Some(z);
        self
    }

    /// The generator to sample from, without autodiff: the average when one is kept, the
    /// trained generator otherwise; with its batch-norm statistics re-estimated when
    /// [standing statistics](Self::with_standing_statistics) are set.
    pub fn sampler(&self) -> Generator {
        let generator = match &self.average {
            Some(average) => average.generator.clone(),
            None => self.generator.valid(),
        };
        match &self.standing_statistics {
            Some(z) => generator.with_batch_statistics(z.clone()),
            None => generator,
        }
    }

    /// The same GAN with the discriminator stepping at `learning_rate` (two time scales).
    pub fn with_discriminator_learning_rate(mut self, learning_rate: f64) -> Self {
        self.discriminator_learning_rate = learning_rate;
        self
    }

    /// The same GAN training with `loss`.
    pub fn with_loss(mut self, loss: GanLoss) -> Self {
        self.loss = loss;
        self
    }

    /// One discriminator update, then one generator update, on one generated batch (the
    /// generator runs once: its output is detached for the discriminator's update and used
    /// with its graph for the generator's).
    ///
    /// # Shapes
    /// - real: `[batch, channels, size, size]` in [−1, 1]
    /// - z: `[batch, latent_size]`
    ///
    /// # Errors
    /// [`DcganError::Device`] if the device fails.
    pub fn step(&mut self, real: Tensor<4>, z: Tensor<2>) -> Result<StepStats, DcganError> {
        StepStats::read(self.step_on_device(real, z))
    }

    /// [`step`](Self::step) without reading anything back, as PyTorch's loop does not:
    /// `[L_D, L_G, mean D(x), mean D(G(z))]` as a detached `[4]` tensor on the device, to sum
    /// over steps and read once ([`StepStats::read`]). Reading every step would make the host
    /// wait for the device after each one.
    pub fn step_on_device(&mut self, real: Tensor<4>, z: Tensor<2>) -> Tensor<1> {
        let fake = self.generator.forward(z);
        let [d_loss, d_real, d_fake] = self.update_discriminator(real, fake.clone().detach());
        let g_loss = self.update_generator(fake);
        Tensor::cat(vec![d_loss, g_loss, d_real, d_fake], 0)
    }

    /// One discriminator update on `real` and on `G(z)` with the fake images detached, so the
    /// generator gets no gradient and is not changed. Returns `L_D`, mean `D(x)` and mean
    /// `D(G(z))` (before the update).
    ///
    /// # Errors
    /// [`DcganError::Device`] if the device fails.
    pub fn discriminator_step(
        &mut self,
        real: Tensor<4>,
        z: Tensor<2>,
    ) -> Result<(f64, f64, f64), DcganError> {
        let fake = self.generator.forward(z).detach();
        let [d_loss, d_real, d_fake] = self.update_discriminator(real, fake);
        let v = crate::read(Tensor::cat(vec![d_loss, d_real, d_fake], 0))?;
        let v: Vec<f32> = v.iter::<f32>().collect();
        Ok((f64::from(v[0]), f64::from(v[1]), f64::from(v[2])))
    }

    /// One generator update on its loss (`L_G = −log D(G(z))` with the classic losses):
    /// gradients flow through the
    /// discriminator into the generator, and only the generator's parameters are stepped.
    /// Returns `L_G`.
    ///
    /// # Errors
    /// [`DcganError::Device`] if the device fails.
    pub fn generator_step(&mut self, z: Tensor<2>) -> Result<f64, DcganError> {
        let fake = self.generator.forward(z);
        crate::read_scalar(self.update_generator(fake))
    }

    /// The D update; returns `[L_D]`, `[mean D(x)]`, `[mean D(G(z))]`, detached, on the
    /// device.
    fn update_discriminator(&mut self, real: Tensor<4>, fake: Tensor<4>) -> [Tensor<1>; 3] {
        let (real, fake) = (self.augmented(real), self.augmented(fake));
        let real_logits = self.discriminator.forward(real);
        let fake_logits = self.discriminator.forward(fake);
        let mean_sigmoid = |t: &Tensor<2>| sigmoid(t.clone().detach()).mean();
        let (d_real, d_fake) = (mean_sigmoid(&real_logits), mean_sigmoid(&fake_logits));
        let d_loss = match self.loss {
            GanLoss::Classic if self.real_label != 1.0 => {
                smoothed_discriminator_loss(real_logits, fake_logits, self.real_label)
            }
            loss => loss.discriminator(real_logits, fake_logits),
        };
        let value = d_loss.clone().detach();
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.discriminator);
        self.discriminator = self.discriminator_optim.step(
            self.discriminator_learning_rate,
            self.discriminator.clone(),
            grads,
        );
        [value, d_real, d_fake]
    }

    /// The G update; returns `[L_G]`, detached, on the device.
    ///
    /// The discriminator runs with its parameters not requiring gradients (a `no_grad`
    /// clone: the same weights, and the same batch-norm running statistics, which clones
    /// share), so the backward pass computes the gradients that reach the generator and not
    /// the discriminator's weight gradients, which this update would throw away. PyTorch's
    /// reference loop computes and discards them (docs/benchmarks.md, W2).
    fn update_generator(&mut self, fake: Tensor<4>) -> Tensor<1> {
        let fake = self.augmented(fake);
        let frozen = self.discriminator.clone().no_grad();
        let g_loss = self.loss.generator(frozen.forward(fake));
        let value = g_loss.clone().detach();
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.generator);
        self.generator =
            self.generator_optim
                .step(self.learning_rate, self.generator.clone(), grads);
        if let Some(average) = &mut self.average {
            average.update(&self.generator);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::{Device, Distribution};

    use super::*;
    use crate::{DiscriminatorConfig, GeneratorConfig};

    /// Every float of a module: parameters and batch-norm running statistics.
    #[derive(Default)]
    struct Values(Vec<f32>);

    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(param.val().into_data().iter::<f32>());
        }
    }

    fn values(m: &impl Module) -> Vec<f32> {
        let mut v = Values::default();
        m.visit(&mut v);
        v.0
    }

    fn gan(device: &Device) -> Gan {
        let g = GeneratorConfig::new()
            .with_latent_size(8)
            .with_features(4)
            .with_image_size(8);
        let d = DiscriminatorConfig::new()
            .with_features(4)
            .with_image_size(8);
        Gan::new(
            g.init_seeded(device, 0).unwrap(),
            d.init_seeded(device, 1).unwrap(),
            2e-4,
        )
    }

    /// The generator update with the discriminator's parameters not requiring gradients
    /// leaves both networks and the running statistics exactly as the plain form does (the
    /// discriminator's weight gradients it skips were thrown away).
    #[test]
    fn frozen_discriminator_in_the_generator_update_changes_no_result() {
        let device = Device::flex().autodiff();
        let real = Tensor::<4>::random([6, 1, 8, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let z = Tensor::<2>::random([6, 8], Distribution::Normal(0.0, 1.0), &device);
        // Two independent copies (clones would share the running statistics).
        let (mut a, mut b) = (gan(&device), gan(&device));
        for _ in 0..3 {
            let _ = a.step_on_device(real.clone(), z.clone());
            // The plain form: the discriminator as it is, its weight gradients computed.
            let fake = b.generator.forward(z.clone());
            let _ = b.update_discriminator(real.clone(), fake.clone().detach());
            let g_loss = crate::generator_loss(b.discriminator.forward(fake));
            let grads = g_loss.backward();
            let grads = GradientsParams::from_grads(grads, &b.generator);
            b.generator = b
                .generator_optim
                .step(b.learning_rate, b.generator.clone(), grads);
        }
        assert_eq!(values(&a.generator), values(&b.generator));
        assert_eq!(values(&a.discriminator), values(&b.discriminator));
        // It did train (the comparison is not of untouched weights).
        assert_ne!(values(&a.generator), values(&gan(&device).generator));
    }
}
