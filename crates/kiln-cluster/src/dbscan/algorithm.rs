//! Neighbourhoods in blocks on the device, expansion on the host.

use burn::tensor::Tensor;

use super::params::BLOCK_FLOATS;
use super::{DbscanError, DbscanParams};
use crate::metric::{normalize_rows, row_sq_norms, sq_distances};
use crate::{Metric, check_input};

/// A fitted DBSCAN clustering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FittedDbscan {
    labels: Vec<Option<usize>>,
    core_sample_indices: Vec<usize>,
    n_clusters: usize,
}

impl FittedDbscan {
    /// The cluster of each point; `None` is noise.
    pub fn labels(&self) -> &[Option<usize>] {
        &self.labels
    }

    /// Indices of the core points, ascending.
    pub fn core_sample_indices(&self) -> &[usize] {
        &self.core_sample_indices
    }

    /// Number of clusters found.
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }
}

pub(crate) fn fit(p: &DbscanParams, x: &Tensor<2>) -> Result<FittedDbscan, DbscanError> {
    check_input(x, p.metric)?;
    let n = x.dims()[0];
    // Both metrics become a bound on the squared Euclidean distance: for unit vectors
    // ‖x − y‖² = 2 (1 − cos), so cosine distance ≤ eps ⇔ ‖x − y‖² ≤ 2 eps.
    let (x, threshold) = match p.metric {
        Metric::Euclidean => (x.clone(), p.eps * p.eps),
        Metric::Cosine => (normalize_rows(x.clone()), 2.0 * p.eps),
    };
    let x_sq = row_sq_norms(&x);
    let block = p.block_rows.unwrap_or((BLOCK_FLOATS / n).max(1));

    let mut neighbours: Vec<Vec<u32>> = Vec::with_capacity(n);
    for start in (0..n).step_by(block) {
        let len = block.min(n - start);
        let within = sq_distances(
            x.clone().narrow(0, start, len),
            x_sq.clone().narrow(0, start, len),
            x.clone(),
            x_sq.clone(),
        )
        .lower_equal_elem(threshold)
        .into_data(); // [len, n]
        // Native bools can be read in place; other storages (e.g. u32 on WGPU) are converted.
        let converted: Vec<bool>;
        let flags: &[bool] = match within.as_slice::<bool>() {
            Ok(slice) => slice,
            Err(_) => {
                converted = within.iter::<bool>().collect();
                &converted
            }
        };
        for row in flags.chunks_exact(n) {
            neighbours.push(
                row.iter()
                    .enumerate()
                    .filter_map(|(j, &near)| near.then_some(j as u32))
                    .collect(),
            );
        }
    }

    let core: Vec<bool> = neighbours
        .iter()
        .map(|nb| nb.len() >= p.min_samples)
        .collect();
    // Expansion in scikit-learn's order (points by index, depth-first stack), so that border
    // points reachable from two clusters land where scikit-learn puts them.
    let mut labels: Vec<Option<usize>> = vec![None; n];
    let mut cluster = 0;
    let mut stack = Vec::new();
    for i in 0..n {
        if labels[i].is_some() || !core[i] {
            continue;
        }
        stack.push(i);
        while let Some(p) = stack.pop() {
            if labels[p].is_none() {
                labels[p] = Some(cluster);
                if core[p] {
                    stack.extend(
                        neighbours[p]
                            .iter()
                            .map(|&v| v as usize)
                            .filter(|&v| labels[v].is_none()),
                    );
                }
            }
        }
        cluster += 1;
    }
    Ok(FittedDbscan {
        labels,
        core_sample_indices: (0..n).filter(|&i| core[i]).collect(),
        n_clusters: cluster,
    })
}
