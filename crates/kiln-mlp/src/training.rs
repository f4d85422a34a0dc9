//! Training the classifier: an epoch loop of shuffled mini-batches, in memory.

use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use kiln_core::{ControlFlow, Progress, Rng, Unit};
use serde::{Deserialize, Serialize};

use crate::{ClassificationData, Labelled, Mlp, MlpConfig, MlpError};

/// The optimiser.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Adam (β1 0.9, β2 0.999, ε 1e-5: burn's defaults).
    Adam,
    /// Stochastic gradient descent with momentum (`momentum`, no dampening, as PyTorch).
    Sgd,
}

kiln_core::named_enum!(OptimizerKind, "optimizer", { Adam => "adam", Sgd => "sgd" });

/// How the learning rate changes over a run.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum LrSchedule {
    /// `learning_rate` throughout.
    Constant,
    /// Cosine annealing from `learning_rate` to 1% of it over all the run's iterations.
    Cosine,
}

kiln_core::named_enum!(LrSchedule, "schedule", { Cosine => "cosine", Constant => "constant" });

impl LrSchedule {
    /// The learning rate of optimiser step `step` (from 0) of a run of `steps` steps that
    /// starts at `rate`: `rate` throughout, or cosine annealing
    /// `min + (rate − min)·(1 + cos(π·step/steps))/2` with `min` = 1% of `rate` (PyTorch's
    /// `CosineAnnealingLR` with `T_max = steps`). A pure function of the step, so a resumed
    /// run needs no scheduler state. Every kiln loop with a schedule uses it (the MLP's, the
    /// DCGAN's).
    pub fn rate(self, rate: f64, step: usize, steps: usize) -> f64 {
        match self {
            LrSchedule::Constant => rate,
            LrSchedule::Cosine => {
                let (max, min) = (rate, rate * 0.01);
                let t = step as f64 / steps.max(1) as f64;
                min + (max - min) * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
            }
        }
    }
}

/// Everything a training run needs besides the data; the run layer saves it as
/// `config.json` beside the weights, so a run can be reproduced and its model reloaded.
#[derive(Config, Debug)]
pub struct MlpTrainingConfig {
    /// The network: its `input_size` is the feature count, its `output_size` the class count.
    #[config(default = "MlpConfig::new()")]
    pub model: MlpConfig,
    /// The optimiser.
    #[config(default = "OptimizerKind::Adam")]
    pub optimizer: OptimizerKind,
    /// Initial learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// How the learning rate evolves.
    #[config(default = "LrSchedule::Cosine")]
    pub lr_schedule: LrSchedule,
    /// Momentum for SGD (ignored by Adam).
    #[config(default = 0.9)]
    pub momentum: f64,
    /// Passes over the training set.
    #[config(default = 10)]
    pub epochs: usize,
    /// Examples per batch.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Seed of the initial weights, dropout and the batch order.
    #[config(default = 42)]
    pub seed: u64,
}

impl MlpTrainingConfig {
    /// Checks every value, the network's included.
    ///
    /// # Errors
    /// The first invalid value, as its own [`MlpError`] variant.
    pub fn validate(&self) -> Result<(), MlpError> {
        self.model.validate()?;
        if self.epochs == 0 {
            return Err(MlpError::ZeroEpochs);
        }
        if self.batch_size == 0 {
            return Err(MlpError::ZeroBatchSize);
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(MlpError::LearningRate(self.learning_rate));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(MlpError::Momentum(self.momentum));
        }
        Ok(())
    }

    pub(crate) fn optimizer(&self) -> ModuleOptimizer {
        match self.optimizer {
            OptimizerKind::Adam => AdamConfig::new().init(),
            OptimizerKind::Sgd => SgdConfig::new()
                .with_momentum(Some(
                    MomentumConfig::new()
                        .with_momentum(self.momentum)
                        .with_dampening(0.0),
                ))
                .init(),
        }
    }

