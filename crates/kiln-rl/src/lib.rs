//! Reinforcement learning for kiln, on burn-rl's traits.
//!
//! - Environments ([`env`](mod@env)): [`CartPole`] (CartPole-v1 with Gymnasium's exact dynamics) and
//!   [`Chain`] (a corridor MDP with known optimal Q-values), both burn-rl
//!   [`Environment`](burn_rl::Environment)s.
//! - [`dqn`]: a DQN agent (Mnih et al. 2015) — any [`QNetwork`](dqn::QNetwork) (kiln-mlp's
//!   `Mlp` by default), replay buffer,
//!   target network with hard or soft updates, linear ε schedule, MSE or Huber TD loss,
//!   optional gradient clipping and Double DQN — whose acting policy is a burn-rl
//!   [`Policy`](burn_rl::Policy).
//!
//! The core needs only `burn`, burn-rl and kiln-mlp's core; the run layer (feature `run`,
//! on by default) keeps a run in a folder with checkpoints and resuming ([`run`]).
//!
//! ```
//! use burn::tensor::Device;
//! use kiln_rl::{CartPole, DqnTrainingConfig};
//! # fn main() -> Result<(), kiln_rl::DqnError> {
//! let device = Device::flex();
//! // A short run (CartPole needs ~100,000 steps to be solved) that prints its progress.
//! let config = DqnTrainingConfig::new().with_total_steps(3_000).with_learning_starts(1_000);
//! let mut env = CartPole::new(config.seed);
//! let trained = kiln_rl::train(&config, &mut env, &device, |progress| {
//!     println!("step {}: mean return {:?}", progress.done, progress.metric("mean_return"));
//!     kiln_rl::ControlFlow::Continue(())
//! })?;
//! let seed = 0; // episode i starts from the initial state drawn with seed + i
//! let returns = kiln_rl::evaluate(&trained.network, &mut CartPole::new(0), 3, seed)?;
//! assert_eq!(returns.len(), 3);
//! # Ok(()) }
//! ```

pub mod dqn;
pub mod env;
#[cfg(feature = "pretrained")]
pub mod pretrained;
#[cfg(feature = "run")]
pub mod run;

/// burn-rl, whose `Environment` and `Policy` traits kiln's environments and policy implement.
pub use burn_rl;

/// The DQN's training entry points and types at the crate root, where every kiln model crate
/// has its `train` (`kiln_mlp::train`, `kiln_dcgan::train`, `kiln_rl::train`).
pub use dqn::{DqnError, DqnMetrics, DqnTrainingConfig, TrainedDqn, evaluate, train, train_with};
pub use env::{CartPole, CartPoleState, Chain, ChainTooShort, DiscreteEnvironment};
pub use kiln_core::{ControlFlow, Progress, Rng, Unit, UnknownName, WeightsError, silent};
#[cfg(feature = "pytorch")]
pub use kiln_core::{Precision, PytorchWeights};
/// The default Q-network and its config ([`DqnTrainingConfig::network`]), so sizing it for an
/// environment needs no direct kiln-mlp dependency.
pub use kiln_mlp::{Activation, Mlp, MlpConfig, MlpError};
