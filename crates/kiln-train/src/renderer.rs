//! A progress renderer for logs and pipes: one line per split and epoch.
//!
//! burn-train shows its full-screen TUI when standard output is a terminal. Elsewhere (CI,
//! a log file, `cargo test`) its fallback prints a line per batch; [`LineRenderer`] prints
//! one line when a split ends, with the epoch's metrics.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `epoch 3/10 train: Loss 0.071 · Accuracy 97.8` style lines.
#[derive(Default)]
pub struct LineRenderer {
    names: BTreeMap<String, String>,
    latest: BTreeMap<String, String>,
    split: String,
    epoch: usize,
    total_epochs: usize,
}

impl LineRenderer {
    /// A renderer that has printed nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&mut self, state: MetricState) {
        let entry = match state {
            MetricState::Generic(e) | MetricState::Numeric(e, _) => e,
        };
        let id = format!("{:?}", entry.metric_id);
        // burn formats "epoch 92.88 % - batch 90.62 %": keep the running epoch figure.
        let text = entry.serialized_entry.formatted;
        let epoch = text.split(" - batch").next().unwrap_or(&text);
        let epoch = epoch
            .strip_prefix("epoch ")
            .unwrap_or(epoch)
            .trim()
            .to_string();
        self.latest.insert(id, epoch);
    }
}

/// Whether burn-train's own terminal UI should be used: standard output is a terminal.
pub fn use_terminal_ui() -> bool {
    std::io::stdout().is_terminal()
}

impl MetricsRendererTraining for LineRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.record(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(state);
    }
}

impl MetricsRendererEvaluation for LineRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.record(state);
    }
}

impl TrainingProgressLogger for LineRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _: Option<usize>,
        _: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch.max(1);
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, _total_items: usize) {
        self.split = split.to_string();
        self.latest.clear();
    }

    fn update_split(&mut self, _items_processed: usize) {}

    fn end_split(&mut self) {
        let metrics: Vec<String> = self
            .latest
            .iter()
            .map(|(id, text)| {
                let name = self.names.get(id).map_or(id.as_str(), String::as_str);
                format!("{name} {text}")
            })
            .collect();
        println!(
            "epoch {}/{} {}: {}",
            self.epoch,
            self.total_epochs,
            self.split,
            metrics.join(" · ")
        );
    }

    fn end(&mut self) {}

    // burn-train sends an "Iteration" event per batch; a line per epoch is the point here.
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for LineRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, name: &str, _total_items: usize) {
        self.split = name.to_string();
        self.latest.clear();
    }
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {
        self.end_split();
    }
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for LineRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.insert(
            format!("{:?}", definition.metric_id),
            definition.name.to_string(),
        );
    }
}
