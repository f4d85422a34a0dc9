//! CartPole against Gymnasium, TD targets, target updates, Q-learning on the chain MDP,
//! cross-backend Q-values, save/reload and resume.

use std::ops::ControlFlow;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Tensor, TensorData};
use kiln::mlp::MlpConfig;
use kiln::rl::burn_rl::{Environment, Policy};
use kiln::rl::dqn::{
    self, DqnConfig, DqnError, QPolicy, ReplayBuffer, hard_update, soft_update, td_targets,
};
use kiln::rl::run::{RunDir, RunError, RunMode};
use kiln::rl::{CartPole, CartPoleState, Chain};

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
fn td_targets_mask_terminal_steps_and_double_dqn_uses_the_online_argmax() {
    let device = cpu();
    let t1 = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [2]), &device);
    let t2 = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [2, 2]), &device);
    let values = |t: Tensor<1>| t.into_data().iter::<f32>().collect::<Vec<_>>();
    // Row 0 terminal: no bootstrap. Row 1 not terminal: r + γ max Q_target(s′).
    let y = td_targets(
        t1(vec![1.0, 1.0]),
        t1(vec![0.0, 1.0]),
        t2(vec![2.0, 3.0, 2.0, 3.0]),
        None,
        0.9,
    );
    assert_eq!(values(y), vec![1.0, 1.0 + 0.9 * 3.0]);
    // Double DQN: the online network picks action 0 for row 0, action 1 for row 1.
    let y = td_targets(
        t1(vec![0.0, 0.0]),
        t1(vec![1.0, 1.0]),
        t2(vec![2.0, 3.0, 2.0, 3.0]),
        Some(t2(vec![5.0, 0.0, 0.0, 5.0])),
        0.5,
    );
    assert_eq!(values(y), vec![1.0, 1.5]);
}

/// A time-limit truncation is stored as non-terminal (its target bootstraps), a real
/// termination as terminal, by `push_step`, which the training loop stores every step with.
#[test]
fn truncated_steps_are_stored_as_non_terminal() {
    let mut env = Chain::new(3).unwrap();
    let mut buffer = ReplayBuffer::new(64, 3).unwrap();
    let mut observation = env.state();
    let (mut saw_truncation, mut saw_termination) = (false, false);
    // Walk left until truncated, then right until the goal.
    for action in std::iter::repeat_n(0, 12).chain(std::iter::repeat_n(1, 2)) {
        let r = env.step(action);
        buffer.push_step(&observation, action, &r);
        let (_, _, _, _, stored_terminal) = buffer.get(buffer.len() - 1);
        if r.truncated {
            saw_truncation = true;
            assert!(!stored_terminal);
            env.reset();
            observation = env.state();
        } else {
            assert_eq!(stored_terminal, r.done);
            saw_termination |= r.done;
            observation = r.next_state;
        }
    }
    assert!(saw_truncation && saw_termination);
}

#[test]
fn target_networks_sync_hard_and_soft() {
    let device = cpu();
    let config = MlpConfig::new()
        .with_input_size(4)
        .with_hidden_sizes(vec![8])
        .with_output_size(2)
        .with_dropout(0.0);
    device.seed(1);
    let online = config.init(&device).unwrap();
    let old = config.init(&device).unwrap();
    // Every parameter: soft_update walks the module generically, so each tensor counts.
    let weights = |m: &kiln::mlp::Mlp| -> Vec<f32> {
        let mut v = Vec::new();
        for layer in m.hidden.iter().chain(std::iter::once(&m.output)) {
            v.extend(layer.weight.val().into_data().iter::<f32>());
            v.extend(layer.bias.as_ref().unwrap().val().into_data().iter::<f32>());
        }
        v
    };
    assert_eq!(weights(&online).len(), 4 * 8 + 8 + 8 * 2 + 2);
    assert_ne!(
        weights(&online),
        weights(&old),
        "two inits gave the same weights"
    );
    let hard = hard_update(&online);
    assert_eq!(weights(&hard), weights(&online));
    let soft = soft_update(old.clone(), &online, 0.25);
    for ((s, o), t) in weights(&soft)
        .iter()
        .zip(weights(&online))
        .zip(weights(&old))
    {
        assert!((s - (0.25 * o + 0.75 * t)).abs() < 1e-6, "{s} vs {o}, {t}");
    }
}

/// The DQN settings that learn the 5-state chain in 6,000 steps.
fn chain_config() -> DqnConfig {
    DqnConfig::new()
        .with_network(
            MlpConfig::new()
                .with_input_size(5)
                .with_hidden_sizes(vec![32])
                .with_output_size(2)
                .with_dropout(0.0),
        )
        .with_total_steps(6_000)
        .with_learning_rate(5e-3)
        .with_gamma(0.9)
        .with_buffer_size(2_000)
        .with_batch_size(64)
        .with_learning_starts(500)
        .with_train_every(1)
        .with_target_update_every(100)
        .with_exploration_fraction(0.5)
        .with_end_epsilon(0.2)
}

