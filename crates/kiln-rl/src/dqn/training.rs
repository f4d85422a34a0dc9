//! The DQN training loop, checkpoints, evaluation and reloading.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use burn_rl::Policy;
use kiln_mlp::{Mlp, MlpConfigError};
use kiln_train::{ArtifactError, RunMode, load_json, load_module, save_json, save_module};
use serde::{Deserialize, Serialize};

use super::{
    DqnConfig, DqnConfigError, QPolicy, QPolicyState, ReplayBuffer, Sample, TdLoss, TdTarget,
    hard_update, soft_update, td_targets,
};
use crate::{DiscreteEnvironment, Rng};

/// The training config inside an artifact folder.
pub const CONFIG_FILE: &str = "config.json";
/// The trained Q-network's weights.
pub const MODEL_FILE: &str = "model.bpk";
/// Episode returns and losses of the run (JSON).
pub const METRICS_FILE: &str = "metrics.json";
/// The folder of the last complete checkpoint.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// Episodes whose returns make the progress average.
const AVERAGE_OVER: usize = 20;
/// Gradient steps between recorded loss points (CleanRL logs every 100 steps).
const LOG_EVERY: usize = 100;

/// A finished episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Environment steps done when it ended.
    pub step: usize,
    /// Undiscounted return (sum of rewards).
    pub episode_return: f64,
    /// Steps it lasted.
    pub length: usize,
    /// ε when it ended.
    pub epsilon: f64,
}

/// The TD loss at a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Environment step.
    pub step: usize,
    /// TD loss of the batch.
    pub loss: f64,
    /// Mean `Q(s, a)` of the batch.
    pub mean_q: f64,
}

/// What a run records; saved as `metrics.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Every finished episode.
    pub episodes: Vec<Episode>,
    /// The loss every 100 environment steps once learning has started.
    pub losses: Vec<LossPoint>,
}

/// A snapshot for progress displays, given to `train`'s callback every 1,000 steps and
/// after the last step.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Environment steps done.
    pub step: usize,
    /// Steps in the run.
    pub total_steps: usize,
    /// Current ε.
    pub epsilon: f64,
    /// Finished episodes.
    pub episodes: usize,
    /// Return of the last finished episode.
    pub last_return: Option<f64>,
    /// Mean return of the last 20 episodes.
    pub mean_return: Option<f64>,
    /// Last recorded TD loss.
    pub loss: Option<f64>,
    /// Environment steps per second since this call of `train` began.
    pub steps_per_second: f64,
}

/// A trained Q-network with its config and metrics.
#[derive(Debug, Clone)]
pub struct TrainedDqn {
    /// The run's config.
    pub config: DqnConfig,
    /// The Q-network (no autodiff).
    pub network: Mlp,
    /// Episode returns and losses.
    pub metrics: Metrics,
}

/// Errors of training, evaluating or loading a DQN.
#[derive(Debug, thiserror::Error)]
pub enum DqnError {
    /// A config value is invalid.
    #[error(transparent)]
    Config(#[from] DqnConfigError),
    /// The Q-network cannot be built.
    #[error(transparent)]
    Network(#[from] MlpConfigError),
    /// A file could not be written or read.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The network does not fit the environment.
    #[error(
        "the Q-network maps {inputs} inputs to {outputs} actions, the environment has \
         {observation_size}-value observations and {actions} actions"
    )]
    EnvironmentMismatch {
        /// Network inputs.
        inputs: usize,
        /// Network outputs.
        outputs: usize,
        /// Observation length.
        observation_size: usize,
        /// Environment actions.
        actions: usize,
    },
    /// A new run was asked for in a folder that holds a checkpoint.
    #[error("{} already holds a run (checkpoint at step {step}); resume it or choose another folder", dir.display())]
    ArtifactDirInUse {
        /// The folder.
        dir: PathBuf,
        /// Step of its checkpoint.
        step: usize,
    },
    /// Resume was asked for in a folder with no checkpoint.
    #[error("no checkpoint to resume in {}", .0.display())]
    NoCheckpoint(PathBuf),
}

