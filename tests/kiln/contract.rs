//! Bad input through the public API: a typed error, never a panic, never a hang, never a
//! silent wrong result. One test per input an outsider's application was found to get
//! wrong, then a seeded property test that throws random shapes, NaNs and sizes at every
//! public `train`/`fit`/`predict`/`evaluate`.

use std::sync::mpsc;
use std::time::Duration;

use burn::tensor::{Device, Tensor, TensorData};
use kiln::Rng;
use kiln::cluster::{ClusterError, Dbscan, KMeans, MiniBatchKMeans, adjusted_rand_index};
use kiln::dcgan::{self, DcganError, DcganTrainingConfig, GeneratorConfig, ImageSet};
use kiln::mlp::{
    self, ClassificationData, DataSourceError, Labelled, MlpConfig, MlpError, MlpTrainingConfig,
};
use kiln::rl::burn_rl::{Environment, StepResult};
use kiln::rl::dqn::{self, DqnError, DqnTrainingConfig};
use kiln::rl::{Chain, DiscreteEnvironment};

use super::common::cpu;

/// Runs `f` on its own thread; `Err` with the panic's message if it panicked, and a test
/// failure if it did not return within `limit`.
fn bounded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(kiln::catch_panic(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => panic!("{what} did not return within {limit:?}"),
    }
}

fn small_mlp(inputs: usize, classes: usize) -> MlpTrainingConfig {
    MlpTrainingConfig::new()
        .with_model(
            MlpConfig::new()
                .with_input_size(inputs)
                .with_hidden_sizes(vec![8])
                .with_output_size(classes),
        )
        .with_epochs(2)
        .with_batch_size(8)
}

fn examples(n: usize, inputs: usize, classes: usize) -> Vec<Labelled> {
    let mut rng = Rng::new(3);
    (0..n)
        .map(|i| {
            Labelled::new(
                (0..inputs).map(|_| rng.normal() as f32).collect(),
                i % classes,
            )
        })
        .collect()
}

#[test]
fn mlp_try_forward_refuses_a_wrong_width() {
    let device = cpu();
    let mlp = MlpConfig::new().with_input_size(12).init(&device).unwrap();
    let r = mlp.try_forward(Tensor::<2>::zeros([4, 11], &device));
    assert!(
        matches!(
            r,
            Err(MlpError::InputShape {
                expected: 12,
                found: [4, 11]
            })
        ),
        "{r:?}"
    );
    assert_eq!(
        mlp.try_forward(Tensor::<2>::zeros([4, 12], &device))
            .unwrap()
            .dims(),
        [4, 10]
    );
}

