//! Deep Q-learning (Mnih et al. 2015), with CleanRL's CartPole settings as defaults.
//!
//! The core: [`train`] (kiln's [`Mlp`](kiln_mlp::Mlp) as the Q-network) and [`train_with`]
//! (any [`QNetwork`]) learn in memory on any [`DiscreteEnvironment`](crate::DiscreteEnvironment);
//! [`evaluate`] plays greedy episodes. The run layer (feature `run`): [`run`](crate::run).

mod config;
mod error;
mod policy;
mod replay;
mod td;
mod training;

pub use config::{DqnConfig, TdLoss, TdTarget};
pub use error::DqnError;
pub use policy::{QPolicy, QPolicyState};
pub use replay::{ReplayBuffer, Sample};
pub use td::{hard_update, soft_update, td_targets};
#[cfg(feature = "run")]
pub(crate) use training::Trainer;
pub use training::{
    EVALUATE_MAX_STEPS, Episode, LossPoint, Metrics, QNetwork, TrainedDqn, evaluate, td_loss,
    train, train_with,
};
