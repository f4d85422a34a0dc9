//! W4: K-means on 100,000 × 16 points from 32 Gaussian blobs (std 6), k = 32, k-means++,
//! one run, exactly 20 Lloyd iterations. W5: DBSCAN on 20,000 × 2 points from 3 blobs
//! (std 0.5), eps 0.3, min_samples 10, Euclidean. Both in seconds (lower is better).
//!
//! The data is generated here and, for the scikit-learn column, by `bench/python/cluster.py`
//! with the same recipe (not the same random numbers: both draw their own blobs).

use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use kiln::backend::Backend;
use kiln::cli::AnyError;
use kiln::cluster::{Dbscan, KMeans, make_blobs, random_centres};

use crate::Row;
use crate::timing::Environment;

fn seconds(device: &Device, f: impl Fn()) -> f64 {
    f(); // warm-up: kernel compilation, allocations
    device.sync().expect("sync");
    let runs = 3;
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    device.sync().expect("sync");
    start.elapsed().as_secs_f64() / runs as f64
}

/// W4 and W5 on every backend given, plus scikit-learn where installed.
pub fn run(backends: &[Backend], reference: bool) -> Result<Vec<Row>, AnyError> {
    let w4 = make_blobs(100_000, &random_centres(32, 16, 50.0, 4), 6.0, 4).0;
    let w5 = make_blobs(20_000, &random_centres(3, 2, 5.0, 5), 0.5, 5).0;
    let mut rows = Vec::new();
    let row = Row::new;
    for (backend, device) in crate::working(backends, "W4/W5") {
        let x4 = Tensor::<2>::from_data(TensorData::new(w4.clone(), [100_000, 16]), &device);
        let t4 = seconds(&device, || {
            KMeans::params(32)
                .max_iter(20)
                .tolerance(0.0)
                .fit(&x4)
                .expect("k-means");
        });
        let x5 = Tensor::<2>::from_data(TensorData::new(w5.clone(), [20_000, 2]), &device);
        let t5 = seconds(&device, || {
            Dbscan::params(0.3, 10).fit(&x5).expect("dbscan");
        });
        eprintln!("W4 {backend}: {t4:.3} s; W5 {backend}: {t5:.3} s");
        rows.push(row("W4", "k-means seconds", backend.name(), t4));
        rows.push(row("W5", "dbscan seconds", backend.name(), t5));
    }
    if reference {
        let threads = Environment::capture().threads();
        match crate::timing::python_reference("cluster.py", 0.0, threads) {
            Ok(v) => {
                let get = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
                if let (Some(t4), Some(t5)) = (get("w4_seconds"), get("w5_seconds")) {
                    eprintln!("scikit-learn ({threads} threads): W4 {t4:.3} s, W5 {t5:.3} s");
                    rows.push(row("W4", "k-means seconds", "scikit-learn", t4));
                    rows.push(row("W5", "dbscan seconds", "scikit-learn", t5));
                }
            }
            Err(reason) => eprintln!("W4/W5: no scikit-learn column: {reason}"),
        }
    }
    Ok(rows)
}