#[test]
fn generator_and_discriminator_try_forward_refuse_wrong_shapes() {
    let device = cpu();
    let g = GeneratorConfig::new().init_seeded(&device, 1).unwrap();
    let r = g.try_forward(Tensor::<2>::zeros([2, 99], &device));
    assert!(
        matches!(
            r,
            Err(DcganError::LatentShape {
                expected: 100,
                found: [2, 99]
            })
        ),
        "{r:?}"
    );
    let images = g
        .try_forward(Tensor::<2>::zeros([2, 100], &device))
        .unwrap();
    assert_eq!(images.dims(), [2, 1, 28, 28]);
    let d = dcgan::DiscriminatorConfig::new()
        .init_seeded(&device, 2)
        .unwrap();
    assert_eq!(d.image_size(), [1, 28]);
    assert_eq!(d.try_forward(images).unwrap().dims(), [2, 1]);
    let r = d.try_forward(Tensor::<4>::zeros([2, 1, 32, 32], &device));
    assert!(
        matches!(
            r,
            Err(DcganError::InputShape {
                channels: 1,
                side: 28,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn mlp_training_refuses_nan_and_infinite_features() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut data = examples(40, 3, 2);
        data[17].features[1] = bad;
        let r = mlp::train(&small_mlp(3, 2), &data, None, &cpu(), mlp::silent);
        assert!(
            matches!(
                r,
                Err(MlpError::NonFinite {
                    index: 17,
                    feature: 1,
                    ..
                })
            ),
            "{bad}: {r:?}"
        );
    }
}

#[test]
fn evaluating_on_no_example_is_an_error_not_accuracy_zero() {
    let device = cpu();
    let trained = mlp::train(
        &small_mlp(3, 2),
        &examples(40, 3, 2),
        None,
        &device,
        mlp::silent,
    )
    .unwrap();
    let empty: Vec<Labelled> = Vec::new();
    let r = mlp::evaluate(&trained.model, &empty, 16);
    assert!(matches!(r, Err(MlpError::NoExamples)), "{r:?}");
    // An empty validation set too.
    let r = mlp::train(
        &small_mlp(3, 2),
        &examples(40, 3, 2),
        Some(&empty),
        &device,
        mlp::silent,
    );
    assert!(matches!(r, Err(MlpError::NoExamples)), "{r:?}");
}

/// A data source whose reads fail for one index, with an error of its own.
struct FailingSource(Vec<Labelled>);

#[derive(Debug)]
struct DiskGone;

impl std::fmt::Display for DiskGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the disk holding the shard went away")
    }
}

impl std::error::Error for DiskGone {}

impl ClassificationData for FailingSource {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, index: usize) -> Option<Labelled> {
        self.try_get(index).ok()
    }

    fn try_get(&self, index: usize) -> Result<Labelled, Option<DataSourceError>> {
        if index == 5 {
            return Err(Some(Box::new(DiskGone)));
        }
        <[Labelled]>::get(&self.0, index).cloned().ok_or(None)
    }
}

