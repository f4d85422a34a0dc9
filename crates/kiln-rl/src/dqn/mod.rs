//! Deep Q-learning (Mnih et al. 2015), with CleanRL's CartPole settings as defaults.
//!
//! The core: [`train`] (kiln's [`Mlp`](kiln_mlp::Mlp) as the Q-network) and [`train_with`]
//! (any [`QNetwork`]) learn in memory on any [`DiscreteEnvironment`](crate::DiscreteEnvironment);
//! [`evaluate`] plays greedy episodes. The run layer (feature `run`): [`run`](crate::run).

mod config;
mod error;
mod evaluate;
mod metrics;
mod network;
mod policy;
mod replay;
mod td;
mod training;

pub use config::{DqnTrainingConfig, TdLoss, TdTarget};
pub use error::DqnError;
pub use evaluate::{EVALUATE_MAX_STEPS, evaluate};
pub use kiln_core::module::soft_update;
pub use metrics::{DqnMetrics, Episode, LossPoint};
pub use network::QNetwork;
pub use policy::{QPolicy, QPolicyState};
pub use replay::{ReplayBuffer, Sample};
pub use td::{hard_update, td_loss, td_targets};
#[cfg(feature = "run")]
pub(crate) use training::Trainer;
pub use training::{TrainedDqn, train, train_with};
