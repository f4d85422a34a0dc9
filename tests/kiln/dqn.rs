//! CartPole against Gymnasium, cross-backend Q-values, save/reload and resume. TD targets and
//! losses, target updates and Q-learning on the chain MDP are tested in kiln-rl itself
//! (`crates/kiln-rl/tests/dqn.rs`).

use std::ops::ControlFlow;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Tensor, TensorData};
use kiln::mlp::MlpConfig;
use kiln::rl::burn_rl::{Environment, Policy};
use kiln::rl::dqn::{self, DqnError, DqnTrainingConfig, QPolicy};
use kiln::rl::run::{RunDir, RunError, RunMode};
use kiln::rl::{CartPole, CartPoleState};

use super::common::{cpu, cross_backends, max_abs_diff};

#[derive(serde::Deserialize)]
struct Fixture {
    generator: String,
    trajectories: Vec<Trajectory>,
}

#[derive(serde::Deserialize)]
struct Trajectory {
    start: [f64; 4],
    steps: Vec<FixtureStep>,
}

#[derive(serde::Deserialize)]
struct FixtureStep {
    action: usize,
    state: [f64; 4],
    observation: [f32; 4],
    reward: f64,
    terminated: bool,
    truncated: bool,
}

/// Every state (to 1e-12), observation (to 1e-6 relative: they are f32), reward and flag
/// (exactly) of Gymnasium's CartPole-v1 on recorded trajectories: random, alternating and
/// constant actions, a 500-step balancing run that ends in truncation, and one whose pole
/// falls on step 500, which Gymnasium's TimeLimit reports as terminated *and* truncated.
/// Regenerate the fixture with
/// `python3 scripts/fixtures/cartpole_gymnasium.py` (needs `pip install gymnasium`).
#[test]
fn cartpole_matches_gymnasium_step_by_step() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cartpole.json");
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut env = CartPole::new(0);
    let mut worst = 0.0f64;
    let (mut truncations, mut both) = (0, 0);
    for (t, trajectory) in fixture.trajectories.iter().enumerate() {
        let [x, x_dot, theta, theta_dot] = trajectory.start;
        env.set_state(CartPoleState {
            x,
            x_dot,
            theta,
            theta_dot,
        });
        for (i, expected) in trajectory.steps.iter().enumerate() {
            let got = env.step(expected.action);
            let s = env.physical_state();
            for (a, b) in [s.x, s.x_dot, s.theta, s.theta_dot]
                .iter()
                .zip(expected.state)
            {
                let diff = (a - b).abs();
                worst = worst.max(diff);
                // A balanced pole is unstable: any last-bit difference (libm's vs NumPy's
                // sin/cos) would grow over hundreds of steps, so this checks closely.
                assert!(
                    diff <= 1e-12,
                    "trajectory {t} step {i}: {a} vs Gymnasium's {b} ({})",
                    fixture.generator
                );
            }
            for (a, b) in got.next_state.iter().zip(expected.observation) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "trajectory {t} step {i}"
                );
            }
            assert_eq!(got.reward, expected.reward, "trajectory {t} step {i}");
            assert_eq!(got.done, expected.terminated, "trajectory {t} step {i}");
            assert_eq!(got.truncated, expected.truncated, "trajectory {t} step {i}");
            truncations += usize::from(got.truncated);
            both += usize::from(got.truncated && got.done);
        }
    }
    assert_eq!(
        (truncations, both),
        (2, 1),
        "the fixture has two time-limit truncations, one of them on a terminating step"
    );
    println!("CartPole matches Gymnasium, max |Δ state| {worst:.1e}");
}

#[test]
fn same_weights_same_q_values_on_every_backend() {
    let all = cross_backends("same_weights_same_q_values_on_every_backend");
    let config = DqnTrainingConfig::new().network;
    let (ref_backend, ref_device) = &all[0];
    ref_device.seed(3);
    let reference = config.init(ref_device).unwrap();
    let bytes = reference.clone().into_record().into_bytes().unwrap();
    let obs: Vec<f32> = (0..32 * 4)
        .map(|i| ((i * 37) % 100) as f32 / 25.0 - 2.0)
        .collect();
    let x = |device| Tensor::<2>::from_data(TensorData::new(obs.clone(), [32, 4]), device);
    let expected: Vec<f32> = QPolicy::new(reference, 0.0, 0)
        .forward(x(ref_device))
        .into_data()
        .iter::<f32>()
        .collect();
    for (backend, device) in &all[1..] {
        let network = config
            .init(device)
            .unwrap()
            .try_load_record(ModuleRecord::from_bytes(bytes.clone()).unwrap())
            .unwrap();
        let got: Vec<f32> = QPolicy::new(network, 0.0, 0)
            .forward(x(device))
            .into_data()
            .iter::<f32>()
            .collect();
        let worst = max_abs_diff(&expected, &got);
        assert!(
            worst <= 1e-4,
            "{backend} differs from {ref_backend} by {worst}"
        );
        println!("Q-values: {backend} matches {ref_backend} (max |Δ| {worst:.1e})");
    }
}

