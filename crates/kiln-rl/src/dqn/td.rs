//! TD targets and target-network updates.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
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

/// Polyak averaging `τ·online + (1 − τ)·target`, parameter by parameter, for any module
/// (`online` on any device; the result lives where `target` does, without autodiff). Both
/// must be the same module type with the same sizes, as a target copied from its online
/// network is.
pub fn soft_update<M: Module>(target: M, online: &M, tau: f64) -> M {
    let mut collect = Collect(Vec::new());
    online.valid().visit(&mut collect);
    let device = target.devices().first().cloned();
    let online = collect.0.into_iter().map(|t| match &device {
        Some(d) => t.to_device(d),
        None => t,
    });
    target.map(&mut Blend {
        online: online.collect::<Vec<_>>().into_iter(),
        tau,
    })
}

/// Every float parameter of a module, flattened, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// Blends each float parameter with the next collected one.
struct Blend {
    online: std::vec::IntoIter<Tensor<1>>,
    tau: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(o) = self.online.next() else {
            return param;
        };
        let tau = self.tau;
        param.map(|t| {
            let dims = t.dims();
            t * (1.0 - tau) + o.reshape(dims) * tau
        })
    }
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
