//! TD targets and the hard target-network update (the soft one is kiln-core's
//! [`soft_update`](kiln_core::module::soft_update)).

use burn::module::Module;
use burn::tensor::Tensor;

use super::TdLoss;

/// One-step TD targets `r + γ · (1 − terminated) · bootstrap(s′)`.
///
/// The bootstrap is `max_a Q_target(s′, a)`, or with `double = Some(Q_online(s′))` Double
/// DQN's `Q_target(s′, argmax_a Q_online(s′, a))`. Terminal transitions do not bootstrap;
/// time-limit truncations are stored as non-terminal and do.
///
/// # Shapes
/// - rewards, not_terminal: `[batch]`
/// - next_q_target, double: `[batch, actions]`
/// - output: `[batch]`
pub fn td_targets(
    rewards: Tensor<1>,
    not_terminal: Tensor<1>,
    next_q_target: Tensor<2>,
    double: Option<Tensor<2>>,
    gamma: f64,
) -> Tensor<1> {
    let [batch, _] = next_q_target.dims();
    let bootstrap = match double {
        None => next_q_target.max_dim(1), // [batch, 1]
        Some(online) => {
            let best = online.argmax(1); // [batch, 1]
            next_q_target.gather(1, best) // [batch, 1]
        }
    }
    .reshape([batch]);
    rewards + not_terminal * bootstrap * gamma
}

/// The target network after a hard update: a copy of the online network without autodiff.
pub fn hard_update<M: Module>(online: &M) -> M {
    online.valid()
}

/// The mean TD loss of a batch of errors `Q(s, a) − y`: the squared error, or Huber's
/// `0.5·min(|e|, 1)² + (|e| − min(|e|, 1))` (quadratic inside ±1, linear outside).
///
/// # Shapes
/// - error: `[batch]`
/// - output: `[1]`
pub fn td_loss(error: Tensor<1>, loss: TdLoss) -> Tensor<1> {
    match loss {
        TdLoss::Mse => error.powi_scalar(2).mean(),
        TdLoss::Huber => {
            let abs = error.abs();
            let inner = abs.clone().clamp_max(1.0);
            (inner.clone().powi_scalar(2) * 0.5 + abs - inner).mean()
        }
    }
}
