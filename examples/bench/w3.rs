//! W3: kiln's DQN training loop with its defaults (CleanRL's CartPole settings) on
//! CartPole-v1, environment steps per second over steps 1,000 to 31,000: acting, storing,
//! and from step 10,000 a gradient step every 10 steps and a target update every 500.
//!
//! The clock runs between two progress reports (the loop reports every 1,000 steps), so it
//! times environment steps only: not the setup before the first step (network, buffer,
//! device), and, the run being in memory, no config or checkpoint write. `bench/python/w3.py`
//! times the same steps.

use std::ops::ControlFlow;
use std::time::Instant;

use kiln::backend::Backend;
use kiln::cli::AnyError;
use kiln::rl::CartPole;
use kiln::rl::dqn::{self, DqnTrainingConfig};

use crate::Row;
use crate::timing::Environment;

/// Steps measured.
const STEPS: usize = 30_000;

/// Steps per second of the default DQN run's steps 1,000–31,000 on `device`.
fn rate(device: &burn::tensor::Device) -> Result<f64, AnyError> {
    // In memory: no run folder, so no checkpoint or file write happens.
    let config = DqnTrainingConfig::new();
    let mut env = CartPole::new(config.seed);
    let mut first: Option<(usize, Instant)> = None;
    let mut measured = None;
    dqn::train(&config, &mut env, device, |p| {
        let now = Instant::now();
        match first {
            None => {
                first = Some((p.done, now));
                ControlFlow::Continue(())
            }
            Some((from, start)) if p.done >= from + STEPS => {
                measured = Some((p.done - from) as f64 / (now - start).as_secs_f64());
                ControlFlow::Break(())
            }
            Some(_) => ControlFlow::Continue(()),
        }
    })?;
    measured.ok_or_else(|| "the DQN run ended before 31,000 steps".into())
}

/// W3 on every backend given, plus PyTorch + Gymnasium where installed.
pub fn run(backends: &[Backend], reference: bool) -> Result<Vec<Row>, AnyError> {
    let mut rows = Vec::new();
    let row = |runner: &str, value: f64| Row::new("W3", "DQN env steps/s", runner, value);
    for (backend, device) in crate::working(backends, "W3") {
        let r = rate(&device)?;
        eprintln!("W3 {backend}: {r:.0} steps/s");
        rows.push(row(backend.name(), r));
    }
    if reference {
        let threads = Environment::capture().threads();
        match crate::timing::python_reference("w3.py", 0.0, threads, &[]) {
            Ok(v) => {
                if let Some(r) = v.get("steps_per_s").and_then(serde_json::Value::as_f64) {
                    eprintln!("W3 pytorch + gymnasium ({threads} threads): {r:.0} steps/s");
                    rows.push(row("pytorch", r));
                }
            }
            Err(reason) => eprintln!("W3: no PyTorch column: {reason}"),
        }
    }
    Ok(rows)
}
