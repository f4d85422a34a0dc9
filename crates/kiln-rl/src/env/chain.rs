//! A chain MDP with known optimal Q-values, for testing learners.

use burn_rl::{Environment, StepResult};

use super::DiscreteEnvironment;

/// A corridor of `n` states `0..n`, starting in state 0. Action 1 moves right, action 0
/// moves left (state 0 stays). Reaching state `n − 1` ends the episode with reward 1; every
/// other step gives 0. Episodes are truncated after `4n` steps. Observations are one-hot.
///
/// With discount γ, the optimal values are known in closed form:
/// `Q*(s, right) = γ^(n − 2 − s)` and `Q*(s, left) = γ · V*(max(s − 1, 0))` with
/// `V*(s) = γ^(n − 2 − s)` (see [`Chain::optimal_q`]).
#[derive(Debug, Clone)]
pub struct Chain {
    n: usize,
    position: usize,
    steps: usize,
}

/// [`Chain::new`] was asked for fewer than 2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a chain needs at least 2 states, got {0}")]
pub struct ChainTooShort(pub usize);

impl Chain {
    /// A chain of `n ≥ 2` states.
    ///
    /// # Errors
    /// [`ChainTooShort`] if `n < 2` (a chain needs a start and a goal).
    pub fn new(n: usize) -> Result<Self, ChainTooShort> {
        if n < 2 {
            return Err(ChainTooShort(n));
        }
        Ok(Self {
            n,
            position: 0,
            steps: 0,
        })
    }

    /// The optimal action values `[Q*(s, left), Q*(s, right)]` of the non-terminal states
    /// `0..n − 1` under discount `gamma`.
    pub fn optimal_q(&self, gamma: f64) -> Vec<[f64; 2]> {
        let v = |s: usize| gamma.powi((self.n - 2 - s) as i32);
        (0..self.n - 1)
            .map(|s| [gamma * v(s.saturating_sub(1)), v(s)])
            .collect()
    }

    /// The one-hot observation of state `s`.
    pub fn one_hot(&self, s: usize) -> Vec<f32> {
        let mut v = vec![0.0; self.n];
        v[s] = 1.0;
        v
    }
}

impl Environment for Chain {
    type State = Vec<f32>;
    type Action = usize;

    const MAX_STEPS: usize = usize::MAX;

    fn state(&self) -> Vec<f32> {
        self.one_hot(self.position)
    }

    fn step(&mut self, action: usize) -> StepResult<Vec<f32>> {
        self.position = if action == 1 {
            (self.position + 1).min(self.n - 1)
        } else {
            self.position.saturating_sub(1)
        };
        self.steps += 1;
        let done = self.position == self.n - 1;
        StepResult {
            next_state: self.state(),
            reward: if done { 1.0 } else { 0.0 },
            done,
            truncated: !done && self.steps >= 4 * self.n,
        }
    }

    fn reset(&mut self) {
        self.position = 0;
        self.steps = 0;
    }
}

impl DiscreteEnvironment for Chain {
    fn observation_size(&self) -> usize {
        self.n
    }

    fn num_actions(&self) -> usize {
        2
    }

    fn reset_with_seed(&mut self, _seed: u64) {
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_right_reaches_the_end_with_reward_one() {
        let mut env = Chain::new(4).unwrap();
        assert!(!env.step(1).done);
        assert!(!env.step(1).done);
        let last = env.step(1);
        assert!(last.done);
        assert_eq!(last.reward, 1.0);
    }

    #[test]
    fn optimal_values_follow_the_bellman_equation() {
        let env = Chain::new(5).unwrap();
        let g = 0.9;
        let q = env.optimal_q(g);
        // Q(3, right) reaches the goal: 1. Q(s, right) = γ max Q(s+1, ·).
        assert!((q[3][1] - 1.0).abs() < 1e-12);
        for s in 0..3 {
            assert!((q[s][1] - g * q[s + 1][1].max(q[s + 1][0])).abs() < 1e-12);
        }
        // Q(0, left) stays in 0: γ V(0).
        assert!((q[0][0] - g * q[0][1]).abs() < 1e-12);
    }

    #[test]
    fn left_walkers_are_truncated_not_terminated() {
        let mut env = Chain::new(3).unwrap();
        for _ in 0..11 {
            let r = env.step(0);
            assert!(!r.done && !r.truncated);
        }
        let r = env.step(0);
        assert!(r.truncated && !r.done);
    }
}
