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

use super::DqnError;
use crate::Rng;

/// A ring buffer of transitions `(s, a, r, s′, terminated)`.
///
/// A buffer read back (serde, as the DQN's checkpoint stores it) is checked whole first:
/// every length agrees with the capacity and observation size, `head` and `len` describe a
/// ring that [`ReplayBuffer::push`] could have made, and every stored value is finite
/// ([`DqnError`]); [`ReplayBuffer::check_fits`] then checks it against a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ReplayBufferFields")]
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

/// The fields as stored, before they are checked.
#[derive(Deserialize)]
struct ReplayBufferFields {
    capacity: usize,
    observation_size: usize,
    observations: Vec<f32>,
    next_observations: Vec<f32>,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    head: usize,
    len: usize,
}

fn field(field: &'static str, found: usize, rule: String) -> DqnError {
    DqnError::ReplayBufferField {
        field,
        found: found as u64,
        rule,
    }
}

impl TryFrom<ReplayBufferFields> for ReplayBuffer {
    type Error = DqnError;

    fn try_from(f: ReplayBufferFields) -> Result<Self, Self::Error> {
        if f.capacity == 0 {
            return Err(field("capacity", 0, "it must be at least 1".into()));
        }
        if f.observation_size == 0 {
            return Err(field("observation_size", 0, "it must be at least 1".into()));
        }
        let values = f.capacity.checked_mul(f.observation_size).ok_or_else(|| {
            field(
                "capacity",
                f.capacity,
                format!(
                    "capacity × observation_size {} overflows",
                    f.observation_size
                ),
            )
        })?;
        for (name, len) in [
            ("observations", f.observations.len()),
            ("next_observations", f.next_observations.len()),
        ] {
            if len != values {
                return Err(field(
                    name,
                    len,
                    format!("it must hold capacity × observation_size = {values} values"),
                ));
            }
        }
        for (name, len) in [
            ("actions", f.actions.len()),
            ("rewards", f.rewards.len()),
            ("terminated", f.terminated.len()),
        ] {
            if len != f.capacity {
                return Err(field(
                    name,
                    len,
                    format!("it must hold capacity = {} values", f.capacity),
                ));
            }
        }
        if f.len > f.capacity {
            return Err(field(
                "len",
                f.len,
                format!("it cannot exceed the capacity {}", f.capacity),
            ));
        }
        if f.head >= f.capacity {
            return Err(field(
                "head",
                f.head,
                format!("it must be below the capacity {}", f.capacity),
            ));
        }
        if f.len < f.capacity && f.head != f.len {
            return Err(field(
                "head",
                f.head,
                format!(
                    "a buffer not yet full fills its slots in order, so head must equal len {}",
                    f.len
                ),
            ));
        }
        let d = f.observation_size;
        for slot in 0..f.len {
            for (name, values) in [
                ("observations", &f.observations[slot * d..(slot + 1) * d]),
                (
                    "next_observations",
                    &f.next_observations[slot * d..(slot + 1) * d],
                ),
                ("rewards", std::slice::from_ref(&f.rewards[slot])),
            ] {
                if let Some((_, value)) = kiln_core::first_non_finite(values) {
                    return Err(DqnError::ReplayBufferNonFinite {
                        field: name,
                        slot,
                        value,
                    });
                }
            }
        }
        Ok(Self {
            capacity: f.capacity,
            observation_size: f.observation_size,
            observations: f.observations,
            next_observations: f.next_observations,
            actions: f.actions,
            rewards: f.rewards,
            terminated: f.terminated,
            head: f.head,
            len: f.len,
        })
    }
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
    /// [`DqnError::ZeroBufferSize`] for a capacity of 0 (it could store nothing);
    /// [`DqnError::BufferTooLarge`] when the memory it needs cannot be had (it is
    /// asked for before anything is stored, so a mistyped size is an error, not an abort).
    pub fn new(capacity: usize, observation_size: usize) -> Result<Self, DqnError> {
        if capacity == 0 {
            return Err(DqnError::ZeroBufferSize);
        }
        // Two observations of f32, an action (u32), a reward (f32) and a flag per transition.
        let per_transition = observation_size
            .checked_mul(8)
            .and_then(|b| b.checked_add(9));
        let bytes = per_transition.and_then(|b| b.checked_mul(capacity));
        let too_large = || DqnError::BufferTooLarge {
            capacity,
            bytes: bytes.map(|b| b as u64),
        };
        let values = capacity
            .checked_mul(observation_size)
            .ok_or_else(too_large)?;
        Ok(Self {
            capacity,
            observation_size,
            observations: zeroed(values).ok_or_else(too_large)?,
            next_observations: zeroed(values).ok_or_else(too_large)?,
            actions: zeroed(capacity).ok_or_else(too_large)?,
            rewards: zeroed(capacity).ok_or_else(too_large)?,
            terminated: zeroed(capacity).ok_or_else(too_large)?,
            head: 0,
            len: 0,
        })
    }

