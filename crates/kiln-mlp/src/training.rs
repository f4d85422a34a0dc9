//! Training the classifier with burn-train's supervised `Learner`.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use kiln_data::{DatasetKind, ImageBatcher, ImageDataset};
use kiln_train::{
    AtomicFileCheckpointer, LineRenderer, RunMode, latest_checkpoint, use_terminal_ui,
};

use crate::{MlpClassifier, MlpConfig, MlpConfigError, MlpError};

/// File name of the training config inside an artifact folder.
pub const CONFIG_FILE: &str = "config.json";
/// File name of the trained weights inside an artifact folder.
pub const MODEL_FILE: &str = "model.bpk";

/// The optimiser.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Adam (β1 0.9, β2 0.999, ε 1e-5: burn's defaults).
    Adam,
    /// Stochastic gradient descent with momentum (`momentum`, no dampening, as PyTorch).
    Sgd,
}

/// How the learning rate changes over a run.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum LrSchedule {
    /// `learning_rate` throughout.
    Constant,
    /// Cosine annealing from `learning_rate` to 1% of it over all the run's iterations.
    Cosine,
}

/// Everything a training run needs besides the data; saved as `config.json` beside the
/// weights, so a run can be reproduced and its model reloaded from the folder alone.
#[derive(Config, Debug)]
pub struct MlpTrainingConfig {
    /// The network.
    #[config(default = "MlpConfig::new()")]
    pub model: MlpConfig,
    /// The dataset trained on; decides the input normalisation.
    #[config(default = "DatasetKind::Mnist")]
    pub dataset: DatasetKind,
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
    /// Images per batch.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Threads that assemble batches.
    #[config(default = 2)]
    pub num_workers: usize,
    /// Training images held out (the last ones of the training split) to validate on after
    /// every epoch, so the test split stays unseen until the final evaluation.
    #[config(default = 5000)]
    pub validation_size: usize,
    /// Seed of the device RNG (weights, dropout) and of the data shuffling.
    #[config(default = 42)]
    pub seed: u64,
}

/// An invalid [`MlpTrainingConfig`] value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainingConfigError {
    /// The network's config is invalid.
    #[error(transparent)]
    Model(#[from] MlpConfigError),
    /// `epochs` is 0.
    #[error("epochs must be at least 1")]
    ZeroEpochs,
    /// `batch_size` is 0.
    #[error("batch_size must be at least 1")]
    ZeroBatchSize,
    /// `learning_rate` is not in `(0, 1]`.
    #[error("learning_rate must be in (0, 1], got {0}")]
    LearningRate(f64),
    /// `validation_size` leaves no training images.
    #[error("validation_size {validation} leaves none of the {total} training images to train on")]
    ValidationSize {
        /// `validation_size`.
        validation: usize,
        /// Images in the training split.
        total: usize,
    },
    /// `momentum` is not in `[0, 1)`.
    #[error("momentum must be in [0, 1), got {0}")]
    Momentum(f64),
    /// The network's input size is not the images' pixel count.
    #[error("model input_size is {model} but the images have {data} pixels")]
    InputSize {
        /// `model.input_size`.
        model: usize,
        /// `height * width` of the data.
        data: usize,
    },
    /// The network's output size is not the dataset's class count.
    #[error("model output_size is {model} but {dataset} has {classes} classes")]
    OutputSize {
        /// `model.output_size`.
        model: usize,
        /// The dataset.
        dataset: DatasetKind,
        /// Its class count.
        classes: usize,
    },
}

impl MlpTrainingConfig {
    /// Checks every value, the network's included.
    ///
    /// # Errors
    /// The first invalid value, as its own [`TrainingConfigError`] variant.
    pub fn validate(&self) -> Result<(), TrainingConfigError> {
        self.model.validate()?;
        if self.epochs == 0 {
            return Err(TrainingConfigError::ZeroEpochs);
        }
        if self.batch_size == 0 {
            return Err(TrainingConfigError::ZeroBatchSize);
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(TrainingConfigError::LearningRate(self.learning_rate));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(TrainingConfigError::Momentum(self.momentum));
        }
        let classes = self.dataset.num_classes();
        if self.model.output_size != classes {
            return Err(TrainingConfigError::OutputSize {
                model: self.model.output_size,
                dataset: self.dataset,
                classes,
            });
        }
        Ok(())
    }

