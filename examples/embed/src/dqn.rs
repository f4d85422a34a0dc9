//! (c) kiln's DQN with the application's own Q-network type on its own environment.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use kiln_rl::burn_rl::{Environment, StepResult};
use kiln_rl::dqn::{self, DqnTrainingConfig, QNetwork};
use kiln_rl::{DiscreteEnvironment, Rng};

use crate::Error;

/// The application's environment: a light that is red (−1) or green (+1) at random; action 0
/// is "stop", 1 is "go"; the right one earns 1. Episodes last 10 steps.
#[derive(Debug, Clone)]
pub struct Traffic {
    light: f32,
    steps: usize,
    rng: Rng,
}

impl Traffic {
    /// An environment whose lights are drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let light = if rng.unit() < 0.5 { -1.0 } else { 1.0 };
        Self {
            light,
            steps: 0,
            rng,
        }
    }
}

impl Environment for Traffic {
    type State = Vec<f32>;
    type Action = usize;

    const MAX_STEPS: usize = 10;

    fn state(&self) -> Vec<f32> {
        vec![self.light]
    }

    fn step(&mut self, action: usize) -> StepResult<Vec<f32>> {
        let right = (action == 1) == (self.light > 0.0);
        self.steps += 1;
        self.light = if self.rng.unit() < 0.5 { -1.0 } else { 1.0 };
        StepResult {
            next_state: self.state(),
            reward: if right { 1.0 } else { 0.0 },
            done: false,
            truncated: self.steps >= Self::MAX_STEPS,
        }
    }

    fn reset(&mut self) {
        self.steps = 0;
        self.light = if self.rng.unit() < 0.5 { -1.0 } else { 1.0 };
    }
}

impl DiscreteEnvironment for Traffic {
    fn observation_size(&self) -> usize {
        1
    }

    fn num_actions(&self) -> usize {
        2
    }

    fn reset_with_seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
        self.reset();
    }
}

/// The application's own Q-network: one linear layer.
#[derive(Module, Debug)]
pub struct LinearQ {
    /// Observation → one value per action.
    pub layer: Linear,
}

impl QNetwork for LinearQ {
    fn q_values(&self, observations: Tensor<2>) -> Tensor<2> {
        self.layer.forward(observations)
    }

    fn observation_size(&self) -> usize {
        self.layer.weight.dims()[0]
    }

    fn num_actions(&self) -> usize {
        self.layer.weight.dims()[1]
    }
}

/// What the run measured.
#[derive(Debug)]
pub struct Report {
    /// Mean greedy return over 20 evaluation episodes (10 is perfect, 5 is chance).
    pub mean_return: f64,
}

/// Trains a DQN with [`LinearQ`] on [`Traffic`] for 3,000 steps and evaluates it greedily.
///
/// # Errors
/// A config error from kiln-rl.
pub fn run() -> Result<Report, Error> {
    let device = crate::device();
    device.seed(5);
    let network = LinearQ {
        layer: LinearConfig::new(1, 2).init(&device),
    };
    let config = DqnTrainingConfig::new()
        .with_total_steps(3_000)
        .with_learning_starts(200)
        .with_batch_size(32)
        .with_buffer_size(3_000)
        .with_train_every(1)
        .with_target_update_every(100)
        .with_gamma(0.5)
        .with_learning_rate(0.01)
        .with_seed(5);
    let mut env = Traffic::new(5);
    let trained = dqn::train_with(&config, network, &mut env, &device, kiln_rl::silent)?;
    let first_seed = 1_000; // episode i starts from the state drawn with first_seed + i
    let returns = dqn::evaluate(&trained.network, &mut Traffic::new(99), 20, first_seed)?;
    Ok(Report {
        mean_return: returns.iter().sum::<f64>() / returns.len() as f64,
    })
}
