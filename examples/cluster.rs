//! Cluster MNIST pixels or Gaussian blobs with K-means or DBSCAN, on any backend, and draw
//! the result.
//!
//! ```text
//! cargo run --release --example cluster -- kmeans --k 10 --dataset mnist
//! cargo run --release --example cluster -- kmeans --k 5 --dataset blobs --n 100000
//! cargo run --release --example cluster -- dbscan --eps .3 --min-samples 10 --dataset blobs
//! ```
//!
//! K-means on MNIST writes the centroids as a grid of images; on 2-D data both algorithms
//! write a scatter plot coloured by cluster (DBSCAN's noise in grey). Against the true
//! labels it prints purity and the adjusted Rand index.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use burn::tensor::{Device, Tensor};
use clap::{Args as ClapArgs, Parser, Subcommand};
use kiln::backend;
use kiln::cli::{AnyError, parse, run};
use kiln::cluster::{
    Checked, DEFAULT_BLOCK_FLOATS, Dbscan, KMeans, KMeansParams, Metric, MiniBatchKMeans,
    MiniBatchKMeansParams, ParamGuard, adjusted_rand_index, blocks_from_slice, make_blobs, purity,
    random_centres, tensor_from_slice,
};
use kiln::data::{DatasetKind, Split};
use kiln::plot::{image_grid, scatter_chart};

mod common;

/// Cluster MNIST or Gaussian blobs with K-means or DBSCAN.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    algorithm: Algorithm,
}

#[derive(Subcommand, Debug)]
enum Algorithm {
    /// K-means with k-means++ initialisation (full batch, or mini-batch with --batch-size).
    Kmeans {
        /// Clusters.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Restarts; the run of lowest inertia is kept.
        #[arg(long, default_value_t = 1)]
        n_init: usize,
        /// Most Lloyd iterations (mini-batch: passes over the data).
        #[arg(long, default_value_t = 300)]
        max_iter: usize,
        /// Mini-batch K-means with batches of this many points.
        #[arg(long)]
        batch_size: Option<usize>,
        #[command(flatten)]
        common: Common,
    },
    /// DBSCAN: clusters of dense regions, the rest is noise.
    Dbscan {
        /// Neighbourhood radius (cosine: distance 1 − cos).
        #[arg(long, default_value_t = 0.3, value_parser = kiln::cli::finite)]
        eps: f64,
        /// Points within eps (itself included) that make a core point.
        #[arg(long, default_value_t = 10)]
        min_samples: usize,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(ClapArgs, Debug)]
struct Common {
    /// Data: mnist, fashion-mnist (training images, pixels in [0, 1]) or blobs.
    #[arg(long, default_value = "blobs")]
    dataset: String,
    /// Points: blobs to draw, or the first N images (default: all 60,000).
    #[arg(long)]
    n: Option<usize>,
    /// Blobs: number of centres (default: k for K-means, 3 for DBSCAN).
    #[arg(long)]
    centres: Option<usize>,
    /// Blobs: dimensions.
    #[arg(long, default_value_t = 2)]
    dims: usize,
    /// Blobs: standard deviation around each centre.
    #[arg(long, default_value_t = 0.5, value_parser = kiln::cli::finite_f32)]
    std: f32,
    /// Blobs: centres are drawn uniformly in [-spread, spread] per coordinate.
    #[arg(long, default_value_t = 10.0, value_parser = kiln::cli::finite_f32)]
    spread: f32,
    /// Distance: euclidean or cosine.
    #[arg(long, default_value = "euclidean", value_parser = parse::<Metric>)]
    metric: Metric,
    /// Backend, seed (default 1: of the blobs and of k-means++; blob centres are uniform at
    /// random, so some seeds put two centres on top of each other: 3 and 7 do, for 3
    /// centres), data folder, and the artifact folder for the PNG and the fitted model
    /// (default artifacts/cluster).
    #[command(flatten)]
    run: common::CommonArgs,
}

impl Common {
    fn seed(&self) -> u64 {
        self.run.seed_or(1)
    }

