//! DCGAN: layer shapes, save/reload, cross-backend outputs, training on real images, and
//! resuming. The step, the losses and the Fréchet distance are tested in kiln-dcgan itself
//! (`crates/kiln-dcgan/tests/step.rs`).

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use kiln::dcgan::run::{RunDir, RunError, RunMode};
use kiln::dcgan::{
    self, DcganError, DcganTrainingConfig, DiscriminatorConfig, Generator, GeneratorConfig,
    ImageSet, Rng, latent,
};

use super::common::{cpu, cross_backends, max_abs_diff};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

#[test]
fn every_layer_has_the_documented_shape() {
    let device = cpu();
    let g = GeneratorConfig::new().init(&device).unwrap();
    let z = Tensor::<2>::random([3, 100], Distribution::Default, &device);
    let projected = g.project.forward(z.clone());
    assert_eq!(projected.dims(), [3, 128 * 7 * 7]);
    let map = projected.reshape([3, 128, 7, 7]);
    let up1 = g.up1.forward(map);
    assert_eq!(up1.dims(), [3, 64, 14, 14]);
    assert_eq!(g.up2.forward(up1).dims(), [3, 1, 28, 28]);
    let images = g.forward(z);
    assert_eq!(images.dims(), [3, 1, 28, 28]);
    assert!(values(images).iter().all(|v| (-1.0..=1.0).contains(v)));

    let d = DiscriminatorConfig::new().init(&device).unwrap();
    let x = Tensor::<4>::random([3, 1, 28, 28], Distribution::Default, &device);
    let down1 = d.down1.forward(x.clone());
    assert_eq!(down1.dims(), [3, 64, 14, 14]);
    assert_eq!(d.down2.forward(down1).dims(), [3, 128, 7, 7]);
    assert_eq!(d.forward(x).dims(), [3, 1]);

    // Three channels and 32×32 images work too.
    let g = GeneratorConfig::new()
        .with_channels(3)
        .with_image_size(32)
        .init(&device)
        .unwrap();
    let images = g.forward(Tensor::<2>::zeros([2, 100], &device));
    assert_eq!(images.dims(), [2, 3, 32, 32]);
}

fn parameters_of_generator(g: &Generator) -> Vec<f32> {
    let mut v = values(g.project.weight.val());
    v.extend(values(g.up1.weight.val()));
    v.extend(values(g.up2.weight.val()));
    v
}

