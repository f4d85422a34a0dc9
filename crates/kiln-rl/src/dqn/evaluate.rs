//! Greedy evaluation of a trained Q-network.

use super::network::{check_fit, checked};
use super::{DqnError, QNetwork, QPolicy};
use crate::DiscreteEnvironment;

/// The most steps [`evaluate`] plays in one episode when the environment's own
/// [`MAX_STEPS`](burn_rl::Environment::MAX_STEPS) is larger (kiln's [`Chain`](crate::Chain)
/// declares `usize::MAX`, and an environment whose greedy policy never ends an episode would
/// otherwise run forever). An episode cut there ends as truncated: its return so far counts.
pub const EVALUATE_MAX_STEPS: usize = 100_000;

/// Greedy returns of `episodes` episodes of `network` on `env`, episode `i` starting from
/// the initial state drawn with `seed + i` (`seed` is a seed, not a step count). Each episode
/// ends when the environment says it is done or truncated, or after
/// `min(E::MAX_STEPS, EVALUATE_MAX_STEPS)` steps, so no call runs forever.
///
/// # Errors
/// [`DqnError::EnvironmentMismatch`] if the network does not fit the environment,
/// [`DqnError::ObservationSize`] or [`DqnError::NonFiniteObservation`] for an observation
/// that breaks the environment's contract, [`DqnError::Device`] if the device fails.
pub fn evaluate<Q: QNetwork, E: DiscreteEnvironment>(
    network: &Q,
    env: &mut E,
    episodes: usize,
    seed: u64,
) -> Result<Vec<f64>, DqnError> {
    check_fit(network, env)?;
    let device = network.devices().first().cloned().unwrap_or_default();
    let policy = QPolicy::new(network.clone(), 0.0, seed);
    let size = env.observation_size();
    let cap = E::MAX_STEPS.clamp(1, EVALUATE_MAX_STEPS);
    (0..episodes)
        .map(|i| {
            env.reset_with_seed(seed.wrapping_add(i as u64));
            let mut observation = checked(env.state(), size)?;
            let mut total = 0.0;
            for _ in 0..cap {
                let result = env.step(policy.greedy(&observation, &device)?);
                total += result.reward;
                if result.done || result.truncated {
                    return Ok(total);
                }
                observation = checked(result.next_state, size)?;
            }
            Ok(total)
        })
        .collect()
}
