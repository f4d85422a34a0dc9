//! kiln through Burn's remote backend, on loopback only: a `LocalServer` on 127.0.0.1 started
//! and stopped by each test (in this process), or the `serve` example started as a child and
//! killed. Every wait is bounded.
//!
//! Needs the `remote-server` feature (the README's test command has it).

use std::sync::mpsc;
use std::time::Duration;

use burn::tensor::{Device, Tensor, TensorData};
use kiln::backend::{self, Backend, BackendError};
use kiln::cluster::{KMeans, make_blobs, tensor_from_slice};
use kiln::mlp::{Labelled, MlpConfig, MlpError, MlpTrainingConfig};
use kiln::remote::{LocalServer, connect, connect_with};

use super::common::{cpu, max_abs_diff};

/// Runs `f` on its own thread and waits at most `limit` for it: a hang fails the test
/// instead of stalling the suite.
pub(super) fn bounded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no answer within {limit:?}: the remote call hung"))
}

fn server(devices: usize) -> LocalServer {
    LocalServer::start(vec![cpu(); devices], None).expect("a loopback server starts")
}

/// Points of three classes in 8 dimensions, deterministic.
fn classes(n: usize) -> Vec<Labelled> {
    let centres = vec![vec![2.0; 8], vec![-2.0; 8], {
        let mut c = vec![2.0; 8];
        c[..4].fill(-2.0);
        c
    }];
    let (points, labels) = make_blobs(n, &centres, 1.0, 5).unwrap();
    points
        .chunks(8)
        .zip(labels)
        .map(|(p, l)| Labelled::new(p.to_vec(), l))
        .collect()
}

fn small_config(epochs: usize) -> MlpTrainingConfig {
    MlpTrainingConfig::new()
        .with_model(
            MlpConfig::new()
                .with_input_size(8)
                .with_hidden_sizes(vec![16])
                .with_output_size(3)
                // Dropout's masks are drawn per device: without it, one device and several
                // follow the same path.
                .with_dropout(0.0),
        )
        .with_epochs(epochs)
        .with_batch_size(32)
        .with_learning_rate(0.01)
        .with_seed(3)
}

#[test]
fn the_same_weights_give_the_same_logits_locally_and_through_the_server() {
    let server = server(1);
    let remote = bounded(Duration::from_secs(60), {
        let url = server.url().to_string();
        move || connect(&url, 0)
    })
    .unwrap();
    let config = MlpConfig::new().with_hidden_sizes(vec![64, 32]);
    let input: Vec<f32> = (0..4 * 784)
        .map(|i| ((i * 37) % 101) as f32 / 101.0)
        .collect();
    let logits = |device: &Device| -> Vec<f32> {
        let mlp = config.init_seeded(device, 11).unwrap();
        let x = Tensor::<2>::from_data(TensorData::new(input.clone(), [4, 784]), device);
        mlp.forward(x).into_data().try_to_vec().unwrap()
    };
    let local = logits(&cpu());
    let through = logits(&remote);
    let diff = max_abs_diff(&local, &through);
    println!("largest logit difference, local vs remote: {diff:e}");
    assert!(diff <= 1e-4, "{diff}");
    server.stop();
}

#[test]
fn a_short_training_and_a_kmeans_fit_run_through_the_server() {
    let server = server(1);
    let url = server.url().to_string();
    let (mlp_remote, mlp_local, km_remote, km_local) =
        bounded(Duration::from_secs(240), move || {
            let remote = connect(&url, 0).unwrap();
            let data = classes(300);
            let config = small_config(3);
            let train =
                |device: &Device| kiln::mlp::train(&config, &data, None, device, kiln::silent);
            let mlp_remote = train(&remote).unwrap();
            let mlp_local = train(&cpu()).unwrap();
            let centres = vec![vec![0.0, 0.0], vec![6.0, 6.0], vec![-6.0, 6.0]];
            let (points, _) = make_blobs(900, &centres, 0.7, 2).unwrap();
            let fit = |device: &Device| {
                let x = tensor_from_slice(&points, 900, 2, device).unwrap();
                KMeans::params(3).seed(4).fit(&x).unwrap()
            };
            (mlp_remote, mlp_local, fit(&remote), fit(&cpu()))
        });
    let (r, l) = (
        mlp_remote.metrics.last().unwrap(),
        mlp_local.metrics.last().unwrap(),
    );
    println!(
        "MLP after 3 epochs: remote loss {:.6} accuracy {:.4}, local loss {:.6} accuracy {:.4}",
        r.train_loss, r.train_accuracy, l.train_loss, l.train_accuracy
    );
    assert!(r.train_accuracy > 0.9, "{r:?}");
    assert!(
        (r.train_loss - l.train_loss).abs() <= 1e-4,
        "{r:?} vs {l:?}"
    );
    assert_eq!(r.train_accuracy, l.train_accuracy);
    println!(
        "k-means: remote inertia {:.4} in {} iterations, local {:.4} in {}",
        km_remote.inertia(),
        km_remote.n_iter(),
        km_local.inertia(),
        km_local.n_iter()
    );
    assert_eq!(km_remote.labels(), km_local.labels());
    assert!((km_remote.inertia() - km_local.inertia()).abs() <= 1e-3 * km_local.inertia());
    server.stop();
}

