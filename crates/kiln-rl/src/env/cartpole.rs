//! CartPole-v1 with Gymnasium's dynamics, constants and limits.

use burn_rl::{Environment, StepResult};

use super::DiscreteEnvironment;
use crate::Rng;

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
/// Half the pole's length.
const LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = MASS_POLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
/// Seconds between state updates.
const TAU: f64 = 0.02;
/// ±12°.
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;

/// The physical state: cart position and velocity, pole angle and angular velocity. Kept in
/// `f64` as Gymnasium does; observations are its `f32` rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CartPoleState {
    /// Cart position (m).
    pub x: f64,
    /// Cart velocity (m/s).
    pub x_dot: f64,
    /// Pole angle from vertical (rad).
    pub theta: f64,
    /// Pole angular velocity (rad/s).
    pub theta_dot: f64,
}

/// CartPole-v1 (Barto, Sutton & Anderson 1983) exactly as Gymnasium 1.x defines it: Euler
/// integration with τ = 0.02 s, a ±10 N push per step (action 0 left, 1 right), reward 1
/// for every step including the one that ends the episode, termination when |θ| > 12° or
/// |x| > 2.4, truncation after 500 steps, initial state uniform in ±0.05.
///
/// The initial states come from kiln's own seeded generator, not NumPy's, so a seed gives a
/// different (equally distributed) start than in Gymnasium; the dynamics from a given state
/// are Gymnasium's (tested against its recorded trajectories).
#[derive(Debug, Clone)]
pub struct CartPole {
    state: CartPoleState,
    steps: usize,
    terminated: bool,
    rng: Rng,
}

impl CartPole {
    /// Episodes are truncated after this many steps.
    pub const MAX_EPISODE_STEPS: usize = 500;

    /// A CartPole whose first episode starts from a state drawn with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut env = Self {
            state: CartPoleState {
                x: 0.0,
                x_dot: 0.0,
                theta: 0.0,
                theta_dot: 0.0,
            },
            steps: 0,
            terminated: false,
            rng: Rng::new(seed),
        };
        env.reset();
        env
    }

    /// Puts the system in `state` and restarts the episode's step count (for tests and
    /// replaying recorded trajectories).
    pub fn set_state(&mut self, state: CartPoleState) {
        self.state = state;
        self.steps = 0;
        self.terminated = false;
    }

    /// The physical state.
    pub fn physical_state(&self) -> CartPoleState {
        self.state
    }

    fn observation(&self) -> Vec<f32> {
        let s = self.state;
        vec![
            s.x as f32,
            s.x_dot as f32,
            s.theta as f32,
            s.theta_dot as f32,
        ]
    }
}

impl Environment for CartPole {
    type State = Vec<f32>;
    type Action = usize;

    const MAX_STEPS: usize = Self::MAX_EPISODE_STEPS;

    fn state(&self) -> Vec<f32> {
        self.observation()
    }

    /// One step: any action other than 1 pushes left. After termination the episode must be
    /// reset; further steps keep the dynamics going but give reward 0, as Gymnasium does.
    fn step(&mut self, action: usize) -> StepResult<Vec<f32>> {
        let CartPoleState {
            x,
            x_dot,
            theta,
            theta_dot,
        } = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let (sin, cos) = (theta.sin(), theta.cos());
        // Grouped as Gymnasium's NumPy expressions, so results agree to the last bit.
        let temp = (force + POLE_MASS_LENGTH * (theta_dot * theta_dot) * sin) / TOTAL_MASS;
        let theta_acc = (GRAVITY * sin - cos * temp)
            / (LENGTH * (4.0 / 3.0 - MASS_POLE * (cos * cos) / TOTAL_MASS));
        let x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS;
        self.state = CartPoleState {
            x: x + TAU * x_dot,
            x_dot: x_dot + TAU * x_acc,
            theta: theta + TAU * theta_dot,
            theta_dot: theta_dot + TAU * theta_acc,
        };
        let s = self.state;
        let done = s.x < -X_THRESHOLD
            || s.x > X_THRESHOLD
            || s.theta < -THETA_THRESHOLD
            || s.theta > THETA_THRESHOLD;
        let reward = if self.terminated { 0.0 } else { 1.0 };
        self.terminated |= done;
        self.steps += 1;
        StepResult {
            next_state: self.observation(),
            reward,
            done,
            // As Gymnasium's TimeLimit: step 500 is truncated even when it also terminates.
            truncated: self.steps >= Self::MAX_EPISODE_STEPS,
        }
    }

    fn reset(&mut self) {
        let mut draw = || self.rng.uniform(-0.05, 0.05);
        let state = CartPoleState {
            x: draw(),
            x_dot: draw(),
            theta: draw(),
            theta_dot: draw(),
        };
        self.set_state(state);
    }
}

impl DiscreteEnvironment for CartPole {
    fn observation_size(&self) -> usize {
        4
    }

    fn num_actions(&self) -> usize {
        2
    }

    fn reset_with_seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_are_small_and_seeded() {
        let (a, b) = (CartPole::new(3), CartPole::new(3));
        assert_eq!(a.state(), b.state());
        assert!(a.state().iter().all(|v| v.abs() <= 0.05));
        assert_ne!(CartPole::new(4).state(), a.state());
    }

    #[test]
    fn pushing_one_way_ends_the_episode_with_reward_one_each_step() {
        let mut env = CartPole::new(0);
        let mut total = 0.0;
        for step in 1..=CartPole::MAX_EPISODE_STEPS {
            let r = env.step(1);
            total += r.reward;
            if r.done {
                assert!(step < 20, "fell after {step} steps");
                assert!(!r.truncated);
                assert_eq!(total, step as f64);
                // After termination: reward 0.
                assert_eq!(env.step(1).reward, 0.0);
                return;
            }
        }
        panic!("never terminated");
    }
}
