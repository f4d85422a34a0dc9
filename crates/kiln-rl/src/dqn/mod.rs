//! Deep Q-learning (Mnih et al. 2015), with CleanRL's CartPole settings as defaults.

mod config;
mod policy;
mod replay;
mod td;
mod training;

pub use config::{DqnConfig, DqnConfigError, TdLoss, TdTarget};
pub use policy::{QPolicy, QPolicyState};
pub use replay::{ReplayBuffer, Sample};
pub use td::{hard_update, soft_update, td_targets};
pub use training::{
    CHECKPOINT_DIR, CONFIG_FILE, DqnError, Episode, LossPoint, METRICS_FILE, MODEL_FILE, Metrics,
    Progress, TrainedDqn, evaluate, load_trained, train,
};
