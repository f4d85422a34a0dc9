//! Killed runs lose nothing: each training example (MLP, DCGAN, DQN) is started as a child
//! process and killed with SIGKILL seven times — during start-up, as soon as a checkpoint is
//! seen being written, and at a random moment after it commits a new checkpoint — and after
//! each kill the run folder must open for resuming at a checkpoint no older than the last one
//! seen (or hold none yet, before the first), and the next start goes on with `--resume`.
//! The last start runs to the end and must exit cleanly with every epoch (or step) done; no
//! start may panic. Each test prints how many kills it made, how many interrupted a
//! checkpoint write, and the checkpoint each start resumed from.
//!
//! The example binaries are the ones `cargo test` builds beside the test binary
//! (`target/release/examples/`); a run with `--test kiln` alone does not build them, and this
//! test then says it is skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiln::Rng;
use kiln::train::{RunDir, RunError, RunMode};

use super::common::{backends, cpu, loud};

/// The example binary `name`, if `cargo test` built it.
pub(super) fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/release/deps/kiln-HASH → target/release/examples/NAME
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}

/// The CPU backend the children run on: flex when compiled in, else the first that runs.
fn cpu_backend() -> String {
    let all = backends();
    all.iter()
        .find(|(b, _)| b.name() == "flex")
        .unwrap_or(&all[0])
        .0
        .name()
        .to_string()
}

/// `specific` followed by the arguments every start shares: the CPU backend and the run
/// folder.
fn args(specific: &[&str], run: &Path) -> Vec<String> {
    let common = [
        "--backend",
        &cpu_backend(),
        "--artifact-dir",
        run.to_str().unwrap(),
    ]
    .map(String::from);
    specific
        .iter()
        .map(|s| s.to_string())
        .chain(common)
        .collect()
}

pub(super) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

/// What one model's kill test did.
struct Report {
    kills: usize,
    mid_checkpoint: usize,
    resumed_from: Vec<usize>,
}

/// The checkpoint the folder resumes from (0 for none yet), checking it never goes back.
fn checkpoint_after_kill(dir: &Path, kill: usize, last: usize) -> usize {
    match RunDir::open(dir, RunMode::Resume) {
        Ok(run) => {
            let done = run.resume_from().expect("a resumed run has a step");
            assert!(
                done >= last,
                "kill {kill}: the checkpoint went back from {last} to {done}"
            );
            done
        }
        // Killed before its first checkpoint (or before it made the folder).
        Err(RunError::NoCheckpoint(_) | RunError::NoRun(_)) => {
            assert_eq!(last, 0, "kill {kill}: the checkpoint at {last} was lost");
            0
        }
        Err(e) => panic!("kill {kill} left a run folder that does not open: {e}"),
    }
}

/// The step of the checkpoint in `dir`, read without touching anything (the child may be
/// writing): `checkpoint/progress.json`'s `done`.
pub(super) fn checkpoint_done(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("checkpoint/progress.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("done")?.as_u64().map(|d| d as usize)
}

/// When a start is killed.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// At a random moment in its first 0.3 s (start-up, data loading).
    Early,
    /// As soon as a checkpoint is seen being written: `checkpoint.new/` exists (kiln writes
    /// there and renames), or `checkpoint/` exists without the `progress.json` it gets last
    /// (what a write in place would look like).
    MidWrite,
    /// At a random moment within 0.3 s after it commits a checkpoint newer than the one it
    /// started from.
    AfterProgress,
}

