//! The DCGAN's step and scores on flex, in this crate alone (`cargo test -p kiln-dcgan`):
//! the losses against hand-computed values (classic and hinge), each update changing only its
//! own network, a seeded first step, the recipe options (hinge loss, two time scales, the
//! generator average, label smoothing, standing statistics, the learning-rate schedule,
//! spectral normalisation, differentiable augmentation)
//! changing what they should, and the Fréchet distance. The root package's tests add other
//! backends, real images, saving and resuming.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use kiln_dcgan::{
    DcganTrainingConfig, DiffAugment, Discriminator, DiscriminatorConfig, DiscriminatorNorm,
    FeatureStats, Gan, GanLoss, Generator, GeneratorConfig, ImageSet, LrSchedule, Rng,
    discriminator_loss, frechet_distance, generator_loss, hinge_discriminator_loss,
    hinge_generator_loss, latent, smoothed_discriminator_loss,
};
use kiln_dcgan::{cutout, translate};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn parameters_of_generator(g: &Generator) -> Vec<f32> {
    let mut v = values(g.project.weight.val());
    v.extend(values(g.up1.weight.val()));
    v.extend(values(g.up2.weight.val()));
    v
}

#[test]
fn losses_match_hand_computed_values_even_for_extreme_logits() {
    let device = Device::flex();
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
    let device = Device::flex();
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
    let device = Device::flex();
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

/// The hinge losses against hand-computed values: real logits 2, 0.5, −1 give
/// `max(0, 1 − x)` = 0, 0.5, 2 (mean 5/6); fake logits −2, 0, 1 give `max(0, 1 + x)` = 0, 1, 2
/// (mean 1), so `L_D` = 11/6; the generator's `−mean fake` is −(−1/3) = 1/3. `GanLoss`
/// dispatches to them and to the classic pair.
#[test]
fn hinge_losses_match_hand_computed_values() {
    let device = Device::flex();
    let logits = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [3, 1]), &device);
    let (real, fake) = (vec![2.0, 0.5, -1.0], vec![-2.0, 0.0, 1.0]);
    let d = values(hinge_discriminator_loss(
        logits(real.clone()),
        logits(fake.clone()),
    ))[0];
    assert!((d - 11.0 / 6.0).abs() < 1e-6, "{d}");
    let g = values(hinge_generator_loss(logits(fake.clone())))[0];
    assert!((g - 1.0 / 3.0).abs() < 1e-6, "{g}");
    let via = |loss: GanLoss| {
        (
            values(loss.discriminator(logits(real.clone()), logits(fake.clone())))[0],
            values(loss.generator(logits(fake.clone())))[0],
        )
    };
    assert_eq!(via(GanLoss::Hinge), (d, g));
    let classic = (
        values(discriminator_loss(
            logits(real.clone()),
            logits(fake.clone()),
        ))[0],
        values(generator_loss(logits(fake.clone())))[0],
    );
    assert_eq!(via(GanLoss::Classic), classic);
    assert_ne!(classic, (d, g));
}

/// The losses a GAN trains with are the ones it was given: the same networks and batch give
/// other losses and other weights after one step with the hinge loss than with the classic.
#[test]
fn the_hinge_option_changes_the_step() {
    let device = Device::flex();
    let (real, z) = batch(&device, 3);
    let mut classic = new_gan(&device, 4);
    let mut hinge = new_gan(&device, 4).with_loss(GanLoss::Hinge);
    let a = classic.step(real.clone(), z.clone()).unwrap();
    let b = hinge.step(real, z).unwrap();
    assert_ne!((a.d_loss, a.g_loss), (b.d_loss, b.g_loss));
    assert_ne!(
        parameters_of_discriminator(&classic.discriminator),
        parameters_of_discriminator(&hinge.discriminator)
    );
}

