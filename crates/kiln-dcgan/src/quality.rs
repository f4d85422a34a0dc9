//! Sample quality judged by a classifier: a Fréchet distance between feature distributions
//! (an FID analogue) and a class score (an Inception-Score analogue).

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use kiln_mlp::Mlp;

use crate::DcganError;

/// Images per forward pass of the judge.
const JUDGE_BATCH: usize = 500;

/// A trained classifier that scores generated images, and the input scaling it was trained
/// with.
#[derive(Debug, Clone)]
pub struct Judge {
    classifier: Mlp,
    mean: f32,
    std: f32,
}

/// What the judge sees in a set of images.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// Penultimate-layer features, `count × dim` row-major.
    pub features: Vec<f32>,
    /// Feature length.
    pub dim: usize,
    /// Class probabilities, `count × classes` row-major.
    pub probabilities: Vec<f32>,
    /// Number of classes.
    pub classes: usize,
}

impl Judge {
    /// A judge from a classifier (no autodiff needed) whose inputs were the flattened
    /// images' pixels scaled to `[0, 1]`, then `(value − mean) / std`: `(0, 1)` for
    /// `[0, 1]` inputs, `(0.5, 0.5)` for `[−1, 1]`, MNIST's `(0.1307, 0.3081)` for
    /// standardised ones.
    pub fn new(classifier: Mlp, mean: f32, std: f32) -> Self {
        Self {
            classifier,
            mean,
            std,
        }
    }

    /// The classifier's input size: `channels × height × width` of the images it judges.
    pub fn input_size(&self) -> usize {
        self.classifier.input_size()
    }

    /// Features and class probabilities of `images` (`[n, 1, h, w]`, values in [−1, 1] as the
    /// generator makes them), computed in batches of 500.
    ///
    /// # Errors
    /// [`DcganError::Device`](crate::DcganError::Device) if the device fails.
    pub fn judge(&self, images: Tensor<4>) -> Result<Judgement, crate::DcganError> {
        let n = images.dims()[0];
        let flat = images.flatten::<2>(1, 3); // [n, h·w]
        // [−1, 1] → [0, 1] → the classifier's own input scale.
        let unit = (flat + 1.0) * 0.5;
        let input = (unit - f64::from(self.mean)) / f64::from(self.std);
        let (mut features, mut probabilities) = (Vec::new(), Vec::new());
        let (mut dim, mut classes) = (0, 0);
        for start in (0..n).step_by(JUDGE_BATCH) {
            let len = JUDGE_BATCH.min(n - start);
            let x = input.clone().narrow(0, start, len);
            let f = self.classifier.features(x); // [len, dim]
            let logits = self.classifier.output.forward(f.clone()); // [len, classes]
            dim = f.dims()[1];
            classes = logits.dims()[1];
            features.extend(crate::read(f)?.iter::<f32>());
            probabilities.extend(crate::read(softmax(logits, 1))?.iter::<f32>());
        }
        Ok(Judgement {
            features,
            dim,
            probabilities,
            classes,
        })
    }
}

/// Mean and covariance of a set of feature vectors (in `f64`).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStats {
    /// Mean vector.
    pub mean: Vec<f64>,
    /// Covariance, `dim × dim` row-major (divided by `count − 1`).
    pub covariance: Vec<f64>,
    /// Feature length.
    pub dim: usize,
}

impl FeatureStats {
    /// Statistics of `count = features.len() / dim` vectors (at least 2).
    ///
    /// # Panics
    /// If `dim` is 0, `features` is not a whole number of vectors, or there are fewer than 2.
    pub fn from_features(features: &[f32], dim: usize) -> Self {
        assert!(
            dim > 0 && features.len().is_multiple_of(dim),
            "features of length {dim}"
        );
        let count = features.len() / dim;
        assert!(count >= 2, "a covariance needs at least 2 vectors");
        let mut mean = vec![0.0; dim];
        for row in features.chunks_exact(dim) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= count as f64);
        let mut covariance = vec![0.0; dim * dim];
        let mut centred = vec![0.0; dim];
        for row in features.chunks_exact(dim) {
            for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = f64::from(v) - m;
            }
            for i in 0..dim {
                let ci = centred[i];
                let out = &mut covariance[i * dim..(i + 1) * dim];
                for (o, &cj) in out[i..].iter_mut().zip(&centred[i..]) {
                    *o += ci * cj;
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let v = covariance[i * dim + j] / (count - 1) as f64;
                covariance[i * dim + j] = v;
                covariance[j * dim + i] = v;
            }
        }
        Self {
            mean,
            covariance,
            dim,
        }
    }
}