/// Starts `binary ARGS [--resume]` once per kill moment in `plan`, killing each start; then
/// once more to the end.
fn kill_and_resume(
    binary: &Path,
    args: &[String],
    dir: &Path,
    plan: &[Moment],
    seed: u64,
) -> Report {
    let mut rng = Rng::new(seed);
    let mut last = 0;
    let mut report = Report {
        kills: 0,
        mid_checkpoint: 0,
        resumed_from: Vec::new(),
    };
    let stderr_file = dir.with_extension("stderr");
    let start = |resume: bool| {
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_file).unwrap());
        if resume {
            command.arg("--resume");
        }
        command.spawn().unwrap()
    };
    let checkpoint_new = dir.join("checkpoint.new");
    let writing = || {
        checkpoint_new.exists()
            || (dir.join("checkpoint").is_dir() && !dir.join("checkpoint/progress.json").exists())
    };
    for (kill, &moment) in plan.iter().enumerate() {
        report.resumed_from.push(last);
        if last == 0 {
            // Nothing to resume: what a user does, start over in an empty folder (a new run
            // refuses a folder holding the killed run's config).
            let _ = std::fs::remove_dir_all(dir);
        }
        let mut child = start(last > 0);
        let began = Instant::now();
        let early = Duration::from_millis(300).mul_f64(rng.unit());
        let mut kill_at: Option<Instant> = None;
        let mut finished = false;
        while began.elapsed() < Duration::from_secs(60) {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            let now = Instant::now();
            match moment {
                Moment::Early if now - began >= early => break,
                Moment::MidWrite if writing() => break,
                Moment::AfterProgress
                    if kill_at.is_none() && checkpoint_done(dir).is_some_and(|d| d > last) =>
                {
                    kill_at = Some(now + Duration::from_millis(300).mul_f64(rng.unit()));
                }
                _ => {}
            }
            if kill_at.is_some_and(|t| now >= t) {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
        assert!(!stderr.contains("panicked"), "kill {kill}: {stderr}");
        if finished {
            assert!(
                status.success(),
                "start {kill} ended on its own and failed: {stderr}"
            );
            last = checkpoint_after_kill(dir, kill, last);
            break;
        }
        report.kills += 1;
        if writing() || dir.join("checkpoint.old").exists() {
            report.mid_checkpoint += 1;
        }
        last = checkpoint_after_kill(dir, kill, last);
    }
    report.resumed_from.push(last);
    let status = start(last > 0).wait().unwrap();
    let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    assert!(status.success(), "the last start failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    report
}

/// Every kind of kill moment, twice, starting with one before any checkpoint.
const PLAN: [Moment; 7] = [
    Moment::Early,
    Moment::AfterProgress,
    Moment::MidWrite,
    Moment::AfterProgress,
    Moment::MidWrite,
    Moment::Early,
    Moment::AfterProgress,
];

fn say(model: &str, r: &Report, total: usize) {
    loud(&format!(
        "{model}: {} kills ({} during a checkpoint write), each start resumed from {:?}, \
         finished {total}",
        r.kills, r.mid_checkpoint, r.resumed_from
    ));
}

pub(super) fn skip(model: &str) {
    loud(&format!(
        "SKIPPED faults::{model}: the example binary is not built (run the whole suite: \
         cargo test --release --workspace)"
    ));
}

#[test]
fn a_killed_mlp_run_resumes_from_its_last_checkpoint() {
    let Some(binary) = example("mlp") else {
        return skip("mlp");
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let epochs = 10;
    let args = args(
        &[
            "--dataset",
            "mnist",
            "--data-dir",
            fixtures().to_str().unwrap(),
            "--epochs",
            &epochs.to_string(),
            "--validation-size",
            "500",
        ],
        &run,
    );
    let report = kill_and_resume(&binary, &args, &run, &PLAN, 1);
    let trained = kiln::mlp::run::load_trained(&run, &cpu()).unwrap();
    assert_eq!(
        trained.metrics.len(),
        epochs,
        "every epoch is in the metrics"
    );
    for (i, m) in trained.metrics.iter().enumerate() {
        assert_eq!(m.epoch, i + 1);
    }
    say("mlp", &report, epochs);
}

#[test]
fn a_killed_dcgan_run_resumes_from_its_last_checkpoint() {
    let Some(binary) = example("dcgan") else {
        return skip("dcgan");
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let epochs = 8;
    let args = args(
        &[
            "--dataset",
            "fashion-mnist",
            "--data-dir",
            fixtures().to_str().unwrap(),
            "--epochs",
            &epochs.to_string(),
            "--limit",
            "256",
            "--no-judge",
        ],
        &run,
    );
    let report = kill_and_resume(&binary, &args, &run, &PLAN, 2);
    let trained = kiln::dcgan::run::load_trained(&run, &cpu()).unwrap();
    assert_eq!(trained.metrics.len(), epochs);
    for (i, m) in trained.metrics.iter().enumerate() {
        assert_eq!(m.epoch, i + 1);
    }
    // Without --recipe the example trains with the default recipe, kiln's, and the resumed
    // run kept it.
    let saved: kiln::dcgan::DcganTrainingConfig =
        RunDir::load_config(&run, "DCGAN config").unwrap();
    let expected = kiln::dcgan::DcganTrainingConfig::new()
        .with_recipe(kiln::dcgan::Recipe::default())
        .with_epochs(epochs)
        .with_quality_samples(saved.quality_samples);
    assert_eq!(
        serde_json::to_value(&saved).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
    assert_eq!(
        saved.discriminator.norm,
        Some(kiln::dcgan::DiscriminatorNorm::Spectral)
    );
    say("dcgan", &report, epochs);
}

#[test]
fn a_killed_dqn_run_resumes_from_its_last_checkpoint() {
    let Some(binary) = example("dqn") else {
        return skip("dqn");
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let steps = 10_000;
    let args = args(
        &[
            "--total-steps",
            &steps.to_string(),
            "--learning-starts",
            "1000",
            "--checkpoint-every",
            "1000",
            "--episodes",
            "1",
        ],
        &run,
    );
    let report = kill_and_resume(&binary, &args, &run, &PLAN, 3);
    let trained = kiln::rl::run::load_trained(&run, &cpu()).unwrap();
    assert_eq!(trained.config.total_steps, steps);
    let last_loss = trained.metrics.losses.last().map(|l| l.step);
    assert!(
        last_loss.is_some_and(|s| s + 100 >= steps),
        "the losses run to the end: last at {last_loss:?}"
    );
    say("dqn", &report, steps);
}
