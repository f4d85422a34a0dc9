//! The run layer (feature `run`): DQN training in a folder, with checkpoints and resuming.

use std::path::Path;

use burn::tensor::Device;
use kiln_mlp::Mlp;
pub use kiln_train::{CONFIG_FILE, RunDir, RunError, RunMode};
use kiln_train::{load_json, load_module, save_json, save_module};

use crate::dqn::{DqnError, DqnTrainingConfig, QNetwork, TrainedDqn, Trainer};
use crate::{ControlFlow, DiscreteEnvironment, Progress};

/// The trained Q-network's weights inside a run folder.
pub const MODEL_FILE: &str = "model.bpk";
/// Episode returns and losses of the run (JSON).
pub const METRICS_FILE: &str = "metrics.json";
/// What a finished run holds besides `config.json` (sealed by its manifest).
const FINISHED: [&str; 2] = [MODEL_FILE, METRICS_FILE];

/// [`crate::dqn::train`] in the run folder `run` (kiln's [`Mlp`] from `config.network`).
///
/// # Errors
/// As [`train_with`].
pub fn train<E: DiscreteEnvironment>(
    config: &DqnTrainingConfig,
    env: &mut E,
    device: &Device,
    run: &RunDir,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedDqn, DqnError> {
    config.validate()?;
    let network = config.network.init_seeded(device, config.seed)?;
    train_with(config, network, env, device, run, on_progress)
}

/// [`crate::dqn::train_with`] in the run folder `run`: writes `config.json`, a checkpoint
/// every `checkpoint_every` steps (`checkpoint/`: online and target networks, Adam's state,
/// the replay buffer and the loop state, swapped in whole), and at the end `model.bpk` and
/// `metrics.json`. Opened with [`RunMode::Resume`], it continues from the checkpoint's step
/// with its networks, optimiser, buffer and sampling generator (`config.total_steps` may be
/// raised, not lowered below the checkpoint's step: that is
/// [`DqnError::TotalBelowCheckpoint`]).
///
/// # Errors
/// As [`crate::dqn::train_with`], or a checkpoint or file that cannot be read or written.
pub fn train_with<Q: QNetwork, E: DiscreteEnvironment>(
    config: &DqnTrainingConfig,
    network: Q,
    env: &mut E,
    device: &Device,
    run: &RunDir,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedDqn<Q>, DqnError> {
    let mut trainer = Trainer::new(config, network, env, device)?;
    run.restore(&mut trainer)?;
    run.save_config(config)?;
    trainer.fit(env, on_progress, |t| run.save_state(t))?;
    let trained = trainer.finish();
    save_module(trained.network.clone(), &run.file(MODEL_FILE))?;
    save_json(&run.file(METRICS_FILE), &trained.metrics)?;
    run.finish(&FINISHED)?;
    Ok(trained)
}

/// Loads the config, Q-network ([`Mlp`]) and metrics that [`train`] saved in `dir`, on
/// `device`, after checking them against the run's manifest.
///
/// # Errors
/// A missing or corrupt file ([`RunError::Checksum`] for one that differs from the
/// manifest, [`RunError::NoManifest`] for a run that never finished), or weights that
/// do not fit the saved config.
pub fn load_trained(dir: &Path, device: &Device) -> Result<TrainedDqn<Mlp>, DqnError> {
    RunDir::verify_finished(dir, &FINISHED)?;
    let config: DqnTrainingConfig = RunDir::load_config(dir, "DQN config")?;
    config.validate()?;
    let network = load_module(config.network.init(device)?, &dir.join(MODEL_FILE))?;
    let metrics = load_json(&dir.join(METRICS_FILE), "DQN metrics")?;
    Ok(TrainedDqn {
        config,
        network,
        metrics,
    })
}
