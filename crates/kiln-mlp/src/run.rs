//! The run layer (feature `run`): training in a folder that survives the process.
//!
//! [`train`] drives the same loop as [`crate::train`] and, through kiln-train's [`RunDir`],
//! writes `config.json`, a checkpoint after every epoch (`checkpoint/`: weights, optimiser
//! state, metrics, swapped in whole), and at the end `model.bpk` and `metrics.json`;
//! [`load_trained`] reads them back. MNIST and Fashion-MNIST come in through kiln-data's
//! [`NormalizedImages`], which is [`ClassificationData`] here.

use std::path::Path;

use burn::tensor::Device;
pub use kiln_data::NormalizedImages;
pub use kiln_train::{CONFIG_FILE, RunDir, RunError, RunMode};
use kiln_train::{load_json, load_module, save_json, save_module};

use crate::training::Trainer;
use crate::{
    ClassificationData, ControlFlow, Labelled, MlpError, MlpTrainingConfig, Progress, TrainedMlp,
};

/// The trained weights inside a run folder.
pub const MODEL_FILE: &str = "model.bpk";
/// Per-epoch metrics inside a run folder (and its checkpoint).
pub const METRICS_FILE: &str = "metrics.json";
/// What a finished run holds besides `config.json` (sealed by its manifest).
const FINISHED: [&str; 2] = [MODEL_FILE, METRICS_FILE];

impl ClassificationData for NormalizedImages {
    fn len(&self) -> usize {
        NormalizedImages::len(self)
    }

    fn get(&self, index: usize) -> Option<Labelled> {
        NormalizedImages::get(self, index).map(|(features, class)| Labelled { features, class })
    }
}

/// [`crate::train`] in the run folder `run`: resumes from its checkpoint when it was opened
/// with [`RunMode::Resume`] (the weights, optimiser state and metrics of the last complete
/// epoch; `config.epochs` may be raised to train longer), checkpoints after every epoch, and
/// saves `model.bpk`, `metrics.json` and the `manifest.json` of their SHA-256 at the end.
///
/// # Errors
/// As [`crate::train`], or a checkpoint or file that cannot be read or written.
pub fn train(
    config: &MlpTrainingConfig,
    train: &dyn ClassificationData,
    valid: Option<&dyn ClassificationData>,
    device: &Device,
    run: &RunDir,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedMlp, MlpError> {
    train_on_devices(
        config,
        train,
        valid,
        std::slice::from_ref(device),
        run,
        on_progress,
    )
}

/// [`train`], data-parallel over `devices` as [`crate::train_on_devices`]. The checkpoint is
/// the same as a one-device run's, so a run may resume on another number of devices.
///
/// # Errors
/// As [`train`], and [`MlpError::NoDevices`] for an empty list.
pub fn train_on_devices(
    config: &MlpTrainingConfig,
    train: &dyn ClassificationData,
    valid: Option<&dyn ClassificationData>,
    devices: &[Device],
    run: &RunDir,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedMlp, MlpError> {
    let mut trainer = Trainer::new(config, train.len(), devices)?;
    run.restore(&mut trainer)?;
    run.save_config(config)?;
    trainer.fit(train, valid, on_progress, |t| run.save_state(t))?;
    let trained = trainer.finish();
    save_module(trained.model.clone(), &run.file(MODEL_FILE))?;
    save_json(&run.file(METRICS_FILE), &trained.metrics)?;
    run.finish(&FINISHED)?;
    Ok(trained)
}

/// Loads the config, weights and metrics that [`train`] saved in `dir`, on `device`, after
/// checking them against the run's manifest.
///
/// # Errors
/// A missing or malformed file ([`RunError::Checksum`] for one that differs from the
/// manifest, [`RunError::NoManifest`] for a run that never finished), or weights that
/// do not fit the config.
pub fn load_trained(dir: &Path, device: &Device) -> Result<TrainedMlp, MlpError> {
    RunDir::verify_finished(dir, &FINISHED)?;
    let config: MlpTrainingConfig = RunDir::load_config(dir, "MLP training config")?;
    config.validate()?;
    let model = load_module(config.model.init(device)?, &dir.join(MODEL_FILE))?;
    let metrics = load_json(&dir.join(METRICS_FILE), "MLP metrics")?;
    Ok(TrainedMlp {
        config,
        model,
        metrics,
    })
}
