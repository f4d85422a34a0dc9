//! The Q-network trait, and the checks that a network fits an environment.

use burn::module::Module;
use burn::tensor::Tensor;
use kiln_mlp::Mlp;

use super::DqnError;
use crate::DiscreteEnvironment;

/// A Q-network the DQN can learn with: any Burn module that maps a batch of observations to
/// one value per action. kiln's [`Mlp`] is one; a CNN over pixels of your own is another.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Tensor};
/// use kiln_rl::dqn::QNetwork;
///
/// /// A linear Q-function.
/// #[derive(Module, Debug)]
/// struct LinearQ {
///     layer: Linear,
/// }
///
/// impl QNetwork for LinearQ {
///     fn q_values(&self, observations: Tensor<2>) -> Tensor<2> {
///         self.layer.forward(observations)
///     }
///     fn observation_size(&self) -> usize {
///         self.layer.weight.dims()[0]
///     }
///     fn num_actions(&self) -> usize {
///         self.layer.weight.dims()[1]
///     }
/// }
///
/// let q = LinearQ { layer: LinearConfig::new(4, 2).init(&Device::flex()) };
/// assert_eq!(q.q_values(Tensor::zeros([3, 4], &Device::flex())).dims(), [3, 2]);
/// ```
pub trait QNetwork: Module + 'static {
    /// `Q(s, ·)` for a batch of observations.
    ///
    /// # Shapes
    /// - observations: `[batch, observation_size]`
    /// - output: `[batch, num_actions]`
    fn q_values(&self, observations: Tensor<2>) -> Tensor<2>;
    /// Length of an observation.
    fn observation_size(&self) -> usize;
    /// Number of actions.
    fn num_actions(&self) -> usize;
}

impl QNetwork for Mlp {
    fn q_values(&self, observations: Tensor<2>) -> Tensor<2> {
        self.forward(observations)
    }

    fn observation_size(&self) -> usize {
        self.input_size()
    }

    fn num_actions(&self) -> usize {
        self.output_size()
    }
}

/// [`DqnError::EnvironmentMismatch`] unless `network` maps `env`'s observations to its actions.
pub(super) fn check_fit<Q: QNetwork, E: DiscreteEnvironment>(
    network: &Q,
    env: &E,
) -> Result<(), DqnError> {
    if network.observation_size() != env.observation_size()
        || network.num_actions() != env.num_actions()
    {
        return Err(DqnError::EnvironmentMismatch {
            inputs: network.observation_size(),
            outputs: network.num_actions(),
            observation_size: env.observation_size(),
            actions: env.num_actions(),
        });
    }
    Ok(())
}

/// `observation`, if it has the declared length and only finite values.
pub(super) fn checked(observation: Vec<f32>, declared: usize) -> Result<Vec<f32>, DqnError> {
    if observation.len() != declared {
        return Err(DqnError::ObservationSize {
            declared,
            found: observation.len(),
        });
    }
    if let Some((position, value)) = kiln_core::first_non_finite(&observation) {
        return Err(DqnError::NonFiniteObservation { position, value });
    }
    Ok(observation)
}
