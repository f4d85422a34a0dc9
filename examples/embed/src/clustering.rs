//! (d) K-means and DBSCAN on the application's own tensors: fit, save, reload, predict.

use std::path::Path;

use kiln_cluster::{
    Dbscan, FittedKMeans, KMeans, adjusted_rand_index, make_blobs, tensor_from_slice,
};

use crate::Error;

/// What the run measured.
#[derive(Debug)]
pub struct Report {
    /// Adjusted Rand index of K-means' labels against the true blobs.
    pub kmeans_ari: f64,
    /// Whether the reloaded model predicts exactly the fitted labels.
    pub reload_same_labels: bool,
    /// Clusters DBSCAN found.
    pub dbscan_clusters: usize,
    /// Adjusted Rand index of DBSCAN's labels (noise as its own label) against the blobs.
    pub dbscan_ari: f64,
}

/// Four blobs of 100 points in 3-D: K-means (k = 4) and DBSCAN.
///
/// # Errors
/// A fitting, saving or loading error from kiln-cluster.
pub fn run(dir: &Path) -> Result<Report, Error> {
    let device = crate::device();
    let centres = vec![
        vec![0.0, 0.0, 0.0],
        vec![6.0, 0.0, 0.0],
        vec![0.0, 6.0, 0.0],
        vec![0.0, 0.0, 6.0],
    ];
    let (values, truth) = make_blobs(400, &centres, 0.4, 9)?;
    let x = tensor_from_slice(&values, 400, 3, &device)?;

    let kmeans = KMeans::params(4).n_init(3).seed(1).fit(&x)?;
    let path = dir.join("kmeans.json");
    kmeans.save(&path)?;
    let reloaded = FittedKMeans::load(&path, &device)?;
    let reload_same_labels = reloaded.predict(&x)? == kmeans.labels();

    let dbscan = Dbscan::params(1.0, 5).fit(&x)?;
    let labels: Vec<usize> = dbscan
        .labels()
        .iter()
        .map(|l| l.map_or(usize::MAX, |c| c))
        .collect();
    Ok(Report {
        kmeans_ari: adjusted_rand_index(kmeans.labels(), &truth)?,
        reload_same_labels,
        dbscan_clusters: dbscan.n_clusters(),
        dbscan_ari: adjusted_rand_index(&labels, &truth)?,
    })
}
