//! Test-set evaluation: accuracy, mean loss and a confusion matrix.

use std::fmt::Write as _;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use kiln_data::{ImageBatcher, ImageDataset, Normalization};

use crate::MlpClassifier;

/// The result of evaluating a classifier on a labelled dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Fraction of images classified correctly, in `[0, 1]`.
    pub accuracy: f64,
    /// Mean cross-entropy loss per image.
    pub mean_loss: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
}

impl Evaluation {
    /// Number of images evaluated.
    pub fn count(&self) -> u64 {
        self.confusion.iter().flatten().sum()
    }

    /// The confusion matrix as a text table, rows = true class, columns = predicted class,
    /// `names` labelling the rows.
    pub fn confusion_table(&self, names: &[&str]) -> String {
        let width = self
            .confusion
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1)
            .max(3);
        let label_width = names.iter().map(|n| n.len()).max().unwrap_or(1).max(10);
        let mut out = format!("{:>label_width$} |", "true\\pred");
        for j in 0..self.confusion.len() {
            let _ = write!(out, " {j:>width$}");
        }
        out.push('\n');
        for (i, row) in self.confusion.iter().enumerate() {
            let name = names.get(i).copied().unwrap_or("?");
            let _ = write!(out, "{name:>label_width$} |");
            for c in row {
                let _ = write!(out, " {c:>width$}");
            }
            out.push('\n');
        }
        out
    }
}

/// Evaluates `model` on every image of `data`, `batch_size` at a time, on `device`.
///
/// # Panics
/// If `batch_size` is 0.
pub fn evaluate(
    model: &MlpClassifier,
    data: &ImageDataset,
    normalization: Normalization,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    assert!(batch_size > 0, "batch_size must be at least 1");
    let batcher = ImageBatcher::new(normalization);
    let classes = model.mlp.output_size();
    let mut confusion = vec![vec![0u64; classes]; classes];
    let mut loss_sum = 0.0;
    let n = data.len();
    for start in (0..n).step_by(batch_size) {
        let end = (start + batch_size).min(n);
        let items = (start..end)
            .filter_map(|i| data.item(i))
            .collect::<Vec<_>>();
        let labels: Vec<usize> = items.iter().map(|i| usize::from(i.label)).collect();
        let batch = batcher.batch(items, device);
        let out = model.forward_classification(batch);
        loss_sum += f64::from(out.loss.into_scalar::<f32>()) * (end - start) as f64;
        let predicted = out.output.argmax(1).into_data();
        for (truth, pred) in labels.into_iter().zip(predicted.iter::<i64>()) {
            if let (Some(row), Ok(p)) = (confusion.get_mut(truth), usize::try_from(pred))
                && let Some(cell) = row.get_mut(p)
            {
                *cell += 1;
            }
        }
    }
    let correct: u64 = (0..classes).map(|i| confusion[i][i]).sum();
    Evaluation {
        accuracy: correct as f64 / n.max(1) as f64,
        mean_loss: loss_sum / n.max(1) as f64,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_table_has_a_row_per_class() {
        let e = Evaluation {
            accuracy: 0.5,
            mean_loss: 1.0,
            confusion: vec![vec![1, 1], vec![0, 0]],
        };
        assert_eq!(e.count(), 2);
        let t = e.confusion_table(&["a", "b"]);
        assert_eq!(t.lines().count(), 3, "{t}");
        assert!(
            t.lines().nth(1).unwrap().trim_start().starts_with("a |"),
            "{t}"
        );
    }
}