#[test]
fn a_generator_saved_and_reloaded_gives_the_same_images() {
    let device = cpu();
    device.seed(3);
    let config = GeneratorConfig::new();
    let g = config.init(&device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.bpk");
    kiln::train::save_module(g.clone(), &path).unwrap();
    let back = kiln::train::load_module(config.init(&device).unwrap(), &path).unwrap();
    let z = latent(4, 100, &mut Rng::new(1), &device);
    assert_eq!(values(back.forward(z.clone())), values(g.forward(z)));
    // A discriminator's weights are not a generator's.
    let d_path = dir.path().join("d.bpk");
    kiln::train::save_module(DiscriminatorConfig::new().init(&device).unwrap(), &d_path).unwrap();
    assert!(kiln::train::load_module(config.init(&device).unwrap(), &d_path).is_err());
}

#[test]
fn same_weights_same_images_on_every_backend() {
    let all = cross_backends("same_weights_same_images_on_every_backend");
    let config = GeneratorConfig::new();
    let (ref_backend, ref_device) = &all[0];
    ref_device.seed(4);
    let reference = config.init(ref_device).unwrap();
    let bytes = reference.clone().into_record().into_bytes().unwrap();
    let z = |device: &Device| latent(16, 100, &mut Rng::new(8), device);
    let expected = values(reference.forward(z(ref_device)));
    for (backend, device) in &all[1..] {
        let g = config
            .init(device)
            .unwrap()
            .try_load_record(ModuleRecord::from_bytes(bytes.clone()).unwrap())
            .unwrap();
        let got = values(g.forward(z(device)));
        let worst = max_abs_diff(&expected, &got);
        assert!(
            worst <= 1e-4,
            "{backend} differs from {ref_backend} by {worst}"
        );
        println!("generator: {backend} matches {ref_backend} (max |Δ| {worst:.1e})");
    }
}

/// 256 random one-channel 28×28 "images" in [−1, 1], enough for 4 steps of 64.
fn tiny_dataset() -> ImageSet {
    let mut rng = Rng::new(1);
    let values: Vec<f32> = (0..256 * 784)
        .map(|_| rng.uniform(-1.0, 1.0) as f32)
        .collect();
    ImageSet::new(values, [1, 28, 28]).unwrap()
}

#[test]
fn a_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one() {
    let device = cpu();
    let data = tiny_dataset();
    let config = DcganTrainingConfig::new().with_epochs(2);
    let straight = tempfile::tempdir().unwrap();
    let run = RunDir::open(straight.path(), RunMode::New).unwrap();
    let full = dcgan::run::train(&config, &data, &device, None, &run, dcgan::silent).unwrap();
    // The in-memory loop is the same loop: it ends with the same weights.
    let in_memory = dcgan::train(&config, &data, &device, None, dcgan::silent).unwrap();
    assert_eq!(
        parameters_of_generator(&in_memory.generator),
        parameters_of_generator(&full.generator)
    );
    let split = tempfile::tempdir().unwrap();
    let run = RunDir::open(split.path(), RunMode::New).unwrap();
    let one = config.clone().with_epochs(1);
    dcgan::run::train(&one, &data, &device, None, &run, dcgan::silent).unwrap();
    drop(run); // the run is over: its folder is free
    assert!(matches!(
        RunDir::open(split.path(), RunMode::New),
        Err(RunError::InUse { done: 1, .. })
    ));
    let run = RunDir::open(split.path(), RunMode::Resume).unwrap();
    let resumed = dcgan::run::train(&config, &data, &device, None, &run, dcgan::silent).unwrap();
    assert_eq!(
        parameters_of_generator(&resumed.generator),
        parameters_of_generator(&full.generator)
    );
    // Every artifact is there, and the saved generator reloads.
    for file in [
        "generated_image.png",
        "losses.png",
        "samples/epoch-002.png",
        "metrics.json",
    ] {
        assert!(split.path().join(file).is_file(), "{file}");
    }
    let loaded = dcgan::run::load_trained(split.path(), &device).unwrap();
    assert_eq!(loaded.metrics.len(), 2);
    let (a, b) = (&loaded.metrics[0].mean, &full.metrics[0].mean);
    assert!((a.d_loss - b.d_loss).abs() < 1e-12 && (a.g_loss - b.g_loss).abs() < 1e-12);
    let z = latent(2, 100, &mut Rng::new(0), &device);
    assert_eq!(
        values(loaded.generator.forward(z.clone())),
        values(full.generator.forward(z))
    );
}

/// With the recipe options on (the generator average, which the checkpoint keeps and whose
/// warm-up a resumed run continues; label smoothing; standing statistics; a spectrally
/// normalised discriminator, whose power-iteration vectors the checkpoint keeps; the
/// differentiable augmentation, whose draws are reseeded every epoch), a resumed
/// run ends with the same sampling generator as an uninterrupted one, and the run folder's
/// generator is that sampler, not the trained generator.
#[test]
fn a_resumed_run_with_the_recipe_options_ends_like_an_uninterrupted_one() {
    let device = cpu();
    let data = tiny_dataset();
    let config = DcganTrainingConfig::new()
        .with_epochs(2)
        .with_generator_average(Some(0.9))
        .with_real_label(Some(0.9))
        .with_standing_statistics(Some(64))
        .with_augmentation(Some(dcgan::DiffAugment::new()))
        .with_discriminator(
            dcgan::DiscriminatorConfig::new().with_norm(Some(dcgan::DiscriminatorNorm::Spectral)),
        );
    let straight = tempfile::tempdir().unwrap();
    let run = RunDir::open(straight.path(), RunMode::New).unwrap();
    let full = dcgan::run::train(&config, &data, &device, None, &run, dcgan::silent).unwrap();
    drop(run);
    let split = tempfile::tempdir().unwrap();
    let run = RunDir::open(split.path(), RunMode::New).unwrap();
    dcgan::run::train(
        &config.clone().with_epochs(1),
        &data,
        &device,
        None,
        &run,
        dcgan::silent,
    )
    .unwrap();
    drop(run);
    let run = RunDir::open(split.path(), RunMode::Resume).unwrap();
    let resumed = dcgan::run::train(&config, &data, &device, None, &run, dcgan::silent).unwrap();
    let z = latent(4, 100, &mut Rng::new(0), &device);
    let images = values(full.generator.forward(z.clone()));
    assert_eq!(values(resumed.generator.forward(z.clone())), images);
    let loaded = dcgan::run::load_trained(split.path(), &device).unwrap();
    assert_eq!(values(loaded.generator.forward(z.clone())), images);
    // The trained generator (in the checkpoint) is another network.
    let trained: dcgan::Generator = kiln::train::load_module(
        config.generator.init(&device).unwrap(),
        &split
            .path()
            .join("checkpoint")
            .join(dcgan::run::GENERATOR_FILE),
    )
    .unwrap();
    assert_ne!(
        parameters_of_generator(&trained),
        parameters_of_generator(&loaded.generator)
    );
}

#[test]
fn three_channel_images_train_and_the_wrong_shape_is_a_typed_error() {
    let device = cpu();
    let mut rng = Rng::new(2);
    let rgb = ImageSet::new(
        (0..32 * 3 * 8 * 8)
            .map(|_| rng.uniform(-1.0, 1.0) as f32)
            .collect(),
        [3, 8, 8],
    )
    .unwrap();
    let small = |channels| {
        DcganTrainingConfig::new()
            .with_generator(
                GeneratorConfig::new()
                    .with_channels(channels)
                    .with_image_size(8)
                    .with_features(4)
                    .with_latent_size(8),
            )
            .with_discriminator(
                DiscriminatorConfig::new()
                    .with_channels(channels)
                    .with_image_size(8)
                    .with_features(4),
            )
            .with_epochs(1)
            .with_batch_size(8)
    };
    let trained = dcgan::train(&small(3), &rgb, &device, None, dcgan::silent).unwrap();
    let z = latent(2, 8, &mut Rng::new(0), &device);
    assert_eq!(trained.generator.forward(z).dims(), [2, 3, 8, 8]);
    // A one-channel config fed three-channel images is refused before any step.
    let err = dcgan::train(&small(1), &rgb, &device, None, dcgan::silent).unwrap_err();
    assert!(
        matches!(
            err,
            DcganError::ImageShape {
                expected: [1, 8, 8],
                found: [3, 8, 8]
            }
        ),
        "{err}"
    );
}

#[test]
fn a_quality_check_with_fewer_than_two_real_images_is_a_typed_error() {
    let device = cpu();
    let judge = kiln::dcgan::Judge::new(
        kiln::mlp::MlpConfig::new()
            .with_hidden_sizes(vec![8])
            .init(&device)
            .unwrap(),
        0.5,
        0.5,
    );
    let one = Tensor::<4>::zeros([1, 1, 28, 28], &device);
    assert!(matches!(
        kiln::dcgan::QualityCheck::new(judge.clone(), one),
        Err(DcganError::QualityImages(1))
    ));
    let wrong_size = Tensor::<4>::zeros([4, 1, 8, 8], &device);
    assert!(matches!(
        kiln::dcgan::QualityCheck::new(judge, wrong_size),
        Err(DcganError::JudgeInput {
            judge: 784,
            pixels: 64
        })
    ));
}

/// The example's path on real images (the committed Fashion-MNIST sample): images scaled to
/// [−1, 1] through kiln-data, a judge trained on the sample, a quality check against its
/// test images. Over two epochs (125 steps) the Fréchet distance of generated to real images
/// falls, and ends below half of uniform noise's (measured: 458 → 143 against noise's 648).
#[test]
fn on_the_fashion_sample_the_generator_moves_toward_real_images() {
    use kiln::data::{DatasetKind, Normalization, NormalizedImages, Split};
    use kiln::dcgan::{ImageData, Judge, QualityCheck};
    use kiln::mlp::{self, MlpTrainingConfig};

    let device = cpu();
    let kind = DatasetKind::FashionMnist;
    let train = super::common::sample(kind, Split::Train);
    let norm = kind.standardization();
    let judge = mlp::train(
        &MlpTrainingConfig::new().with_epochs(2),
        &NormalizedImages::new(train.clone(), norm),
        None,
        &device,
        mlp::silent,
    )
    .unwrap();
    let (mean, std) = norm.mean_std();
    let test = NormalizedImages::new(
        super::common::sample(kind, Split::Test),
        Normalization::Symmetric,
    );
    let batch = |range: std::ops::Range<usize>| {
        let len = range.len();
        let values: Vec<f32> = range.filter_map(|i| test.image(i)).flatten().collect();
        Tensor::<4>::from_data(TensorData::new(values, [len, 1, 28, 28]), &device)
    };
    let check = QualityCheck::new(Judge::new(judge.model, mean, std), batch(0..500)).unwrap();
    let (real_fd, _) = check.score(batch(500..1000)).unwrap();
    let noise = Tensor::<4>::random([500, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), &device);
    let (noise_fd, _) = check.score(noise).unwrap();

    let images = NormalizedImages::new(train, Normalization::Symmetric);
    let config = DcganTrainingConfig::new()
        .with_epochs(2)
        .with_batch_size(64)
        .with_quality_samples(500);
    let trained = dcgan::train(&config, &images, &device, Some(&check), dcgan::silent).unwrap();
    let fds: Vec<f64> = trained
        .metrics
        .iter()
        .map(|m| m.frechet_distance.unwrap())
        .collect();
    let fd = *fds.last().unwrap();
    println!("Fréchet distance: real {real_fd:.1}, per epoch {fds:.1?}, noise {noise_fd:.1}");
    for m in &trained.metrics {
        assert!(
            m.mean.d_loss.is_finite() && m.mean.g_loss.is_finite(),
            "{m:?}"
        );
    }
    assert!(real_fd < fd, "real images {real_fd} vs generated {fd}");
    assert!(fds[1] < fds[0], "the distance did not fall: {fds:?}");
    assert!(fd < noise_fd / 2.0, "generated {fd} vs noise {noise_fd}");
}
