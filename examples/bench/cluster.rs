//! W4: K-means on 100,000 × 16 points from 32 Gaussian blobs (std 6), k = 32, k-means++,
//! one run, at most 20 Lloyd iterations (tolerance 0: each side stops early only when an
//! iteration changes nothing; both sides' iteration counts are reported as their own row).
//! W5: DBSCAN on 20,000 × 2 points from 3 blobs
//! (std 0.5), eps 0.3, min_samples 10, Euclidean. Both in seconds (lower is better).
//!
//! The data is generated here and written to `target/bench/points/` as raw little-endian f32
//! (`w4_N.f32`, `w5_N.f32`), which `bench/python/cluster.py --points DIR` reads: both sides
//! cluster the very same points.

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

/// Where the points both sides cluster are written.
pub fn points_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/points")
}

/// `values` as raw little-endian f32 in `points_dir()/name`, for the Python side.
fn share(name: &str, values: &[f32]) {
    let dir = points_dir();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    if let Err(e) =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(name), bytes))
    {
        eprintln!(
            "cannot write {}: {e} (the scikit-learn column will fail)",
            dir.join(name).display()
        );
    }
}

/// W4's recipe at `n` points: 32 blobs in 16 dims (std 6), shared with the Python side as
/// `w4_N.f32`.
fn w4_points(n: usize) -> Vec<f32> {
    let values = make_blobs(n, &random_centres(32, 16, 50.0, 4), 6.0, 4)
        .expect("32 centres of 16 dimensions")
        .0;
    share(&format!("w4_{n}.f32"), &values);
    values
}

/// The start of "W4 same start": the 32 points at indices drawn with seed 7 (shared with the
/// Python side as `w4_init_N.f32`).
fn w4_start(values: &[f32], n: usize) -> Vec<f32> {
    let mut rng = kiln::Rng::new(7);
    let init: Vec<f32> = (0..32)
        .flat_map(|_| {
            let i = rng.below(n);
            values[i * 16..(i + 1) * 16].to_vec()
        })
        .collect();
    share(&format!("w4_init_{n}.f32"), &init);
    init
}

/// K-means with k = 32, at most 20 iterations, tolerance 0, from k-means++ or from `init`.
/// Returns the seconds per fit, the Lloyd iterations it made and its inertia.
fn w4(x: &Tensor<2>, init: Option<&[f32]>) -> (f64, usize, f64) {
    let iterations = std::cell::Cell::new(0);
    let inertia = std::cell::Cell::new(0.0);
    let t = seconds(&x.device(), || {
        let mut params = KMeans::params(32).max_iter(20).tolerance(0.0);
        if let Some(init) = init {
            params = params.init_centroids(init);
        }
        let fitted = params.fit(x).expect("k-means");
        iterations.set(fitted.n_iter());
        inertia.set(fitted.inertia());
    });
    (t, iterations.get(), inertia.get())
}

/// W5's recipe at `n` points: 3 blobs in 2 dims (std 0.5), eps 0.3, min_samples 10.
fn w5(device: &Device, n: usize) -> f64 {
    let values = make_blobs(n, &random_centres(3, 2, 5.0, 5), 0.5, 5)
        .expect("3 centres of 2 dimensions")
        .0;
    share(&format!("w5_{n}.f32"), &values);
    let x = Tensor::<2>::from_data(TensorData::new(values, [n, 2]), device);
    seconds(device, || {
        Dbscan::params(0.3, 10).fit(&x).expect("dbscan");
    })
}

/// W4 and W5 on every backend given, plus scikit-learn where installed.
pub fn run(backends: &[Backend], reference: bool) -> Result<Vec<Row>, AnyError> {
    let mut rows = Vec::new();
    let row = Row::new;
    for (backend, device) in crate::working(backends, "W4/W5") {
        let n = 100_000;
        let values = w4_points(n);
        let start = w4_start(&values, n);
        let x = Tensor::<2>::from_data(TensorData::new(values, [n, 16]), &device);
        let (t4, it4, inertia) = w4(&x, None);
        let t5 = w5(&device, 20_000);
        eprintln!(
            "W4 {backend}: {t4:.3} s ({it4} Lloyd iterations, inertia {inertia:.0}); \
             W5 {backend}: {t5:.3} s"
        );
        rows.push(row("W4", "k-means seconds", backend.name(), t4));
        rows.push(row(
            "W4",
            "k-means Lloyd iterations",
            backend.name(),
            it4 as f64,
        ));
        let (ts, its, inertia) = w4(&x, Some(&start));
        eprintln!(
            "W4 same start {backend}: {ts:.3} s ({its} Lloyd iterations, inertia {inertia:.0})"
        );
        rows.push(row("W4 same start", "k-means seconds", backend.name(), ts));
        rows.push(row(
            "W4 same start",
            "k-means Lloyd iterations",
            backend.name(),
            its as f64,
        ));
        rows.push(row("W5", "dbscan seconds", backend.name(), t5));
    }
    if reference {
        let threads = Environment::capture().threads();
        let points = points_dir().display().to_string();
        match crate::timing::python_reference("cluster.py", 0.0, threads, &["--points", &points]) {
            Ok(v) => {
                let get = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
                if let (Some(t4), Some(t5)) = (get("w4_seconds"), get("w5_seconds")) {
                    let it4 = get("w4_iterations").unwrap_or(f64::NAN);
                    let inertia = get("w4_inertia").unwrap_or(f64::NAN);
                    eprintln!(
                        "scikit-learn ({threads} threads): W4 {t4:.3} s ({it4} Lloyd \
                         iterations, inertia {inertia:.0}), W5 {t5:.3} s"
                    );
                    rows.push(row("W4", "k-means seconds", "scikit-learn", t4));
                    rows.push(row("W4", "k-means Lloyd iterations", "scikit-learn", it4));
                    if let (Some(ts), Some(its)) = (
                        get("w4_same_start_seconds"),
                        get("w4_same_start_iterations"),
                    ) {
                        let inertia = get("w4_same_start_inertia").unwrap_or(f64::NAN);
                        eprintln!(
                            "scikit-learn W4 same start: {ts:.3} s ({its} Lloyd iterations, \
                             inertia {inertia:.0})"
                        );
                        rows.push(row("W4 same start", "k-means seconds", "scikit-learn", ts));
                        rows.push(row(
                            "W4 same start",
                            "k-means Lloyd iterations",
                            "scikit-learn",
                            its,
                        ));
                    }
                    rows.push(row("W5", "dbscan seconds", "scikit-learn", t5));
                }
            }
            Err(reason) => eprintln!("W4/W5: no scikit-learn column: {reason}"),
        }
    }
    Ok(rows)
}

