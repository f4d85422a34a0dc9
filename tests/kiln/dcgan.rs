//! DCGAN: layer shapes, the losses against hand-computed values, what one training step
//! changes, determinism, save/reload, cross-backend outputs, the Fréchet distance, and
//! resuming.

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use kiln::dcgan::run::{RunDir, RunError, RunMode};
use kiln::dcgan::{
    self, DcganError, DcganTrainingConfig, Discriminator, DiscriminatorConfig, FeatureStats, Gan,
    Generator, GeneratorConfig, ImageSet, Rng, discriminator_loss, frechet_distance,
    generator_loss, latent,
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

#[test]
fn losses_match_hand_computed_values_even_for_extreme_logits() {
    let device = cpu();
    let logits = |v: Vec<f32>| {
        let n = v.len();
        Tensor::<2>::from_data(TensorData::new(v, [n, 1]), &device)
    };
    let ln2 = std::f64::consts::LN_2;
    let sp = |x: f64| (1.0 + x.exp()).ln();
    // D(x) = σ(0) = ½ and σ(2); D(G(z)) = σ(0), σ(−2).
    let d = values(discriminator_loss(
        logits(vec![0.0, 2.0]),
        logits(vec![0.0, -2.0]),
    ))[0];
    let expected = (ln2 + sp(-2.0)) / 2.0 + (ln2 + sp(-2.0)) / 2.0;
    assert!((f64::from(d) - expected).abs() < 1e-6, "{d} vs {expected}");
    let g = values(generator_loss(logits(vec![0.0, 3.0])))[0];
    assert!((f64::from(g) - (ln2 + sp(-3.0)) / 2.0).abs() < 1e-6);

    // Saturated logits: the losses stay finite and exact, never log(0).
    let d = values(discriminator_loss(
        logits(vec![-1000.0, 200.0]),
        logits(vec![1000.0, -200.0]),
    ))[0];
    assert!((d - 1000.0).abs() < 1e-3, "{d}"); // (1000 + 0)/2 + (1000 + 0)/2
    let g = values(generator_loss(logits(vec![-1000.0])))[0];
    assert!((g - 1000.0).abs() < 1e-3, "{g}");
    let g = values(generator_loss(logits(vec![1000.0])))[0];
    assert!(g.is_finite() && (0.0..1e-30).contains(&g), "{g}");
}

fn parameters_of_generator(g: &Generator) -> Vec<f32> {
    let mut v = values(g.project.weight.val());
    v.extend(values(g.up1.weight.val()));
    v.extend(values(g.up2.weight.val()));
    v
}

fn parameters_of_discriminator(d: &Discriminator) -> Vec<f32> {
    let mut v = values(d.down1.weight.val());
    v.extend(values(d.down2.weight.val()));
    v.extend(values(d.classify.weight.val()));
    v
}

/// Seeded on the host, so tests running in parallel (which draw from the device's shared
/// generator) cannot change the weights.
fn new_gan(device: &Device, seed: u64) -> Gan {
    let train = device.clone().autodiff();
    Gan::new(
        GeneratorConfig::new().init_seeded(&train, seed).unwrap(),
        DiscriminatorConfig::new()
            .init_seeded(&train, seed + 1)
            .unwrap(),
        2e-4,
    )
}

fn batch(device: &Device, seed: u64) -> (Tensor<4>, Tensor<2>) {
    let train = device.clone().autodiff();
    let mut rng = Rng::new(seed);
    let pixels: Vec<f32> = (0..8 * 28 * 28)
        .map(|_| rng.uniform(-1.0, 1.0) as f32)
        .collect();
    let real = Tensor::<4>::from_data(TensorData::new(pixels, [8, 1, 28, 28]), &train);
    (real, latent(8, 100, &mut rng, &train))
}

#[test]
fn each_update_changes_only_its_own_network() {
    let device = cpu();
    let mut gan = new_gan(&device, 1);
    let (real, z) = batch(&device, 2);
    let (g0, d0) = (
        parameters_of_generator(&gan.generator),
        parameters_of_discriminator(&gan.discriminator),
    );
    gan.discriminator_step(real, z.clone()).unwrap();
    let (g1, d1) = (
        parameters_of_generator(&gan.generator),
        parameters_of_discriminator(&gan.discriminator),
    );
    assert_eq!(g1, g0, "the discriminator step changed the generator");
    assert_ne!(
        d1, d0,
        "the discriminator step left the discriminator as it was"
    );
    gan.generator_step(z).unwrap();
    let (g2, d2) = (
        parameters_of_generator(&gan.generator),
        parameters_of_discriminator(&gan.discriminator),
    );
    assert_ne!(g2, g1, "the generator step left the generator as it was");
    assert_eq!(d2, d1, "the generator step changed the discriminator");
}

#[test]
fn the_same_seed_gives_the_same_first_step() {
    let device = cpu();
    let first = |seed| {
        let mut gan = new_gan(&device, seed);
        let (real, z) = batch(&device, 9);
        gan.step(real, z).unwrap()
    };
    let (a, b, c) = (first(5), first(5), first(6));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.d_loss.is_finite() && a.g_loss.is_finite());
    // At initialisation D is far from sure either way.
    assert!(
        (a.d_real - 0.5).abs() < 0.1 && (a.d_fake - 0.5).abs() < 0.1,
        "{a:?}"
    );
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

#[test]
fn frechet_distance_is_zero_for_a_set_and_itself_and_grows_with_a_shift() {
    let mut rng = Rng::new(11);
    let (n, dim) = (2000, 8);
    let base: Vec<f32> = (0..n * dim).map(|_| rng.normal() as f32).collect();
    let shifted = |by: f32| -> Vec<f32> { base.iter().map(|v| v + by).collect() };
    let stats = |v: &[f32]| FeatureStats::from_features(v, dim);
    let a = stats(&base);
    assert!(frechet_distance(&a, &a).abs() < 1e-6);
    let half = frechet_distance(&a, &stats(&shifted(0.5)));
    let one = frechet_distance(&a, &stats(&shifted(1.0)));
    // A pure shift adds ‖δ‖² = dim · by².
    assert!((half - 2.0).abs() < 1e-3, "{half}");
    assert!((one - 8.0).abs() < 1e-3, "{one}");
    // Another sample of the same distribution is close; a wider one is far.
    let other: Vec<f32> = (0..n * dim).map(|_| rng.normal() as f32).collect();
    let wide: Vec<f32> = other.iter().map(|v| v * 2.0).collect();
    let same = frechet_distance(&a, &stats(&other));
    let far = frechet_distance(&a, &stats(&wide));
    assert!(same < 0.1, "{same}");
    assert!(far > 5.0, "{far}"); // (2 − 1)² per dimension
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

/// Non-commuting covariances, against a value computed by hand: with
/// Σ₁ = [[2, 1], [1, 2]], Σ₂ = [[1, 0], [0, 3]], M = Σ₁Σ₂ = [[2, 3], [1, 6]] has trace 8 and
/// determinant 9, so Tr(M^½) = √(8 + 2·√9) = √14; with μ₂ − μ₁ = (1, 2) the distance is
/// 5 + 4 + 4 − 2√14. A formula such as Tr(Σ₁^½ Σ₂^½) gives another value here.
#[test]
fn frechet_distance_is_right_for_non_commuting_covariances() {
    let a = FeatureStats {
        mean: vec![0.0, 0.0],
        covariance: vec![2.0, 1.0, 1.0, 2.0],
        dim: 2,
    };
    let b = FeatureStats {
        mean: vec![1.0, 2.0],
        covariance: vec![1.0, 0.0, 0.0, 3.0],
        dim: 2,
    };
    let expected = 13.0 - 2.0 * 14f64.sqrt();
    let got = frechet_distance(&a, &b);
    assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
    assert!((frechet_distance(&b, &a) - expected).abs() < 1e-9);
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
