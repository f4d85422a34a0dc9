//! The DQN training loop and evaluation, in memory.

use std::collections::VecDeque;
use std::time::Instant;

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use burn_rl::Policy;
use kiln_core::{ControlFlow, Progress, Unit};
use kiln_mlp::Mlp;
use serde::{Deserialize, Serialize};

use super::network::{check_fit, checked};
use super::{
    DqnError, DqnMetrics, DqnTrainingConfig, Episode, LossPoint, QNetwork, QPolicy, QPolicyState,
    ReplayBuffer, Sample, TdTarget, hard_update, soft_update, td_loss, td_targets,
};
use crate::{DiscreteEnvironment, Rng};

/// Episodes whose returns make the progress average.
const AVERAGE_OVER: usize = 20;
/// Gradient steps between recorded loss points (CleanRL logs every 100 steps).
const LOG_EVERY: usize = 100;

/// A trained Q-network with its config and metrics.
#[derive(Debug, Clone)]
pub struct TrainedDqn<Q: QNetwork = Mlp> {
    /// The run's config.
    pub config: DqnTrainingConfig,
    /// The Q-network (no autodiff).
    pub network: Q,
    /// Episode returns and losses.
    pub metrics: DqnMetrics,
}

/// Resumable state besides the networks, optimiser and buffer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoopState {
    step: usize,
    sampling_rng: Rng,
    metrics: DqnMetrics,
}