/// Sizes of the scaling rows for W4: an eighth, a quarter, half and all of its size.
pub const W4_SIZES: [usize; 4] = [12_500, 25_000, 50_000, 100_000];
/// Sizes of the scaling rows for W5: a quarter, half, all and twice its size.
pub const W5_SIZES: [usize; 4] = [5_000, 10_000, 20_000, 40_000];

/// W4 and W5 at four sizes each, on every backend given, plus scikit-learn where installed.
pub fn scaling(backends: &[Backend], reference: bool) -> Result<Vec<Row>, AnyError> {
    let mut rows = Vec::new();
    for (backend, device) in crate::working(backends, "scaling") {
        for n in W4_SIZES {
            let x = Tensor::<2>::from_data(TensorData::new(w4_points(n), [n, 16]), &device);
            let (t, iterations, _) = w4(&x, None);
            eprintln!("W4 n={n} {backend}: {t:.3} s ({iterations} Lloyd iterations)");
            rows.push(Row::new(
                &format!("W4 n={n}"),
                "k-means seconds",
                backend.name(),
                t,
            ));
        }
        for n in W5_SIZES {
            let t = w5(&device, n);
            eprintln!("W5 n={n} {backend}: {t:.3} s");
            rows.push(Row::new(
                &format!("W5 n={n}"),
                "dbscan seconds",
                backend.name(),
                t,
            ));
        }
    }
    if reference {
        let threads = Environment::capture().threads();
        let points = points_dir().display().to_string();
        match crate::timing::python_reference(
            "cluster.py",
            0.0,
            threads,
            &["--scaling", "--points", &points],
        ) {
            Ok(v) => {
                for (w, sizes) in [("w4", W4_SIZES), ("w5", W5_SIZES)] {
                    for n in sizes {
                        let key = format!("{w}_{n}_seconds");
                        if let Some(t) = v.get(&key).and_then(serde_json::Value::as_f64) {
                            let name = format!("{} n={n}", w.to_uppercase());
                            let metric = if w == "w4" {
                                "k-means seconds"
                            } else {
                                "dbscan seconds"
                            };
                            rows.push(Row::new(&name, metric, "scikit-learn", t));
                        }
                    }
                }
            }
            Err(reason) => eprintln!("scaling: no scikit-learn column: {reason}"),
        }
    }
    plot_scaling(&rows);
    Ok(rows)
}

/// `target/bench/scaling-w4.png` and `scaling-w5.png`: log₁₀ seconds against log₁₀ points,
/// one line per runner (kiln-plot has linear axes, so the logarithms are plotted).
fn plot_scaling(rows: &[Row]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    for (w, title) in [
        ("W4", "K-MEANS (W4): LOG10 SECONDS AGAINST LOG10 POINTS"),
        ("W5", "DBSCAN (W5): LOG10 SECONDS AGAINST LOG10 POINTS"),
    ] {
        let mut runners: Vec<&str> = Vec::new();
        for r in rows
            .iter()
            .filter(|r| r.workload.starts_with(&format!("{w} n=")))
        {
            if !runners.contains(&r.runner.as_str()) {
                runners.push(&r.runner);
            }
        }
        let series: Vec<kiln::plot::Series> = runners
            .iter()
            .map(|runner| {
                let points = rows
                    .iter()
                    .filter(|r| r.runner == *runner && r.workload.starts_with(&format!("{w} n=")))
                    .filter_map(|r| {
                        let n: f64 = r.workload.split("n=").nth(1)?.parse().ok()?;
                        Some((n.log10(), r.value.log10()))
                    })
                    .collect();
                kiln::plot::Series::new(*runner, points)
            })
            .collect();
        let path = dir.join(format!("scaling-{}.png", w.to_lowercase()));
        match kiln::plot::line_chart(title, "log10 points", "log10 seconds", &series)
            .save_png(&path)
        {
            Ok(()) => eprintln!("scaling plot: {}", path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", path.display()),
        }
    }
}
