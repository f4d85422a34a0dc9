//! The MLP classifier of kiln.
//!
//! - [`MlpConfig`] / [`Mlp`]: a fully connected network of any depth and width, with a
//!   sigmoid, ReLU or tanh [`Activation`] and dropout.
//! - [`MlpClassifier`]: the network on flattened images, with cross-entropy loss and
//!   burn-train's training and validation steps.
//! - [`train`]: burn-train's `Learner` with progress, loss/accuracy metrics, a checkpoint
//!   per epoch and resumption; [`load_trained`] reloads the result; [`evaluate`] measures
//!   test accuracy and the confusion matrix.

mod classifier;
mod eval;
mod model;
mod training;

pub use classifier::MlpClassifier;
pub use eval::{Evaluation, evaluate};
pub use kiln_train::RunMode;
pub use model::{Activation, Mlp, MlpConfig, MlpConfigError};
pub use training::{
    CONFIG_FILE, LrSchedule, MODEL_FILE, MlpTrainingConfig, OptimizerKind, TrainedMlp,
    TrainingConfigError, load_trained, train,
};

use std::path::PathBuf;

/// Errors of training, saving and loading the MLP.
#[derive(Debug, thiserror::Error)]
pub enum MlpError {
    /// A config value is invalid.
    #[error(transparent)]
    Config(#[from] TrainingConfigError),
    /// A file could not be read or written.
    #[error(transparent)]
    Artifact(#[from] kiln_train::ArtifactError),
    /// A new run was asked for in a folder holding another run's checkpoints.
    #[error(
        "{dir} already holds a run (checkpoint of epoch {epoch}): resume it, or choose another folder"
    )]
    ArtifactDirInUse {
        /// The folder.
        dir: PathBuf,
        /// Its last checkpoint.
        epoch: usize,
    },
    /// Resuming was asked for but the folder holds no complete checkpoint.
    #[error("{0} holds no complete checkpoint to resume from")]
    NoCheckpoint(PathBuf),
}

impl From<MlpConfigError> for MlpError {
    fn from(e: MlpConfigError) -> Self {
        MlpError::Config(e.into())
    }
}
