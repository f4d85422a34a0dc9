//! The hostile and the careless: a second run into a busy folder, flipped bytes in weights,
//! hostile state files, sizes nobody capped, and (with `remote-server`) strangers at the
//! server's door and servers that go silent. Every wait is bounded.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kiln::rl::dqn::{DqnError, DqnTrainingConfig, ReplayBuffer};
use kiln::rl::{CartPole, MlpConfig};
use kiln::train::{RunDir, RunError, RunMode};

use super::common::{cpu, loud};
use super::faults::{example, fixtures, skip};

/// Runs `binary args` to the end, within `limit`.
fn run_within(binary: &Path, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| {
            let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
            panic!("{} {args:?} ran past {limit:?}", binary.display())
        })
        .unwrap()
}

/// The one `error:` line a refused command printed last, checking it is alone and no panic.
fn error_line(out: &Output) -> String {
    assert!(!out.status.success(), "it succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("error: "), "{stderr}");
    last
}

fn mlp_args<'a>(run: &'a str, data: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "--backend",
        "flex",
        "--dataset",
        "mnist",
        "--data-dir",
        data,
        "--epochs",
        epochs,
        "--validation-size",
        "500",
        "--hidden",
        "32",
        "--artifact-dir",
        run,
    ]
}

/// The `mlp` example, a folder for its run, and the run's path: or None (and a SKIPPED line)
/// where the binary or flex is missing.
fn mlp_setup(test: &str) -> Option<(std::path::PathBuf, tempfile::TempDir, std::path::PathBuf)> {
    if !cfg!(feature = "flex") {
        loud(&format!("SKIPPED hostile::{test}: needs flex"));
        return None;
    }
    let Some(mlp) = example("mlp") else {
        skip("mlp");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    Some((mlp, dir, run))
}

/// The library says "a data folder"; the example adds the flag that gives one: a folder
/// without the files is one error line naming `--data-dir`, and the run folder is left with
/// nothing in it, so the same command with the right folder then trains.
#[test]
fn a_data_folder_without_the_files_names_the_flag_in_the_example() {
    let Some((mlp, dir, run)) = mlp_setup("a_data_folder_without_the_files") else {
        return;
    };
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (run_s, empty_s) = (run.to_str().unwrap(), empty.to_str().unwrap());
    let out = run_within(
        &mlp,
        &mlp_args(run_s, empty_s, "1"),
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    let line = error_line(&out);
    assert!(
        line.contains("not found") && line.contains("(a data folder: --data-dir DIR)"),
        "{line}"
    );
    let left: Vec<_> = std::fs::read_dir(&run)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n == kiln::train::LOCK_FILE),
        "left behind: {left:?}"
    );
    let data = fixtures();
    train_one_epoch(&mlp, run_s, data.to_str().unwrap());
}

