//! What a DQN run records.

use serde::{Deserialize, Serialize};

/// A finished episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Environment steps done when it ended.
    pub step: usize,
    /// Undiscounted return (sum of rewards).
    pub episode_return: f64,
    /// Steps it lasted.
    pub length: usize,
    /// ε when it ended.
    pub epsilon: f64,
}

/// The TD loss at a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Environment step.
    pub step: usize,
    /// TD loss of the batch.
    pub loss: f64,
    /// Mean `Q(s, a)` of the batch.
    pub mean_q: f64,
}

/// What a run records; saved as `metrics.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DqnMetrics {
    /// Every finished episode.
    pub episodes: Vec<Episode>,
    /// The loss every 100 environment steps once learning has started.
    pub losses: Vec<LossPoint>,
}
