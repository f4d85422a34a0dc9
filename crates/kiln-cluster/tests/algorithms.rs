//! K-means and DBSCAN on flex, in this crate alone (`cargo test -p kiln-cluster`): seeded
//! k-means++ starts, Lloyd's iterations never raising the inertia, spherical K-means, and
//! DBSCAN's noise. The root package's tests add every backend, scikit-learn fixtures,
//! mini-batch K-means, blocks, saving and translation.

use burn::tensor::{Device, Tensor};
use kiln_cluster::{Dbscan, KMeans, Metric, adjusted_rand_index, make_blobs, tensor_from_slice};

/// `per` points around each of `centres` (in turn), on flex, with their centre index.
fn points(centres: &[[f32; 2]], per: usize, std: f32, seed: u64) -> (Tensor<2>, Vec<usize>) {
    let (values, truth) = make_blobs(per * centres.len(), centres, std, seed).unwrap();
    let x = tensor_from_slice(&values, truth.len(), 2, &Device::flex()).unwrap();
    (x, truth)
}

#[test]
fn kmeans_plus_plus_is_deterministic_for_a_seed() {
    let (x, _) = points(&[[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]], 300, 0.5, 1);
    let a = KMeans::params(5).seed(3).max_iter(1).fit(&x).unwrap();
    let b = KMeans::params(5).seed(3).max_iter(1).fit(&x).unwrap();
    assert_eq!(a.labels(), b.labels());
    assert_eq!(a.inertia(), b.inertia());
    // The seed matters: a test of two equal calls alone would pass with a fixed start too.
    let other = KMeans::params(5).seed(4).max_iter(1).fit(&x).unwrap();
    assert_ne!(
        (a.labels(), a.inertia()),
        (other.labels(), other.inertia()),
        "seeds 3 and 4 gave the same k-means++ start"
    );
}

#[test]
fn more_iterations_never_raise_the_inertia() {
    let (x, _) = points(
        &[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]],
        200,
        1.5,
        9,
    );
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
    let x = tensor_from_slice(&values, 150, 2, &Device::flex()).unwrap();
    let fitted = KMeans::params(3).metric(Metric::Cosine).fit(&x).unwrap();
    assert_eq!(adjusted_rand_index(fitted.labels(), &truth).unwrap(), 1.0);
    // Spherical K-means keeps unit-length centroids.
    let c = fitted
        .centroids()
        .into_data()
        .iter::<f32>()
        .collect::<Vec<_>>();
    for row in c.chunks(2) {
        let norm = (row[0] * row[0] + row[1] * row[1]).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "centroid norm {norm}");
    }
}

#[test]
fn dbscan_marks_isolated_points_as_noise() {
    let values = [0.0, 0.0, 0.1, 0.0, 0.0, 0.1, 50.0, 50.0];
    let x = tensor_from_slice(&values, 4, 2, &Device::flex()).unwrap();
    let fitted = Dbscan::params(0.5, 3).fit(&x).unwrap();
    assert_eq!(fitted.labels(), &[Some(0), Some(0), Some(0), None]);
    assert_eq!(fitted.core_sample_indices(), &[0, 1, 2]);
}

/// Lloyd's iterations move the centroids: on overlapping blobs the inertia after them is
/// clearly below the k-means++ start's (one iteration), and DBSCAN joins the points of a
/// dense run into one cluster through its core points.
#[test]
fn lloyd_iterations_lower_the_inertia_below_the_start() {
    let (x, _) = points(
        &[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]],
        200,
        1.5,
        9,
    );
    let inertia = |iterations| {
        KMeans::params(4)
            .seed(1)
            .tolerance(0.0)
            .max_iter(iterations)
            .fit(&x)
            .unwrap()
            .inertia()
    };
    let (start, end) = (inertia(1), inertia(50));
    println!("inertia after 1 iteration {start:.1}, after 50 {end:.1}");
    assert!(end < start * 0.98, "{start} → {end}");
}

#[test]
fn dbscan_chains_core_points_into_one_cluster() {
    // Points 0.4 apart on a line: each reaches its two neighbours within eps 0.5, so every
    // inner point is a core point (3 with itself) and the chain is one cluster end to end.
    let values: Vec<f32> = (0..20).flat_map(|i| [i as f32 * 0.4, 0.0]).collect();
    let x = tensor_from_slice(&values, 20, 2, &Device::flex()).unwrap();
    let fitted = Dbscan::params(0.5, 3).fit(&x).unwrap();
    assert_eq!(fitted.n_clusters(), 1);
    assert!(fitted.labels().iter().all(|l| *l == Some(0)));
    assert_eq!(fitted.core_sample_indices().len(), 18);
}