/// Trains a DQN with kiln's [`Mlp`] as the Q-network (`config.network`, its initial weights
/// drawn on the host from `config.seed`) on `env`, in memory. See [`train_with`].
///
/// # Errors
/// As [`train_with`], or an invalid network config.
///
/// ```
/// use burn::tensor::Device;
/// use kiln_rl::{Chain, dqn::{self, DqnTrainingConfig}};
/// use kiln_rl::MlpConfig;
/// # fn main() -> Result<(), kiln_rl::dqn::DqnError> {
/// // A 4-state corridor: walking right for 3 steps earns 1.
/// let mut env = Chain::new(4).unwrap();
/// let config = DqnTrainingConfig::new()
///     .with_network(MlpConfig::new().with_input_size(4).with_hidden_sizes(vec![16]).with_output_size(2).with_dropout(0.0))
///     .with_total_steps(3_000)
///     .with_learning_starts(200)
///     .with_batch_size(32)
///     .with_buffer_size(3_000)
///     .with_train_every(1)
///     .with_target_update_every(50)
///     .with_learning_rate(0.01);
/// let trained = dqn::train(&config, &mut env, &Device::flex(), kiln_rl::silent)?;
/// let returns = dqn::evaluate(&trained.network, &mut env, 3, 0)?;
/// assert_eq!(returns, vec![1.0; 3]);
/// # Ok(()) }
/// ```
pub fn train<E: DiscreteEnvironment>(
    config: &DqnTrainingConfig,
    env: &mut E,
    device: &Device,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedDqn, DqnError> {
    config.validate()?;
    let network = config.network.init_seeded(device, config.seed)?;
    train_with(config, network, env, device, on_progress)
}

/// Trains a DQN on `env` in memory with the Q-network `network` (any [`QNetwork`], on any
/// device: it is forked onto `device` with autodiff), and returns it with its metrics.
/// `config.network` is not used.
///
/// `on_progress` gets a report every 1,000 environment steps and after the last one (unit
/// [`Unit::EnvStep`]; metrics `epsilon`, `episodes`, `last_return`, `mean_return` (last 20
/// episodes), `loss`); `ControlFlow::Break(())` ends the run there (a time budget, or a stop
/// once solved). Acting uses a copy of the online network without autodiff, refreshed after
/// every gradient step.
///
/// # Errors
/// An invalid config, or a network that does not fit the environment.
pub fn train_with<Q: QNetwork, E: DiscreteEnvironment>(
    config: &DqnTrainingConfig,
    network: Q,
    env: &mut E,
    device: &Device,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedDqn<Q>, DqnError> {
    let mut trainer = Trainer::new(config, network, env, device)?;
    trainer.fit(env, on_progress, |_| Ok(()))?;
    Ok(trainer.finish())
}

/// The whole state of a DQN run: what a checkpoint holds.
pub(crate) struct Trainer<Q: QNetwork> {
    config: DqnTrainingConfig,
    q: Q,
    target: Q,
    optim: ModuleOptimizer,
    buffer: ReplayBuffer,
    state: LoopState,
    plain: Device,
    /// The environment's sizes, which a restored replay buffer must fit.
    #[cfg(feature = "run")]
    observation_size: usize,
    #[cfg(feature = "run")]
    num_actions: usize,
}

/// The checkpoint of a DQN run, listed once: both networks, Adam's state, the replay buffer
/// and the loop state (step, sampling generator, metrics).
#[cfg(feature = "run")]
impl<Q: QNetwork> kiln_train::Checkpoint for Trainer<Q> {
    type Error = DqnError;

    fn done(&self) -> usize {
        self.state.step
    }

    fn parts(&mut self, parts: &mut kiln_train::Parts<'_>) -> Result<(), DqnError> {
        parts.module("online.bpk", &mut self.q)?;
        parts.module("target.bpk", &mut self.target)?;
        parts.optimizer("optimizer.bpk", &mut self.optim)?;
        parts.state("buffer.json", "replay buffer", &mut self.buffer)?;
        parts.state("state.json", "DQN loop state", &mut self.state)?;
        Ok(())
    }

    fn restored(&mut self) -> Result<(), DqnError> {
        self.buffer.check_fits(
            self.config.buffer_size,
            self.observation_size,
            self.num_actions,
        )?;
        if self.state.step > self.config.total_steps {
            return Err(DqnError::TotalBelowCheckpoint {
                checkpoint: self.state.step,
                total_steps: self.config.total_steps,
            });
        }
        Ok(())
    }
}

impl<Q: QNetwork> Trainer<Q> {
    pub(crate) fn new<E: DiscreteEnvironment>(
        config: &DqnTrainingConfig,
        network: Q,
        env: &E,
        device: &Device,
    ) -> Result<Self, DqnError> {
        config.validate()?;
        check_fit(&network, env)?;
        let plain = device.clone().inner();
        let q = network.fork(&device.clone().autodiff()).train();
        Ok(Self {
            config: config.clone(),
            target: hard_update(&q),
            optim: optimizer(config),
            buffer: ReplayBuffer::new(config.buffer_size, env.observation_size())?,
            state: LoopState {
                step: 0,
                sampling_rng: Rng::new(config.seed.wrapping_add(1)),
                metrics: DqnMetrics::default(),
            },
            q,
            plain,
            #[cfg(feature = "run")]
            observation_size: env.observation_size(),
            #[cfg(feature = "run")]
            num_actions: env.num_actions(),
        })
    }

    /// Runs the remaining steps. `at_checkpoint` runs every `checkpoint_every` steps and
    /// after the last (the run layer saves its checkpoint there).
    ///
    /// The interrupted episode of a resumed run is not restored (a new one starts), so a
    /// resumed run is equivalent to, not identical with, an uninterrupted one.
    pub(crate) fn fit<E: DiscreteEnvironment>(
        &mut self,
        env: &mut E,
        mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
        mut at_checkpoint: impl FnMut(&mut Self) -> Result<(), DqnError>,
    ) -> Result<(), DqnError> {
        let config = self.config.clone();
        let start = self.state.step;
        let mut policy = QPolicy::new(
            self.q.valid(),
            config.epsilon(start),
            config.seed.wrapping_add(2).wrapping_add(start as u64),
        );
        env.reset_with_seed(config.seed.wrapping_add(start as u64));
        let observation_size = env.observation_size();
        let mut observation = checked(env.state(), observation_size)?;
        let (mut episode_return, mut episode_length) = (0.0, 0);
        let mut recent: VecDeque<f64> = self
            .state
            .metrics
            .episodes
            .iter()
            .rev()
            .take(AVERAGE_OVER)
            .map(|e| e.episode_return)
            .collect();
        let clock = Instant::now();
        let progress = |state: &LoopState, recent: &VecDeque<f64>| {
            let mut p = Progress::new(Unit::EnvStep, state.step, config.total_steps)
                .with("epsilon", config.epsilon(state.step))
                .with("episodes", state.metrics.episodes.len() as f64)
                .with_opt(
                    "last_return",
                    state.metrics.episodes.last().map(|e| e.episode_return),
                )
                .with_opt(
                    "mean_return",
                    (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64),
                )
                .with_opt("loss", state.metrics.losses.last().map(|l| l.loss));
            p.rate = (state.step - start) as f64 / clock.elapsed().as_secs_f64().max(1e-9);
            p
        };

        for step in start..config.total_steps {
            let epsilon = config.epsilon(step);
            policy.set_epsilon(epsilon);
            let action = policy.act(&observation, &self.plain)?;
            let mut result = env.step(action);
            result.next_state = checked(result.next_state, observation_size)?;
            episode_return += result.reward;
            episode_length += 1;
            self.buffer.push_step(&observation, action, &result);
            if result.done || result.truncated {
                self.state.metrics.episodes.push(Episode {
                    step: step + 1,
                    episode_return,
                    length: episode_length,
                    epsilon,
                });
                recent.push_front(episode_return);
                recent.truncate(AVERAGE_OVER);
                (episode_return, episode_length) = (0.0, 0);
                env.reset();
                observation = checked(env.state(), observation_size)?;
            } else {
                observation = result.next_state;
            }

            if step >= config.learning_starts {
                if step % config.train_every == 0 {
                    let sample = self.buffer.sample(
                        config.batch_size,
                        &mut self.state.sampling_rng,
                        &self.plain,
                    );
                    let (loss, mean_q) = self.gradient_step(sample)?;
                    policy.update(QPolicyState(self.q.valid()));
                    if step % LOG_EVERY == 0 {
                        self.state
                            .metrics
                            .losses
                            .push(LossPoint { step, loss, mean_q });
                    }
                }
                if step % config.target_update_every == 0 {
                    self.target = if config.tau >= 1.0 {
                        hard_update(&self.q)
                    } else {
                        soft_update(self.target.clone(), &self.q, config.tau)
                    };
                }
            }

            self.state.step = step + 1;
            if self.state.step.is_multiple_of(1000)
                && on_progress(&progress(&self.state, &recent)).is_break()
            {
                break;
            }
            if self.state.step.is_multiple_of(config.checkpoint_every)
                && self.state.step < config.total_steps
            {
                at_checkpoint(self)?;
            }
        }
        if !self.state.step.is_multiple_of(1000) {
            let _ = on_progress(&progress(&self.state, &recent));
        }
        at_checkpoint(self)
    }

    /// One gradient step on a sampled batch; returns the loss and the batch's mean `Q(s, a)`.
    fn gradient_step(&mut self, sample: Sample) -> Result<(f64, f64), DqnError> {
        let config = &self.config;
        let batch = config.batch_size;
        // Targets without autodiff, on the plain device.
        let next_q_target = self.target.q_values(sample.next_observations.clone()); // [batch, actions]
        let double = match config.target {
            TdTarget::Dqn => None,
            TdTarget::DoubleDqn => Some(self.q.valid().q_values(sample.next_observations)),
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
        let q_sa = self
            .q
            .q_values(observations)
            .gather(1, actions)
            .reshape([batch]); // [batch]
        let loss = td_loss(q_sa.clone() - y, config.loss);
        let read = |t: Tensor<1>| {
            t.try_into_scalar::<f32>()
                .map(f64::from)
                .map_err(|e| DqnError::from(kiln_core::DeviceError::new(e)))
        };
        let loss_value = read(loss.clone())?;
        let mean_q = read(q_sa.detach().mean())?;
        let grads = GradientsParams::from_grads(loss.backward(), &self.q);
        self.q = self.optim.step(config.learning_rate, self.q.clone(), grads);
        Ok((loss_value, mean_q))
    }

    pub(crate) fn finish(self) -> TrainedDqn<Q> {
        TrainedDqn {
            network: self.q.valid(),
            config: self.config,
            metrics: self.state.metrics,
        }
    }
}

fn optimizer(config: &DqnTrainingConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(1e-8)
        .with_grad_clipping(config.max_grad_norm.map(GradientClippingConfig::Norm))
        .init()
}
