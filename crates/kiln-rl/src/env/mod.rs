//! Environments on burn-rl's [`Environment`] trait.

mod cartpole;
mod chain;

pub use cartpole::{CartPole, CartPoleState};
pub use chain::{Chain, ChainTooShort};

use burn_rl::Environment;

/// An environment whose observations are vectors of `f32` and whose actions are indices
/// `0..num_actions()`: what a DQN can learn. Its state is its observation.
pub trait DiscreteEnvironment: Environment<Action = usize, State = Vec<f32>> {
    /// Length of an observation.
    fn observation_size(&self) -> usize;
    /// Number of actions.
    fn num_actions(&self) -> usize;
    /// Starts a new episode from an initial state drawn with `seed` (the same seed gives the
    /// same initial state).
    fn reset_with_seed(&mut self, seed: u64);
}