/// Two time scales: Adam's first step moves each weight by about its learning rate, so a
/// discriminator stepping at 4e-4 moves twice as far as one at 2e-4 (the generator's), and
/// the generator's rate is unchanged.
#[test]
fn the_discriminator_learning_rate_sets_the_discriminators_step() {
    let device = Device::flex();
    let (real, z) = batch(&device, 5);
    let largest_move = |rate: f64| {
        let mut gan = new_gan(&device, 6).with_discriminator_learning_rate(rate);
        assert_eq!(gan.learning_rate, 2e-4);
        let before = parameters_of_discriminator(&gan.discriminator);
        gan.discriminator_step(real.clone(), z.clone()).unwrap();
        let after = parameters_of_discriminator(&gan.discriminator);
        before
            .iter()
            .zip(&after)
            .map(|(b, a)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    let (slow, fast) = (largest_move(2e-4), largest_move(4e-4));
    let ratio = fast / slow;
    assert!(
        (ratio - 2.0).abs() < 0.02,
        "moves {slow:e} and {fast:e}: ratio {ratio}"
    );
}

/// Every float the average keeps: weights, biases, batch-norm scales and running means.
fn floats_of_generator(g: &Generator) -> Vec<f32> {
    let mut v = parameters_of_generator(g);
    v.extend(values(g.project_norm.gamma.val()));
    // Synced: `value()` may be one update behind.
    v.extend(values(g.project_norm.running_mean.value_sync()));
    v.extend(values(g.up1_norm.running_var.value_sync()));
    v.extend(values(g.up2.bias.as_ref().unwrap().val()));
    v
}

/// The generator average: after each step it is `d·avg + (1 − d)·trained` with the warm-up
/// decay `min(decay, (1 + t)/(10 + t))`, computed here on the host from the trained
/// generator's weights after every step; it differs from the trained generator and lags it
/// (closer to the initial weights); it changes nothing in training; the sampler is the
/// average when one is kept and the trained generator otherwise.
#[test]
fn the_generator_average_follows_and_lags_the_trained_generator() {
    let device = Device::flex();
    let decay = 0.5;
    let mut plain = new_gan(&device, 7);
    let mut averaged = new_gan(&device, 7).with_generator_average(decay);
    let initial = floats_of_generator(&averaged.generator);
    assert_eq!(floats_of_generator(&averaged.sampler()), initial);
    let mut expected = initial.clone();
    for step in 0..4u64 {
        let (real, z) = batch(&device, 20 + step);
        plain.step(real.clone(), z.clone()).unwrap();
        averaged.step(real, z).unwrap();
        let trained = floats_of_generator(&averaged.generator);
        let t = (step + 1) as f64;
        let d = decay.min((1.0 + t) / (10.0 + t)) as f32;
        for (e, x) in expected.iter_mut().zip(&trained) {
            *e = d * *e + (1.0 - d) * x;
        }
        let got = floats_of_generator(&averaged.sampler());
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "step {}: off by {worst}", step + 1);
    }
    let average = averaged.average.as_ref().unwrap();
    assert_eq!(average.updates, 4);
    // Still warming up: the fifth update would use (1 + 5)/(10 + 5), not yet the decay.
    assert!((average.next_decay() - 6.0 / 15.0).abs() < 1e-12);
    // Training is the same with or without the average.
    let trained = floats_of_generator(&averaged.generator);
    assert_eq!(floats_of_generator(&plain.generator), trained);
    assert_eq!(floats_of_generator(&plain.sampler()), trained);
    // The average is not the trained generator, and lags it.
    let sampled = floats_of_generator(&averaged.sampler());
    assert_ne!(sampled, trained);
    let distance = |a: &[f32], b: &[f32]| -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt()
    };
    assert!(distance(&sampled, &initial) < distance(&trained, &initial));
}