/// The Fréchet distance between two Gaussians fitted to feature sets:
/// `‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)`, as FID computes it on Inception features.
/// `Tr (Σ₁Σ₂)^½` is the sum of the square roots of the eigenvalues of the symmetric
/// `Σ₁^½ Σ₂ Σ₁^½`, both found by Jacobi eigen-decomposition.
///
/// # Panics
/// If the two have different dimensions.
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> f64 {
    assert_eq!(a.dim, b.dim, "feature dimensions differ");
    let n = a.dim;
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let trace = |m: &[f64]| (0..n).map(|i| m[i * n + i]).sum::<f64>();
    let (values, vectors) = symmetric_eigen(a.covariance.clone(), n);
    // Σ₁^½ = V diag(√λ) Vᵀ
    let mut root = vec![0.0; n * n];
    for k in 0..n {
        let s = values[k].max(0.0).sqrt();
        if s == 0.0 {
            continue;
        }
        for i in 0..n {
            let vik = vectors[i * n + k] * s;
            for j in 0..n {
                root[i * n + j] += vik * vectors[j * n + k];
            }
        }
    }
    let product = matmul(&matmul(&root, &b.covariance, n), &root, n);
    let (values, _) = symmetric_eigen(product, n);
    let cross: f64 = values.iter().map(|v| v.max(0.0).sqrt()).sum();
    (mean_term + trace(&a.covariance) + trace(&b.covariance) - 2.0 * cross).max(0.0)
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            if aik == 0.0 {
                continue;
            }
            let row = &b[k * n..(k + 1) * n];
            for (o, &bkj) in out[i * n..(i + 1) * n].iter_mut().zip(row) {
                *o += aik * bkj;
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (columns of the row-major `n × n` result) of a symmetric
/// matrix, by cyclic Jacobi rotations until the off-diagonal mass is negligible.
fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off <= 1e-22 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // Rotate rows and columns p, q of A.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// How confidently and how evenly a classifier labels generated images.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassScore {
    /// Mean probability of the predicted class.
    pub mean_confidence: f64,
    /// `exp(entropy)` of the histogram of predicted classes: the effective number of classes
    /// generated (10 when all ten digits come equally often, 1 when only one does).
    pub class_coverage: f64,
    /// The Inception Score's formula `exp(E_x KL(p(y|x) ‖ p(y)))` with this classifier: up to
    /// the number of classes when images are both confident and diverse.
    pub inception_score: f64,
    /// Images predicted as each class.
    pub histogram: Vec<usize>,
}

/// The class score of `probabilities` (`count × classes` row-major).
///
/// # Panics
/// If `classes` is 0 or does not divide the length.
pub fn class_score(probabilities: &[f32], classes: usize) -> ClassScore {
    assert!(classes > 0 && probabilities.len().is_multiple_of(classes));
    let count = (probabilities.len() / classes).max(1);
    let mut histogram = vec![0; classes];
    let mut marginal = vec![0.0f64; classes];
    let mut confidence = 0.0;
    for row in probabilities.chunks_exact(classes) {
        let (best, &p) = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("classes > 0");
        histogram[best] += 1;
        confidence += f64::from(p);
        for (m, &p) in marginal.iter_mut().zip(row) {
            *m += f64::from(p) / count as f64;
        }
    }
    let entropy: f64 = histogram
        .iter()
        .filter(|&&h| h > 0)
        .map(|&h| {
            let p = h as f64 / count as f64;
            -p * p.ln()
        })
        .sum();
    let kl: f64 = probabilities
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .zip(&marginal)
                .filter(|(p, _)| **p > 0.0)
                .map(|(&p, &m)| f64::from(p) * (f64::from(p).ln() - m.max(1e-300).ln()))
                .sum::<f64>()
        })
        .sum::<f64>()
        / count as f64;
    ClassScore {
        mean_confidence: confidence / count as f64,
        class_coverage: entropy.exp(),
        inception_score: kl.exp(),
        histogram,
    }
}

