//! The DQN training config.

use burn::config::Config;
use kiln_mlp::MlpConfig;

use super::DqnError;

/// The TD loss.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum TdLoss {
    /// Mean squared TD error (CleanRL's DQN).
    Mse,
    /// Huber (smooth L1, δ = 1), as the Nature DQN's error clipping.
    Huber,
}

kiln_core::named_enum!(TdLoss, "loss", { Mse => "mse", Huber => "huber" });

/// How the bootstrap value of the next state is chosen.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum TdTarget {
    /// `max_a Q_target(s′, a)`.
    Dqn,
    /// Double DQN (van Hasselt et al. 2016): `Q_target(s′, argmax_a Q(s′, a))`.
    DoubleDqn,
}

/// Everything a DQN run needs besides the environment; saved as `config.json` beside the
/// weights. Defaults are CleanRL's `dqn.py` settings for CartPole-v1.
#[derive(Config, Debug)]
pub struct DqnTrainingConfig {
    /// The Q-network: observation in, one value per action out (CleanRL: 4-120-84-2, ReLU).
    #[config(
        default = "MlpConfig::new().with_input_size(4).with_hidden_sizes(vec![120, 84]).with_output_size(2).with_dropout(0.0)"
    )]
    pub network: MlpConfig,
    /// Environment steps in the run.
    #[config(default = 500_000)]
    pub total_steps: usize,
    /// Adam's learning rate (β 0.9/0.999, ε 1e-8 as PyTorch).
    #[config(default = 2.5e-4)]
    pub learning_rate: f64,
    /// Transitions the replay buffer keeps (the oldest are overwritten).
    #[config(default = 10_000)]
    pub buffer_size: usize,
    /// Discount γ.
    #[config(default = 0.99)]
    pub gamma: f64,
    /// Steps between target-network updates.
    #[config(default = 500)]
    pub target_update_every: usize,
    /// Target update rate: 1 copies the online network (hard update), below 1 blends
    /// `τ·online + (1 − τ)·target` (soft update).
    #[config(default = 1.0)]
    pub tau: f64,
    /// Transitions per gradient step.
    #[config(default = 128)]
    pub batch_size: usize,
    /// ε at the start of the run.
    #[config(default = 1.0)]
    pub start_epsilon: f64,
    /// ε after the exploration phase.
    #[config(default = 0.05)]
    pub end_epsilon: f64,
    /// Share of `total_steps` over which ε falls linearly from start to end.
    #[config(default = 0.5)]
    pub exploration_fraction: f64,
    /// Steps of acting before the first gradient step.
    #[config(default = 10_000)]
    pub learning_starts: usize,
    /// Steps between gradient steps.
    #[config(default = 10)]
    pub train_every: usize,
    /// The TD loss.
    #[config(default = "TdLoss::Mse")]
    pub loss: TdLoss,
    /// Clip each parameter's gradient to this L2 norm (burn's per-tensor norm clipping);
    /// `None` (CleanRL's setting) does not clip.
    #[config(default = "None")]
    pub max_grad_norm: Option<f32>,
    /// Plain or Double DQN targets.
    #[config(default = "TdTarget::Dqn")]
    pub target: TdTarget,
    /// Steps between checkpoints.
    #[config(default = 50_000)]
    pub checkpoint_every: usize,
    /// Seed of the weights, the environment's initial states, exploration and sampling.
    #[config(default = 1)]
    pub seed: u64,
}

impl DqnTrainingConfig {
    /// Checks every value.
    ///
    /// # Errors
    /// The first invalid value, as its own [`DqnError`] variant.
    pub fn validate(&self) -> Result<(), DqnError> {
        self.network.validate()?;
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        if self.total_steps == 0 {
            return Err(DqnError::ZeroTotalSteps);
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(DqnError::LearningRate(self.learning_rate));
        }
        if self.buffer_size == 0 {
            return Err(DqnError::ZeroBufferSize);
        }
        if !unit(self.gamma) {
            return Err(DqnError::Gamma(self.gamma));
        }
        if self.target_update_every == 0 {
            return Err(DqnError::ZeroTargetUpdate);
        }
        if !(self.tau > 0.0 && self.tau <= 1.0) {
            return Err(DqnError::Tau(self.tau));
        }
        if self.batch_size == 0 {
            return Err(DqnError::ZeroBatchSize);
        }
        if self.batch_size > self.learning_starts.max(1) || self.batch_size > self.buffer_size {
            return Err(DqnError::BatchTooLarge {
                batch: self.batch_size,
                starts: self.learning_starts,
                buffer: self.buffer_size,
            });
        }
        for e in [self.start_epsilon, self.end_epsilon] {
            if !unit(e) {
                return Err(DqnError::Epsilon(e));
            }
        }
        if !(self.exploration_fraction > 0.0 && self.exploration_fraction <= 1.0) {
            return Err(DqnError::ExplorationFraction(self.exploration_fraction));
        }
        if self.train_every == 0 {
            return Err(DqnError::ZeroTrainEvery);
        }
        if let Some(norm) = self.max_grad_norm
            && !(norm.is_finite() && norm > 0.0)
        {
            return Err(DqnError::MaxGradNorm(norm));
        }
        if self.checkpoint_every == 0 {
            return Err(DqnError::ZeroCheckpointEvery);
        }
        if self.learning_starts >= self.total_steps {
            return Err(DqnError::LearningStartsAfterEnd {
                starts: self.learning_starts,
                total: self.total_steps,
            });
        }
        Ok(())
    }