/// One-sided label smoothing against hand-computed values: real logits 0 and 2, fake logits
/// 0 and −2, target 0.9: `0.9·mean softplus(−real) + 0.1·mean softplus(real) + mean
/// softplus(fake)`; target 1 is the classic loss. In a GAN the target changes the
/// discriminator's loss and step (the outputs it was computed from are the same).
#[test]
fn label_smoothing_matches_hand_computed_values_and_changes_the_step() {
    let device = Device::flex();
    let logits = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [2, 1]), &device);
    let sp = |x: f64| (1.0 + x.exp()).ln();
    let (real, fake) = (vec![0.0, 2.0], vec![0.0, -2.0]);
    let got = values(smoothed_discriminator_loss(
        logits(real.clone()),
        logits(fake.clone()),
        0.9,
    ))[0];
    let expected = 0.9 * (sp(0.0) + sp(-2.0)) / 2.0
        + 0.1 * (sp(0.0) + sp(2.0)) / 2.0
        + (sp(0.0) + sp(-2.0)) / 2.0;
    assert!(
        (f64::from(got) - expected).abs() < 1e-6,
        "{got} vs {expected}"
    );
    let one = values(smoothed_discriminator_loss(
        logits(real.clone()),
        logits(fake.clone()),
        1.0,
    ))[0];
    let classic = values(discriminator_loss(logits(real), logits(fake)))[0];
    assert!((one - classic).abs() < 1e-6);

    let (real, z) = batch(&device, 12);
    let mut plain = new_gan(&device, 13);
    let mut smoothed = new_gan(&device, 13).with_real_label(0.9);
    let a = plain.step(real.clone(), z.clone()).unwrap();
    let b = smoothed.step(real, z).unwrap();
    assert_ne!(a.d_loss, b.d_loss);
    assert_eq!((a.d_real, a.d_fake), (b.d_real, b.d_fake));
    assert_ne!(
        parameters_of_discriminator(&plain.discriminator),
        parameters_of_discriminator(&smoothed.discriminator)
    );
}

/// Standing statistics: the generator's batch-norm statistics re-estimated on a latent batch
/// make its inference output on that batch the training-mode output (which normalises with
/// the batch's own statistics), where the running statistics do not; a GAN with standing
/// statistics samples with them.
#[test]
fn standing_statistics_are_the_batch_statistics_of_the_latent_batch() {
    let device = Device::flex();
    let mut gan = new_gan(&device, 14);
    for step in 0..2 {
        let (real, z) = batch(&device, 30 + step);
        gan.step(real, z).unwrap();
    }
    let z = latent(64, 100, &mut Rng::new(15), &device);
    let train = device.clone().autodiff();
    // Training mode on the autodiff device: batch statistics.
    let batch_normalised = values(
        gan.generator
            .forward(Tensor::from_data(z.to_data(), &train)),
    );
    let worst = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let standing = gan.generator.with_batch_statistics(z.clone());
    let restated = values(standing.forward(z.clone()));
    let running = values(gan.sampler().forward(z.clone()));
    assert!(worst(&restated, &batch_normalised) < 1e-4);
    assert!(worst(&running, &batch_normalised) > 1e-2);
    let sampler = gan.with_standing_statistics(z.clone()).sampler();
    assert_eq!(values(sampler.forward(z)), restated);
}

