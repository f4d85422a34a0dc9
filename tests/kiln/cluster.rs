//! K-means, mini-batch K-means and DBSCAN on generated blobs and scikit-learn fixtures, on
//! every compiled-in backend.

use burn::data::dataset::Dataset;
use burn::tensor::Device;
use kiln::cluster::{
    ClusterError, Dbscan, KMeans, Metric, MiniBatchKMeans, adjusted_rand_index, make_blobs,
    tensor_from_slice,
};

use super::common::{backends, cpu};

/// `per` points around each centre (grouped by centre), with their centre index.
fn blobs(centres: &[[f32; 2]], per: usize, std: f32, seed: u64) -> (Vec<f32>, Vec<usize>) {
    make_blobs(per * centres.len(), centres, std, seed).unwrap()
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
        let ari = adjusted_rand_index(fitted.labels(), &truth).unwrap();
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
        )
        .unwrap();
        assert_eq!(ari, 1.0, "{backend}");
        match &reference {
            None => reference = Some(fitted),
            Some(r) => assert_eq!(&fitted, r, "{backend} differs"),
        }
    }
}

#[test]
fn input_errors_are_typed() {
    let device = cpu();
    let x = tensor_from_slice(&[1.0, 2.0, 3.0, 4.0], 2, 2, &device).unwrap();
    assert!(matches!(
        KMeans::params(3).fit(&x),
        Err(ClusterError::TooFewPoints { k: 3, n: 2 })
    ));
    let nan = tensor_from_slice(&[1.0, f32::NAN], 1, 2, &device).unwrap();
    assert!(matches!(
        KMeans::params(1).fit(&nan),
        Err(ClusterError::NonFinite)
    ));
    let zero = tensor_from_slice(&[0.0, 0.0, 1.0, 0.0], 2, 2, &device).unwrap();
    assert!(matches!(
        KMeans::params(1).metric(Metric::Cosine).fit(&zero),
        Err(ClusterError::ZeroVector { index: 0 })
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
        Err(ClusterError::ZeroDimensions)
    ));
    let empty = burn::tensor::Tensor::<2>::zeros([0, 2], &device);
    assert!(matches!(
        KMeans::params(1).fit(&empty),
        Err(ClusterError::Empty)
    ));
    let fitted = KMeans::params(1).fit(&x).unwrap();
    let three_d = tensor_from_slice(&[1.0, 2.0, 3.0], 1, 3, &device).unwrap();
    assert!(matches!(
        fitted.predict(&three_d),
        Err(ClusterError::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        tensor_from_slice(&[1.0; 5], 2, 2, &device),
        Err(ClusterError::Shape {
            len: 5,
            rows: 2,
            cols: 2
        })
    ));
}

/// A scikit-learn DBSCAN result, written by `python3 scripts/fixtures/dbscan_sklearn.py`.
#[derive(serde::Deserialize)]
struct DbscanFixture {
    generator: String,
    eps: f64,
    min_samples: usize,
    dims: usize,
    points: Vec<f32>,
    labels: Vec<Option<usize>>,
    core_sample_indices: Vec<usize>,
}

/// Labels renumbered by first appearance, so two labellings that differ only in cluster
/// numbers compare equal.
fn canonical(labels: &[Option<usize>]) -> Vec<Option<usize>> {
    let mut seen = std::collections::HashMap::new();
    labels
        .iter()
        .map(|l| {
            l.map(|c| {
                let next = seen.len();
                *seen.entry(c).or_insert(next)
            })
        })
        .collect()
}

/// DBSCAN labels and core points equal scikit-learn's (up to cluster numbering) on the
/// committed fixtures, for both metrics, on every backend. Regenerate the fixtures with
/// `python3 scripts/fixtures/dbscan_sklearn.py`.
#[test]
fn dbscan_labels_equal_scikit_learns_for_both_metrics() {
    // latlon: degrees around (40.7°, −74.0°) with eps 1e-4 (~11 m), far from the origin.
    for (name, metric) in [
        ("euclidean", Metric::Euclidean),
        ("cosine", Metric::Cosine),
        ("latlon", Metric::Euclidean),
    ] {
        let path = format!(
            "{}/tests/fixtures/dbscan_{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let fixture: DbscanFixture = serde_json::from_str(&text).unwrap();
        let n = fixture.labels.len();
        let clusters = fixture.labels.iter().flatten().max().map_or(0, |c| c + 1);
        assert!(clusters >= 3, "{name}: fixture too easy");
        assert!(
            fixture.labels.contains(&None),
            "{name}: fixture has no noise"
        );
        for (backend, device) in backends() {
            let x = tensor_from_slice(&fixture.points, n, fixture.dims, &device).unwrap();
            // Small blocks so that several blocks and bands are exercised.
            let fitted = Dbscan::params(fixture.eps, fixture.min_samples)
                .metric(metric)
                .block_rows(37)
                .fit(&x)
                .unwrap();
            assert_eq!(
                canonical(fitted.labels()),
                canonical(&fixture.labels),
                "{name} on {backend} ({})",
                fixture.generator
            );
            assert_eq!(
                fitted.core_sample_indices(),
                fixture.core_sample_indices.as_slice(),
                "{name} on {backend}"
            );
            assert_eq!(fitted.n_clusters(), clusters, "{name} on {backend}");
            // The default block size gives the same result.
            let default = Dbscan::params(fixture.eps, fixture.min_samples)
                .metric(metric)
                .fit(&x)
                .unwrap();
            assert_eq!(default, fitted, "{name} on {backend}");
            // Given as three uneven row blocks and held in device chunks of 40 rows (as an
            // input past a device's buffer limit is): the same result.
            let blocks: Vec<_> = [0..100, 100..101, 101..n]
                .into_iter()
                .map(|r| x.clone().narrow(0, r.start, r.len()))
                .collect();
            let chunked = Dbscan::params(fixture.eps, fixture.min_samples)
                .metric(metric)
                .block_rows(37)
                .device_block_floats(40 * (fixture.dims + 2))
                .fit_blocks(&blocks)
                .unwrap();
            assert_eq!(chunked, fitted, "{name} on {backend}, in blocks");
        }
    }
}

/// Blocks of different widths, or none, are typed errors.
#[test]
fn dbscan_refuses_ragged_or_missing_blocks() {
    let device = cpu();
    let a = tensor_from_slice(&[0.0; 4], 2, 2, &device).unwrap();
    let b = tensor_from_slice(&[0.0; 3], 1, 3, &device).unwrap();
    let params = Dbscan::params(1.0, 2);
    assert!(matches!(
        params.fit_blocks(&[a, b]),
        Err(kiln::cluster::ClusterError::BlockWidth {
            block: 1,
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(params.fit_blocks(&[]), Err(ClusterError::Empty)));
}

/// Mini-batch K-means reaches within 5% of full K-means' inertia on blobs, by `fit` and by
/// streaming batches through `partial_fit`, on every backend.
#[test]
fn minibatch_kmeans_is_within_five_percent_of_full_kmeans() {
    let centres = kiln::cluster::random_centres(8, 4, 20.0, 11);
    let (values, truth) = make_blobs(8000, &centres, 1.0, 12).unwrap();
    for (backend, device) in backends() {
        let x = tensor_from_slice(&values, 8000, 4, &device).unwrap();
        let full = KMeans::params(8).n_init(3).fit(&x).unwrap();
        let fitted = MiniBatchKMeans::params(8).batch_size(256).fit(&x).unwrap();
        let inertia = fitted.inertia_on(&x).unwrap();
        assert!(
            inertia <= 1.05 * full.inertia(),
            "{backend}: mini-batch {inertia:.1} vs full {:.1}",
            full.inertia()
        );
        let ari = adjusted_rand_index(&fitted.predict(&x).unwrap(), &truth).unwrap();
        assert!(ari > 0.99, "{backend}: ARI {ari}");

        // Streaming: one pass of 500-point batches, never the whole set at once.
        let batches = (0..16).map(|b| {
            tensor_from_slice(&values[b * 500 * 4..(b + 1) * 500 * 4], 500, 4, &device).unwrap()
        });
        let streamed = MiniBatchKMeans::params(8).fit_stream(batches).unwrap();
        assert_eq!(streamed.n_batches(), 16);
        assert_eq!(streamed.counts().iter().sum::<f64>(), 8000.0);
        let inertia = streamed.inertia_on(&x).unwrap();
        assert!(
            inertia <= 1.05 * full.inertia(),
            "{backend}: streamed {inertia:.1} vs full {:.1}",
            full.inertia()
        );
        println!(
            "{backend}: full {:.1}, mini-batch {:.1}, streamed {inertia:.1}",
            full.inertia(),
            fitted.inertia_on(&x).unwrap()
        );
    }
}

#[test]
fn minibatch_kmeans_errors_are_typed_and_leave_the_model_unchanged() {
    let device = cpu();
    let two = tensor_from_slice(&[0.0, 0.0, 1.0, 1.0], 2, 2, &device).unwrap();
    assert!(matches!(
        MiniBatchKMeans::params(3).partial_fit(&two),
        Err(ClusterError::TooFewPoints { k: 3, n: 2 })
    ));
    let (values, _) = blobs(&CENTRES, 10, 0.5, 3);
    let x = tensor_from_slice(&values, 30, 2, &device).unwrap();
    let mut model = MiniBatchKMeans::params(3).partial_fit(&x).unwrap();
    assert_eq!(model.n_batches(), 1);
    let before = model.centroids().into_data();
    let three_d = tensor_from_slice(&[1.0, 2.0, 3.0], 1, 3, &device).unwrap();
    assert!(matches!(
        model.partial_fit(&three_d),
        Err(ClusterError::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    let nan = tensor_from_slice(&[1.0, f32::NAN], 1, 2, &device).unwrap();
    assert!(matches!(
        model.partial_fit(&nan),
        Err(ClusterError::NonFinite)
    ));
    assert_eq!(model.centroids().into_data(), before);
    assert_eq!(model.n_batches(), 1);
    assert!(matches!(
        MiniBatchKMeans::params(3).batch_size(0).fit(&x),
        Err(ClusterError::ZeroBatchSize)
    ));
}

/// Fitted K-means models save and load, and rebuild from centroids, predicting the same
/// labels; a damaged file is a typed error.
#[test]
fn fitted_kmeans_models_save_load_and_rebuild_from_centroids() {
    let device = cpu();
    let (values, _) = blobs(&CENTRES, 40, 0.5, 5);
    let x = tensor_from_slice(&values, 120, 2, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let full = KMeans::params(3).seed(3).fit(&x).unwrap();
    let path = dir.path().join("kmeans.json");
    full.save(&path).unwrap();
    let back = kiln::cluster::FittedKMeans::load(&path, &device).unwrap();
    assert_eq!(back.predict(&x).unwrap(), full.labels());
    assert_eq!(
        (back.inertia(), back.n_iter()),
        (full.inertia(), full.n_iter())
    );
    let rebuilt =
        kiln::cluster::FittedKMeans::from_centroids(full.centroids(), Metric::Euclidean).unwrap();
    assert_eq!(rebuilt.predict(&x).unwrap(), full.labels());
    assert!(rebuilt.labels().is_empty());
    let inertia = rebuilt.inertia_on(&x).unwrap();
    assert!(
        (inertia - full.inertia()).abs() <= 1e-3 * full.inertia(),
        "{inertia}"
    );

    let mini = MiniBatchKMeans::params(3).batch_size(32).fit(&x).unwrap();
    let path = dir.path().join("mini.json");
    mini.save(&path).unwrap();
    let mut back = kiln::cluster::FittedMiniBatchKMeans::load(&path, &device).unwrap();
    assert_eq!(back.predict(&x).unwrap(), mini.predict(&x).unwrap());
    assert_eq!(back.counts(), mini.counts());
    // It goes on learning where it stopped.
    back.partial_fit(&x).unwrap();
    assert_eq!(back.n_batches(), mini.n_batches() + 1);

    std::fs::write(&path, b"{\"not\": \"a model\"}").unwrap();
    assert!(matches!(
        kiln::cluster::FittedMiniBatchKMeans::load(&path, &device),
        Err(ClusterError::File { .. })
    ));
    let nan = tensor_from_slice(&[f32::NAN, 0.0], 1, 2, &device).unwrap();
    assert!(matches!(
        kiln::cluster::FittedKMeans::from_centroids(nan, Metric::Euclidean),
        Err(ClusterError::InvalidCentroids)
    ));
}

/// K-means on real images (the committed MNIST sample): the ten clusters it finds agree
/// with the digit labels well above chance (on the full training set the example measures
/// an ARI of 0.36, see docs/cluster.md), and the sample's test images are assigned to them.
#[test]
fn kmeans_groups_the_mnist_sample_by_digit_well_above_chance() {
    let images = super::common::sample(kiln::data::DatasetKind::Mnist, kiln::data::Split::Train);
    let device = cpu();
    let n = images.len();
    let mut values = Vec::with_capacity(n * 784);
    let mut truth = Vec::with_capacity(n);
    for i in 0..n {
        let item = images.item(i).unwrap();
        values.extend(item.pixels.iter().map(|&p| f32::from(p) / 255.0));
        truth.push(usize::from(item.label));
    }
    let x = tensor_from_slice(&values, n, 784, &device).unwrap();
    let fitted = KMeans::params(10).seed(1).fit(&x).unwrap();
    let ari = adjusted_rand_index(fitted.labels(), &truth).unwrap();
    println!(
        "k-means on {n} MNIST sample images: ARI {ari:.3}, {} iterations",
        fitted.n_iter()
    );
    assert!(ari > 0.25, "ARI {ari}");
    let mut sizes = [0usize; 10];
    for &l in fitted.labels() {
        sizes[l] += 1;
    }
    assert!(sizes.iter().all(|&s| s > 0), "an empty cluster: {sizes:?}");
}

/// When eps covers most points the neighbour lists grow as n²: past `max_neighbour_pairs`
/// the fit stops with a typed error naming the limit, instead of exhausting memory; with
/// room enough the same data clusters.
#[test]
fn dbscan_refuses_neighbour_lists_past_their_limit() {
    let device = cpu();
    let (values, _) = blobs(&[[0.0, 0.0]], 600, 0.5, 4);
    let x = tensor_from_slice(&values, 600, 2, &device).unwrap();
    // eps 100 makes every point every other's neighbour: 600² = 360,000 pairs.
    let err = Dbscan::params(100.0, 5)
        .max_neighbour_pairs(100_000)
        .fit(&x)
        .unwrap_err();
    assert!(
        matches!(
            err,
            kiln::cluster::ClusterError::TooManyNeighbours {
                n: 600,
                limit: 100_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("max_neighbour_pairs"), "{err}");
    let fitted = Dbscan::params(100.0, 5)
        .max_neighbour_pairs(360_000)
        .fit(&x)
        .unwrap();
    assert_eq!(fitted.n_clusters(), 1);
    assert!(matches!(
        Dbscan::params(1.0, 5).max_neighbour_pairs(0).fit(&x),
        Err(ClusterError::ZeroMaxNeighbourPairs)
    ));
}

/// `fit_blocks` is `fit` of the concatenation: the same labels and inertia from one tensor
/// and from uneven row blocks of it.
#[test]
fn kmeans_on_row_blocks_equals_kmeans_on_the_whole() {
    let device = cpu();
    let (values, _) = blobs(&CENTRES, 300, 1.5, 9);
    let n = values.len() / 2;
    let whole = tensor_from_slice(&values, n, 2, &device).unwrap();
    let blocks: Vec<_> = [0..250, 250..251, 251..700, 700..n]
        .into_iter()
        .map(|r| whole.clone().narrow(0, r.start, r.len()))
        .collect();
    let params = KMeans::params(3).seed(4).n_init(2);
    let a = params.fit(&whole).unwrap();
    let b = params.fit_blocks(&blocks).unwrap();
    assert_eq!(a.labels(), b.labels());
    assert!(
        (a.inertia() - b.inertia()).abs() <= 1e-4 * a.inertia(),
        "{} vs {}",
        a.inertia(),
        b.inertia()
    );
    assert_eq!(a.n_iter(), b.n_iter());
    let ragged = [
        whole.clone(),
        tensor_from_slice(&[0.0; 3], 1, 3, &device).unwrap(),
    ];
    assert!(matches!(
        params.fit_blocks(&ragged),
        Err(ClusterError::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(params.fit_blocks(&[]), Err(ClusterError::Empty)));
}

/// An input larger than WGPU's usual 128 MiB buffer limit (40,000 × 1,000 floats, 160 MB) on
/// the wgpu backend (lavapipe here). As one tensor it cannot even be uploaded ("can't allocate
/// buffer of size: 160000000"): K-means returns `ClusterError::Device` instead of Burn's panic
/// (before: `into_scalar` panicked). In 40 MB row blocks, `fit_blocks` fits it, with the
/// labels of the same fit on the CPU.
#[test]
fn kmeans_past_the_wgpu_buffer_limit_is_a_typed_error_whole_and_fits_in_blocks() {
    let Some((_, device)) = backends().into_iter().find(|(b, _)| b.name() == "wgpu") else {
        super::common::loud("SKIPPED kmeans_past_the_wgpu_buffer_limit: wgpu is not compiled in");
        return;
    };
    let (n, d) = (40_000, 1_000);
    let mut rng = kiln::Rng::new(5);
    let values: Vec<f32> = (0..n * d)
        .map(|i| (i / d % 2) as f32 * 4.0 + rng.uniform(0.0, 1.0) as f32)
        .collect();
    let params = KMeans::params(2).seed(1).max_iter(3);
    let outcome = kiln::catch_panic(std::panic::AssertUnwindSafe(|| {
        let x = tensor_from_slice(&values, n, d, &device).unwrap();
        params.fit(&x).map(|f| f.inertia())
    }));
    println!("k-means on one {n} × {d} tensor on wgpu: {outcome:?}");
    match outcome.unwrap_or_else(|panic| panic!("k-means panicked: {panic}")) {
        Ok(inertia) => assert!(inertia.is_finite()),
        Err(ClusterError::Device(reason)) => {
            assert!(!reason.0.contains('\n'), "{reason}");
        }
        Err(other) => panic!("expected a device error, got {other}"),
    }
    let blocks = |device: &burn::tensor::Device| -> Vec<_> {
        values
            .chunks(10_000 * d)
            .map(|c| tensor_from_slice(c, 10_000, d, device).unwrap())
            .collect()
    };
    let on_gpu = params.fit_blocks(&blocks(&device)).unwrap();
    let on_cpu = params.fit_blocks(&blocks(&cpu())).unwrap();
    println!(
        "in blocks: inertia {:.1} on wgpu, {:.1} on the CPU",
        on_gpu.inertia(),
        on_cpu.inertia()
    );
    assert_eq!(on_gpu.labels(), on_cpu.labels());
    assert!((on_gpu.inertia() - on_cpu.inertia()).abs() <= 1e-3 * on_cpu.inertia());
}

/// Started from given centroids, K-means runs once from them: from the generating centres it
/// recovers the blobs; the wrong number of values is a typed error.
#[test]
fn kmeans_starts_from_given_centroids() {
    let (x, truth) = data(&cpu());
    let centres: Vec<f32> = CENTRES.iter().flatten().copied().collect();
    let fitted = KMeans::params(3)
        .init_centroids(&centres)
        .n_init(5)
        .fit(&x)
        .unwrap();
    assert_eq!(adjusted_rand_index(fitted.labels(), &truth).unwrap(), 1.0);
    assert!(
        fitted.n_iter() <= 2,
        "{} iterations from the true centres",
        fitted.n_iter()
    );
    assert!(matches!(
        KMeans::params(3).init_centroids(&centres[..5]).fit(&x),
        Err(ClusterError::InvalidCentroids)
    ));
}

/// More points than one WGPU reduction covers (Burn 0.22.1's WGPU reductions stop at 65,532
/// elements along an axis: kiln-cluster reduces in slices): every backend finds the CPU's
/// clustering and inertia, from the same start.
#[test]
fn kmeans_on_more_points_than_one_wgpu_reduction_covers_matches_the_cpu() {
    let n = 70_000;
    let (values, _) = make_blobs(
        n,
        &[vec![0.0, 0.0], vec![8.0, 8.0], vec![-8.0, 8.0]],
        2.0,
        3,
    )
    .unwrap();
    // A poor start on purpose, so the centroids move and every update counts.
    let start = [0.0, 1.0, 0.5, 1.5, 1.0, 1.0];
    let mut reference: Option<(Vec<usize>, f64)> = None;
    for (backend, device) in backends() {
        let x = tensor_from_slice(&values, n, 2, &device).unwrap();
        let fitted = KMeans::params(3)
            .init_centroids(&start)
            .max_iter(30)
            .fit(&x)
            .unwrap();
        println!(
            "{backend}: inertia {:.1} in {} iterations",
            fitted.inertia(),
            fitted.n_iter()
        );
        match &reference {
            None => reference = Some((fitted.labels().to_vec(), fitted.inertia())),
            Some((labels, inertia)) => {
                let differ = fitted
                    .labels()
                    .iter()
                    .zip(labels)
                    .filter(|(a, b)| a != b)
                    .count();
                assert!(differ <= 5, "{backend}: {differ} labels differ");
                assert!(
                    (fitted.inertia() - inertia).abs() <= 1e-3 * inertia,
                    "{backend}: inertia {} vs {inertia}",
                    fitted.inertia()
                );
            }
        }
    }
}

/// Blobs on a grid of 1/128: moving them by 1e3 or 1e5 is exact in float32 (1e5 + 200 <
/// 2¹⁷, whose float32 spacing is 1/128), so the moved data are the same points.
fn grid_blobs(n: usize) -> (Vec<f32>, Vec<usize>) {
    let centres = vec![
        vec![0.0, 0.0],
        vec![6.0, 1.0],
        vec![1.0, 7.0],
        vec![8.0, 8.0],
    ];
    let (values, truth) = make_blobs(n, &centres, 1.0, 11).unwrap();
    let grid: Vec<f32> = values.iter().map(|v| (v * 128.0).round() / 128.0).collect();
    (grid, truth)
}

/// DBSCAN labels and core points, and K-means labels and inertia from the same start, do
/// not change when the data are moved by 1e3 or 1e5, or scaled by 1e-3 or 1e3 (eps and the
/// start scaled alike), on every backend. Before points were compared relative to the data
/// and pairs near eps tested exactly, squared distances were ‖x‖² + ‖y‖² − 2x·y in float32,
/// off by far more than eps² at 1e5, and this failed.
#[test]
fn dbscan_and_kmeans_do_not_depend_on_where_the_data_sit() {
    let n = 1_200;
    let (base, _) = grid_blobs(n);
    let eps = 0.35;
    let start = [0.5f32, 0.5, 5.0, 1.5, 1.5, 6.0, 7.0, 7.0];
    for (backend, device) in backends() {
        let run = |values: &[f32], eps: f64, init: &[f32]| {
            let x = tensor_from_slice(values, n, 2, &device).unwrap();
            let db = Dbscan::params(eps, 8).block_rows(100).fit(&x).unwrap();
            let km = KMeans::params(4).init_centroids(init).fit(&x).unwrap();
            let km_pp = KMeans::params(4).n_init(2).seed(3).fit(&x).unwrap();
            let mini = MiniBatchKMeans::params(4)
                .batch_size(256)
                .seed(5)
                .fit(&x)
                .unwrap();
            (
                db,
                km.labels().to_vec(),
                km.inertia(),
                km_pp.labels().to_vec(),
                km.predict(&x).unwrap(),
                mini.predict(&x).unwrap(),
            )
        };
        let reference = run(&base, eps, &start);
        assert!(
            reference.0.n_clusters() >= 3,
            "{backend}: {}",
            reference.0.n_clusters()
        );
        for shift in [1e3f32, 1e5] {
            let moved: Vec<f32> = base.iter().map(|v| v + shift).collect();
            // The moved data are the same points: every difference is exact.
            assert!(moved.iter().zip(&base).all(|(m, b)| m - shift == *b));
            let moved_start: Vec<f32> = start.iter().map(|v| v + shift).collect();
            let got = run(&moved, eps, &moved_start);
            // DBSCAN (labels, core points), K-means labels from the same start, k-means++
            // labels, K-means predict and mini-batch predict: identical. Inertia: to 1e-6
            // (identical on the CPU backends; a GPU's scatter-adds have no fixed order).
            let (mut got_rest, mut reference_rest) = (got.clone(), reference.clone());
            (got_rest.2, reference_rest.2) = (0.0, 0.0);
            assert_eq!(got_rest, reference_rest, "{backend}: moved by {shift}");
            let drift = (got.2 - reference.2).abs() / reference.2;
            assert!(
                drift <= 1e-6,
                "{backend}: inertia moved by {shift}: {drift}"
            );
        }
        for scale in [1e-3f32, 1e3] {
            let scaled: Vec<f32> = base.iter().map(|v| v * scale).collect();
            let scaled_start: Vec<f32> = start.iter().map(|v| v * scale).collect();
            let got = run(&scaled, eps * f64::from(scale), &scaled_start);
            assert_eq!(got.0, reference.0, "{backend}: DBSCAN scaled by {scale}");
            assert_eq!(
                got.1, reference.1,
                "{backend}: K-means labels scaled by {scale}"
            );
            let ratio = got.2 / (reference.2 * f64::from(scale).powi(2));
            assert!(
                (ratio - 1.0).abs() < 1e-4,
                "{backend}: inertia ratio {ratio}"
            );
        }
    }
}

/// Cosine DBSCAN on vectors with a large common offset (directions a few 1e-4 rad apart):
/// the normalised vectors are almost equal, and their float32 rounding must not move a pair
/// across eps. The reference is computed here in float64 from the same float32 points.
#[test]
fn cosine_dbscan_is_exact_for_vectors_with_a_large_common_offset() {
    let n = 600;
    let mut rng = kiln::Rng::new(8);
    let centres: Vec<[f64; 3]> = (0..4)
        .map(|_| [rng.normal() * 0.3, rng.normal() * 0.3, rng.normal() * 0.3])
        .collect();
    let points: Vec<f32> = (0..n)
        .flat_map(|i| {
            let c = centres[i % 4];
            let noise = if i % 10 == 9 { 1.0 } else { 0.02 };
            (0..3)
                .map(|j| (1000.0 + c[j] + noise * rng.normal()) as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    // Cosine distances here are ~1e-8..1e-6; eps between them.
    let eps = 2e-8;
    let unit = |i: usize| {
        let v: Vec<f64> = points[i * 3..i * 3 + 3]
            .iter()
            .map(|&a| f64::from(a))
            .collect();
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.into_iter().map(|a| a / norm).collect::<Vec<_>>()
    };
    let units: Vec<Vec<f64>> = (0..n).map(unit).collect();
    let near = |i: usize, j: usize| {
        let sq: f64 = units[i]
            .iter()
            .zip(&units[j])
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        sq <= 2.0 * eps
    };
    let min_samples = 5;
    let core: Vec<bool> = (0..n)
        .map(|i| (0..n).filter(|&j| near(i, j)).count() >= min_samples)
        .collect();
    let expected_core: Vec<usize> = (0..n).filter(|&i| core[i]).collect();
    assert!(expected_core.len() > 50, "{}", expected_core.len());
    assert!(
        expected_core.len() < n,
        "every point is core: eps too large"
    );
    for (backend, device) in backends() {
        let x = tensor_from_slice(&points, n, 3, &device).unwrap();
        let fitted = Dbscan::params(eps, min_samples)
            .metric(Metric::Cosine)
            .fit(&x)
            .unwrap();
        assert_eq!(
            fitted.core_sample_indices(),
            expected_core.as_slice(),
            "{backend}"
        );
    }
}
