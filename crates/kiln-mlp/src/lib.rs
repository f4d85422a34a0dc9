//! The MLP classifier of kiln.
//!
//! The core — needs only `burn`:
//! - [`MlpConfig`] / [`Mlp`]: a fully connected network of any depth and width, with a
//!   sigmoid, ReLU or tanh [`Activation`] and dropout; a plain Burn module to put in your own.
//! - [`train`]: trains a classifier in memory on any [`ClassificationData`] (a
//!   `Vec<Labelled>`, any Burn `Dataset` through [`from_dataset`], or your own source), with
//!   any number of classes and features; [`evaluate`] gives accuracy, loss and a confusion
//!   matrix.
//!
//! The run layer — feature `run`, on by default: [`run::train`] keeps a run in a folder
//! with checkpoints and resuming, [`run::load_trained`] reloads it, and MNIST-style images
//! come in through kiln-data.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use kiln_mlp::{Activation, MlpConfig};
//! # fn main() -> Result<(), kiln_mlp::MlpError> {
//! let device = Device::flex();
//! let mlp = MlpConfig::new()
//!     .with_input_size(20)
//!     .with_hidden_sizes(vec![64, 32])
//!     .with_output_size(3)
//!     .with_activation(Activation::Tanh)
//!     .init(&device)?;
//! let logits = mlp.forward(Tensor::<2>::zeros([4, 20], &device));
//! assert_eq!(logits.dims(), [4, 3]);
//! # Ok(()) }
//! ```

mod data;
mod eval;
mod model;
#[cfg(feature = "pretrained")]
pub mod pretrained;
#[cfg(feature = "pytorch")]
mod pytorch;
#[cfg(feature = "run")]
pub mod run;
mod training;

pub use data::{ClassificationData, DataSourceError, Labelled};
#[cfg(feature = "dataset")]
pub use data::{MappedDataset, from_dataset};
pub use eval::{Evaluation, evaluate};
pub use kiln_core::{ControlFlow, Progress, Rng, Unit, UnknownName, WeightsError, silent};
#[cfg(feature = "pytorch")]
pub use kiln_core::{Precision, PytorchWeights};
pub use model::{Activation, Mlp, MlpConfig};
pub use training::{
    EpochMetrics, LrSchedule, MlpTrainingConfig, OptimizerKind, TrainedMlp, train, train_on_devices,
};

/// Errors of the MLP: invalid configs, data that does not fit the network, a failed device,
/// and (with `run`) its run folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MlpError {
    // Invalid configs: the network's (MlpConfig), then training's (MlpTrainingConfig).
    /// `input_size` is 0.
    #[error("input_size must be at least 1")]
    ZeroInputSize,
    /// `output_size` is 0.
    #[error("output_size must be at least 1")]
    ZeroOutputSize,
    /// A hidden layer has width 0.
    #[error("hidden layer {layer} has width 0; every hidden width must be at least 1")]
    ZeroHiddenSize {
        /// Index of the layer in `hidden_sizes`.
        layer: usize,
    },
    /// `dropout` is not in `[0, 1)`.
    #[error("dropout must be in [0, 1), got {0}")]
    DropoutOutOfRange(f64),
    /// `epochs` is 0.
    #[error("epochs must be at least 1")]
    ZeroEpochs,
    /// `batch_size` is 0.
    #[error("batch_size must be at least 1")]
    ZeroBatchSize,
    /// `learning_rate` is not in `(0, 1]`.
    #[error("learning_rate must be in (0, 1], got {0}")]
    LearningRate(f64),
    /// `momentum` is not in `[0, 1)`.
    #[error("momentum must be in [0, 1), got {0}")]
    Momentum(f64),
    /// There is no example: empty training data, or empty data to evaluate on (an accuracy
    /// over no example would be a made-up 0).
    #[error("the data holds no example")]
    NoExamples,
    /// [`train_on_devices`] was given no device.
    #[error("training needs at least one device")]
    NoDevices,
    /// The data source returned nothing for an index below its length.
    #[error("the data has no example {index} although its length is larger")]
    MissingExample {
        /// The index.
        index: usize,
    },
    /// The data source failed to give an example below its length: its own error is the
    /// source (a Burn `Dataset` that cannot read its file, say).
    #[error("reading example {index}: {source}")]
    DataSource {
        /// The example.
        index: usize,
        /// The source's error.
        source: DataSourceError,
    },
    /// An example holds a NaN or an infinity (kiln's rule for numeric input:
    /// [`kiln_core::first_non_finite`]).
    #[error("example {index} has the non-finite value {value} at feature {feature}")]
    NonFinite {
        /// The example.
        index: usize,
        /// The feature's position.
        feature: usize,
        /// The value (NaN or ±inf).
        value: f32,
    },
    /// A tensor given to [`Mlp::try_forward`] is not `[batch, input_size]`.
    #[error("the network takes [batch, {expected}] inputs, got {found:?}")]
    InputShape {
        /// The network's `input_size`.
        expected: usize,
        /// The shape given.
        found: [usize; 2],
    },
    /// An example's feature count is not the network's input size.
    #[error("example {index} has {found} features, the network takes {expected}")]
    FeatureCount {
        /// The example.
        index: usize,
        /// The network's `input_size`.
        expected: usize,
        /// Its feature count.
        found: usize,
    },
    /// An example's class is not below the network's output size.
    #[error("example {index} has class {class}, the network has {classes} classes (0..{classes})")]
    ClassOutOfRange {
        /// The example.
        index: usize,
        /// Its class.
        class: usize,
        /// The network's `output_size`.
        classes: usize,
    },
    /// The device failed to return a result.
    #[error("the device failed: {0}")]
    Device(#[from] kiln_core::DeviceError),
    /// Weights could not be read from or written to a PyTorch `state_dict` file (or
    /// pretrained weights), or do not fit the network.
    #[error(transparent)]
    Weights(#[from] kiln_core::WeightsError),
    /// A run folder's file could not be read or written or failed its checksum, or the
    /// folder does not fit the run asked for.
    #[error(transparent)]
    Run(#[from] kiln_core::RunError),
}
