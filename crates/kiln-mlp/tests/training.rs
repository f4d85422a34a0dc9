//! The MLP's training loop on flex, in this crate alone (`cargo test -p kiln-mlp`): it
//! learns a separable problem with Adam and with SGD, its schedules set the rates they
//! promise, and the progress callback stops it. The root package's tests add MNIST, other
//! backends, several devices and run folders.

use burn::tensor::{Device, Tensor, TensorData};
use kiln_mlp::{self as mlp, Labelled, MlpConfig, MlpTrainingConfig};

#[test]
fn the_progress_callback_can_stop_a_run() {
    let device = Device::flex();
    let config = MlpTrainingConfig::new()
        .with_model(
            MlpConfig::new()
                .with_input_size(2)
                .with_hidden_sizes(vec![4])
                .with_output_size(2),
        )
        .with_epochs(10);
    let data: Vec<Labelled> = (0..40)
        .map(|i| Labelled::new(vec![i as f32 / 40.0, 1.0], i % 2))
        .collect();
    let mut seen = Vec::new();
    let trained = mlp::train(&config, &data, None, &device, |p| {
        seen.push((p.done, p.epoch_end));
        if p.done == 3 {
            kiln_mlp::ControlFlow::Break(())
        } else {
            kiln_mlp::ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(seen, vec![(1, Some(1)), (2, Some(2)), (3, Some(3))]);
    assert_eq!(trained.metrics.len(), 3);
}

/// `n` points of three classes in 8 dimensions (class c is shifted along dimensions c, c+3).
fn three_classes(n: usize, seed: u64) -> Vec<Labelled> {
    let mut rng = kiln_mlp::Rng::new(seed);
    (0..n)
        .map(|i| {
            let class = i % 3;
            let features = (0..8)
                .map(|d| (if d % 3 == class { 1.5 } else { 0.0 } + rng.normal()) as f32)
                .collect();
            Labelled::new(features, class)
        })
        .collect()
}

/// SGD with momentum and the constant schedule both train: the constant schedule keeps the
/// rate, the cosine one lowers it, and SGD ends with other weights than Adam.
#[test]
fn sgd_and_the_constant_schedule_train() {
    let device = Device::flex();
    let (train, test) = (three_classes(600, 1), three_classes(300, 2));
    let base = MlpTrainingConfig::new()
        .with_model(
            MlpConfig::new()
                .with_input_size(8)
                .with_hidden_sizes(vec![16])
                .with_output_size(3)
                .with_dropout(0.0),
        )
        .with_epochs(8)
        .with_batch_size(32);
    let sgd = base
        .clone()
        .with_optimizer(mlp::OptimizerKind::Sgd)
        .with_learning_rate(0.05)
        .with_lr_schedule(mlp::LrSchedule::Constant);
    let trained = mlp::train(&sgd, &train, None, &device, mlp::silent).unwrap();
    let accuracy = mlp::evaluate(&trained.model, &test, 100).unwrap().accuracy;
    assert!(accuracy > 0.9, "SGD accuracy {accuracy}");
    assert!(trained.metrics.iter().all(|m| m.learning_rate == 0.05));
    let adam = mlp::train(&base, &train, None, &device, mlp::silent).unwrap();
    let rates: Vec<f64> = adam.metrics.iter().map(|m| m.learning_rate).collect();
    assert!(
        rates.windows(2).all(|w| w[1] < w[0]),
        "cosine rates {rates:?}"
    );
    let input: Vec<f32> = (0..8).map(|i| i as f32 / 8.0).collect();
    let x = || Tensor::<2>::from_data(TensorData::new(input.clone(), [1, 8]), &device);
    let out = |m: &kiln_mlp::Mlp| m.forward(x()).into_data().iter::<f32>().collect::<Vec<_>>();
    let (a, b) = (out(&trained.model), out(&adam.model));
    assert!(
        a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-3),
        "{a:?} vs {b:?}"
    );
}
