//! The one error type of kiln-rl's DQN: invalid configs, networks and environments that do
//! not fit, damaged replay buffers, failed devices, and (with `run`) the run folder.

use kiln_mlp::MlpError;

/// Errors of training, evaluating or loading a DQN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DqnError {
    // Invalid config values.
    /// `total_steps` is 0.
    #[error("total_steps must be at least 1")]
    ZeroTotalSteps,
    /// The learning rate is not in (0, 1].
    #[error("learning_rate must be in (0, 1], got {0}")]
    LearningRate(f64),
    /// `buffer_size` is 0.
    #[error("buffer_size must be at least 1")]
    ZeroBufferSize,
    /// γ is not in [0, 1].
    #[error("gamma must be in [0, 1], got {0}")]
    Gamma(f64),
    /// `target_update_every` is 0.
    #[error("target_update_every must be at least 1")]
    ZeroTargetUpdate,
    /// τ is not in (0, 1].
    #[error("tau must be in (0, 1], got {0}")]
    Tau(f64),
    /// `batch_size` is 0.
    #[error("batch_size must be at least 1")]
    ZeroBatchSize,
    /// The batch cannot be drawn from the transitions stored before learning starts.
    #[error("batch_size {batch} is larger than learning_starts {starts} or buffer_size {buffer}")]
    BatchTooLarge {
        /// Batch size.
        batch: usize,
        /// Steps before learning.
        starts: usize,
        /// Buffer capacity.
        buffer: usize,
    },
    /// An ε is not in [0, 1].
    #[error("epsilon values must be in [0, 1], got {0}")]
    Epsilon(f64),
    /// The exploration fraction is not in (0, 1].
    #[error("exploration_fraction must be in (0, 1], got {0}")]
    ExplorationFraction(f64),
    /// `train_every` is 0.
    #[error("train_every must be at least 1")]
    ZeroTrainEvery,
    /// The clipping norm is not positive and finite.
    #[error("max_grad_norm must be positive and finite, got {0}")]
    MaxGradNorm(f32),
    /// `checkpoint_every` is 0.
    #[error("checkpoint_every must be at least 1")]
    ZeroCheckpointEvery,
    /// Learning would start at or after the last step: the run would learn nothing.
    #[error(
        "learning_starts {starts} is not below total_steps {total}: the run would never learn; \
         lower learning_starts or raise total_steps"
    )]
    LearningStartsAfterEnd {
        /// Steps before learning.
        starts: usize,
        /// Steps in all.
        total: usize,
    },
    /// The replay buffer cannot be allocated.
    #[error(
        "buffer_size {capacity} needs {}, more memory than can be allocated here",
        bytes.map_or_else(|| "more bytes than a usize counts".to_string(), |b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64))
    )]
    BufferTooLarge {
        /// Transitions asked for.
        capacity: usize,
        /// Bytes they need (`None`: more than a `usize` counts).
        bytes: Option<u64>,
    },
    /// The Q-network cannot be built.
    #[error(transparent)]
    Network(#[from] MlpError),
    /// The network does not fit the environment.
    #[error(
        "the Q-network maps {inputs} inputs to {outputs} actions, the environment has \
         {observation_size}-value observations and {actions} actions"
    )]
    EnvironmentMismatch {
        /// Network inputs.
        inputs: usize,
        /// Network outputs.
        outputs: usize,
        /// Observation length.
        observation_size: usize,
        /// Environment actions.
        actions: usize,
    },
    /// A run folder's file could not be read or written or failed its checksum, or the
    /// folder does not fit the run asked for.
    #[error(transparent)]
    Run(#[from] kiln_core::RunError),
    /// An observation's length is not the environment's declared
    /// [`observation_size`](crate::DiscreteEnvironment::observation_size): the environment
    /// does not keep its own contract.
    #[error(
        "the environment declares {declared}-value observations but returned one of {found} values"
    )]
    ObservationSize {
        /// `observation_size()`.
        declared: usize,
        /// The observation's length.
        found: usize,
    },
    /// An observation holds a NaN or an infinity (kiln's rule for numeric input:
    /// [`kiln_core::first_non_finite`]).
    #[error(
        "the environment returned an observation with the non-finite value {value} at position {position}"
    )]
    NonFiniteObservation {
        /// The value's position in the observation.
        position: usize,
        /// The value.
        value: f32,
    },
    /// The device failed to compute or read back a result (Burn's `try_` readers).
    #[error("the device failed: {0}")]
    Device(#[from] kiln_core::DeviceError),
    /// Weights could not be read from or written to a PyTorch `state_dict` file (or
    /// pretrained weights), or do not fit the network.
    #[error(transparent)]
    Weights(#[from] kiln_core::WeightsError),
    /// A replay buffer read back (or handed to a run): a field is out of range or disagrees
    /// with another.
    #[error("the replay buffer's {field} is {found}, but {rule}")]
    ReplayBufferField {
        /// The field.
        field: &'static str,
        /// Its value (a length for the vectors).
        found: u64,
        /// What it must be.
        rule: String,
    },
    /// A replay buffer read back: a stored observation or reward is NaN or infinite.
    #[error("the replay buffer's {field} of transition {slot} holds {value}, not a finite number")]
    ReplayBufferNonFinite {
        /// `observations`, `next_observations` or `rewards`.
        field: &'static str,
        /// The transition's slot.
        slot: usize,
        /// The value.
        value: f32,
    },
    /// A resumed run's `total_steps` is below the step its checkpoint reached.
    #[error(
        "the checkpoint is at step {checkpoint}, past total_steps {total_steps}: resume with a \
         total_steps of {checkpoint} or more"
    )]
    TotalBelowCheckpoint {
        /// The checkpoint's step.
        checkpoint: usize,
        /// The config's total.
        total_steps: usize,
    },
}
