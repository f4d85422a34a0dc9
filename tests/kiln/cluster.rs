//! K-means and DBSCAN on generated blobs, on every compiled-in backend.

use burn::tensor::Device;
use kiln::cluster::{
    Dbscan, InputError, KMeans, KMeansError, Metric, adjusted_rand_index, make_blobs,
    tensor_from_slice,
};

use super::common::{backends, cpu};

/// `per` points around each centre (grouped by centre), with their centre index.
fn blobs(centres: &[[f32; 2]], per: usize, std: f32, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let centres: Vec<Vec<f32>> = centres.iter().map(|c| c.to_vec()).collect();
    make_blobs(per * centres.len(), &centres, std, seed)
}

const CENTRES: [[f32; 2]; 3] = [[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]];

fn data(device: &Device) -> (burn::tensor::Tensor<2>, Vec<usize>) {
    let (values, labels) = blobs(&CENTRES, 300, 0.5, 1);
    (
        tensor_from_slice(&values, labels.len(), 2, device).unwrap(),
        labels,
    )
}

#[test]
fn kmeans_recovers_separated_blobs_exactly_on_every_backend() {
    let mut reference: Option<(Vec<usize>, f64)> = None;
    for (backend, device) in backends() {
        let (x, truth) = data(&device);
        let fitted = KMeans::params(3).seed(7).fit(&x).unwrap();
        let ari = adjusted_rand_index(fitted.labels(), &truth);
        assert_eq!(ari, 1.0, "{backend}: ARI {ari}");
        assert_eq!(fitted.predict(&x).unwrap(), fitted.labels(), "{backend}");
        // Same seed, same result on every backend (inertia to float tolerance).
        match &reference {
            None => reference = Some((fitted.labels().to_vec(), fitted.inertia())),
            Some((labels, inertia)) => {
                assert_eq!(fitted.labels(), labels.as_slice(), "{backend}");
                assert!(
                    (fitted.inertia() - inertia).abs() <= 1e-3 * inertia,
                    "{backend}"
                );
            }
        }
        println!(
            "k-means on {backend}: inertia {:.2} in {} iterations",
            fitted.inertia(),
            fitted.n_iter()
        );
    }
}

#[test]
fn kmeans_plus_plus_is_deterministic_for_a_seed() {
    let (x, _) = data(&cpu());
    let a = KMeans::params(5).seed(3).max_iter(1).fit(&x).unwrap();
    let b = KMeans::params(5).seed(3).max_iter(1).fit(&x).unwrap();
    assert_eq!(a.labels(), b.labels());
    assert_eq!(a.inertia(), b.inertia());
}

#[test]
fn more_iterations_never_raise_the_inertia() {
    let (values, _) = blobs(
        &[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]],
        200,
        1.5,
        9,
    );
    let x = tensor_from_slice(&values, values.len() / 2, 2, &cpu()).unwrap();
    let inertias: Vec<f64> = (1..=8)
        .map(|it| {
            KMeans::params(4)
                .seed(1)
                .tolerance(0.0)
                .max_iter(it)
                .fit(&x)
                .unwrap()
                .inertia()
        })
        .collect();
    for w in inertias.windows(2) {
        assert!(w[1] <= w[0] * (1.0 + 1e-6), "inertia rose: {inertias:?}");
    }
}

#[test]
fn spherical_kmeans_groups_directions_whatever_their_length() {
    // Three directions, each point scaled by a length between 1 and 20.
    let h = std::f32::consts::FRAC_1_SQRT_2;
    let dirs = [[1.0f32, 0.0], [0.0, 1.0], [-h, -h]];
    let mut values = Vec::new();
    let mut truth = Vec::new();
    for i in 0..150 {
        let d = dirs[i % 3];
        let len = 1.0 + (i as f32 * 7.3) % 19.0;
        let wobble = ((i as f32) * 0.37).sin() * 0.05;
        values.extend([len * (d[0] + wobble), len * (d[1] - wobble)]);
        truth.push(i % 3);
    }
    let x = tensor_from_slice(&values, 150, 2, &cpu()).unwrap();
    let fitted = KMeans::params(3).metric(Metric::Cosine).fit(&x).unwrap();
    assert_eq!(adjusted_rand_index(fitted.labels(), &truth), 1.0);
    // Spherical K-means keeps unit-length centroids.
    let c = fitted
        .centroids()
        .clone()
        .into_data()
        .iter::<f32>()
        .collect::<Vec<_>>();
    for row in c.chunks(2) {
        let norm = (row[0] * row[0] + row[1] * row[1]).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "centroid norm {norm}");
    }
}