    /// Checks that this buffer (one read back from a checkpoint) belongs to a run whose
    /// config asks for `capacity` transitions of an environment with `observation_size`
    /// values and `num_actions` actions.
    ///
    /// # Errors
    /// [`DqnError::ReplayBufferField`] for the first value that does not fit.
    pub fn check_fits(
        &self,
        capacity: usize,
        observation_size: usize,
        num_actions: usize,
    ) -> Result<(), DqnError> {
        if self.capacity != capacity {
            return Err(field(
                "capacity",
                self.capacity,
                format!("the run's buffer_size is {capacity}"),
            ));
        }
        if self.observation_size != observation_size {
            return Err(field(
                "observation_size",
                self.observation_size,
                format!("the environment's observations have {observation_size} values"),
            ));
        }
        if let Some(&action) = self.actions[..self.len]
            .iter()
            .find(|&&a| a as usize >= num_actions)
        {
            return Err(field(
                "actions",
                action as usize,
                format!(
                    "the environment has {num_actions} actions (0 to {})",
                    num_actions.saturating_sub(1)
                ),
            ));
        }
        Ok(())
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

/// `n` zeroed values, or `None` when the allocator cannot provide them. Reserving first
/// turns an impossible size into `None` rather than an abort; `vec!` then asks for zeroed
/// memory, which the system maps lazily.
fn zeroed<T: Clone + Default>(n: usize) -> Option<Vec<T>> {
    let mut probe: Vec<T> = Vec::new();
    probe.try_reserve_exact(n).ok()?;
    drop(probe);
    Some(vec![T::default(); n])
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
    fn every_hostile_field_is_a_typed_error() {
        let good: serde_json::Value = serde_json::to_value(filled(4, 3)).unwrap();
        let edit = |key: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[key] = value;
            serde_json::from_value::<ReplayBuffer>(v)
        };
        let cases = [
            ("head", serde_json::json!(20_000), "head is 20000"),
            ("head", serde_json::json!(1), "head must equal len 3"),
            ("len", serde_json::json!(9), "cannot exceed the capacity"),
            ("capacity", serde_json::json!(0), "at least 1"),
            ("capacity", serde_json::json!(5), "observations is 8"),
            ("observation_size", serde_json::json!(5), "observation_size"),
            (
                "observation_size",
                serde_json::json!(usize::MAX),
                "overflows",
            ),
            ("actions", serde_json::json!([0, 1]), "actions is 2"),
            (
                "rewards",
                serde_json::json!([0.0, 1.0, 2.0]),
                "rewards is 3",
            ),
            ("terminated", serde_json::json!([true]), "terminated is 1"),
        ];
        for (key, value, expected) in cases {
            let err = edit(key, value.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{key} = {value}: {err}");
        }
        // Non-finite values in stored slots (JSON has no NaN: a huge number overflows f32).
        let mut v = good.clone();
        v["rewards"][1] = serde_json::json!(1e300);
        let err = serde_json::from_value::<ReplayBuffer>(v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rewards of transition 1"), "{err}");
        // An intact one still loads.
        serde_json::from_value::<ReplayBuffer>(good).unwrap();
    }

    #[test]
    fn a_buffer_from_another_run_does_not_fit() {
        let b = filled(4, 3); // actions 0, 1, 0; 2-value observations
        assert!(b.check_fits(4, 2, 2).is_ok());
        let err = b.check_fits(8, 2, 2).unwrap_err().to_string();
        assert!(err.contains("buffer_size is 8"), "{err}");
        let err = b.check_fits(4, 5, 2).unwrap_err().to_string();
        assert!(err.contains("5 values"), "{err}");
        let err = b.check_fits(4, 2, 1).unwrap_err().to_string();
        assert!(err.contains("actions is 1"), "{err}");
    }

    #[test]
    fn a_buffer_too_large_for_memory_is_an_error_not_an_abort() {
        for capacity in [1usize << 60, 1_000_000_000_000_000] {
            let err = ReplayBuffer::new(capacity, 4).unwrap_err();
            assert!(matches!(err, DqnError::BufferTooLarge { .. }), "{err}");
        }
    }

    #[test]
    fn a_buffer_of_no_capacity_is_refused() {
        assert!(matches!(
            ReplayBuffer::new(0, 4),
            Err(DqnError::ZeroBufferSize)
        ));
    }
}
