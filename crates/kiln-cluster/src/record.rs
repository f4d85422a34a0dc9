//! Saving and loading fitted K-means models (JSON through serde).

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::kmeans::{FittedKMeans, FittedMiniBatchKMeans, MiniBatchKMeansParams};
use crate::{ClusterError, ParamGuard};
use crate::{Metric, Rng};

/// Everything a [`FittedKMeans`] needs to predict again, and its training figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansRecord {
    /// The distance.
    pub metric: Metric,
    /// Clusters.
    pub k: usize,
    /// Dimensions.
    pub d: usize,
    /// `k × d` centroids, row-major, relative to `origin`.
    pub centroids: Vec<f32>,
    /// The point the model compares relative to (`d` values; see [`FittedKMeans`]). Files
    /// written before it existed have none: zeros.
    #[serde(default)]
    pub origin: Vec<f32>,
    /// Cluster of each training point (empty for a model built from centroids).
    pub labels: Vec<usize>,
    /// Training inertia.
    pub inertia: f64,
    /// Lloyd iterations.
    pub n_iter: usize,
}

/// Everything a [`FittedMiniBatchKMeans`] needs to predict and to go on learning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchKMeansRecord {
    /// Its parameters.
    pub params: MiniBatchKMeansParams,
    /// Dimensions.
    pub d: usize,
    /// `k × d` centroids, row-major, relative to `origin`.
    pub centroids: Vec<f32>,
    /// The point the model compares relative to (`d` values; see [`FittedKMeans`]). Files
    /// written before it existed have none: zeros.
    #[serde(default)]
    pub origin: Vec<f32>,
    /// Points each centroid has absorbed.
    pub counts: Vec<f64>,
    /// Batches seen.
    pub n_batches: usize,
    /// The generator's state (for re-seeding centroids that never won a point).
    pub rng: Rng,
}

fn file_error(path: &Path, reason: impl ToString) -> ClusterError {
    ClusterError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ClusterError> {
    let json = serde_json::to_vec(value).map_err(|e| file_error(path, e))?;
    kiln_core::write_atomic(path, &json).map_err(|e| file_error(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ClusterError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| file_error(path, format!("not a saved model: {e}")))
}

fn centroid_values(c: Tensor<2>) -> Result<Vec<f32>, ClusterError> {
    crate::to_f32(c)
}

/// The stored origin: `d` finite values, or none (zeros: files from before it existed).
fn check_origin(path: &Path, origin: Vec<f32>, d: usize) -> Result<Vec<f32>, ClusterError> {
    if origin.is_empty() {
        return Ok(vec![0.0; d]);
    }
    if origin.len() != d || origin.iter().any(|v| !v.is_finite()) {
        return Err(file_error(
            path,
            format!(
                "the origin has {} values, not {d} finite ones",
                origin.len()
            ),
        ));
    }
    Ok(origin)
}

/// Checks that `k × d` values were stored.
fn check_shape(path: &Path, k: usize, d: usize, len: usize) -> Result<(), ClusterError> {
    if k == 0 || d == 0 || k.checked_mul(d) != Some(len) {
        return Err(file_error(
            path,
            format!("{len} centroid values do not make {k} × {d}"),
        ));
    }
    Ok(())
}

impl FittedKMeans {
    /// The model as a serialisable record.
    ///
    /// # Errors
    /// [`ClusterError::Device`](crate::ClusterError::Device) if the centroids cannot be read back.
    pub fn to_record(&self) -> Result<KMeansRecord, ClusterError> {
        let [k, d] = self.centroids.dims();
        Ok(KMeansRecord {
            metric: self.metric,
            k,
            d,
            centroids: centroid_values(self.centroids.clone())?,
            origin: self.origin.clone(),
            labels: self.labels.clone(),
            inertia: self.inertia,
            n_iter: self.n_iter,
        })
    }

    /// Saves the model as JSON, atomically.
    ///
    /// # Errors
    /// [`ClusterError::File`] if it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), ClusterError> {
        write_json(path, &self.to_record()?)
    }

    /// Loads a model saved by [`save`](Self::save), its centroids on `device`.
    ///
    /// # Errors
    /// [`ClusterError::File`] for a missing, unreadable or inconsistent file.
    pub fn load(path: &Path, device: &Device) -> Result<Self, ClusterError> {
        let r: KMeansRecord = read_json(path)?;
        check_shape(path, r.k, r.d, r.centroids.len())?;
        let origin = check_origin(path, r.origin, r.d)?;
        let stored = Tensor::from_data(TensorData::new(r.centroids, [r.k, r.d]), device);
        let mut model =
            Self::from_centroids(stored.clone(), r.metric).map_err(|e| file_error(path, e))?;
        if r.metric == Metric::Euclidean {
            // Relative to the stored origin, exactly as saved.
            model.centroids = stored;
            model.origin = origin;
        }
        model.labels = r.labels;
        model.inertia = r.inertia;
        model.n_iter = r.n_iter;
        Ok(model)
    }
}

impl FittedMiniBatchKMeans {
    /// The model as a serialisable record.
    pub fn to_record(&self) -> MiniBatchKMeansRecord {
        MiniBatchKMeansRecord {
            params: (*self.params).clone(),
            d: self.d,
            centroids: self.centroids.clone(),
            origin: self.origin.clone(),
            counts: self.counts.clone(),
            n_batches: self.n_batches,
            rng: self.rng.clone(),
        }
    }

    /// A model from given centroids (`[k, d]`, finite) and parameters (whose `k` must match),
    /// as if it had seen no batch: `partial_fit` goes on from them.
    ///
    /// # Errors
    /// [`ClusterError::InvalidCentroids`] for an empty or non-finite matrix or a `k` that does
    /// not match; invalid parameters.
    pub fn from_centroids(
        centroids: Tensor<2>,
        params: MiniBatchKMeansParams,
    ) -> Result<Self, ClusterError> {
        let params = params.check()?;
        let fitted = FittedKMeans::from_centroids(centroids, params.metric)?;
        let [k, d] = fitted.centroids.dims();
        if k != params.k {
            return Err(ClusterError::InvalidCentroids);
        }
        Ok(Self {
            device: fitted.centroids.device(),
            origin: fitted.origin.clone(),
            centroids: centroid_values(fitted.centroids)?,
            d,
            counts: vec![0.0; k],
            n_batches: 0,
            rng: Rng::new(params.seed_value()),
            params,
        })
    }

    /// Saves the model as JSON, atomically.
    ///
    /// # Errors
    /// [`ClusterError::File`] if it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), ClusterError> {
        write_json(path, &self.to_record())
    }

    /// Loads a model saved by [`save`](Self::save); [`centroids`](Self::centroids) and later
    /// batches' updates start on `device`.
    ///
    /// # Errors
    /// [`ClusterError::File`] for a missing, unreadable or inconsistent file.
    pub fn load(path: &Path, device: &Device) -> Result<Self, ClusterError> {
        let r: MiniBatchKMeansRecord = read_json(path)?;
        let params = r.params.check().map_err(|e| file_error(path, e))?;
        check_shape(path, params.k, r.d, r.centroids.len())?;
        let origin = check_origin(path, r.origin, r.d)?;
        if r.counts.len() != params.k || r.centroids.iter().any(|v| !v.is_finite()) {
            return Err(file_error(
                path,
                "counts or centroids do not fit the parameters",
            ));
        }
        Ok(Self {
            params,
            centroids: r.centroids,
            origin,
            d: r.d,
            device: device.clone(),
            counts: r.counts,
            n_batches: r.n_batches,
            rng: r.rng,
        })
    }
}
