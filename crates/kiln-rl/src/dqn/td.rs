//! TD targets and target-network updates.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use kiln_mlp::Mlp;

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
pub fn hard_update(online: &Mlp) -> Mlp {
    online.valid()
}

/// Polyak averaging `τ·online + (1 − τ)·target`, layer by layer (`online` on any device; the
/// result lives where `target` does, without autodiff).
pub fn soft_update(target: Mlp, online: &Mlp, tau: f64) -> Mlp {
    let online = online.valid();
    let blend = |t: Linear, o: &Linear| {
        let w = o.weight.val();
        let weight = t.weight.map(|v| v * (1.0 - tau) + w * tau);
        let bias = match (t.bias, &o.bias) {
            (Some(tb), Some(ob)) => {
                let b = ob.val();
                Some(tb.map(|v| v * (1.0 - tau) + b * tau))
            }
            (tb, _) => tb,
        };
        Linear { weight, bias }
    };
    let hidden = target
        .hidden
        .into_iter()
        .zip(&online.hidden)
        .map(|(t, o)| blend(t, o))
        .collect();
    Mlp {
        hidden,
        output: blend(target.output, &online.output),
        dropout: target.dropout,
        activation: target.activation,
    }
}