/// DQN on a 5-state chain learns the optimal Q-values `Q*(s, right) = γ^(3 − s)`,
/// `Q*(s, left) = γ·V*(s − 1)` to within 0.05.
#[test]
fn dqn_learns_the_chain_mdps_optimal_q_values() {
    let device = cpu();
    let mut env = Chain::new(5).unwrap();
    let config = chain_config().with_checkpoint_every(100_000);
    let run = dqn::train(&config, &mut env, &device, kiln::rl::silent).unwrap();
    let optimal = env.optimal_q(config.gamma);
    let mut policy = QPolicy::new(run.network.clone(), 0.0, 0);
    for (s, expected) in optimal.iter().enumerate() {
        let x = Tensor::<2>::from_data(TensorData::new(env.one_hot(s), [1, 5]), &device);
        let q: Vec<f32> = policy.forward(x).into_data().iter::<f32>().collect();
        for a in 0..2 {
            assert!(
                (f64::from(q[a]) - expected[a]).abs() < 0.05,
                "Q({s}, {a}) = {} vs optimal {}",
                q[a],
                expected[a]
            );
        }
    }
    let returns = dqn::evaluate(&run.network, &mut env, 3, 0).unwrap();
    assert_eq!(returns, vec![1.0; 3], "the greedy policy walks to the goal");
}

#[test]
fn same_weights_same_q_values_on_every_backend() {
    let all = cross_backends("same_weights_same_q_values_on_every_backend");
    let config = DqnConfig::new().network;
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

fn small_cartpole_config() -> DqnConfig {
    DqnConfig::new()
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

/// The TD losses against hand-computed values: errors 0.5, −2 and 3 give Huber
/// (0.125 + 1.5 + 2.5) / 3 = 1.375 and MSE (0.25 + 4 + 9) / 3.
#[test]
fn td_losses_match_hand_computed_values() {
    let device = cpu();
    let errors = || Tensor::<1>::from_data(TensorData::new(vec![0.5f32, -2.0, 3.0], [3]), &device);
    let value = |t: Tensor<1>| f64::from(t.into_scalar::<f32>());
    let huber = value(dqn::td_loss(errors(), kiln::rl::dqn::TdLoss::Huber));
    assert!((huber - 1.375).abs() < 1e-6, "{huber}");
    let mse = value(dqn::td_loss(errors(), kiln::rl::dqn::TdLoss::Mse));
    assert!((mse - 13.25 / 3.0).abs() < 1e-6, "{mse}");
}

/// Double DQN, soft target updates, the Huber loss and gradient clipping each change what the
/// loop computes (its TD losses differ from the plain run's with the same seed, so the option
/// is wired in; the final Q-values all converge to Q*, so they would not tell) and each still
/// learns the chain's optimal greedy policy. Seed 3: with seed 1 online and target networks
/// never disagree on an argmax here, and Double DQN's targets equal DQN's bit for bit.
#[test]
fn dqn_options_are_used_inside_the_loop_and_still_learn() {
    let device = cpu();
    let base = chain_config()
        // A target that lags, so that online and target networks disagree on some argmax
        // and Double DQN's target differs from DQN's.
        .with_target_update_every(1_000)
        .with_seed(3);
    let run = |config: &DqnConfig| {
        let mut env = Chain::new(5).unwrap();
        let run = dqn::train(config, &mut env, &device, kiln::rl::silent).unwrap();
        let returns = dqn::evaluate(&run.network, &mut env, 3, 0).unwrap();
        let losses: Vec<f32> = run.metrics.losses.iter().map(|l| l.loss as f32).collect();
        (returns, losses)
    };
    let (returns, plain) = run(&base);
    assert_eq!(returns, vec![1.0; 3]);
    assert_eq!(run(&base).1, plain, "the same seed gave other losses");
    let variants = [
        (
            "double DQN",
            base.clone().with_target(kiln::rl::dqn::TdTarget::DoubleDqn),
        ),
        (
            "soft updates",
            base.clone().with_tau(0.05).with_target_update_every(1),
        ),
        (
            "Huber loss",
            base.clone().with_loss(kiln::rl::dqn::TdLoss::Huber),
        ),
        (
            "gradient clipping",
            base.clone().with_max_grad_norm(Some(0.01)),
        ),
    ];
    for (name, config) in variants {
        let (returns, losses) = run(&config);
        assert_eq!(
            returns,
            vec![1.0; 3],
            "{name}: the greedy policy does not reach the goal"
        );
        // Runs on flex are deterministic (same seed, same losses bit for bit), so any
        // difference comes from the option.
        let diff = max_abs_diff(&plain, &losses);
        assert!(
            diff > 0.0,
            "{name}: the same TD losses as the plain run, bit for bit"
        );
        println!("{name}: learns; TD losses differ from the plain run's by up to {diff:.2e}");
    }
}
