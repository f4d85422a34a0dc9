//! The ε-greedy Q-policy, on burn-rl's `Policy` trait.

use crate::Rng;
use crate::dqn::QNetwork;
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor, TensorData};
use burn_rl::{Policy, PolicyState};

/// Acts ε-greedily on a Q-network: with probability ε a uniformly random action, otherwise
/// `argmax_a Q(s, a)`. `deterministic` (burn-rl's flag) means greedy.
#[derive(Debug, Clone)]
pub struct QPolicy<Q: QNetwork = kiln_mlp::Mlp> {
    network: Q,
    epsilon: f64,
    rng: Rng,
}

/// The Q-network a [`QPolicy`] acts with, as burn-rl's policy state.
#[derive(Debug, Clone)]
pub struct QPolicyState<Q: QNetwork = kiln_mlp::Mlp>(pub Q);

impl<Q: QNetwork> PolicyState for QPolicyState<Q> {
    type Record = ModuleRecord;

    fn into_record(self) -> ModuleRecord {
        self.0.into_record()
    }

    fn load_record(&self, record: ModuleRecord) -> Self {
        Self(self.0.clone().load_record(record))
    }
}

impl<Q: QNetwork> QPolicy<Q> {
    /// A policy acting on `network` with exploration rate `epsilon`, seeded.
    pub fn new(network: Q, epsilon: f64, seed: u64) -> Self {
        Self {
            network,
            epsilon,
            rng: Rng::new(seed),
        }
    }

    /// The Q-network.
    pub fn network(&self) -> &Q {
        &self.network
    }

    /// Sets ε.
    pub fn set_epsilon(&mut self, epsilon: f64) {
        self.epsilon = epsilon;
    }

    /// The action for one observation: random with probability ε (decided before the
    /// network runs, so exploration costs no forward pass), else greedy.
    ///
    /// # Errors
    /// [`DqnError::Device`](crate::dqn::DqnError::Device) if the device fails.
    pub fn act(
        &mut self,
        observation: &[f32],
        device: &Device,
    ) -> Result<usize, crate::dqn::DqnError> {
        if self.epsilon > 0.0 && self.rng.unit() < self.epsilon {
            return Ok(self.rng.below(self.network.num_actions()));
        }
        self.greedy(observation, device)
    }

    /// `argmax_a Q(s, a)` for one observation.
    ///
    /// # Errors
    /// [`DqnError::Device`](crate::dqn::DqnError::Device) if the device fails.
    pub fn greedy(
        &self,
        observation: &[f32],
        device: &Device,
    ) -> Result<usize, crate::dqn::DqnError> {
        let x = Tensor::<2>::from_data(
            TensorData::new(observation.to_vec(), [1, observation.len()]),
            device,
        );
        let best = self
            .network
            .q_values(x)
            .argmax(1)
            .try_into_scalar::<i64>()
            .map_err(kiln_core::DeviceError::new)?;
        Ok(usize::try_from(best).unwrap_or(0))
    }
}

impl<Q: QNetwork> Policy for QPolicy<Q> {
    /// `[batch, observation_size]`.
    type Observation = Tensor<2>;
    /// Q-values, `[batch, actions]`.
    type ActionDistribution = Tensor<2>;
    /// One action per observation.
    type Action = Vec<usize>;
    /// The Q-value of the chosen action.
    type ActionContext = f32;
    type PolicyState = QPolicyState<Q>;

    fn forward(&mut self, obs: Tensor<2>) -> Tensor<2> {
        self.network.q_values(obs)
    }

    /// # Panics
    /// If the device fails: burn-rl's `Policy` trait cannot return an error (kiln's own
    /// loop and [`evaluate`](crate::dqn::evaluate) use [`QPolicy::act`], which does).
    fn action(&mut self, obs: Tensor<2>, deterministic: bool) -> (Vec<usize>, Vec<f32>) {
        let [batch, actions] = [obs.dims()[0], self.network.num_actions()];
        let q: Vec<f32> = self
            .network
            .q_values(obs)
            .into_data()
            .iter::<f32>()
            .collect();
        let mut chosen = Vec::with_capacity(batch);
        let mut values = Vec::with_capacity(batch);
        for row in q.chunks_exact(actions) {
            let greedy = (0..actions)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                .unwrap_or(0);
            let a = if !deterministic && self.rng.unit() < self.epsilon {
                self.rng.below(actions)
            } else {
                greedy
            };
            chosen.push(a);
            values.push(row[a]);
        }
        (chosen, values)
    }

    fn update(&mut self, update: QPolicyState<Q>) {
        self.network = update.0;
    }

    fn state(&self) -> QPolicyState<Q> {
        QPolicyState(self.network.clone())
    }

    fn to_device(self, device: &Device) -> Self {
        Self {
            network: self.network.to_device(device),
            ..self
        }
    }

    fn load_record(self, record: ModuleRecord) -> Self {
        Self {
            network: self.network.load_record(record),
            ..self
        }
    }
}