fn small_cartpole_config() -> DqnTrainingConfig {
    DqnTrainingConfig::new()
        .with_total_steps(3_000)
        .with_learning_starts(500)
        .with_batch_size(32)
        .with_checkpoint_every(1_000)
}

fn open(dir: &std::path::Path, mode: RunMode) -> RunDir {
    RunDir::open(dir, mode).unwrap()
}

#[test]
fn training_saves_reloads_and_resumes() {
    let device = cpu();
    let dir = tempfile::tempdir().unwrap();
    let config = small_cartpole_config().with_total_steps(2_000);
    let mut env = CartPole::new(config.seed);
    let run = kiln::rl::run::train(
        &config,
        &mut env,
        &device,
        &open(dir.path(), RunMode::New),
        kiln::rl::silent,
    )
    .unwrap();

    // Reload: the same Q-values.
    let loaded = kiln::rl::run::load_trained(dir.path(), &device).unwrap();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.01, 0.2, -0.03, 0.1], [1, 4]),
        &device,
    );
    let q = |m: &kiln::mlp::Mlp| {
        m.forward(x.clone())
            .into_data()
            .iter::<f32>()
            .collect::<Vec<_>>()
    };
    assert_eq!(q(&loaded.network), q(&run.network));
    // JSON keeps f64 values to about 1e-16 (not bit for bit).
    assert_eq!(loaded.metrics.episodes.len(), run.metrics.episodes.len());
    for (a, b) in loaded.metrics.losses.iter().zip(&run.metrics.losses) {
        assert_eq!(a.step, b.step);
        assert!((a.loss - b.loss).abs() < 1e-12);
    }
    assert!(!run.metrics.episodes.is_empty() && !run.metrics.losses.is_empty());

    // Resuming with nothing left to do returns the checkpoint's own network: the weights
    // are restored, not re-initialised.
    let restored = kiln::rl::run::train(
        &config,
        &mut env,
        &device,
        &open(dir.path(), RunMode::Resume),
        kiln::rl::silent,
    )
    .unwrap();
    assert_eq!(q(&restored.network), q(&run.network));

    // Resuming with fewer total steps than the checkpoint reached is a typed error that
    // leaves the checkpoint as it was.
    let err = kiln::rl::run::train(
        &config.clone().with_total_steps(1_500),
        &mut env,
        &device,
        &open(dir.path(), RunMode::Resume),
        kiln::rl::silent,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DqnError::TotalBelowCheckpoint {
                checkpoint: 2_000,
                total_steps: 1_500
            }
        ),
        "{err}"
    );

    // A new run in the same folder is refused; resuming goes on from step 2,000.
    assert!(matches!(
        RunDir::open(dir.path(), RunMode::New),
        Err(RunError::InUse { done: 2_000, .. })
    ));
    let longer = config.clone().with_total_steps(3_000);
    let mut first_step = None;
    let resumed = kiln::rl::run::train(
        &longer,
        &mut env,
        &device,
        &open(dir.path(), RunMode::Resume),
        |p| {
            first_step.get_or_insert(p.done);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(
        first_step,
        Some(3_000),
        "progress comes every 1,000 steps from 2,000"
    );
    assert!(resumed.metrics.episodes.len() > run.metrics.episodes.len());
    for (a, b) in resumed.metrics.episodes.iter().zip(&run.metrics.episodes) {
        assert_eq!((a.step, a.episode_return), (b.step, b.episode_return));
    }
}

#[test]
fn a_network_that_does_not_fit_the_environment_is_an_error() {
    let config = small_cartpole_config()
        .with_network(MlpConfig::new().with_input_size(5).with_output_size(2));
    let err = dqn::train(&config, &mut CartPole::new(0), &cpu(), kiln::rl::silent).unwrap_err();
    assert!(matches!(
        err,
        DqnError::EnvironmentMismatch {
            inputs: 5,
            observation_size: 4,
            ..
        }
    ));
}

#[test]
fn progress_can_end_a_run_early_and_it_is_saved() {
    let device = cpu();
    let dir = tempfile::tempdir().unwrap();
    let config = small_cartpole_config();
    let mut seen = Vec::new();
    let run = kiln::rl::run::train(
        &config,
        &mut CartPole::new(0),
        &device,
        &open(dir.path(), RunMode::New),
        |p| {
            seen.push(p.done);
            if p.done >= 2_000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(seen, vec![1_000, 2_000]);
    assert!(run.metrics.episodes.last().unwrap().step <= 2_000);
    assert!(dir.path().join(kiln::rl::run::MODEL_FILE).is_file());
    // Its checkpoint says step 2,000: resuming continues from there.
    let mut resumed_from = None;
    kiln::rl::run::train(
        &config,
        &mut CartPole::new(0),
        &device,
        &open(dir.path(), RunMode::Resume),
        |p| {
            resumed_from.get_or_insert(p.done);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(resumed_from, Some(3_000));
}