/// Trains the `mlp` example for one epoch into `run`.
fn train_one_epoch(mlp: &Path, run: &str, data: &str) {
    let out = run_within(mlp, &mlp_args(run, data, "1"), Duration::from_secs(180));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_second_run_into_a_busy_folder_is_refused_and_the_first_finishes_intact() {
    let Some((mlp, _dir, run)) = mlp_setup("busy folder") else {
        return;
    };
    let (run_s, data) = (run.to_str().unwrap(), fixtures());
    let data = data.to_str().unwrap();
    let first = Command::new(&mlp)
        .args(mlp_args(run_s, data, "3"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while !run.join(kiln::train::CONFIG_FILE).is_file() {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "the first run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Held still (SIGSTOP) so that it is surely running, lock and all, while the others try.
    let pid = first.id().to_string();
    let stopped = cfg!(unix)
        && Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .is_ok_and(|s| s.success());
    // Another run, with other settings, into the same folder while the first runs.
    let mut second = mlp_args(run_s, data, "1");
    let hidden = second.len() - 3;
    second[hidden] = "48";
    let refused = run_within(&mlp, &second, Duration::from_secs(120));
    let line = error_line(&refused);
    assert!(line.contains("in use by another kiln run"), "{line}");
    assert!(
        !run.join(kiln::train::MANIFEST_FILE).exists(),
        "the first run had already finished: the test proves nothing"
    );
    let resumed = run_within(
        &mlp,
        &[mlp_args(run_s, data, "3"), vec!["--resume"]].concat(),
        Duration::from_secs(120),
    );
    assert!(
        error_line(&resumed).contains("in use"),
        "resume while running"
    );
    if stopped {
        let _ = Command::new("kill").args(["-CONT", &pid]).status();
    }
    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first run's own config and weights, verified by its manifest.
    let trained = kiln::mlp::run::load_trained(&run, &cpu()).unwrap();
    assert_eq!(trained.config.model.hidden_sizes, vec![32]);
    assert_eq!(trained.metrics.len(), 3);
    loud(&format!("hostile: a second run was refused with: {line}"));
}

#[test]
fn a_flipped_byte_in_any_weight_or_optimiser_file_is_a_checksum_error() {
    let Some((mlp, _dir, run)) = mlp_setup("flipped bytes") else {
        return;
    };
    let (run_s, data) = (run.to_str().unwrap(), fixtures());
    let data = data.to_str().unwrap();
    train_one_epoch(&mlp, run_s, data);
    let eval = [vec![
        "--backend",
        "flex",
        "--data-dir",
        data,
        "--eval",
        run_s,
    ]]
    .concat();
    let resume = [mlp_args(run_s, data, "2"), vec!["--resume"]].concat();
    let flip = |file: &Path, at: usize| {
        let mut bytes = std::fs::read(file).unwrap();
        let at = at % bytes.len();
        bytes[at] ^= 0x40;
        std::fs::write(file, bytes).unwrap();
    };
    for (file, command) in [
        ("checkpoint/model.bpk", &resume),
        ("checkpoint/optimizer.bpk", &resume),
        ("checkpoint/metrics.json", &resume),
        ("model.bpk", &eval),
        ("config.json", &eval),
    ] {
        let path = run.join(file);
        let good = std::fs::read(&path).unwrap();
        for at in [good.len() / 2, good.len() - 1] {
            flip(&path, at);
            let line = error_line(&run_within(&mlp, command, Duration::from_secs(120)));
            assert!(
                line.contains("failed its checksum")
                    && line.contains(file.rsplit('/').next().unwrap()),
                "{file} at {at}: {line}"
            );
            std::fs::write(&path, &good).unwrap();
        }
    }
    // Intact again: both work.
    let out = run_within(&mlp, &eval, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_within(&mlp, &resume, Duration::from_secs(180));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_finished_model_is_never_overwritten_and_resume_needs_a_folder() {
    let Some((mlp, dir, run)) = mlp_setup("finished model") else {
        return;
    };
    let (run_s, data) = (run.to_str().unwrap(), fixtures());
    let data = data.to_str().unwrap();
    train_one_epoch(&mlp, run_s, data);
    // Without its checkpoint the folder still holds a finished model.
    std::fs::remove_dir_all(run.join("checkpoint")).unwrap();
    let model = std::fs::read(run.join("model.bpk")).unwrap();
    let line = error_line(&run_within(
        &mlp,
        &mlp_args(run_s, data, "1"),
        Duration::from_secs(120),
    ));
    assert!(line.contains("already holds files"), "{line}");
    assert_eq!(std::fs::read(run.join("model.bpk")).unwrap(), model);
    kiln::mlp::run::load_trained(&run, &cpu()).unwrap();

    let missing = dir.path().join("never-made");
    let missing_s = missing.to_str().unwrap();
    let line = error_line(&run_within(
        &mlp,
        &[mlp_args(missing_s, data, "1"), vec!["--resume"]].concat(),
        Duration::from_secs(120),
    ));
    assert!(line.contains("does not exist"), "{line}");
    assert!(!missing.exists(), "--resume created the folder");
}

/// A run folder trusts only what its run wrote: an edited `dataset.json` is refused by
/// `--eval` and `--resume` (it used to evaluate the model on the other dataset), and so is a
/// whole checkpoint copied in from another run.
#[test]
fn an_edited_dataset_file_or_a_foreign_checkpoint_is_refused() {
    let Some((mlp, dir, run)) = mlp_setup("run files") else {
        return;
    };
    let other = dir.path().join("other");
    let data = fixtures();
    let data = data.to_str().unwrap();
    train_one_epoch(&mlp, run.to_str().unwrap(), data);
    train_one_epoch(&mlp, other.to_str().unwrap(), data);
    let dataset = run.join("dataset.json");
    let original = std::fs::read(&dataset).unwrap();
    std::fs::write(&dataset, b"\"fashion-mnist\"").unwrap();
    let eval = [
        "--backend",
        "flex",
        "--data-dir",
        data,
        "--eval",
        run.to_str().unwrap(),
    ];
    let line = error_line(&run_within(&mlp, &eval, Duration::from_secs(120)));
    assert!(
        line.contains("checksum") && line.contains("dataset.json"),
        "{line}"
    );
    let resume = [mlp_args(run.to_str().unwrap(), data, "2"), vec!["--resume"]].concat();
    let line = error_line(&run_within(&mlp, &resume, Duration::from_secs(120)));
    assert!(
        line.contains("checksum") && line.contains("dataset.json"),
        "{line}"
    );
    std::fs::write(&dataset, &original).unwrap();
    // The other run's whole checkpoint, manifest and all, in place of this one's.
    let checkpoint = run.join(kiln::train::CHECKPOINT_DIR);
    std::fs::remove_dir_all(&checkpoint).unwrap();
    std::fs::create_dir(&checkpoint).unwrap();
    for entry in std::fs::read_dir(other.join(kiln::train::CHECKPOINT_DIR)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), checkpoint.join(entry.file_name())).unwrap();
    }
    let line = error_line(&run_within(&mlp, &resume, Duration::from_secs(120)));
    assert!(line.contains("belongs to another run"), "{line}");
    // Restored, the run evaluates and resumes again.
    assert!(
        run_within(&mlp, &eval, Duration::from_secs(120))
            .status
            .success()
    );
}

/// kiln's download cache is verified on every use: a raw file planted beside the verified
/// `.gz` (every label zeroed, which made `--eval pretrained` report 9.81%) is not read.
#[test]
fn a_poisoned_file_in_the_download_cache_is_never_read() {
    use std::io::Read;
    let Some(full) = super::common::full_dir(kiln::data::DatasetKind::Mnist, "poisoned cache")
    else {
        return;
    };
    let Some(mlp) = example("mlp") else {
        return skip("mlp");
    };
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("kiln/data/mnist");
    std::fs::create_dir_all(&cache).unwrap();
    for file in kiln::data::DatasetKind::Mnist.files() {
        let name = format!("{}.gz", file.name);
        let from = [full.join(&name), full.join(file.name)]
            .into_iter()
            .find(|p| p.is_file())
            .unwrap();
        std::fs::copy(&from, cache.join(&name)).unwrap();
    }
    let mut labels = Vec::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(cache.join("t10k-labels-idx1-ubyte.gz")).unwrap(),
    )
    .read_to_end(&mut labels)
    .unwrap();
    labels[8..].fill(0);
    std::fs::write(cache.join("t10k-labels-idx1-ubyte"), &labels).unwrap();
    let out = Command::new(&mlp)
        .args(["--backend", "flex", "--eval", "pretrained"])
        .env_remove("KILN_DATA_DIR")
        .env("XDG_CACHE_HOME", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("test accuracy: 98.64%"), "{stdout}");
}

/// A DQN checkpoint whose buffer was edited by someone who also rewrote the manifest: the
/// buffer's own checks still refuse it.
#[test]
fn every_hostile_replay_buffer_edit_is_a_typed_error_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let config = DqnTrainingConfig::new()
        .with_total_steps(400)
        .with_learning_starts(100)
        .with_batch_size(16)
        .with_buffer_size(300)
        .with_checkpoint_every(200);
    let device = cpu();
    {
        let run = RunDir::open(dir.path(), RunMode::New).unwrap();
        let mut env = CartPole::new(1);
        let stop_at_checkpoint = |p: &kiln::Progress| {
            if p.done >= 200 {
                kiln::ControlFlow::Break(())
            } else {
                kiln::ControlFlow::Continue(())
            }
        };
        kiln::rl::run::train(&config, &mut env, &device, &run, stop_at_checkpoint).unwrap();
    }
    let checkpoint = dir.path().join("checkpoint");
    let buffer_path = checkpoint.join("buffer.json");
    let good: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&buffer_path).unwrap()).unwrap();
    let len = good["len"].as_u64().unwrap() as usize;
    assert!(len > 0);
    let resign = || {
        let names: Vec<String> = std::fs::read_dir(&checkpoint)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != kiln::train::MANIFEST_FILE)
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        kiln::train::write_manifest(&checkpoint, &names).unwrap();
    };
    let mut edits: Vec<(&str, serde_json::Value)> = vec![
        ("head", serde_json::json!(20_000)),
        ("observation_size", serde_json::json!(5)),
        ("capacity", serde_json::json!(0)),
        ("len", serde_json::json!(100_000)),
    ];
    let mut short = good["actions"].as_array().unwrap().clone();
    short.truncate(10);
    edits.push(("actions", serde_json::Value::Array(short)));
    let mut seven = good["actions"].as_array().unwrap().clone();
    seven[0] = serde_json::json!(7);
    edits.push(("actions", serde_json::Value::Array(seven)));
    for (field, value) in edits {
        let mut hostile = good.clone();
        hostile[field] = value;
        std::fs::write(&buffer_path, serde_json::to_vec(&hostile).unwrap()).unwrap();
        resign();
        let run = RunDir::open(dir.path(), RunMode::Resume).unwrap();
        let mut env = CartPole::new(1);
        let err = kiln::catch_panic(std::panic::AssertUnwindSafe(|| {
            kiln::rl::run::train(&config, &mut env, &device, &run, kiln::rl::silent)
        }))
        .unwrap_or_else(|panic| panic!("{field}: a panic: {panic}"))
        .unwrap_err();
        println!("{field}: {err}");
        assert!(err.to_string().contains("replay buffer"), "{field}: {err}");
    }
    // Edited without re-signing: the manifest catches it first.
    let mut hostile = good.clone();
    hostile["head"] = serde_json::json!(1);
    std::fs::write(&buffer_path, serde_json::to_vec(&hostile).unwrap()).unwrap();
    let err = RunDir::open(dir.path(), RunMode::Resume).unwrap_err();
    assert!(matches!(err, RunError::Checksum { .. }), "{err}");
}

