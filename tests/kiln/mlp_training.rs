//! Training with burn-train's Learner on real MNIST: it learns, checkpoints and resumes.

use burn::data::dataset::Dataset;
use kiln::data::{DatasetKind, Split};
use kiln::mlp::{self, MlpConfig, MlpError, MlpTrainingConfig, RunMode};

use super::common::{cpu, real};

#[test]
fn short_training_on_real_mnist_beats_90_percent_on_held_out_images() {
    let train = real(DatasetKind::Mnist, Split::Train);
    let test = real(DatasetKind::Mnist, Split::Test);
    let config = MlpTrainingConfig::new().with_epochs(4).with_batch_size(64);
    let dir = tempfile::tempdir().unwrap();
    let device = cpu();
    mlp::train(
        &config,
        &device,
        train.slice(0..10_000),
        train.slice(10_000..11_000),
        dir.path(),
        RunMode::New,
    )
    .unwrap();

    // Held out: the first 2,000 test images, never seen in training or validation.
    let trained = mlp::load_trained(dir.path(), &device).unwrap();
    let eval = mlp::evaluate(
        &trained.model,
        &test.slice(0..2000),
        config.dataset.standardization(),
        500,
        &device,
    );
    println!(
        "accuracy after 4 epochs on 10,000 images: {:.2}%",
        eval.accuracy * 100.0
    );
    assert_eq!(eval.count(), 2000);
    assert!(eval.accuracy > 0.90, "accuracy {}", eval.accuracy);
    assert!(dir.path().join(mlp::CONFIG_FILE).is_file());
}

#[test]
fn training_checkpoints_every_epoch_and_resumes() {
    let train = real(DatasetKind::Mnist, Split::Train);
    let config = MlpTrainingConfig::new()
        .with_model(MlpConfig::new().with_hidden_sizes(vec![16]))
        .with_epochs(1)
        .with_batch_size(100);
    let (small, valid) = (train.slice(0..500), train.slice(500..600));
    let dir = tempfile::tempdir().unwrap();
    let device = cpu();

    let run = |config: &MlpTrainingConfig, mode| {
        mlp::train(
            config,
            &device,
            small.clone(),
            valid.clone(),
            dir.path(),
            mode,
        )
    };

    let err = run(&config, RunMode::Resume).unwrap_err();
    assert!(matches!(err, MlpError::NoCheckpoint(_)), "{err}");

    run(&config, RunMode::New).unwrap();
    assert_eq!(kiln::train::latest_checkpoint(dir.path()), Some(1));

    // A new run may not overwrite it...
    let err = run(&config, RunMode::New).unwrap_err();
    assert!(
        matches!(err, MlpError::ArtifactDirInUse { epoch: 1, .. }),
        "{err}"
    );

    // ...but resuming continues at epoch 2.
    let config = config.with_epochs(2);
    mlp::train(&config, &device, small, valid, dir.path(), RunMode::Resume).unwrap();
    assert_eq!(kiln::train::latest_checkpoint(dir.path()), Some(2));
    assert_eq!(
        mlp::load_trained(dir.path(), &device)
            .unwrap()
            .config
            .epochs,
        2
    );
}

#[test]
fn too_large_a_validation_split_is_an_error() {
    let train = real(DatasetKind::FashionMnist, Split::Test);
    let config = MlpTrainingConfig::new().with_validation_size(train.len());
    assert!(matches!(
        config.split(&train),
        Err(mlp::TrainingConfigError::ValidationSize {
            validation: 10_000,
            total: 10_000
        })
    ));
}