/// Resumable state besides the networks, optimiser and buffer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoopState {
    step: usize,
    sampling_rng: Rng,
    metrics: Metrics,
}

/// The step of the checkpoint in `dir`, if any.
fn checkpoint_step(dir: &Path) -> Option<usize> {
    load_json::<LoopState>(
        &dir.join(CHECKPOINT_DIR).join("state.json"),
        "DQN loop state",
    )
    .ok()
    .map(|s| s.step)
}

/// Trains a DQN on `env` and writes into `artifact_dir`: `config.json`, a checkpoint every
/// `checkpoint_every` steps (`checkpoint/`: online and target networks, Adam's state, the
/// replay buffer and the loop state, swapped in whole), and at the end `model.bpk` and
/// `metrics.json`. `on_progress` is called every 1,000 steps; returning
/// `ControlFlow::Break(())` ends the run there, saved as if it had reached `total_steps`
/// (a time budget, or a stop once solved).
///
/// The device is seeded with `config.seed` and autodiff is turned on here. Acting uses a
/// copy of the online network without autodiff, refreshed after every gradient step.
/// Resuming continues from the checkpoint's step with its networks, optimiser, buffer and
/// sampling generator; the interrupted episode is not restored (a new one starts), so a
/// resumed run is equivalent to, not identical with, an uninterrupted one.
///
/// # Errors
/// An invalid config, a network that does not fit the environment, an artifact folder that
/// does not fit `mode`, or a file that cannot be written or read.
pub fn train<E: DiscreteEnvironment>(
    config: &DqnConfig,
    env: &mut E,
    device: &Device,
    artifact_dir: &Path,
    mode: RunMode,
    mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedDqn, DqnError> {
    config.validate()?;
    let net = &config.network;
    if net.input_size != env.observation_size() || net.output_size != env.num_actions() {
        return Err(DqnError::EnvironmentMismatch {
            inputs: net.input_size,
            outputs: net.output_size,
            observation_size: env.observation_size(),
            actions: env.num_actions(),
        });
    }
    let existing = checkpoint_step(artifact_dir);
    match (mode, existing) {
        (RunMode::New, Some(step)) => {
            return Err(DqnError::ArtifactDirInUse {
                dir: artifact_dir.to_path_buf(),
                step,
            });
        }
        (RunMode::Resume, None) => return Err(DqnError::NoCheckpoint(artifact_dir.to_path_buf())),
        _ => {}
    }
    save_json(&artifact_dir.join(CONFIG_FILE), config)?;

    device.seed(config.seed);
    let plain = device.clone().inner();
    let train_device = device.clone().autodiff();
    let mut q = config.network.init(&train_device)?;
    let mut target = hard_update(&q);
    let mut optim = optimizer(config);
    let mut buffer = ReplayBuffer::new(config.buffer_size, env.observation_size());
    let mut state = LoopState {
        step: 0,
        sampling_rng: Rng::new(config.seed.wrapping_add(1)),
        metrics: Metrics::default(),
    };
    if mode == RunMode::Resume {
        let dir = artifact_dir.join(CHECKPOINT_DIR);
        q = load_module(q, &dir.join("online.bpk"))?;
        target = load_module(target, &dir.join("target.bpk"))?;
        optim = optim
            .load(dir.join("optimizer.bpk"))
            .map_err(|e| ArtifactError::Weights {
                path: dir.join("optimizer.bpk"),
                reason: e.to_string(),
            })?;
        buffer = load_json(&dir.join("buffer.json"), "replay buffer")?;
        state = load_json(&dir.join("state.json"), "DQN loop state")?;
    }

    let start = state.step;
    let mut policy = QPolicy::new(
        q.valid(),
        config.epsilon(start),
        config.seed.wrapping_add(2).wrapping_add(start as u64),
    );
    env.reset_with_seed(config.seed.wrapping_add(start as u64));
    let mut observation = env.state();
    let (mut episode_return, mut episode_length) = (0.0, 0);
    let mut recent: VecDeque<f64> = state
        .metrics
        .episodes
        .iter()
        .rev()
        .take(AVERAGE_OVER)
        .map(|e| e.episode_return)
        .collect();
    let clock = Instant::now();
    let progress = |state: &LoopState, recent: &VecDeque<f64>| Progress {
        step: state.step,
        total_steps: config.total_steps,
        epsilon: config.epsilon(state.step),
        episodes: state.metrics.episodes.len(),
        last_return: state.metrics.episodes.last().map(|e| e.episode_return),
        mean_return: (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64),
        loss: state.metrics.losses.last().map(|l| l.loss),
        steps_per_second: (state.step - start) as f64 / clock.elapsed().as_secs_f64().max(1e-9),
    };

    for step in start..config.total_steps {
        let epsilon = config.epsilon(step);
        policy.set_epsilon(epsilon);
        let action = policy.act(&observation, &plain);
        let result = env.step(action);
        episode_return += result.reward;
        episode_length += 1;
        buffer.push_step(&observation, action, &result);
        if result.done || result.truncated {
            state.metrics.episodes.push(Episode {
                step: step + 1,
                episode_return,
                length: episode_length,
                epsilon,
            });
            recent.push_front(episode_return);
            recent.truncate(AVERAGE_OVER);
            (episode_return, episode_length) = (0.0, 0);
            env.reset();
            observation = env.state();
        } else {
            observation = result.next_state;
        }

        if step >= config.learning_starts {
            if step % config.train_every == 0 {
                let sample = buffer.sample(config.batch_size, &mut state.sampling_rng, &plain);
                let (updated, loss, mean_q) = gradient_step(config, q, &target, &mut optim, sample);
                q = updated;
                policy.update(QPolicyState(q.valid()));
                if step % LOG_EVERY == 0 {
                    state.metrics.losses.push(LossPoint { step, loss, mean_q });
                }
            }
            if step % config.target_update_every == 0 {
                target = if config.tau >= 1.0 {
                    hard_update(&q)
                } else {
                    soft_update(target, &q, config.tau)
                };
            }
        }

        state.step = step + 1;
        if state.step.is_multiple_of(1000) && on_progress(&progress(&state, &recent)).is_break() {
            break;
        }
        if state.step.is_multiple_of(config.checkpoint_every) && state.step < config.total_steps {
            save_checkpoint(artifact_dir, &q, &target, &optim, &buffer, &state)?;
        }
    }
    if !state.step.is_multiple_of(1000) {
        let _ = on_progress(&progress(&state, &recent));
    }
    save_checkpoint(artifact_dir, &q, &target, &optim, &buffer, &state)?;
    let network = q.valid();
    save_module(network.clone(), &artifact_dir.join(MODEL_FILE))?;
    save_json(&artifact_dir.join(METRICS_FILE), &state.metrics)?;
    Ok(TrainedDqn {
        config: config.clone(),
        network,
        metrics: state.metrics,
    })
}

fn optimizer(config: &DqnConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(1e-8)
        .with_grad_clipping(config.max_grad_norm.map(GradientClippingConfig::Norm))
        .init()
}

/// One gradient step on a sampled batch; returns the updated network, the loss and the
/// batch's mean `Q(s, a)`.
fn gradient_step(
    config: &DqnConfig,
    q: Mlp,
    target: &Mlp,
    optim: &mut ModuleOptimizer,
    sample: Sample,
) -> (Mlp, f64, f64) {
    let batch = config.batch_size;
    // Targets without autodiff, on the plain device.
    let next_q_target = target.forward(sample.next_observations.clone()); // [batch, actions]
    let double = match config.target {
        TdTarget::Dqn => None,
        TdTarget::DoubleDqn => Some(q.valid().forward(sample.next_observations)),
    };
    let y = td_targets(
        sample.rewards,
        sample.not_terminal,
        next_q_target,
        double,
        config.gamma,
    ); // [batch]
    let y = Tensor::from_inner(y);
    let observations = Tensor::from_inner(sample.observations);
    let actions = sample.actions.to_device(&observations.device());
    let q_sa = q.forward(observations).gather(1, actions).reshape([batch]); // [batch]
    let error = q_sa.clone() - y;
    let loss = match config.loss {
        TdLoss::Mse => error.powi_scalar(2).mean(),
        TdLoss::Huber => {
            // 0.5·min(|e|, 1)² + (|e| − min(|e|, 1)): quadratic inside ±1, linear outside.
            let abs = error.abs();
            let inner = abs.clone().clamp_max(1.0);
            (inner.clone().powi_scalar(2) * 0.5 + abs - inner).mean()
        }
    };
    let loss_value = f64::from(loss.clone().into_scalar::<f32>());
    let mean_q = f64::from(q_sa.detach().mean().into_scalar::<f32>());
    let grads = GradientsParams::from_grads(loss.backward(), &q);
    let q = optim.step(config.learning_rate, q, grads);
    (q, loss_value, mean_q)
}

/// Writes the checkpoint and swaps it in whole (see [`kiln_train::replace_dir`]).
fn save_checkpoint(
    artifact_dir: &Path,
    q: &Mlp,
    target: &Mlp,
    optim: &ModuleOptimizer,
    buffer: &ReplayBuffer,
    state: &LoopState,
) -> Result<(), DqnError> {
    kiln_train::replace_dir(&artifact_dir.join(CHECKPOINT_DIR), |dir| {
        save_module(q.valid(), &dir.join("online.bpk"))?;
        save_module(target.clone(), &dir.join("target.bpk"))?;
        let bytes = optim.into_bytes().map_err(|e| ArtifactError::Weights {
            path: dir.join("optimizer.bpk"),
            reason: e.to_string(),
        })?;
        kiln_train::write_atomic(&dir.join("optimizer.bpk"), &bytes)?;
        save_json(&dir.join("buffer.json"), buffer)?;
        save_json(&dir.join("state.json"), state)?;
        Ok(())
    })
}

/// Greedy returns of `episodes` episodes of `network` on `env`, episode `i` starting from
/// the initial state drawn with `seed + i`.
pub fn evaluate<E: DiscreteEnvironment>(
    network: &Mlp,
    env: &mut E,
    episodes: usize,
    seed: u64,
) -> Vec<f64> {
    let device = network.output.weight.device();
    let policy = QPolicy::new(network.clone(), 0.0, seed);
    (0..episodes)
        .map(|i| {
            env.reset_with_seed(seed.wrapping_add(i as u64));
            let mut observation = env.state();
            let mut total = 0.0;
            loop {
                let result = env.step(policy.greedy(&observation, &device));
                total += result.reward;
                if result.done || result.truncated {
                    return total;
                }
                observation = result.next_state;
            }
        })
        .collect()
}

/// Loads the config, Q-network and metrics saved by [`train`] in `dir`, on `device`.
///
/// # Errors
/// A missing or corrupt file, or weights that do not fit the saved config.
pub fn load_trained(dir: &Path, device: &Device) -> Result<TrainedDqn, DqnError> {
    let config: DqnConfig = load_json(&dir.join(CONFIG_FILE), "DQN config")?;
    config.validate()?;
    let network = load_module(config.network.init(device)?, &dir.join(MODEL_FILE))?;
    let metrics = load_json(&dir.join(METRICS_FILE), "DQN metrics")?;
    Ok(TrainedDqn {
        config,
        network,
        metrics,
    })
}