#[test]
fn a_data_sources_own_error_is_kept() {
    let data = FailingSource(examples(40, 3, 2));
    let r = mlp::train(&small_mlp(3, 2), &data, None, &cpu(), mlp::silent);
    match r {
        Err(e @ MlpError::DataSource { index: 5, .. }) => {
            assert!(
                e.to_string()
                    .contains("the disk holding the shard went away"),
                "{e}"
            );
            let source = std::error::Error::source(&e).expect("the source is kept");
            assert!(source.downcast_ref::<DiskGone>().is_some(), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_burn_datasets_error_is_kept_and_its_range_is_checked() {
    use burn::data::dataset::{Dataset, DatasetError};
    struct Flaky;
    impl Dataset<f32> for Flaky {
        fn get(&self, index: usize) -> Result<f32, DatasetError> {
            assert!(index < 10, "Burn's contract: get panics out of range");
            if index == 3 {
                Err(DatasetError::new(DiskGone))
            } else {
                Ok(index as f32)
            }
        }
        fn len(&self) -> usize {
            10
        }
    }
    let data = mlp::from_dataset(Flaky, |x: f32| Labelled::new(vec![x], 0));
    assert_eq!(data.get(10), None, "out of range is None, not Burn's panic");
    assert!(matches!(data.try_get(10), Err(None)));
    let r = mlp::train(&small_mlp(1, 1), &data, None, &cpu(), mlp::silent);
    match r {
        Err(e @ MlpError::DataSource { index: 3, .. }) => {
            assert!(e.to_string().contains("went away"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dcgan_training_refuses_nan_pixels_and_pixels_outside_minus_one_to_one() {
    let config = DcganTrainingConfig::new()
        .with_generator(
            GeneratorConfig::new()
                .with_latent_size(4)
                .with_image_size(8)
                .with_features(4),
        )
        .with_discriminator(
            dcgan::DiscriminatorConfig::new()
                .with_image_size(8)
                .with_features(4),
        )
        .with_epochs(1)
        .with_batch_size(4);
    for (bad, position) in [(f32::NAN, 10), (255.0, 0), (-1.5, 63)] {
        let mut values = vec![0.25f32; 8 * 64];
        values[2 * 64 + position] = bad;
        let images = ImageSet::new(values, [1, 8, 8]).unwrap();
        let r = dcgan::train(&config, &images, &cpu(), None, dcgan::silent);
        match r {
            Err(DcganError::PixelOutOfRange {
                index: 2,
                position: p,
                value,
            }) => {
                assert_eq!(p, position);
                assert!(value.is_nan() == bad.is_nan());
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// An environment that declares `declared`-value observations and returns `actual`-value
/// ones; its episodes never end unless `ends`.
#[derive(Clone)]
struct Liar {
    declared: usize,
    actual: usize,
    value: f32,
    ends: bool,
}

impl Environment for Liar {
    type State = Vec<f32>;
    type Action = usize;
    const MAX_STEPS: usize = usize::MAX;

    fn state(&self) -> Vec<f32> {
        vec![self.value; self.actual]
    }

    fn step(&mut self, _action: usize) -> StepResult<Vec<f32>> {
        StepResult {
            next_state: self.state(),
            reward: 1.0,
            done: self.ends,
            truncated: false,
        }
    }

    fn reset(&mut self) {}
}

impl DiscreteEnvironment for Liar {
    fn observation_size(&self) -> usize {
        self.declared
    }
    fn num_actions(&self) -> usize {
        2
    }
    fn reset_with_seed(&mut self, _seed: u64) {}
}

fn dqn_config(observation: usize) -> DqnTrainingConfig {
    DqnTrainingConfig::new()
        .with_network(
            MlpConfig::new()
                .with_input_size(observation)
                .with_hidden_sizes(vec![4])
                .with_output_size(2),
        )
        .with_total_steps(300)
        .with_learning_starts(50)
        .with_batch_size(8)
        .with_buffer_size(300)
}

#[test]
fn an_environment_breaking_its_observation_size_is_an_error_not_a_panic() {
    let mut env = Liar {
        declared: 10,
        actual: 9,
        value: 0.0,
        ends: true,
    };
    let r = bounded("dqn::train", Duration::from_secs(60), move || {
        dqn::train(&dqn_config(10), &mut env, &Device::flex(), kiln::rl::silent)
    })
    .expect("no panic");
    assert!(
        matches!(
            r,
            Err(DqnError::ObservationSize {
                declared: 10,
                found: 9
            })
        ),
        "{:?}",
        r.err()
    );
    let mut env = Liar {
        declared: 3,
        actual: 3,
        value: f32::NAN,
        ends: true,
    };
    let r = dqn::train(&dqn_config(3), &mut env, &Device::flex(), kiln::rl::silent);
    assert!(
        matches!(r, Err(DqnError::NonFiniteObservation { position: 0, .. })),
        "{:?}",
        r.err()
    );
}

#[test]
fn dqn_evaluate_ends_on_an_environment_that_never_does() {
    let device = Device::flex();
    let network = MlpConfig::new()
        .with_input_size(2)
        .with_hidden_sizes(vec![4])
        .with_output_size(2)
        .init(&device)
        .unwrap();
    let mut env = Liar {
        declared: 2,
        actual: 2,
        value: 0.5,
        ends: false,
    };
    let returns = bounded("dqn::evaluate", Duration::from_secs(120), move || {
        dqn::evaluate(&network, &mut env, 1, 0)
    })
    .expect("no panic")
    .unwrap();
    // Reward 1 per step, cut at kiln's cap (the environment declares no MAX_STEPS).
    assert_eq!(returns, vec![dqn::EVALUATE_MAX_STEPS as f64]);
}

#[test]
fn chain_and_adjusted_rand_index_return_errors() {
    assert!(Chain::new(1).is_err());
    assert!(Chain::new(2).is_ok());
    assert!(matches!(
        adjusted_rand_index(&[0, 1, 1], &[0, 1]),
        Err(ClusterError::LabelLengths { left: 3, right: 2 })
    ));
}

/// What one random case did: returned `Ok` (true) or a typed one-line error (false); a
/// panic fails the test.
fn check_case(name: &str, outcome: Result<Result<(), String>, String>) -> bool {
    match outcome {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            assert!(
                !e.is_empty() && !e.contains('\n'),
                "{name}: error not one line: {e:?}"
            );
            false
        }
        Err(panic) => panic!("{name} panicked: {panic}"),
    }
}

/// Random values: mostly normal, sometimes NaN, ±inf or huge.
fn values(rng: &mut Rng, n: usize, poison: bool) -> Vec<f32> {
    (0..n)
        .map(|_| {
            if poison && rng.unit() < 0.05 {
                [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e38][rng.below(4)]
            } else {
                rng.normal() as f32
            }
        })
        .collect()
}

/// Random shapes, sizes, NaNs and parameters at every public fit/train/predict/evaluate:
/// each returns `Ok` or a typed one-line error, within a time bound, never a panic.
#[test]
fn random_bad_input_gets_typed_errors_never_panics_or_hangs() {
    let cases = std::env::var("KILN_CONTRACT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let limit = Duration::from_secs(120);
    // Per family: cases that ran through, cases refused with an error.
    let mut outcomes = [(0, 0); 4];
    let mut count = |family: usize, ok: bool| {
        if ok {
            outcomes[family].0 += 1;
        } else {
            outcomes[family].1 += 1;
        }
    };
    for case in 0..cases {
        let mut rng = Rng::new(1000 + case as u64);
        // Each size is valid most of the time and invalid (0, too small, mismatched) now and
        // then, so that every entry point both runs through and refuses.
        let mut sometimes = |p: f64| rng.unit() < p;
        let (tiny_n, zero_d, zero_classes, poison) = (
            sometimes(0.15),
            sometimes(0.1),
            sometimes(0.1),
            sometimes(0.3),
        );
        let (wrong_inputs, zero_batch, zero_k, bad_label) = (
            sometimes(0.25),
            sometimes(0.1),
            sometimes(0.1),
            sometimes(0.1),
        );
        let n = if tiny_n {
            rng.below(3)
        } else {
            8 + rng.below(40)
        };
        let d = if zero_d { 0 } else { 1 + rng.below(4) };
        let classes = if zero_classes { 0 } else { 1 + rng.below(3) };
        let x = values(&mut rng, n * d, poison);
        let k = if zero_k { 0 } else { 1 + rng.below(4) };
        let eps = [0.5, 0.5, 0.5, 0.0, -1.0, f64::NAN, 1e30][rng.below(7)];
        let batch = if zero_batch { 0 } else { 1 + rng.below(10) };
        let inputs = if wrong_inputs { rng.below(5) } else { d };
        let labels: Vec<usize> = (0..n)
            .map(|_| rng.below(classes.max(1)) + usize::from(bad_label))
            .collect();
        let tag =
            format!("case {case}: n {n} d {d} classes {classes} k {k} eps {eps} batch {batch}");

        // kiln-cluster: fit and predict, both metrics.
        let (xc, tc) = (x.clone(), tag.clone());
        let ok = check_case(
            &format!("cluster {tag}"),
            bounded(&tc, limit, move || -> Result<(), String> {
                let device = Device::flex();
                let t = kiln::cluster::tensor_from_slice(&xc, n, d, &device)
                    .map_err(|e| e.to_string())?;
                if let Ok(m) = KMeans::params(k).n_init(1).max_iter(5).fit(&t) {
                    m.predict(&t).map_err(|e| e.to_string())?;
                }
                if let Ok(m) = MiniBatchKMeans::params(k).batch_size(batch).fit(&t) {
                    m.predict(&t).map_err(|e| e.to_string())?;
                }
                Dbscan::params(eps, batch)
                    .fit(&t)
                    .map_err(|e| e.to_string())?;
                Dbscan::params(eps, batch)
                    .metric(kiln::cluster::Metric::Cosine)
                    .fit(&t)
                    .map_err(|e| e.to_string())?;
                Ok(())
            }),
        );
        count(0, ok);

        // kiln-mlp: train, evaluate, try_forward with sizes that may not fit.
        let (xm, lm) = (x.clone(), labels.clone());
        let ok = check_case(
            &format!("mlp {tag}"),
            bounded(&tag, limit, move || -> Result<(), String> {
                let device = Device::flex();
                let data: Vec<Labelled> = (0..n)
                    .map(|i| Labelled::new(xm[i * d..(i + 1) * d].to_vec(), lm[i]))
                    .collect();
                let config = small_mlp(inputs, classes).with_batch_size(batch);
                let trained = mlp::train(&config, &data, Some(&data), &device, mlp::silent)
                    .map_err(|e| e.to_string())?;
                mlp::evaluate(&trained.model, &data, batch).map_err(|e| e.to_string())?;
                let t = Tensor::<2>::from_data(TensorData::new(xm, [n, d]), &device);
                trained.model.try_forward(t).map_err(|e| e.to_string())?;
                Ok(())
            }),
        );
        count(1, ok);

        // kiln-dcgan: images of a random shape and range.
        let xd = x.clone();
        let ok = check_case(
            &format!("dcgan {tag}"),
            bounded(&tag, limit, move || -> Result<(), String> {
                let device = Device::flex();
                let side = 4 * d.max(1);
                // Pixels in (−1, 1) unless poisoned (NaN, ±inf, 3e38 stay as they are).
                let images = ImageSet::new(
                    xd.iter()
                        .map(|v| if v.abs() < 10.0 { v.tanh() } else { *v })
                        .cycle()
                        .take(n * side * side)
                        .collect(),
                    [1, side, side],
                )
                .map_err(|e| e.to_string())?;
                let config = DcganTrainingConfig::new()
                    .with_generator(
                        GeneratorConfig::new()
                            .with_latent_size(inputs)
                            .with_image_size(side)
                            .with_features(2),
                    )
                    .with_discriminator(
                        dcgan::DiscriminatorConfig::new()
                            .with_image_size(side)
                            .with_features(2),
                    )
                    .with_epochs(1)
                    .with_batch_size(batch);
                let trained = dcgan::train(&config, &images, &device, None, dcgan::silent)
                    .map_err(|e| e.to_string())?;
                let z = Tensor::<2>::zeros([n, d], &device);
                trained
                    .generator
                    .try_forward(z)
                    .map_err(|e| e.to_string())?;
                Ok(())
            }),
        );
        count(2, ok);

        // kiln-rl: an environment that may lie about its observations.
        let declared = d.max(1);
        let actual = if rng.unit() < 0.75 {
            declared
        } else {
            rng.below(4) + 1
        };
        let value = if poison { f32::NAN } else { 0.5 };
        let ok = check_case(
            &format!("dqn {tag}"),
            bounded(&tag, limit, move || -> Result<(), String> {
                let device = Device::flex();
                let mut env = Liar {
                    declared,
                    actual,
                    value,
                    ends: true,
                };
                let config = dqn_config(inputs.max(1))
                    .with_total_steps(60)
                    .with_learning_starts(20)
                    .with_batch_size(batch);
                let trained = dqn::train(&config, &mut env, &device, kiln::rl::silent)
                    .map_err(|e| e.to_string())?;
                dqn::evaluate(&trained.network, &mut env, 1, 0).map_err(|e| e.to_string())?;
                Ok(())
            }),
        );
        count(3, ok);
    }
    println!("(ran through, refused) per family — cluster, mlp, dcgan, dqn: {outcomes:?}");
    // Not vacuous: every family both ran some cases through and refused others.
    for (family, (ok, refused)) in outcomes.iter().enumerate() {
        assert!(*ok > 0 && *refused > 0, "family {family}: {outcomes:?}");
    }
}