/// The schedule sets every step's rates in the loop: the first step runs at the configured
/// rates (a one-step run ends where the constant one does), the later ones at the annealed
/// rates (a three-step run does not, by about the size of its last two updates).
#[test]
fn the_cosine_schedule_starts_at_the_rates_and_anneals_the_later_steps() {
    let device = Device::flex();
    let mut rng = Rng::new(5);
    let pixels: Vec<f32> = (0..24 * 28 * 28)
        .map(|_| rng.uniform(-1.0, 1.0) as f32)
        .collect();
    let constant = DcganTrainingConfig::new()
        .with_epochs(1)
        .with_batch_size(8)
        .with_learning_rate(4e-4)
        .with_discriminator_learning_rate(Some(1e-4));
    let cosine = constant.clone().with_lr_schedule(Some(LrSchedule::Cosine));
    let trained = |config: &DcganTrainingConfig, images: usize| {
        let data = ImageSet::new(pixels[..images * 28 * 28].to_vec(), [1, 28, 28]).unwrap();
        let run = kiln_dcgan::train(config, &data, &device, None, kiln_dcgan::silent).unwrap();
        parameters_of_generator(&run.generator)
    };
    let largest_difference = |a: Vec<f32>, b: Vec<f32>| {
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let one_step = largest_difference(trained(&cosine, 8), trained(&constant, 8));
    assert!(one_step < 1e-6, "one step: {one_step}");
    // Adam moves each weight by about the rate per step: 4e-4 at the constant rate, 3.0e-4
    // and 1.0e-4 at the second and third steps of the schedule.
    let three_steps = largest_difference(trained(&cosine, 24), trained(&constant, 24));
    assert!(three_steps > 1e-4, "three steps: {three_steps}");
}

/// The largest singular value of the `[rows, columns]` row-major matrix `m`: the Rayleigh
/// quotient after 500 power iterations of `mᵀm`, in f64.
fn largest_singular_value(m: &[f32], rows: usize) -> f64 {
    let columns = m.len() / rows;
    let at = |r: usize, c: usize| f64::from(m[r * columns + c]);
    let mut v: Vec<f64> = (0..columns).map(|c| 1.0 + (c % 7) as f64).collect();
    let mut sigma = 0.0;
    for _ in 0..500 {
        let u: Vec<f64> = (0..rows)
            .map(|r| (0..columns).map(|c| at(r, c) * v[c]).sum())
            .collect();
        let w: Vec<f64> = (0..columns)
            .map(|c| (0..rows).map(|r| at(r, c) * u[r]).sum())
            .collect();
        let (v_norm, w_norm) = (
            v.iter().map(|x| x * x).sum::<f64>().sqrt(),
            w.iter().map(|x| x * x).sum::<f64>().sqrt(),
        );
        sigma = (w_norm / v_norm).sqrt(); // ‖mᵀm v‖ / ‖v‖ → σ²
        v = w.iter().map(|x| x / w_norm).collect();
    }
    sigma
}

/// Spectral normalisation: after a few training steps, each of the discriminator's three
/// layers, as the forward pass uses it, has largest singular value ≈ 1 (its raw weights do
/// not: 0.24, 0.87 and 1.58 at DCGAN's initialisation), and the discriminator has no batch
/// norm.
#[test]
fn spectral_normalisation_gives_each_layer_largest_singular_value_one() {
    let device = Device::flex();
    let train = device.clone().autodiff();
    let spectral = DiscriminatorConfig::new().with_norm(Some(DiscriminatorNorm::Spectral));
    let mut gan = Gan::new(
        GeneratorConfig::new().init_seeded(&train, 3).unwrap(),
        spectral.init_seeded(&train, 4).unwrap(),
        2e-4,
    );
    assert!(gan.discriminator.down2_norm.is_none());
    for seed in 0..5 {
        let (real, z) = batch(&device, seed);
        gan.step(real, z).unwrap();
    }
    // On the plain device: the estimates are read, not advanced.
    let d = gan.discriminator.valid();
    let (w1, w2, w3) = d.weights();
    let raw = parameters_of_discriminator(&d);
    let sigmas = [
        largest_singular_value(&values(w1), 64),
        largest_singular_value(&values(w2), 128),
        largest_singular_value(&values(w3), 6272), // Burn's [in, out]: the same σ
    ];
    // One power iteration per forward pass (three per step) underestimates σ while the
    // iterations are few and the top singular values close: `down2`'s is 1.03 here.
    for sigma in sigmas {
        assert!((sigma - 1.0).abs() < 0.05, "σ after the steps: {sigmas:?}");
    }
    let raw_down1 = largest_singular_value(&raw[..64 * 16], 64);
    assert!(raw_down1 < 0.5, "raw down1 σ {raw_down1}");
    // Reading does not move the estimates: the same weights twice.
    let (again, _, _) = d.weights();
    assert_eq!(values(again), values(d.weights().0));
}

/// The augmentation's two transformations against hand-made images: a shift moves every
/// pixel by it and fills with zeros, a cut-out zeroes its square (clipped at the edge); the
/// gradient reaches exactly the pixels kept; the draws cover the policy's range.
#[test]
fn translation_and_cutout_match_hand_computed_images_and_pass_gradients() {
    let device = Device::flex().autodiff();
    // Two 4×4 images: 1..=16 and 17..=32, row by row.
    let pixels: Vec<f32> = (1..=32).map(|v| v as f32).collect();
    let images =
        Tensor::<4>::from_data(TensorData::new(pixels, [2, 1, 4, 4]), &device).require_grad();
    // Image 0: output (i, j) = input (i + 1, j − 1); image 1: unshifted.
    let shifted = translate(images.clone(), &[(1, -1), (0, 0)]);
    #[rustfmt::skip]
    let expected0 = [
        0.0, 5.0, 6.0, 7.0,
        0.0, 9.0, 10.0, 11.0,
        0.0, 13.0, 14.0, 15.0,
        0.0, 0.0, 0.0, 0.0,
    ];
    let got = values(shifted.clone());
    assert_eq!(got[..16], expected0);
    assert_eq!(
        got[16..],
        (17..=32).map(|v| v as f32).collect::<Vec<_>>()[..]
    );
    // The gradient of the sum: 1 for each input pixel that reached the output.
    let grads = shifted.sum().backward();
    let grad = values(images.grad(&grads).unwrap());
    #[rustfmt::skip]
    let kept0 = [
        0.0, 0.0, 0.0, 0.0,
        1.0, 1.0, 1.0, 0.0,
        1.0, 1.0, 1.0, 0.0,
        1.0, 1.0, 1.0, 0.0,
    ];
    assert_eq!(grad[..16], kept0);
    assert!(grad[16..].iter().all(|&g| g == 1.0));

    // A 2×2 square centred at (2, 2): rows and columns 1..3; one centred at the corner
    // (0, 0) hangs over the edge and zeroes only (0, 0).
    let cut = values(cutout(images.clone(), &[(2, 2), (0, 0)], 2));
    let zeroed =
        |image: usize| -> Vec<usize> { (0..16).filter(|&p| cut[image * 16 + p] == 0.0).collect() };
    assert_eq!(zeroed(0), vec![5, 6, 9, 10]);
    assert_eq!(zeroed(1), vec![0]);
    assert_eq!(cut[15], 16.0);

    // The draws: shifts over all of −4..=4 on 28 pixels (1/8, rounded), centres over 0..=28
    // (a 14-pixel square, even, so one past the last row as DiffAugment draws).
    let policy = DiffAugment::new();
    assert_eq!((policy.max_shift(28), policy.cutout_side(28)), (4, 14));
    let draw = policy.draw(2000, 28, &mut Rng::new(3));
    let rows: std::collections::BTreeSet<isize> = draw.shifts.iter().map(|s| s.0).collect();
    let columns: std::collections::BTreeSet<isize> = draw.shifts.iter().map(|s| s.1).collect();
    assert_eq!(rows, (-4..=4).collect());
    assert_eq!(columns, (-4..=4).collect());
    let centres: std::collections::BTreeSet<usize> = draw.cutouts.iter().map(|c| c.0).collect();
    assert_eq!(centres, (0..=28).collect());
    assert_eq!("translation,cutout".parse::<DiffAugment>(), Ok(policy));
    assert_eq!(
        "cutout"
            .parse::<DiffAugment>()
            .map(|p| (p.translation, p.cutout)),
        Ok((0.0, 0.5))
    );
    assert!("colour".parse::<DiffAugment>().is_err());
}

/// Both updates see augmented images: from the same networks, a discriminator step and a
/// generator step (each alone) move their network elsewhere with the augmentation than
/// without it; and the policy `none` changes nothing.
#[test]
fn the_augmentation_changes_both_updates() {
    let device = Device::flex();
    let (real, z) = batch(&device, 40);
    let gan = |policy: Option<DiffAugment>| match policy {
        Some(p) => new_gan(&device, 41).with_augmentation(p, 42),
        None => new_gan(&device, 41),
    };
    let after_d = |policy: Option<DiffAugment>| {
        let mut g = gan(policy);
        g.discriminator_step(real.clone(), z.clone()).unwrap();
        parameters_of_discriminator(&g.discriminator)
    };
    let after_g = |policy: Option<DiffAugment>| {
        let mut g = gan(policy);
        g.generator_step(z.clone()).unwrap();
        parameters_of_generator(&g.generator)
    };
    let paper = Some(DiffAugment::new());
    let none = Some("none".parse::<DiffAugment>().unwrap());
    assert_ne!(after_d(paper.clone()), after_d(None));
    assert_ne!(after_g(paper), after_g(None));
    assert_eq!(after_d(none.clone()), after_d(None));
    assert_eq!(after_g(none), after_g(None));
}
