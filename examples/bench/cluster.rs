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
use kiln::cluster::{Dbscan, KMeans};

use crate::Row;
use crate::timing::Environment;

/// Blob data: `n` points in `d` dimensions around `centres` random centres in a box of half-width
/// `spread`, with the given std (deterministic).
pub fn blobs(n: usize, d: usize, centres: usize, std: f32, spread: f32, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64).max(1e-12)
    };
    let c: Vec<f32> = (0..centres * d)
        .map(|_| (uniform() as f32 * 2.0 - 1.0) * spread)
        .collect();
    let mut out = Vec::with_capacity(n * d);
    for i in 0..n {
        let k = i % centres;
        for j in 0..d {
            let (u, v) = (uniform(), uniform());
            let g = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            out.push(c[k * d + j] + std * g as f32);
        }
    }
    out
}

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
    let w4 = blobs(100_000, 16, 32, 6.0, 50.0, 4);
    let w5 = blobs(20_000, 2, 3, 0.5, 5.0, 5);
    let mut rows = Vec::new();
    let row = |w: &str, metric: &str, runner: &str, value: f64| Row {
        workload: w.into(),
        metric: metric.into(),
        runner: runner.into(),
        value,
    };
    for &backend in backends {
        let device = match backend.device() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("W4/W5: skipping {backend}: {e}");
                continue;
            }
        };
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
