//! Bad bytes: every file kiln reads gets truncations, bit flips and random bytes derived from a
//! valid file, and must answer `Ok` or a typed error, never a panic. `KILN_FUZZ_CASES` sets the
//! cases per reader (default 300; `cargo xtask fuzz --cases N` runs more).

use std::path::Path;

use kiln::Rng;
use kiln::mlp::{MlpConfig, MlpTrainingConfig};

use super::common::cpu;

fn cases() -> usize {
    std::env::var("KILN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Case `i` derived from `valid`: a truncation, 1–8 flipped bits, a random byte string, or a
/// spliced copy, in turn.
fn mutate(valid: &[u8], i: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = valid.to_vec();
    match i % 4 {
        0 => v.truncate(rng.below(valid.len().max(1))),
        1 => {
            for _ in 0..=rng.below(8) {
                if !v.is_empty() {
                    let at = rng.below(v.len());
                    v[at] ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let len = rng.below(2 * valid.len().max(8));
            v = (0..len).map(|_| rng.below(256) as u8).collect();
        }
        _ => {
            let (a, b) = (rng.below(v.len().max(1)), rng.below(v.len().max(1)));
            let (a, b) = (a.min(b), a.max(b));
            let copy = v[a..b].to_vec();
            v.splice(a..a, copy);
        }
    }
    v
}

/// Feeds `cases()` mutations of `valid` to `read` through a file; a panic fails the test with
/// the reader's name and the case.
fn fuzz<T, E>(name: &str, valid: &[u8], read: impl Fn(&Path) -> Result<T, E>) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case");
    let mut rng = Rng::new(name.len() as u64);
    let (mut ok, mut err) = (0, 0);
    for i in 0..cases() {
        std::fs::write(&path, mutate(valid, i, &mut rng)).unwrap();
        match kiln::catch_panic(std::panic::AssertUnwindSafe(|| read(&path).is_ok())) {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(panic) => panic!("{name}: case {i} panicked: {panic}"),
        }
    }
    println!("{name}: {} cases, {ok} read, {err} typed errors", cases());
    (ok, err)
}

#[test]
fn idx_files_raw_and_gzipped_never_panic() {
    let labels = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/data/mnist/t10k-labels-idx1-ubyte.gz"
    ))
    .unwrap();
    fuzz("gzipped IDX labels", &labels, kiln::data::idx::read_labels);
    // A small raw image file: 3 images of 4×5.
    let mut raw = 0x0803u32.to_be_bytes().to_vec();
    for d in [3u32, 4, 5] {
        raw.extend(d.to_be_bytes());
    }
    raw.extend((0..60).map(|i| i as u8));
    let (ok, _) = fuzz("raw IDX images", &raw, kiln::data::idx::read_images);
    assert!(
        ok > 0,
        "no mutation of a valid file was readable: the fuzzer feeds only junk"
    );
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap()
}

#[test]
fn configs_run_state_and_replay_buffers_never_panic() {
    fuzz("MLP config", &json(&MlpTrainingConfig::new()), |p| {
        kiln::train::load_json::<MlpTrainingConfig>(p, "MLP config").map(|c| c.validate().is_ok())
    });
    let dqn = kiln::rl::dqn::DqnTrainingConfig::new();
    fuzz("DQN config", &json(&dqn), |p| {
        kiln::train::load_json::<kiln::rl::dqn::DqnTrainingConfig>(p, "DQN config")
            .map(|c| c.validate().is_ok())
    });
    let dcgan = kiln::dcgan::DcganTrainingConfig::new();
    fuzz("DCGAN config", &json(&dcgan), |p| {
        kiln::train::load_json::<kiln::dcgan::DcganTrainingConfig>(p, "DCGAN config")
            .map(|c| c.validate().is_ok())
    });

    // A checkpoint's progress file, read by RunDir when resuming.
    let run = tempfile::tempdir().unwrap();
    let progress = run.path().join("checkpoint/progress.json");
    kiln::train::RunDir::open(run.path(), kiln::train::RunMode::New)
        .unwrap()
        .save_checkpoint(3, |_| Ok::<(), kiln::train::RunError>(()))
        .unwrap();
    fuzz(
        "checkpoint progress",
        &std::fs::read(&progress).unwrap(),
        |p| {
            std::fs::copy(p, &progress).unwrap();
            kiln::train::RunDir::open(run.path(), kiln::train::RunMode::Resume)
        },
    );

    // A replay buffer as the DQN checkpoints it; one that loads must also sample and store.
    let mut buffer = kiln::rl::dqn::ReplayBuffer::new(8, 2).unwrap();
    for i in 0..5 {
        buffer.push(&[i as f32, 0.5], i % 2, 1.0, &[0.0, 1.0], i == 4);
    }
    let device = cpu();
    fuzz("replay buffer", &json(&buffer), |p| {
        kiln::train::load_json::<kiln::rl::dqn::ReplayBuffer>(p, "replay buffer").map(|mut b| {
            if !b.is_empty() {
                b.sample(4, &mut Rng::new(0), &device);
            }
            b.push(&[0.0, 0.0], 1, 0.0, &[0.0, 0.0], false);
        })
    });
}

#[test]
fn weights_optimizer_state_and_fitted_models_never_panic() {
    let device = cpu();
    let dir = tempfile::tempdir().unwrap();
    let config = MlpConfig::new()
        .with_input_size(6)
        .with_hidden_sizes(vec![5])
        .with_output_size(3);
    let weights_path = dir.path().join("w.bpk");
    kiln::train::save_module(config.init(&device).unwrap(), &weights_path).unwrap();
    let weights = std::fs::read(&weights_path).unwrap();
    fuzz("MLP weights (burnpack)", &weights, |p| {
        kiln::train::load_module(config.init(&device).unwrap(), p)
    });

    // Adam's state after one step.
    let train_device = device.clone().autodiff();
    let model = config.init(&train_device).unwrap();
    let mut optim = burn::optim::AdamConfig::new().init();
    let loss = model
        .forward(burn::tensor::Tensor::<2>::ones([2, 6], &train_device))
        .sum();
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
    let _ = optim.step(1e-3, model, grads);
    let optim_path = dir.path().join("o.bpk");
    kiln::train::save_optimizer(&optim, &optim_path).unwrap();
    fuzz(
        "Adam state (burnpack)",
        &std::fs::read(&optim_path).unwrap(),
        |p| kiln::train::load_optimizer(burn::optim::AdamConfig::new().init(), p),
    );

    let values: Vec<f32> = (0..40).map(|i| (i % 7) as f32).collect();
    let x = kiln::cluster::tensor_from_slice(&values, 20, 2, &device).unwrap();
    let kmeans_path = dir.path().join("k.json");
    kiln::cluster::KMeans::params(2)
        .fit(&x)
        .unwrap()
        .save(&kmeans_path)
        .unwrap();
    fuzz(
        "fitted K-means",
        &std::fs::read(&kmeans_path).unwrap(),
        |p| kiln::cluster::FittedKMeans::load(p, &device).map(|m| m.predict(&x).is_ok()),
    );
    let mini_path = dir.path().join("m.json");
    kiln::cluster::MiniBatchKMeans::params(2)
        .fit(&x)
        .unwrap()
        .save(&mini_path)
        .unwrap();
    fuzz(
        "fitted mini-batch K-means",
        &std::fs::read(&mini_path).unwrap(),
        |p| kiln::cluster::FittedMiniBatchKMeans::load(p, &device).map(|m| m.predict(&x).is_ok()),
    );
}