#[test]
fn two_devices_of_one_server_train_like_one_device_with_the_same_batch() {
    let server = server(2);
    let url = server.url().to_string();
    let (two, one) = bounded(Duration::from_secs(240), move || {
        let (backend, devices) =
            backend::select_devices(Some(&format!("remote={url}")), 2).unwrap();
        assert_eq!((backend, devices.len()), (Backend::Remote, 2));
        let data = classes(300);
        let config = small_config(2);
        let two =
            kiln::mlp::train_on_devices(&config, &data, None, &devices, kiln::silent).unwrap();
        let one = kiln::mlp::train(&config, &data, None, &cpu(), kiln::silent).unwrap();
        (two, one)
    });
    for (a, b) in two.metrics.iter().zip(&one.metrics) {
        println!(
            "epoch {}: two devices loss {:.7} accuracy {:.4}; one device loss {:.7} accuracy {:.4}",
            a.epoch, a.train_loss, a.train_accuracy, b.train_loss, b.train_accuracy
        );
        assert!(
            (a.train_loss - b.train_loss).abs() <= 1e-4,
            "{a:?} vs {b:?}"
        );
    }
    // The weights, through their outputs on the same inputs.
    let x: Vec<f32> = classes(20)
        .iter()
        .flat_map(|l| l.features.clone())
        .collect();
    let out = |m: &kiln::mlp::Mlp| -> Vec<f32> {
        let m = burn::module::Module::to_device(m.clone(), &cpu());
        m.forward(Tensor::<2>::from_data(
            TensorData::new(x.clone(), [20, 8]),
            &cpu(),
        ))
        .into_data()
        .try_to_vec()
        .unwrap()
    };
    let diff = max_abs_diff(&out(&two.model), &out(&one.model));
    println!("largest output difference after 2 epochs: {diff:e}");
    assert!(diff <= 1e-3, "{diff}");
    server.stop();
}

#[test]
fn a_server_that_goes_away_mid_run_is_a_typed_error_not_a_hang() {
    let server = server(1);
    let remote = connect(server.url(), 0).unwrap();
    // Something on the device before the server goes.
    let t = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &remote);
    assert_eq!(t.clone().sum().into_scalar::<f32>(), 6.0);
    server.stop();
    let read = bounded(Duration::from_secs(60), move || {
        (t * 2.0)
            .sum()
            .try_into_scalar::<f32>()
            .map_err(|e| e.to_string())
    });
    println!("a read after the server stopped: {read:?}");
    assert!(read.is_err(), "{read:?}");
    // A model's training loop turns it into its typed device error.
    let trained = bounded(Duration::from_secs(60), move || {
        kiln::mlp::train(&small_config(1), &classes(60), None, &remote, kiln::silent)
    });
    match trained {
        Err(MlpError::Device(reason)) => {
            println!("training on the vanished server: {reason}");
            assert!(!reason.0.contains('\n'));
        }
        other => panic!("expected MlpError::Device, got {other:?}"),
    }
}