    fn optimizer(&self) -> ModuleOptimizer {
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

    /// The learning-rate scheduler for a run of `iterations` optimiser steps.
    fn scheduler(&self, iterations: usize) -> ModuleLrScheduler {
        match self.lr_schedule {
            LrSchedule::Constant => self.learning_rate.into(),
            LrSchedule::Cosine => {
                CosineAnnealingLrSchedulerConfig::new(self.learning_rate, iterations.max(1))
                    .with_min_lr(self.learning_rate * 0.01)
                    .init()
                    .expect("validate() keeps the learning rate in (0, 1]")
            }
        }
    }
}

impl MlpTrainingConfig {
    /// Splits the training split into (training, validation) parts: the last
    /// `validation_size` images validate.
    ///
    /// # Errors
    /// [`TrainingConfigError::ValidationSize`] when no training image would be left.
    pub fn split(
        &self,
        data: &ImageDataset,
    ) -> Result<(ImageDataset, ImageDataset), TrainingConfigError> {
        let total = data.len();
        if self.validation_size >= total {
            return Err(TrainingConfigError::ValidationSize {
                validation: self.validation_size,
                total,
            });
        }
        let cut = total - self.validation_size;
        Ok((data.slice(0..cut), data.slice(cut..total)))
    }
}

/// Trains a classifier on `train`, validating on `valid` after every epoch, and writes into
/// `artifact_dir`: `config.json`, a checkpoint per epoch (`checkpoint/`, the last two kept,
/// each written atomically), burn-train's metric logs (`train/`, `valid/`) and the final
/// weights `model.bpk`.
///
/// `device` is the plain device; autodiff is turned on here, after seeding it.
/// Progress shows in burn-train's terminal UI when standard output is a terminal, else as a
/// line per epoch.
///
/// # Errors
/// An invalid config, an artifact folder that does not fit `mode`, or a file that cannot
/// be written.
pub fn train(
    config: &MlpTrainingConfig,
    device: &Device,
    train: ImageDataset,
    valid: ImageDataset,
    artifact_dir: &Path,
    mode: RunMode,
) -> Result<MlpClassifier, MlpError> {
    config.validate()?;
    let pixels = train.height() * train.width();
    if config.model.input_size != pixels {
        return Err(TrainingConfigError::InputSize {
            model: config.model.input_size,
            data: pixels,
        }
        .into());
    }
    let resume_from = match (mode, latest_checkpoint(artifact_dir)) {
        (RunMode::New, Some(epoch)) => {
            return Err(MlpError::ArtifactDirInUse {
                dir: artifact_dir.to_path_buf(),
                epoch,
            });
        }
        (RunMode::Resume, None) => return Err(MlpError::NoCheckpoint(artifact_dir.to_path_buf())),
        (_, found) => found,
    };
    kiln_train::save_json(&artifact_dir.join(CONFIG_FILE), config)?;

    device.seed(config.seed);
    let device = device.clone().autodiff();
    let batcher = ImageBatcher::new(config.dataset.standardization());
    let loader = |shuffle: Option<u64>| {
        let b = DataLoaderBuilder::new(batcher.clone())
            .batch_size(config.batch_size)
            .num_workers(config.num_workers)
            .set_device(device.clone());
        match shuffle {
            Some(seed) => b.shuffle(seed),
            None => b,
        }
    };
    let iterations = config.epochs * train.len().div_ceil(config.batch_size);
    let loader_train = loader(Some(config.seed)).build(train);
    let loader_valid = loader(None).build(valid);

    let (model_ck, optim_ck, sched_ck) = AtomicFileCheckpointer::triple(artifact_dir);
    let mut training = SupervisedTraining::new(artifact_dir, loader_train, loader_valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .with_custom_checkpointers(model_ck, optim_ck, sched_ck)
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(2))
        // burn-train would install a global logger writing experiment.log; kiln's programs
        // own the global `tracing` subscriber, so Burn's events go there instead.
        .with_application_logger(None)
        .num_epochs(config.epochs);
    if let Some(epoch) = resume_from {
        training = training.checkpoint(epoch);
    }
    if !use_terminal_ui() {
        training = training.renderer(Box::new(LineRenderer::new()));
    }

    let model = MlpClassifier::new(&config.model, &device)?;
    let result = training.launch(Learner::new(
        model,
        config.optimizer(),
        config.scheduler(iterations),
    ));
    kiln_train::save_module(result.model.clone(), &artifact_dir.join(MODEL_FILE))?;
    Ok(result.model)
}

/// A trained classifier and the config it was trained with, loaded from an artifact folder.
#[derive(Debug)]
pub struct TrainedMlp {
    /// The config the run saved.
    pub config: MlpTrainingConfig,
    /// The trained weights, on the device asked for.
    pub model: MlpClassifier,
    /// The folder they came from.
    pub dir: PathBuf,
}

/// Loads `config.json` and `model.bpk` from an artifact folder written by [`train`].
///
/// # Errors
/// A missing or malformed file, or weights that do not fit the config.
pub fn load_trained(dir: &Path, device: &Device) -> Result<TrainedMlp, MlpError> {
    let config: MlpTrainingConfig =
        kiln_train::load_json(&dir.join(CONFIG_FILE), "MLP training config")?;
    config.validate()?;
    let model = MlpClassifier::new(&config.model, device)?;
    let model = kiln_train::load_module(model, &dir.join(MODEL_FILE))?;
    Ok(TrainedMlp {
        config,
        model,
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_training_config_is_valid() {
        assert_eq!(MlpTrainingConfig::new().validate(), Ok(()));
    }

    #[test]
    fn zero_epochs_is_rejected() {
        let c = MlpTrainingConfig::new().with_epochs(0);
        assert_eq!(c.validate(), Err(TrainingConfigError::ZeroEpochs));
    }

    #[test]
    fn zero_batch_size_is_rejected() {
        let c = MlpTrainingConfig::new().with_batch_size(0);
        assert_eq!(c.validate(), Err(TrainingConfigError::ZeroBatchSize));
    }

    #[test]
    fn bad_learning_rates_are_rejected() {
        for lr in [0.0, -1e-3, 1.5, f64::INFINITY, f64::NAN] {
            let c = MlpTrainingConfig::new().with_learning_rate(lr);
            assert!(
                matches!(c.validate(), Err(TrainingConfigError::LearningRate(_))),
                "{lr}"
            );
        }
    }

    #[test]
    fn bad_momentum_is_rejected() {
        for m in [-0.5, 1.0, f64::NAN] {
            let c = MlpTrainingConfig::new().with_momentum(m);
            assert!(
                matches!(c.validate(), Err(TrainingConfigError::Momentum(_))),
                "{m}"
            );
        }
    }

    #[test]
    fn output_size_must_match_the_classes() {
        let c = MlpTrainingConfig::new().with_model(MlpConfig::new().with_output_size(7));
        assert!(matches!(
            c.validate(),
            Err(TrainingConfigError::OutputSize {
                model: 7,
                classes: 10,
                ..
            })
        ));
    }

    #[test]
    fn invalid_model_is_reported_through_the_training_config() {
        let c = MlpTrainingConfig::new().with_model(MlpConfig::new().with_dropout(2.0));
        assert_eq!(
            c.validate(),
            Err(TrainingConfigError::Model(
                MlpConfigError::DropoutOutOfRange(2.0)
            ))
        );
    }

    #[test]
    fn training_config_round_trips_through_json() {
        let c = MlpTrainingConfig::new()
            .with_dataset(DatasetKind::FashionMnist)
            .with_optimizer(OptimizerKind::Sgd);
        let back: MlpTrainingConfig =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.dataset, DatasetKind::FashionMnist);
        assert_eq!(back.optimizer, OptimizerKind::Sgd);
        assert_eq!(back.model.hidden_sizes, vec![512, 256]);
    }
}
