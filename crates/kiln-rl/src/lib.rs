//! Reinforcement learning for kiln, on burn-rl's traits.
//!
//! - Environments ([`env`]): [`CartPole`] (CartPole-v1 with Gymnasium's exact dynamics) and
//!   [`Chain`] (a corridor MDP with known optimal Q-values), both burn-rl
//!   [`Environment`](burn_rl::Environment)s.
//! - [`dqn`]: a DQN agent (Mnih et al. 2015) — Q-network from `kiln-mlp`, replay buffer,
//!   target network with hard or soft updates, linear ε schedule, MSE or Huber TD loss,
//!   optional gradient clipping and Double DQN — whose acting policy is a burn-rl
//!   [`Policy`](burn_rl::Policy).
//!
//! ```no_run
//! use kiln_rl::{CartPole, dqn::{self, DqnConfig}};
//! use kiln_train::RunMode;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = burn::tensor::Device::default();
//! let config = DqnConfig::new().with_total_steps(50_000);
//! let mut env = CartPole::new(config.seed);
//! let dir = std::path::Path::new("artifacts/dqn");
//! let run = dqn::train(&config, &mut env, &device, dir, RunMode::New, |progress| {
//!     println!("step {}: mean return {:?}", progress.step, progress.mean_return);
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! let returns = dqn::evaluate(&run.network, &mut CartPole::new(0), 100, 1_000_000);
//! # Ok(()) }
//! ```

pub mod dqn;
pub mod env;

/// burn-rl, whose `Environment` and `Policy` traits kiln's environments and policy implement.
pub use burn_rl;

pub use env::{CartPole, CartPoleState, Chain, DiscreteEnvironment};
pub use kiln_train::Rng;

/// Σ γ^t r_t of a sequence of rewards, the quantity an agent maximises.
pub fn discounted_return(rewards: &[f64], gamma: f64) -> f64 {
    rewards.iter().rev().fold(0.0, |acc, r| r + gamma * acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounted_return_matches_hand_computation() {
        assert_eq!(discounted_return(&[], 0.9), 0.0);
        assert_eq!(discounted_return(&[1.0, 1.0, 1.0], 1.0), 3.0);
        // 1 + 0.9·0 + 0.81·2 = 2.62
        assert!((discounted_return(&[1.0, 0.0, 2.0], 0.9) - 2.62).abs() < 1e-12);
        // 500 steps of reward 1 at γ = 0.99: (1 − 0.99^500) / 0.01
        let expected = (1.0 - 0.99f64.powi(500)) / 0.01;
        assert!((discounted_return(&[1.0; 500], 0.99) - expected).abs() < 1e-9);
    }
}