#[test]
fn dbscan_recovers_separated_blobs_on_every_backend() {
    let mut reference = None;
    for (backend, device) in backends() {
        let (x, truth) = data(&device);
        let fitted = Dbscan::params(1.0, 5).block_rows(128).fit(&x).unwrap();
        assert_eq!(fitted.n_clusters(), 3, "{backend}");
        let noise = fitted.labels().iter().filter(|l| l.is_none()).count();
        assert!(noise < 10, "{backend}: {noise} noise points");
        let labels: Vec<usize> = fitted
            .labels()
            .iter()
            .map(|l| l.map_or(usize::MAX, |c| c))
            .collect();
        let kept: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] != usize::MAX)
            .collect();
        let ari = adjusted_rand_index(
            &kept.iter().map(|&i| labels[i]).collect::<Vec<_>>(),
            &kept.iter().map(|&i| truth[i]).collect::<Vec<_>>(),
        );
        assert_eq!(ari, 1.0, "{backend}");
        match &reference {
            None => reference = Some(fitted),
            Some(r) => assert_eq!(&fitted, r, "{backend} differs"),
        }
    }
}

#[test]
fn dbscan_marks_isolated_points_as_noise() {
    let values = [0.0, 0.0, 0.1, 0.0, 0.0, 0.1, 50.0, 50.0];
    let x = tensor_from_slice(&values, 4, 2, &cpu()).unwrap();
    let fitted = Dbscan::params(0.5, 3).fit(&x).unwrap();
    assert_eq!(fitted.labels(), &[Some(0), Some(0), Some(0), None]);
    assert_eq!(fitted.core_sample_indices(), &[0, 1, 2]);
}

#[test]
fn input_errors_are_typed() {
    let device = cpu();
    let x = tensor_from_slice(&[1.0, 2.0, 3.0, 4.0], 2, 2, &device).unwrap();
    assert!(matches!(
        KMeans::params(3).fit(&x),
        Err(KMeansError::TooFewPoints { k: 3, n: 2 })
    ));
    let nan = tensor_from_slice(&[1.0, f32::NAN], 1, 2, &device).unwrap();
    assert!(matches!(
        KMeans::params(1).fit(&nan),
        Err(KMeansError::Input(InputError::NonFinite))
    ));
    let zero = tensor_from_slice(&[0.0, 0.0, 1.0, 0.0], 2, 2, &device).unwrap();
    assert!(matches!(
        KMeans::params(1).metric(Metric::Cosine).fit(&zero),
        Err(KMeansError::Input(InputError::ZeroVector { index: 0 }))
    ));
    assert!(
        Dbscan::params(0.1, 2)
            .metric(Metric::Cosine)
            .fit(&zero)
            .is_err()
    );
    let no_dims = burn::tensor::Tensor::<2>::zeros([2, 0], &device);
    assert!(matches!(
        Dbscan::params(0.1, 2).fit(&no_dims),
        Err(kiln::cluster::DbscanError::Input(
            InputError::ZeroDimensions
        ))
    ));
    let empty = burn::tensor::Tensor::<2>::zeros([0, 2], &device);
    assert!(matches!(
        KMeans::params(1).fit(&empty),
        Err(KMeansError::Input(InputError::Empty))
    ));
    let fitted = KMeans::params(1).fit(&x).unwrap();
    let three_d = tensor_from_slice(&[1.0, 2.0, 3.0], 1, 3, &device).unwrap();
    assert!(matches!(
        fitted.predict(&three_d),
        Err(KMeansError::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        tensor_from_slice(&[1.0; 5], 2, 2, &device),
        Err(InputError::Shape {
            len: 5,
            rows: 2,
            cols: 2
        })
    ));
}
