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

/// Σ γ^t r_t of a sequence of rewards, the quantity an agent maximises.
pub fn discounted_return(rewards: &[f64], gamma: f64) -> f64 {
    rewards.iter().rev().fold(0.0, |acc, r| r + gamma * acc)
}

/// A small seeded generator (SplitMix64) for exploration, sampling and initial states: the
/// same seed gives the same run on every platform, without adding `rand` features to Burn's
/// build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
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

    #[test]
    fn rng_is_seeded_and_in_range() {
        let (mut a, mut b) = (Rng::new(1), Rng::new(1));
        for _ in 0..1000 {
            let u = a.uniform(-0.05, 0.05);
            assert_eq!(u, b.uniform(-0.05, 0.05));
            assert!((-0.05..0.05).contains(&u));
            assert!(a.below(7) < 7);
            b.below(7);
        }
    }
}