    /// ε at `step`: linear from `start_epsilon` to `end_epsilon` over
    /// `exploration_fraction × total_steps` steps, then constant (CleanRL's schedule).
    pub fn epsilon(&self, step: usize) -> f64 {
        let duration = self.exploration_fraction * self.total_steps as f64;
        let slope = (self.end_epsilon - self.start_epsilon) / duration;
        let e = self.start_epsilon + slope * step as f64;
        if self.end_epsilon <= self.start_epsilon {
            e.max(self.end_epsilon)
        } else {
            e.min(self.end_epsilon)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_cleanrls_and_valid() {
        let c = DqnTrainingConfig::new();
        assert!(matches!(c.validate(), Ok(())));
        assert_eq!(c.network.hidden_sizes, vec![120, 84]);
        assert_eq!((c.network.input_size, c.network.output_size), (4, 2));
        assert_eq!(c.total_steps, 500_000);
        assert_eq!(c.learning_rate, 2.5e-4);
        assert_eq!((c.buffer_size, c.batch_size), (10_000, 128));
        assert_eq!((c.target_update_every, c.tau), (500, 1.0));
        assert_eq!((c.learning_starts, c.train_every), (10_000, 10));
    }

    #[test]
    fn epsilon_falls_linearly_then_stays() {
        let c = DqnTrainingConfig::new();
        assert_eq!(c.epsilon(0), 1.0);
        assert!((c.epsilon(125_000) - 0.525).abs() < 1e-12);
        assert!((c.epsilon(250_000) - 0.05).abs() < 1e-12);
        assert_eq!(c.epsilon(400_000), 0.05);
    }

    #[test]
    fn each_invalid_value_has_its_error() {
        type Check = fn(&DqnError) -> bool;
        let cases: Vec<(DqnTrainingConfig, Check)> = vec![
            (DqnTrainingConfig::new().with_total_steps(0), |e| {
                matches!(e, DqnError::ZeroTotalSteps)
            }),
            (DqnTrainingConfig::new().with_learning_rate(0.0), |e| {
                matches!(e, DqnError::LearningRate(_))
            }),
            (DqnTrainingConfig::new().with_buffer_size(0), |e| {
                matches!(e, DqnError::ZeroBufferSize)
            }),
            (DqnTrainingConfig::new().with_gamma(1.5), |e| {
                matches!(e, DqnError::Gamma(_))
            }),
            (DqnTrainingConfig::new().with_target_update_every(0), |e| {
                matches!(e, DqnError::ZeroTargetUpdate)
            }),
            (DqnTrainingConfig::new().with_tau(0.0), |e| {
                matches!(e, DqnError::Tau(_))
            }),
            (DqnTrainingConfig::new().with_batch_size(0), |e| {
                matches!(e, DqnError::ZeroBatchSize)
            }),
            (DqnTrainingConfig::new().with_batch_size(20_000), |e| {
                matches!(e, DqnError::BatchTooLarge { .. })
            }),
            (DqnTrainingConfig::new().with_end_epsilon(-0.1), |e| {
                matches!(e, DqnError::Epsilon(_))
            }),
            (
                DqnTrainingConfig::new().with_exploration_fraction(0.0),
                |e| matches!(e, DqnError::ExplorationFraction(_)),
            ),
            (DqnTrainingConfig::new().with_train_every(0), |e| {
                matches!(e, DqnError::ZeroTrainEvery)
            }),
            (
                DqnTrainingConfig::new().with_max_grad_norm(Some(0.0)),
                |e| matches!(e, DqnError::MaxGradNorm(_)),
            ),
            (DqnTrainingConfig::new().with_checkpoint_every(0), |e| {
                matches!(e, DqnError::ZeroCheckpointEvery)
            }),
            (
                DqnTrainingConfig::new().with_network(MlpConfig::new().with_output_size(0)),
                |e| matches!(e, DqnError::Network(_)),
            ),
        ];
        for (config, expected) in cases {
            let err = config.validate().unwrap_err();
            assert!(expected(&err), "{err}");
        }
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = DqnTrainingConfig::new()
            .with_target(TdTarget::DoubleDqn)
            .with_loss(TdLoss::Huber)
            .with_max_grad_norm(Some(10.0));
        let back: DqnTrainingConfig =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.target, TdTarget::DoubleDqn);
        assert_eq!(back.loss, TdLoss::Huber);
        assert_eq!(back.max_grad_norm, Some(10.0));
    }
}