    /// The learning rate of optimiser step `step` (from 0) of a run of `steps` steps
    /// ([`LrSchedule::rate`] from `learning_rate`).
    pub fn learning_rate_at(&self, step: usize, steps: usize) -> f64 {
        self.lr_schedule.rate(self.learning_rate, step, steps)
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's training batches (dropout active).
    pub train_loss: f64,
    /// Fraction of training examples classified correctly during the epoch.
    pub train_accuracy: f64,
    /// Validation loss and accuracy after the epoch, when validation data was given.
    pub valid: Option<(f64, f64)>,
    /// Learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
}

impl EpochMetrics {
    /// The epoch as a progress report (names: `train_loss`, `train_accuracy`, `valid_loss`,
    /// `valid_accuracy`, `learning_rate`).
    pub fn progress(&self, total_epochs: usize) -> Progress {
        let mut p = Progress::new(Unit::Epoch, self.epoch, total_epochs)
            .with("train_loss", self.train_loss)
            .with("train_accuracy", self.train_accuracy)
            .with_opt("valid_loss", self.valid.map(|v| v.0))
            .with_opt("valid_accuracy", self.valid.map(|v| v.1))
            .with("learning_rate", self.learning_rate);
        p.epoch_end = Some(self.epoch);
        p.rate = 1.0 / self.seconds.max(1e-9);
        p
    }
}

/// A trained classifier with its config and per-epoch metrics.
#[derive(Debug, Clone)]
pub struct TrainedMlp {
    /// The config it was trained with.
    pub config: MlpTrainingConfig,
    /// The network, without autodiff, in inference mode (no dropout).
    pub model: Mlp,
    /// One entry per epoch trained (a resumed run includes the epochs before it).
    pub metrics: Vec<EpochMetrics>,
}

/// Trains a classifier on `train` in memory, validating on `valid` after every epoch, and
/// returns it with its metrics. `on_progress` gets each epoch's [`EpochMetrics::progress`];
/// returning `ControlFlow::Break(())` ends the run after that epoch.
///
/// `device` is the plain device: it is seeded with `config.seed` and autodiff is turned on
/// here. The batch order of epoch `e` is drawn from the seed and `e` alone.
///
/// # Errors
/// An invalid config; an example whose feature count is not the network's `input_size`,
/// whose class is not below its `output_size` or that holds a NaN or an infinity
/// ([`MlpError::NonFinite`]); a data source's own error ([`MlpError::DataSource`]); empty
/// training data or empty validation data ([`MlpError::NoExamples`]).
///
/// ```
/// use burn::tensor::Device;
/// use kiln_mlp::{Labelled, MlpConfig, MlpTrainingConfig, train};
/// # fn main() -> Result<(), kiln_mlp::MlpError> {
/// // Two classes on a line: x < 0 or x > 0.
/// let data: Vec<Labelled> = (-50..50)
///     .filter(|&i| i != 0)
///     .map(|i| Labelled::new(vec![i as f32 / 50.0], usize::from(i > 0)))
///     .collect();
/// let config = MlpTrainingConfig::new()
///     .with_model(MlpConfig::new().with_input_size(1).with_hidden_sizes(vec![8]).with_output_size(2))
///     .with_learning_rate(0.05)
///     .with_epochs(30)
///     .with_batch_size(20);
/// let trained = train(&config, &data, None, &Device::flex(), kiln_mlp::silent)?;
/// let last = trained.metrics.last().unwrap();
/// assert!(last.train_accuracy > 0.9, "{last:?}");
/// # Ok(()) }
/// ```
pub fn train(
    config: &MlpTrainingConfig,
    train: &dyn ClassificationData,
    valid: Option<&dyn ClassificationData>,
    device: &Device,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedMlp, MlpError> {
    train_on_devices(
        config,
        train,
        valid,
        std::slice::from_ref(device),
        on_progress,
    )
}

/// [`train`], data-parallel over several devices: every batch of `config.batch_size` is split
/// into one contiguous shard per device; each device runs the forward and backward pass of
/// its shard (on its own thread) with a copy of the weights, its loss weighted by the shard's
/// share of the batch; the gradients are moved to the first device and summed there, and the
/// optimiser steps once on the first device. The sum is the gradient of the whole batch's
/// mean loss, so the run follows the single-device run with the same global batch up to float
/// rounding (tested). This is the main-device strategy of burn-train's `MultiDevice`, built
/// from the same Burn pieces (`Module::fork`, `GradientsParams::to_device`,
/// `GradientsAccumulator`); kiln's loop has no burn-train `Learner` to run it in.
///
/// One device is exactly [`train`]. A device may be listed twice (two sessions on one remote
/// server's device, say); the result is the same. Dropout's masks are drawn on each device
/// (device `i` is seeded with `seed + i`), so with dropout the runs agree in distribution,
/// not number for number.
///
/// # Errors
/// As [`train`], and [`MlpError::NoDevices`] for an empty list.
pub fn train_on_devices(
    config: &MlpTrainingConfig,
    train: &dyn ClassificationData,
    valid: Option<&dyn ClassificationData>,
    devices: &[Device],
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedMlp, MlpError> {
    let mut trainer = Trainer::new(config, train.len(), devices)?;
    trainer.fit(train, valid, on_progress, |_| Ok(()))?;
    Ok(trainer.finish())
}

/// The state of a run between epochs: what a checkpoint holds.
pub(crate) struct Trainer {
    config: MlpTrainingConfig,
    model: Mlp,
    optim: ModuleOptimizer,
    metrics: Vec<EpochMetrics>,
    device: Device,
    /// Every device with autodiff on, the first being `device`; one entry for a plain run.
    devices: Vec<Device>,
    steps_per_epoch: usize,
}

/// The checkpoint of an MLP run, listed once: weights, optimiser state, metrics.
#[cfg(feature = "run")]
impl kiln_train::Checkpoint for Trainer {
    type Error = MlpError;

    fn done(&self) -> usize {
        self.epochs_done()
    }

    fn parts(&mut self, parts: &mut kiln_train::Parts<'_>) -> Result<(), MlpError> {
        parts.module(crate::run::MODEL_FILE, &mut self.model)?;
        parts.optimizer("optimizer.bpk", &mut self.optim)?;
        parts.state(crate::run::METRICS_FILE, "MLP metrics", &mut self.metrics)?;
        Ok(())
    }
}

impl Trainer {
    /// A fresh run: seeds `device` (for dropout's masks), turns on autodiff, builds the
    /// network with its initial weights drawn on the host from the run's seed.
    pub(crate) fn new(
        config: &MlpTrainingConfig,
        examples: usize,
        devices: &[Device],
    ) -> Result<Self, MlpError> {
        config.validate()?;
        if examples == 0 {
            return Err(MlpError::NoExamples);
        }
        if devices.is_empty() {
            return Err(MlpError::NoDevices);
        }
        for (i, d) in devices.iter().enumerate() {
            d.seed(config.seed.wrapping_add(i as u64));
        }
        let devices: Vec<Device> = devices.iter().map(|d| d.clone().autodiff()).collect();
        let device = devices[0].clone();
        Ok(Self {
            config: config.clone(),
            model: config.model.init_seeded(&device, config.seed)?,
            optim: config.optimizer(),
            metrics: Vec::new(),
            steps_per_epoch: examples.div_ceil(config.batch_size),
            device,
            devices,
        })
    }

    /// Epochs done so far.
    pub(crate) fn epochs_done(&self) -> usize {
        self.metrics.len()
    }

    /// Trains the remaining epochs; `at_checkpoint` runs after each (the run layer saves its
    /// checkpoint there), before `on_progress`.
    pub(crate) fn fit(
        &mut self,
        train: &dyn ClassificationData,
        valid: Option<&dyn ClassificationData>,
        mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
        mut at_checkpoint: impl FnMut(&mut Trainer) -> Result<(), MlpError>,
    ) -> Result<(), MlpError> {
        while self.epochs_done() < self.config.epochs {
            let metrics = self.epoch(train, valid)?;
            self.metrics.push(metrics.clone());
            at_checkpoint(self)?;
            if on_progress(&metrics.progress(self.config.epochs)).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// One pass over `train` in an order drawn from the seed and the epoch, then validation.
    fn epoch(
        &mut self,
        train: &dyn ClassificationData,
        valid: Option<&dyn ClassificationData>,
    ) -> Result<EpochMetrics, MlpError> {
        let clock = Instant::now();
        let epoch = self.epochs_done() + 1;
        let mut order: Vec<usize> = (0..train.len()).collect();
        Rng::new(kiln_core::epoch_seed(self.config.seed, epoch)).shuffle(&mut order);
        let total_steps = self.steps_per_epoch * self.config.epochs;
        let loss_fn = CrossEntropyLossConfig::new().init(&self.device);
        // Sums stay on the device and are read once per epoch: no host sync per batch.
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut correct: Option<Tensor<1, Int>> = None;
        let mut lr = self.config.learning_rate;
        for (i, chunk) in order.chunks(self.config.batch_size).enumerate() {
            let step = (epoch - 1) * self.steps_per_epoch + i;
            lr = self.config.learning_rate_at(step, total_steps);
            let (weighted, hits, grads) = if self.devices.len() == 1 {
                let (x, y) = batch(train, chunk, &self.config.model, &self.device)?;
                shard_step(&self.model, x, y, &loss_fn, 1.0)
            } else {
                self.parallel_step(train, chunk)?
            };
            loss_sum = Some(loss_sum.map_or(weighted.clone(), |s| s + weighted));
            correct = Some(correct.map_or(hits.clone(), |c| c + hits));
            self.model = self.optim.step(lr, self.model.clone(), grads);
        }
        let n = train.len() as f64;
        let train_loss = read_f64(loss_sum)? / n;
        let train_accuracy = read_i64(correct)? as f64 / n;
        let valid = match valid {
            Some(v) => {
                let e = evaluate_on(&self.model.valid(), v, self.config.batch_size.max(256))?;
                Some((e.mean_loss, e.accuracy))
            }
            None => None,
        };
        Ok(EpochMetrics {
            epoch,
            train_loss,
            train_accuracy,
            valid,
            learning_rate: lr,
            seconds: clock.elapsed().as_secs_f64(),
        })
    }

    /// One batch over every device (see [`train_on_devices`]): the batch's loss sum and hit
    /// count, and the whole batch's gradients, all on the first device.
    fn parallel_step(
        &self,
        train: &dyn ClassificationData,
        chunk: &[usize],
    ) -> Result<(Tensor<1>, Tensor<1, Int>, GradientsParams), MlpError> {
        let shard_len = chunk.len().div_ceil(self.devices.len());
        // The host side (reading and checking examples) stays on this thread: the data need
        // not be shareable between threads.
        let shards = chunk
            .chunks(shard_len)
            .map(|shard| host_batch(train, shard, &self.config.model))
            .collect::<Result<Vec<_>, _>>()?;
        let (input_size, total) = (self.config.model.input_size, chunk.len() as f64);
        let main = &self.device;
        let outputs = std::thread::scope(|scope| {
            let workers: Vec<_> = shards
                .into_iter()
                .zip(&self.devices)
                .map(|((features, classes), device)| {
                    let model = self.model.clone().fork(device);
                    // A device that panics (Burn's op submission can) becomes a device error.
                    scope.spawn(move || {
                        kiln_core::catch_panic(std::panic::AssertUnwindSafe(|| {
                            // Weighted by the shard's share, the shards' gradients sum to the
                            // gradient of the whole batch's mean loss.
                            let share = classes.len() as f64 / total;
                            let (x, y) = tensors(features, classes, input_size, device);
                            let loss_fn = CrossEntropyLossConfig::new().init(device);
                            let (weighted, hits, grads) = shard_step(&model, x, y, &loss_fn, share);
                            let grads = grads.to_device(main, &model);
                            (weighted.to_device(main), hits.to_device(main), grads)
                        }))
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| match w.join() {
                    Ok(Ok(output)) => Ok(output),
                    Ok(Err(panic)) => Err(MlpError::from(kiln_core::DeviceError::new(panic))),
                    Err(_) => Err(MlpError::from(kiln_core::DeviceError::new(
                        "a device's worker thread panicked",
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut accumulator = GradientsAccumulator::<Mlp>::new();
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut hit_sum: Option<Tensor<1, Int>> = None;
        for (weighted, hits, grads) in outputs {
            accumulator.accumulate(&self.model, grads);
            loss_sum = Some(loss_sum.map_or(weighted.clone(), |s| s + weighted));
            hit_sum = Some(hit_sum.map_or(hits.clone(), |s| s + hits));
        }
        match (loss_sum, hit_sum) {
            (Some(l), Some(h)) => Ok((l, h, accumulator.grads())),
            _ => Err(MlpError::NoExamples),
        }
    }

    /// The trained network without autodiff, with the config and metrics.
    pub(crate) fn finish(self) -> TrainedMlp {
        TrainedMlp {
            model: self.model.valid(),
            config: self.config,
            metrics: self.metrics,
        }
    }
}

fn read_f64(t: Option<Tensor<1>>) -> Result<f64, MlpError> {
    match t {
        None => Ok(0.0),
        Some(t) => Ok(f64::from(
            t.sum()
                .try_into_scalar::<f32>()
                .map_err(kiln_core::DeviceError::new)?,
        )),
    }
}

fn read_i64(t: Option<Tensor<1, Int>>) -> Result<i64, MlpError> {
    match t {
        None => Ok(0),
        Some(t) => Ok(t
            .sum()
            .try_into_scalar::<i64>()
            .map_err(kiln_core::DeviceError::new)?),
    }
}

/// The examples at `indices` as `[batch, input_size]` features and `[batch]` classes, each
/// checked against the network's sizes.
pub(crate) fn batch(
    data: &dyn ClassificationData,
    indices: &[usize],
    model: &MlpConfig,
    device: &Device,
) -> Result<(Tensor<2>, Tensor<1, Int>), MlpError> {
    let (features, classes) = host_batch(data, indices, model)?;
    Ok(tensors(features, classes, model.input_size, device))
}

/// Host features (row by row) and classes as `[n, input_size]` and `[n]` tensors on `device`.
fn tensors(
    features: Vec<f32>,
    classes: Vec<i64>,
    input_size: usize,
    device: &Device,
) -> (Tensor<2>, Tensor<1, Int>) {
    let n = classes.len();
    (
        Tensor::from_data(TensorData::new(features, [n, input_size]), device),
        Tensor::from_data(TensorData::new(classes, [n]), device),
    )
}

/// One forward and backward pass: the examples' summed loss (detached) and hit count, and the
/// gradients of their mean loss times `share` (1 for a whole batch, a shard's share of it in
/// [`train_on_devices`]).
fn shard_step(
    model: &Mlp,
    x: Tensor<2>,
    y: Tensor<1, Int>,
    loss_fn: &CrossEntropyLoss,
    share: f64,
) -> (Tensor<1>, Tensor<1, Int>, GradientsParams) {
    let n = y.dims()[0];
    let logits = model.forward(x); // [n, classes]
    let loss = loss_fn.forward(logits.clone(), y.clone());
    let hits = logits.argmax(1).reshape([n]).equal(y).int().sum();
    let weighted = loss.clone().detach() * n as f64;
    let scaled = if share == 1.0 { loss } else { loss * share };
    (
        weighted,
        hits,
        GradientsParams::from_grads(scaled.backward(), model),
    )
}

/// The host side of [`batch`]: features row by row and classes, checked.
fn host_batch(
    data: &dyn ClassificationData,
    indices: &[usize],
    model: &MlpConfig,
) -> Result<(Vec<f32>, Vec<i64>), MlpError> {
    let mut features = Vec::with_capacity(indices.len() * model.input_size);
    let mut classes = Vec::with_capacity(indices.len());
    for &index in indices {
        let Labelled { features: f, class } = data.try_get(index).map_err(|e| match e {
            None => MlpError::MissingExample { index },
            Some(source) => MlpError::DataSource { index, source },
        })?;
        if f.len() != model.input_size {
            return Err(MlpError::FeatureCount {
                index,
                expected: model.input_size,
                found: f.len(),
            });
        }
        if let Some((feature, value)) = kiln_core::first_non_finite(&f) {
            return Err(MlpError::NonFinite {
                index,
                feature,
                value,
            });
        }
        if class >= model.output_size {
            return Err(MlpError::ClassOutOfRange {
                index,
                class,
                classes: model.output_size,
            });
        }
        features.extend_from_slice(&f);
        classes.push(class as i64);
    }
    Ok((features, classes))
}

pub(crate) use crate::eval::evaluate_on;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_training_config_is_valid() {
        assert!(matches!(MlpTrainingConfig::new().validate(), Ok(())));
    }

    #[test]
    fn zero_epochs_is_rejected() {
        let c = MlpTrainingConfig::new().with_epochs(0);
        assert!(matches!(c.validate(), Err(MlpError::ZeroEpochs)));
    }

    #[test]
    fn zero_batch_size_is_rejected() {
        let c = MlpTrainingConfig::new().with_batch_size(0);
        assert!(matches!(c.validate(), Err(MlpError::ZeroBatchSize)));
    }

    #[test]
    fn bad_learning_rates_are_rejected() {
        for lr in [0.0, -1e-3, 1.5, f64::INFINITY, f64::NAN] {
            let c = MlpTrainingConfig::new().with_learning_rate(lr);
            assert!(
                matches!(c.validate(), Err(MlpError::LearningRate(_))),
                "{lr}"
            );
        }
    }

    #[test]
    fn bad_momentum_is_rejected() {
        for m in [-0.5, 1.0, f64::NAN] {
            let c = MlpTrainingConfig::new().with_momentum(m);
            assert!(matches!(c.validate(), Err(MlpError::Momentum(_))), "{m}");
        }
    }

    #[test]
    fn invalid_model_is_reported_through_the_training_config() {
        let c = MlpTrainingConfig::new().with_model(MlpConfig::new().with_dropout(2.0));
        assert!(matches!(
            c.validate(),
            Err(MlpError::DropoutOutOfRange(2.0))
        ));
    }

    #[test]
    fn training_config_round_trips_through_json() {
        let c = MlpTrainingConfig::new()
            .with_lr_schedule(LrSchedule::Constant)
            .with_optimizer(OptimizerKind::Sgd);
        let back: MlpTrainingConfig =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.lr_schedule, LrSchedule::Constant);
        assert_eq!(back.optimizer, OptimizerKind::Sgd);
        assert_eq!(back.model.hidden_sizes, vec![512, 256]);
    }

    #[test]
    fn cosine_schedule_runs_from_the_rate_to_one_percent() {
        let c = MlpTrainingConfig::new().with_learning_rate(0.1);
        assert!((c.learning_rate_at(0, 100) - 0.1).abs() < 1e-12);
        assert!((c.learning_rate_at(50, 100) - 0.0505).abs() < 1e-12);
        assert!((c.learning_rate_at(100, 100) - 0.001).abs() < 1e-12);
        let flat = c.with_lr_schedule(LrSchedule::Constant);
        assert_eq!(flat.learning_rate_at(70, 100), 0.1);
    }
}
