//! Saving and loading fitted K-means models (JSON through serde).

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::kmeans::{FittedKMeans, FittedMiniBatchKMeans, KMeansError, MiniBatchKMeansParams};
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
    /// `k × d` centroids, row-major.
    pub centroids: Vec<f32>,
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
    /// `k × d` centroids, row-major.
    pub centroids: Vec<f32>,
    /// Points each centroid has absorbed.
    pub counts: Vec<f64>,
    /// Batches seen.
    pub n_batches: usize,
    /// The generator's state (for re-seeding centroids that never won a point).
    pub rng: Rng,
}

fn file_error(path: &Path, reason: impl ToString) -> KMeansError {
    KMeansError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), KMeansError> {
    let json = serde_json::to_vec(value).map_err(|e| file_error(path, e))?;
    kiln_train::write_atomic(path, &json).map_err(|e| file_error(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, KMeansError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| file_error(path, format!("not a saved model: {e}")))
}

fn centroid_values(c: Tensor<2>) -> Result<Vec<f32>, KMeansError> {
    Ok(crate::to_f32(c)?)
}

/// Checks that `k × d` values were stored.
fn check_shape(path: &Path, k: usize, d: usize, len: usize) -> Result<(), KMeansError> {
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
    /// [`InputError::Device`](crate::InputError::Device) if the centroids cannot be read back.
    pub fn to_record(&self) -> Result<KMeansRecord, KMeansError> {
        let [k, d] = self.centroids.dims();
        Ok(KMeansRecord {
            metric: self.metric,
            k,
            d,
            centroids: centroid_values(self.centroids.clone())?,
            labels: self.labels.clone(),
            inertia: self.inertia,
            n_iter: self.n_iter,
        })
    }

    /// Saves the model as JSON, atomically.
    ///
    /// # Errors
    /// [`KMeansError::File`] if it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), KMeansError> {
        write_json(path, &self.to_record()?)
    }

    /// Loads a model saved by [`save`](Self::save), its centroids on `device`.
    ///
    /// # Errors
    /// [`KMeansError::File`] for a missing, unreadable or inconsistent file.
    pub fn load(path: &Path, device: &Device) -> Result<Self, KMeansError> {
        let r: KMeansRecord = read_json(path)?;
        check_shape(path, r.k, r.d, r.centroids.len())?;
        let mut model = Self::from_centroids(
            Tensor::from_data(TensorData::new(r.centroids, [r.k, r.d]), device),
            r.metric,
        )
        .map_err(|e| file_error(path, e))?;
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
            params: self.params.clone(),
            d: self.d,
            centroids: self.centroids.clone(),
            counts: self.counts.clone(),
            n_batches: self.n_batches,
            rng: self.rng.clone(),
        }
    }

    /// A model from given centroids (`[k, d]`, finite) and parameters (whose `k` must match),
    /// as if it had seen no batch: `partial_fit` goes on from them.
    ///
    /// # Errors
    /// [`KMeansError::InvalidCentroids`] for an empty or non-finite matrix or a `k` that does
    /// not match; invalid parameters.
    pub fn from_centroids(
        centroids: Tensor<2>,
        params: MiniBatchKMeansParams,
    ) -> Result<Self, KMeansError> {
        params.validate()?;
        let fitted = FittedKMeans::from_centroids(centroids, params.metric)?;
        let [k, d] = fitted.centroids.dims();
        if k != params.k {
            return Err(KMeansError::InvalidCentroids);
        }
        Ok(Self {
            device: fitted.centroids.device(),
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
    /// [`KMeansError::File`] if it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), KMeansError> {
        write_json(path, &self.to_record())
    }

    /// Loads a model saved by [`save`](Self::save); [`centroids`](Self::centroids) and later
    /// batches' updates start on `device`.
    ///
    /// # Errors
    /// [`KMeansError::File`] for a missing, unreadable or inconsistent file.
    pub fn load(path: &Path, device: &Device) -> Result<Self, KMeansError> {
        let r: MiniBatchKMeansRecord = read_json(path)?;
        r.params.validate().map_err(|e| file_error(path, e))?;
        check_shape(path, r.params.k, r.d, r.centroids.len())?;
        if r.counts.len() != r.params.k || r.centroids.iter().any(|v| !v.is_finite()) {
            return Err(file_error(
                path,
                "counts or centroids do not fit the parameters",
            ));
        }
        Ok(Self {
            params: r.params,
            centroids: r.centroids,
            d: r.d,
            device: device.clone(),
            counts: r.counts,
            n_batches: r.n_batches,
            rng: r.rng,
        })
    }
}