#[test]
fn sizes_nobody_capped_are_refused_before_anything_is_allocated() {
    // A replay buffer beyond memory: a typed error, not an abort.
    let config = DqnTrainingConfig::new().with_buffer_size(1_000_000_000_000_000);
    let mut env = CartPole::new(1);
    let err = kiln::rl::dqn::train(&config, &mut env, &cpu(), kiln::rl::silent).unwrap_err();
    assert!(
        matches!(err, kiln::rl::dqn::DqnError::BufferTooLarge { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("GiB"), "{err}");
    assert!(ReplayBuffer::new(usize::MAX, 4).is_err());
    // Learning that would never start.
    let err = DqnTrainingConfig::new()
        .with_network(MlpConfig::new().with_input_size(4).with_output_size(2))
        .with_total_steps(1_000)
        .with_learning_starts(1_000)
        .validate()
        .unwrap_err();
    assert!(
        matches!(err, DqnError::LearningStartsAfterEnd { .. }),
        "{err}"
    );

    // Command lines: counts and floats nobody could use, each one line, at once.
    let cases: [(&str, &[&str], &str); 4] = [
        (
            "dcgan",
            &[
                "--generate",
                "/nonexistent",
                "--count",
                "18446744073709551615",
            ],
            "GiB",
        ),
        (
            "dcgan",
            &["--generate", "/nonexistent", "--count", "100000000"],
            "GiB",
        ),
        ("dqn", &["--lr", "NaN"], "not a finite number"),
        ("mlp", &["--lr", "inf"], "not a finite number"),
    ];
    for (name, args, expected) in cases {
        let Some(binary) = example(name) else {
            skip(name);
            continue;
        };
        let out = run_within(&binary, args, Duration::from_secs(60));
        assert!(!out.status.success(), "{name} {args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{name} {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    if let Some(bench) = example("bench") {
        for seconds in ["NaN", "inf", "1e30", "0"] {
            let out = run_within(&bench, &["--seconds", seconds], Duration::from_secs(60));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "--seconds {seconds}");
            assert!(stderr.contains("--seconds"), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[cfg(feature = "remote-server")]
mod remote {
    //! Strangers at a token-protected server's door, and servers that go silent.

    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use burn::tensor::Tensor;
    use kiln::backend::BackendError;
    use kiln::remote::{Deadlines, LocalServer, connect_with_deadlines};

    use super::super::common::{cpu, loud};
    use super::{error_line, example, run_within, skip};

    use super::super::strangers::{TOKEN, quick};

    /// Open descriptors of process `pid` (Linux), or None elsewhere.
    fn open_fds(pid: u32) -> Option<usize> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()
            .map(Iterator::count)
    }

    /// Resident memory of process `pid` in bytes (Linux), or None elsewhere.
    fn resident(pid: u32) -> Option<u64> {
        let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }

    fn works(url: &str) -> Result<f32, String> {
        super::super::strangers::works(url, Some(TOKEN))
    }

    fn address(url: &str) -> String {
        url.trim_start_matches("ws://").to_string()
    }

    /// `serve` as its own process (its descriptors and memory are its own), or a skip.
    fn served() -> Option<(Killed, String)> {
        match example("serve") {
            Some(serve) => Some(serve_child(&serve, TOKEN)),
            None => {
                skip("serve");
                None
            }
        }
    }

    #[test]
    fn a_thousand_unauthenticated_connections_leave_the_server_serving() {
        let Some((child, url)) = served() else {
            return;
        };
        let addr = address(&url);
        // A correct client first, so that its session is in the baseline.
        assert_eq!(works(&url), Ok(6.0));
        let baseline = open_fds(child.id());
        let upgrade = |path: &str| {
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
        };
        let mut answers = std::collections::BTreeMap::<String, usize>::new();
        let started = Instant::now();
        for i in 0..1000 {
            let mut stream = TcpStream::connect(&addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            match i % 4 {
                // Burn's transfer route, with an id no one offered, as the attack did.
                0 => stream.write_all(upgrade("/data").as_bytes()).unwrap(),
                1 => stream.write_all(upgrade("/session").as_bytes()).unwrap(),
                2 => stream
                    .write_all(
                        format!(
                            "{}\r\nAuthorization: Bearer wrong\r\n\r\n",
                            upgrade("/session").trim_end()
                        )
                        .as_bytes(),
                    )
                    .unwrap(),
                // Connects, says nothing, leaves.
                _ => {
                    drop(stream);
                    continue;
                }
            }
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            let status = answer.lines().next().unwrap_or("(closed)").to_string();
            *answers.entry(status).or_default() += 1;
        }
        println!("1000 strangers in {:?}: {answers:?}", started.elapsed());
        assert_eq!(answers.get("HTTP/1.1 404 Not Found"), Some(&250));
        assert_eq!(answers.get("HTTP/1.1 401 Unauthorized"), Some(&500));
        if let Some(before) = baseline {
            // Every stranger's socket is closed again: back to the baseline.
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut now = open_fds(child.id()).unwrap();
            while now > before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
                now = open_fds(child.id()).unwrap();
            }
            println!("open descriptors: {before} before the strangers, {now} after");
            assert!(now <= before, "{before} → {now}");
        }
        // A correct client is served within a second.
        let began = Instant::now();
        assert_eq!(works(&url), Ok(6.0));
        let took = began.elapsed();
        assert!(took < Duration::from_secs(1), "{took:?}");
        loud(&format!(
            "hostile: 1000 unauthenticated connections answered {answers:?}; a client was then served in {took:?}"
        ));
    }

    #[test]
    fn an_unauthenticated_gigabyte_is_cut_off_after_a_few_kib() {
        let Some((child, url)) = served() else {
            return;
        };
        let addr = address(&url);
        let before = resident(child.id());
        let started = Instant::now();
        let attackers: Vec<_> = (0..3)
            .map(|i| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let mut stream = TcpStream::connect(&addr).unwrap();
                    stream
                        .set_write_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    // A head that never ends (i = 0), or a complete upgrade without the token
                    // followed by a WebSocket frame announcing 1 GiB (i = 1, 2).
                    let mut prelude = b"GET /session HTTP/1.1\r\nHost: x\r\n".to_vec();
                    if i > 0 {
                        prelude.extend_from_slice(
                            b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                        );
                        prelude.extend_from_slice(&[0x82, 0xff]);
                        prelude.extend_from_slice(&(1u64 << 30).to_be_bytes());
                        prelude.extend_from_slice(&[0, 0, 0, 0]);
                    }
                    let mut sent = 0usize;
                    let block = vec![b'x'; 64 * 1024];
                    let mut result = stream.write_all(&prelude);
                    while result.is_ok() && sent < 1 << 30 {
                        result = stream.write_all(&block);
                        sent += block.len();
                    }
                    // Cut off by the server: a reset or broken pipe, not our own timeout.
                    let cut = result.as_ref().is_err_and(|e| {
                        !matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        )
                    });
                    assert!(
                        cut,
                        "attacker {i} was not cut off: {result:?} after {sent} bytes"
                    );
                    sent
                })
            })
            .collect();
        let sent: Vec<usize> = attackers.into_iter().map(|t| t.join().unwrap()).collect();
        let took = started.elapsed();
        println!(
            "the attackers got {sent:?} bytes into their sockets before being cut off, in {took:?}"
        );
        // What a socket's buffers absorb before the server's close is seen, far below 1 GiB.
        for s in &sent {
            assert!(*s < 64 << 20, "{s} bytes were taken");
        }
        assert!(took < Duration::from_secs(20), "{took:?}");
        if let (Some(before), Some(after)) = (before, resident(child.id())) {
            let grown = after.saturating_sub(before);
            println!(
                "the server's resident memory: {} MiB → {} MiB",
                before >> 20,
                after >> 20
            );
            assert!(grown < 64 << 20, "the server grew by {} MiB", grown >> 20);
        }
        assert_eq!(works(&url), Ok(6.0));
    }

    use super::super::strangers::{fake_server, head};

    #[test]
    fn silent_upgraded_and_frozen_servers_are_typed_timeouts() {
        // Accepts and never answers.
        let silent = fake_server(
            |stream, _| {
                std::thread::sleep(Duration::from_secs(30));
                drop(stream);
            },
            String::new(),
        );
        // Relays the upgrade to a real server, then relays nothing more.
        let real = LocalServer::start(vec![cpu()], Some(TOKEN)).unwrap();
        let upgraded = fake_server(
            |mut client, upstream| {
                let request = head(&mut client);
                if request.starts_with(b"GET /kiln/heartbeat") {
                    // The real server's heartbeat: only the session's silence gives it away.
                    return super::super::strangers::forward(client, &request, upstream);
                }
                let mut server = TcpStream::connect(upstream).unwrap();
                server.write_all(&request).unwrap();
                let answer = head(&mut server);
                client.write_all(&answer).unwrap();
                std::thread::sleep(Duration::from_secs(60));
            },
            address(real.url()),
        );
        for (name, url, what) in [
            (
                "a silent server",
                silent,
                "answer to the WebSocket handshake",
            ),
            (
                "an upgrade, then silence",
                upgraded,
                "first message after the WebSocket upgrade",
            ),
        ] {
            let began = Instant::now();
            // The real server's own answer must come through within the handshake deadline
            // even on a machine busy with the other tests: 10 s.
            let deadlines = Deadlines {
                handshake: Duration::from_secs(10),
                ..quick()
            };
            let err = bounded(Duration::from_secs(60), move || {
                connect_with_deadlines(&url, 0, Some(TOKEN), deadlines)
            })
            .unwrap_err();
            println!("{name}: {err} ({:?})", began.elapsed());
            assert!(
                matches!(&err, BackendError::RemoteTimeout { what: w, .. } if *w == what),
                "{name}: {err:?}"
            );
            assert!(!err.to_string().contains('\n'));
            assert!(began.elapsed() < Duration::from_secs(30), "{name}");
        }
    }

    #[test]
    fn a_sigstopped_server_is_a_timeout_mid_run_and_the_run_resumes_later() {
        let Some(serve) = example("serve") else {
            return skip("serve");
        };
        if !cfg!(unix) {
            return loud("SKIPPED hostile::SIGSTOP: needs a Unix kill");
        }
        let (child, url) = serve_child(&serve, TOKEN);
        let device = connect_with_deadlines(&url, 0, Some(TOKEN), quick()).unwrap();
        let t = Tensor::<1>::from_floats([1.0, 2.0], &device);
        assert_eq!(t.clone().sum().into_scalar::<f32>(), 3.0);
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap()
                .success()
        );
        let began = Instant::now();
        let read = bounded(Duration::from_secs(60), move || {
            (t * 2.0)
                .sum()
                .try_into_scalar::<f32>()
                .map_err(|e| e.to_string())
        });
        let took = began.elapsed();
        println!("a read from the stopped server: {read:?} after {took:?}");
        assert!(read.is_err(), "{read:?}");
        assert!(took < Duration::from_secs(20), "{took:?}");
        // The relay knows why: the next connect attempt says it is a timeout, not a hang.
        let again = {
            let url = url.clone();
            bounded(Duration::from_secs(30), move || {
                connect_with_deadlines(&url, 0, Some(TOKEN), quick())
            })
        };
        assert!(
            matches!(again, Err(BackendError::RemoteTimeout { .. })),
            "{again:?}"
        );
        let _ = Command::new("kill").args(["-CONT", &pid]).status();
        // Running again: a new connection works.
        assert_eq!(works(&url), Ok(6.0));
    }

    #[test]
    fn serve_refuses_strangers_addresses_without_a_long_token() {
        let Some(serve) = example("serve") else {
            return skip("serve");
        };
        let refused = |host: &str, token: &str, insecure: bool| {
            let mut command = Command::new(&serve);
            command
                .args(["--backend", "flex", "--port", "0", "--host", host])
                .env("KILN_REMOTE_TOKEN", token);
            if insecure {
                command.arg("--insecure");
            }
            let child = command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let id = child.id();
            // A refused server exits by itself (stopped after 60 s if it does not); one that
            // starts is stopped after 10 s.
            let after = Duration::from_secs(if insecure { 10 } else { 60 });
            std::thread::spawn(move || {
                std::thread::sleep(after);
                let _ = Command::new("kill").args([&id.to_string()]).status();
            });
            child.wait_with_output().unwrap()
        };
        for (host, token) in [("0.0.0.0", ""), ("0.0.0.0", "short"), ("127.0.0.1", "x")] {
            let out = refused(host, token, false);
            let line = error_line(&out);
            assert!(
                line.contains("KILN_REMOTE_TOKEN") || line.contains("token"),
                "{line}"
            );
            println!("{host} with {token:?}: {line}");
        }
        // --insecure serves anyway, saying so; the printed address has the real port.
        let out = refused("127.0.0.1", "", true);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stdout.contains("ws://127.0.0.1:") && !stdout.contains(":0 "),
            "{stdout}"
        );
        assert!(stderr.contains("--insecure"), "{stderr}");
        let out = run_within(
            &serve,
            &["--backend", "flex", "--port", "0", "--devices", "10000000"],
            Duration::from_secs(30),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("1..=64"),
            "{stderr}"
        );
    }

    use std::process::{Command, Stdio};

    use super::super::remote::bounded;

    /// A child process killed when dropped, so a failing test leaves no server behind.
    struct Killed(std::process::Child);

    impl Killed {
        fn id(&self) -> u32 {
            self.0.id()
        }
    }

    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// The `serve` example as a child on a free port requiring `token`, with its address.
    fn serve_child(binary: &std::path::Path, token: &str) -> (Killed, String) {
        let (child, url) = super::super::remote::serve_child(binary, Some(token));
        (Killed(child), url)
    }
}