    fn out_dir(&self) -> Result<PathBuf, AnyError> {
        if self.run.resume {
            return Err("--resume: a clustering run has no checkpoint to resume".into());
        }
        let dir = self.run.artifact_dir_or("artifacts/cluster");
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

/// Points to cluster, on the host and on the device.
struct Points {
    name: String,
    values: Vec<f32>,
    dims: usize,
    truth: Vec<usize>,
    /// `(height, width)` when the points are images.
    image: Option<(usize, usize)>,
    device: burn::tensor::Device,
}

impl Points {
    /// All points as one `[n, dims]` tensor (mini-batch K-means, DBSCAN).
    fn tensor(&self) -> Result<Tensor<2>, AnyError> {
        Ok(tensor_from_slice(
            &self.values,
            self.truth.len(),
            self.dims,
            &self.device,
        )?)
    }

    /// The points as row blocks of at most 64 MiB each (full K-means), so an input larger
    /// than a device's buffer limit (MNIST's 188 MB on WGPU) still fits.
    fn blocks(&self) -> Result<Vec<Tensor<2>>, AnyError> {
        Ok(blocks_from_slice(
            &self.values,
            self.truth.len(),
            self.dims,
            DEFAULT_BLOCK_FLOATS,
            &self.device,
        )?)
    }
}

fn main() -> ExitCode {
    kiln::cli::init_tracing(env!("CARGO_CRATE_NAME"));
    let args = Args::parse();
    run(|| match args.algorithm {
        Algorithm::Kmeans {
            k,
            n_init,
            max_iter,
            batch_size,
            ref common,
        } => kmeans(k, n_init, max_iter, batch_size, common),
        Algorithm::Dbscan {
            eps,
            min_samples,
            ref common,
        } => dbscan(eps, min_samples, common),
    })
}

fn load(common: &Common, default_centres: usize, device: &Device) -> Result<Points, AnyError> {
    if common.dataset == "blobs" {
        let n = common.n.unwrap_or(20_000);
        let centres = random_centres(
            common.centres.unwrap_or(default_centres),
            common.dims,
            common.spread,
            common.seed(),
        );
        let (values, truth) = make_blobs(n, &centres, common.std, common.seed())
            .map_err(|e| format!("--centres / --dims: {e}"))?;
        return Ok(Points {
            name: "blobs".into(),
            values,
            dims: common.dims,
            truth,
            image: None,
            device: device.clone(),
        });
    }
    let kind: DatasetKind = common
        .dataset
        .parse()
        .map_err(|e| format!("{e} (or blobs)"))?;
    let images = common.run.load_data(kind, Split::Train)?;
    let total = burn::data::dataset::Dataset::len(&images);
    let n = common.n.unwrap_or(total).min(total);
    let (h, w) = (images.height(), images.width());
    let mut values = Vec::with_capacity(n * h * w);
    let mut truth = Vec::with_capacity(n);
    for i in 0..n {
        let item = images.item(i).ok_or("image index out of range")?;
        values.extend(item.pixels.iter().map(|&p| f32::from(p) / 255.0));
        truth.push(usize::from(item.label));
    }
    Ok(Points {
        name: kind.to_string(),
        values,
        dims: h * w,
        truth,
        image: Some((h, w)),
        device: device.clone(),
    })
}

/// Checked K-means parameters, full or mini-batch.
enum Params {
    Full(Checked<KMeansParams>),
    MiniBatch(Checked<MiniBatchKMeansParams>),
}

fn kmeans(
    k: usize,
    n_init: usize,
    max_iter: usize,
    batch_size: Option<usize>,
    common: &Common,
) -> Result<(), AnyError> {
    // The parameters first, checked once: `--k 0` is a parameter error, not an empty set of
    // blobs.
    let params = match batch_size {
        None => Params::Full(
            KMeans::params(k)
                .n_init(n_init)
                .max_iter(max_iter)
                .seed(common.seed())
                .metric(common.metric)
                .check()?,
        ),
        Some(b) => Params::MiniBatch(
            MiniBatchKMeans::params(k)
                .batch_size(b)
                .max_iter(max_iter)
                .seed(common.seed())
                .metric(common.metric)
                .check()?,
        ),
    };
    let (backend, device) = backend::select(common.run.backend.as_deref())?;
    let points = load(common, k, &device)?;
    let n = points.truth.len();
    println!(
        "k-means, k = {k}, {n} {} points × {} dims, {:?}, on {backend}",
        points.name, points.dims, common.metric
    );
    let start = Instant::now();
    let (labels, centroids) = match params {
        Params::Full(params) => {
            let fitted = params.fit_blocks(&points.blocks()?)?;
            println!(
                "inertia {:.4} after {} iterations ({:.2} s)",
                fitted.inertia(),
                fitted.n_iter(),
                start.elapsed().as_secs_f64()
            );
            let saved = common
                .out_dir()?
                .join(format!("kmeans-{}.json", points.name));
            fitted.save(&saved)?;
            println!("model: {}", saved.display());
            (fitted.labels().to_vec(), fitted.centroids())
        }
        Params::MiniBatch(params) => {
            let x = points.tensor()?;
            let model = params.fit(&x)?;
            println!(
                "mini-batch inertia {:.4} after {} batches ({:.2} s)",
                model.inertia_on(&x)?,
                model.n_batches(),
                start.elapsed().as_secs_f64()
            );
            let saved = common
                .out_dir()?
                .join(format!("minibatch-kmeans-{}.json", points.name));
            model.save(&saved)?;
            println!("model: {}", saved.display());
            (model.predict(&x)?, model.centroids())
        }
    };
    let labels: Vec<Option<usize>> = labels.into_iter().map(Some).collect();
    report(&labels, &points.truth);
    let out_dir = common.out_dir()?;
    let path = out_dir.join(format!("kmeans-{}.png", points.name));
    match points.image {
        Some((h, w)) => {
            let values: Vec<f32> = centroids.into_data().iter::<f32>().collect();
            // Cosine centroids are unit vectors: rescale each to its own maximum.
            let values = match common.metric {
                Metric::Euclidean => values,
                Metric::Cosine => rescale_rows(values, h * w),
            };
            image_grid(&values, [k, 1, h, w], k.min(10), 4)?.save_png(&path)?;
            println!("centroids: {}", path.display());
        }
        None => scatter(&points, &labels, &format!("K-MEANS, K = {k}"), &path)?,
    }
    Ok(())
}

fn dbscan(eps: f64, min_samples: usize, common: &Common) -> Result<(), AnyError> {
    let (backend, device) = backend::select(common.run.backend.as_deref())?;
    let points = load(common, 3, &device)?;
    let n = points.truth.len();
    println!(
        "DBSCAN, eps = {eps}, min_samples = {min_samples}, {n} {} points × {} dims, {:?}, on {backend}",
        points.name, points.dims, common.metric
    );
    let start = Instant::now();
    let fitted = Dbscan::params(eps, min_samples)
        .metric(common.metric)
        .fit(&points.tensor()?)?;
    let noise = fitted.labels().iter().filter(|l| l.is_none()).count();
    println!(
        "{} clusters, {noise} noise points, {} core points ({:.2} s)",
        fitted.n_clusters(),
        fitted.core_sample_indices().len(),
        start.elapsed().as_secs_f64()
    );
    report(fitted.labels(), &points.truth);
    let out_dir = common.out_dir()?;
    let path = out_dir.join(format!("dbscan-{}.png", points.name));
    if points.image.is_none() {
        let title = format!("DBSCAN, EPS = {eps}, MIN_SAMPLES = {min_samples}");
        scatter(&points, fitted.labels(), &title, &path)?;
    } else {
        println!("(no plot for image data)");
    }
    Ok(())
}

fn report(labels: &[Option<usize>], truth: &[usize]) {
    // Noise counts as one more cluster for the adjusted Rand index.
    let flat: Vec<usize> = labels.iter().map(|l| l.map_or(usize::MAX, |c| c)).collect();
    match adjusted_rand_index(&flat, truth).and_then(|ari| Ok((purity(labels, truth)?, ari))) {
        Ok((purity, ari)) => {
            println!("purity {purity:.4}, adjusted Rand index {ari:.4} against the true labels")
        }
        // Labels come from the same points as the truth; say so rather than panic if not.
        Err(e) => println!("no adjusted Rand index: {e}"),
    }
}

/// Scatter plot of the first two coordinates.
fn scatter(
    points: &Points,
    labels: &[Option<usize>],
    title: &str,
    path: &Path,
) -> Result<(), AnyError> {
    let xy: Vec<[f32; 2]> = points
        .values
        .chunks(points.dims)
        .map(|p| [p[0], p.get(1).copied().unwrap_or(0.0)])
        .collect();
    let axes = if points.dims > 2 {
        ("X0 (FIRST OF ", "X1")
    } else {
        ("X0", "X1")
    };
    let x_label = if points.dims > 2 {
        format!("{}{} DIMS)", axes.0, points.dims)
    } else {
        axes.0.to_string()
    };
    scatter_chart(title, &x_label, axes.1, &xy, labels).save_png(path)?;
    println!("scatter plot: {}", path.display());
    Ok(())
}

fn rescale_rows(mut values: Vec<f32>, len: usize) -> Vec<f32> {
    for row in values.chunks_mut(len) {
        let max = row.iter().copied().fold(f32::MIN, f32::max);
        if max > 0.0 {
            row.iter_mut().for_each(|v| *v = v.max(0.0) / max);
        }
    }
    values
}