/// How generated images are compared with real ones at the end of each epoch.
#[derive(Debug, Clone)]
pub struct QualityCheck {
    /// The classifier.
    pub judge: Judge,
    /// The judge's feature statistics of real images.
    pub real: FeatureStats,
}

impl QualityCheck {
    /// A check against `real` images (`[n, c, h, w]` in [−1, 1]).
    ///
    /// # Errors
    /// [`DcganError::JudgeInput`] if the judge does not take `c·h·w` inputs;
    /// [`DcganError::QualityImages`] for fewer than 2 images.
    pub fn new(judge: Judge, real: Tensor<4>) -> Result<Self, DcganError> {
        let [n, c, h, w] = real.dims();
        if n < 2 {
            return Err(DcganError::QualityImages(n));
        }
        if judge.input_size() != c * h * w {
            return Err(DcganError::JudgeInput {
                judge: judge.input_size(),
                pixels: c * h * w,
            });
        }
        let seen = judge.judge(real)?;
        let real = FeatureStats::from_features(&seen.features, seen.dim);
        Ok(Self { judge, real })
    }

    /// Fréchet distance and class score of `images` (`[n, c, h, w]` in [−1, 1]).
    ///
    /// # Errors
    /// [`DcganError::Device`] if the device fails.
    pub fn score(&self, images: Tensor<4>) -> Result<(f64, ClassScore), DcganError> {
        let seen = self.judge.judge(images)?;
        let stats = FeatureStats::from_features(&seen.features, seen.dim);
        Ok((
            frechet_distance(&self.real, &stats),
            class_score(&seen.probabilities, seen.classes),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_known_eigenvalues() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let (mut values, vectors) = symmetric_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12);
        // Orthonormal eigenvectors.
        let dot = vectors[0] * vectors[1] + vectors[2] * vectors[3];
        assert!(dot.abs() < 1e-12);
    }

    #[test]
    fn frechet_distance_of_gaussians_matches_the_closed_form() {
        // 1-D: (μ₁ − μ₂)² + σ₁² + σ₂² − 2σ₁σ₂ = (μ₁ − μ₂)² + (σ₁ − σ₂)².
        let a = FeatureStats {
            mean: vec![1.0],
            covariance: vec![4.0],
            dim: 1,
        };
        let b = FeatureStats {
            mean: vec![3.0],
            covariance: vec![9.0],
            dim: 1,
        };
        assert!((frechet_distance(&a, &b) - (4.0 + 1.0)).abs() < 1e-9);
        assert!(frechet_distance(&a, &a).abs() < 1e-9);
    }

    #[test]
    fn class_score_counts_coverage_and_confidence() {
        // Ten confident images, one per class: coverage 10, IS 10.
        let mut p = vec![0.0f32; 100];
        for i in 0..10 {
            p[i * 10 + i] = 1.0;
        }
        let s = class_score(&p, 10);
        assert!((s.class_coverage - 10.0).abs() < 1e-9);
        assert!((s.inception_score - 10.0).abs() < 1e-6);
        assert!((s.mean_confidence - 1.0).abs() < 1e-9);
        // All the same class: coverage 1, IS 1.
        let mut p = vec![0.0f32; 100];
        for i in 0..10 {
            p[i * 10 + 3] = 1.0;
        }
        let s = class_score(&p, 10);
        assert!((s.class_coverage - 1.0).abs() < 1e-9);
        assert!((s.inception_score - 1.0).abs() < 1e-9);
        assert_eq!(s.histogram[3], 10);
    }
}
