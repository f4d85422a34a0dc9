//! A uniform replay buffer on the host.
//!
//! burn-rl's `TransitionBuffer` keeps transitions in device tensors and writes each one with
//! five tensor operations; at one transition per environment step that costs more than the
//! step itself on the CPU backends. This buffer keeps them in flat host vectors and builds
//! one batch of tensors per gradient step. It stores `terminated` and not `truncated`: a
//! transition cut by a time limit is stored as non-terminal, so its target bootstraps.

use burn::tensor::{Device, Int, Tensor, TensorData};
use burn_rl::StepResult;
use serde::{Deserialize, Serialize};

use super::DqnConfigError;
use crate::Rng;

/// A ring buffer of transitions `(s, a, r, s′, terminated)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayBuffer {
    capacity: usize,
    observation_size: usize,
    observations: Vec<f32>,
    next_observations: Vec<f32>,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    /// Slot the next transition goes to.
    head: usize,
    len: usize,
}

/// A batch of sampled transitions as tensors.
///
/// # Shapes
/// - observations, next_observations: `[batch, observation_size]`
/// - actions: `[batch, 1]`; rewards, not_terminal: `[batch]`
#[derive(Debug, Clone)]
pub struct Sample {
    /// `s`.
    pub observations: Tensor<2>,
    /// `a`.
    pub actions: Tensor<2, Int>,
    /// `r`.
    pub rewards: Tensor<1>,
    /// `s′`.
    pub next_observations: Tensor<2>,
    /// 0 where `s′` is terminal, else 1.
    pub not_terminal: Tensor<1>,
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` transitions of `observation_size` values.
    ///
    /// # Errors
    /// [`DqnConfigError::ZeroBufferSize`] for a capacity of 0 (it could store nothing).
    pub fn new(capacity: usize, observation_size: usize) -> Result<Self, DqnConfigError> {
        if capacity == 0 {
            return Err(DqnConfigError::ZeroBufferSize);
        }
        Ok(Self {
            capacity,
            observation_size,
            observations: vec![0.0; capacity * observation_size],
            next_observations: vec![0.0; capacity * observation_size],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            terminated: vec![false; capacity],
            head: 0,
            len: 0,
        })
    }

    /// Transitions stored (at most the capacity).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most transitions kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stores a transition, overwriting the oldest when full.
    ///
    /// # Panics
    /// If an observation does not have `observation_size` values.
    pub fn push(
        &mut self,
        observation: &[f32],
        action: usize,
        reward: f64,
        next_observation: &[f32],
        terminated: bool,
    ) {
        let d = self.observation_size;
        assert_eq!(observation.len(), d, "observation size");
        assert_eq!(next_observation.len(), d, "next observation size");
        let i = self.head;
        self.observations[i * d..(i + 1) * d].copy_from_slice(observation);
        self.next_observations[i * d..(i + 1) * d].copy_from_slice(next_observation);
        self.actions[i] = action as u32;
        self.rewards[i] = reward as f32;
        self.terminated[i] = terminated;
        self.head = (self.head + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// Stores the transition of one environment step from `observation` with `action`. It is
    /// terminal only when the episode terminated (`step.done`); a time-limit truncation is
    /// stored as non-terminal, so its TD target bootstraps.
    pub fn push_step(&mut self, observation: &[f32], action: usize, step: &StepResult<Vec<f32>>) {
        self.push(
            observation,
            action,
            step.reward,
            &step.next_state,
            step.done,
        );
    }

    /// The stored slot indices `batch` uniform draws (with replacement) land on.
    pub fn sample_indices(&self, batch: usize, rng: &mut Rng) -> Vec<usize> {
        (0..batch).map(|_| rng.below(self.len)).collect()
    }

    /// The transition in slot `i`: `(s, a, r, s′, terminated)`.
    pub fn get(&self, i: usize) -> (&[f32], usize, f32, &[f32], bool) {
        let d = self.observation_size;
        (
            &self.observations[i * d..(i + 1) * d],
            self.actions[i] as usize,
            self.rewards[i],
            &self.next_observations[i * d..(i + 1) * d],
            self.terminated[i],
        )
    }

    /// `batch` transitions drawn uniformly (with replacement) as tensors on `device`.
    ///
    /// # Panics
    /// If the buffer is empty.
    pub fn sample(&self, batch: usize, rng: &mut Rng, device: &Device) -> Sample {
        assert!(!self.is_empty(), "sampling an empty replay buffer");
        let d = self.observation_size;
        let idx = self.sample_indices(batch, rng);
        let mut obs = Vec::with_capacity(batch * d);
        let mut next = Vec::with_capacity(batch * d);
        let (mut actions, mut rewards, mut not_terminal) = (
            Vec::with_capacity(batch),
            Vec::with_capacity(batch),
            Vec::with_capacity(batch),
        );
        for &i in &idx {
            let (s, a, r, s2, t) = self.get(i);
            obs.extend_from_slice(s);
            next.extend_from_slice(s2);
            actions.push(a as i64);
            rewards.push(r);
            not_terminal.push(if t { 0.0f32 } else { 1.0 });
        }
        Sample {
            observations: Tensor::from_data(TensorData::new(obs, [batch, d]), device),
            actions: Tensor::from_data(TensorData::new(actions, [batch, 1]), device),
            rewards: Tensor::from_data(TensorData::new(rewards, [batch]), device),
            next_observations: Tensor::from_data(TensorData::new(next, [batch, d]), device),
            not_terminal: Tensor::from_data(TensorData::new(not_terminal, [batch]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(capacity: usize, pushes: usize) -> ReplayBuffer {
        let mut b = ReplayBuffer::new(capacity, 2).unwrap();
        for t in 0..pushes {
            let v = t as f32;
            b.push(&[v, -v], t % 2, f64::from(v), &[v + 1.0, 0.0], t % 3 == 0);
        }
        b
    }

    #[test]
    fn wraps_around_keeping_the_newest() {
        let b = filled(4, 6);
        assert_eq!(b.len(), 4);
        // Slots 0 and 1 were overwritten by transitions 4 and 5.
        assert_eq!(b.get(0).0, &[4.0, -4.0]);
        assert_eq!(b.get(1).2, 5.0);
        assert_eq!(b.get(2).0, &[2.0, -2.0]);
        assert!(b.get(3).4);
    }

    #[test]
    fn samples_only_stored_slots_and_all_of_them() {
        let b = filled(100, 7);
        let mut rng = Rng::new(0);
        let idx = b.sample_indices(1000, &mut rng);
        assert!(idx.iter().all(|&i| i < 7));
        for slot in 0..7 {
            assert!(idx.contains(&slot), "slot {slot} never drawn");
        }
        let full = filled(5, 50);
        let idx = full.sample_indices(1000, &mut rng);
        assert!(idx.iter().all(|&i| i < 5));
    }

    #[test]
    fn round_trips_through_json() {
        let b = filled(4, 6);
        let back: ReplayBuffer = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn a_buffer_of_no_capacity_is_refused() {
        assert!(matches!(
            ReplayBuffer::new(0, 4),
            Err(DqnConfigError::ZeroBufferSize)
        ));
    }
}