#[test]
fn no_server_and_a_refused_token_are_typed_one_line_errors() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}");
    let err = bounded(Duration::from_secs(60), move || connect(&url, 0)).unwrap_err();
    println!("{err}");
    assert!(
        matches!(err, BackendError::RemoteUnreachable { .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains('\n'));

    let guarded = LocalServer::start(vec![cpu()], Some("s3cret")).unwrap();
    for token in [None, Some("wrong")] {
        let url = guarded.url().to_string();
        let err = bounded(Duration::from_secs(60), move || {
            connect_with(&url, 0, token)
        })
        .unwrap_err();
        println!("{token:?}: {err}");
        assert!(
            matches!(err, BackendError::RemoteRefused { token_set, .. } if token_set == token.is_some()),
            "{err:?}"
        );
        assert!(err.to_string().contains("KILN_REMOTE_TOKEN"), "{err}");
    }
    let url = guarded.url().to_string();
    assert!(
        bounded(Duration::from_secs(60), move || connect_with(
            &url,
            0,
            Some("s3cret")
        ))
        .is_ok()
    );
    // A device the server does not host.
    let url = guarded.url().to_string();
    let err = bounded(Duration::from_secs(60), move || {
        connect_with(&url, 3, Some("s3cret"))
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::RemoteDevice {
                device_count: 1,
                ..
            }
        ),
        "{err:?}"
    );
    guarded.stop();
}

#[test]
fn a_cpu_backend_has_one_device_for_devices() {
    let err = backend::select_devices(Some("flex"), 2);
    if cfg!(feature = "flex") {
        let err = err.unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::TooFewDevices {
                    asked: 2,
                    found: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("serve --devices"), "{err}");
    }
    assert!(matches!(
        backend::select(Some("remote")),
        Err(BackendError::RemoteAddress { .. })
    ));
    // A one-device server asked for two: the server's count, and how to host more.
    let one = server(1);
    let name = format!("remote={}", one.url());
    let err = bounded(Duration::from_secs(60), move || {
        backend::select_devices(Some(&name), 2).map(|_| ())
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::TooFewRemoteDevices {
                asked: 2,
                found: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("CPU backend"), "{err}");
    assert!(err.to_string().contains("serve --devices 2"), "{err}");
}

/// The `serve` example as a child on a free port, with the address it prints.
pub(super) fn serve_child(
    binary: &std::path::Path,
    token: Option<&str>,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = std::process::Command::new(binary);
    if let Some(token) = token {
        command.env(kiln::remote::TOKEN_VAR, token);
    }
    let mut child = command
        .args(["--backend", "flex", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = bounded(Duration::from_secs(60), move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("serve printed no address: {line}"))
        .to_string();
    (child, url)
}

/// The README's flow end to end, as binaries: `serve` hosts flex, the `mlp` example trains
/// through it; the server is killed after the first checkpoint, so the run stops with one
/// `error:` line (no panic, no hang); a new server and `--resume` finish the run.
#[test]
fn a_run_cut_off_by_its_server_resumes_from_its_checkpoint() {
    use super::faults::{checkpoint_done, example, fixtures, skip};
    let (Some(serve), Some(mlp)) = (example("serve"), example("mlp")) else {
        return skip("remote serve/mlp");
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let epochs = 4;
    let start = |url: &str, resume: bool| {
        let mut command = std::process::Command::new(&mlp);
        command
            .args(["--backend", &format!("remote={url}"), "--dataset", "mnist"])
            .args(["--data-dir", fixtures().to_str().unwrap()])
            .args(["--epochs", &epochs.to_string(), "--validation-size", "500"])
            .args(["--artifact-dir", run.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if resume {
            command.arg("--resume");
        }
        command.spawn().unwrap()
    };
    let (mut server, url) = serve_child(&serve, None);
    let mut child = start(&url, false);
    let began = std::time::Instant::now();
    while checkpoint_done(&run).is_none_or(|d| d < 1) {
        assert!(
            began.elapsed() < Duration::from_secs(180),
            "no checkpoint in 180 s"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let output = bounded(Duration::from_secs(120), move || child.wait_with_output()).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    if output.status.success() {
        // The server died after the last epoch's reads: nothing to resume.
        println!("the run had finished before its server died");
    } else {
        // One `error:` line; the relay's thread may still log its own warning (a timestamped
        // log line) after it, before the process exits.
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        println!("the run after its server died: {}", errors[0]);
        let after = stderr
            .lines()
            .skip_while(|l| !l.starts_with("error: "))
            .skip(1);
        assert!(
            after
                .into_iter()
                .all(|l| l.contains(" WARN ") || l.contains(" INFO ")),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let done = checkpoint_done(&run).unwrap();
    let (mut server, url) = serve_child(&serve, None);
    let child = start(&url, true);
    let output = bounded(Duration::from_secs(300), move || child.wait_with_output()).unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the resumed run failed: {stderr}");
    let trained = kiln::mlp::run::load_trained(&run, &cpu()).unwrap();
    assert_eq!(trained.metrics.len(), epochs);
    super::common::loud(&format!(
        "remote: the server was killed with the checkpoint at epoch {done}; the resumed run finished {epochs} epochs"
    ));
}
