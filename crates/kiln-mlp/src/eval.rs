//! Test-set evaluation: accuracy, mean loss and a confusion matrix.

use std::fmt::Write as _;

use burn::nn::loss::CrossEntropyLossConfig;

use crate::training::batch;
use crate::{ClassificationData, Mlp, MlpConfig, MlpError};

/// The result of evaluating a classifier on a labelled dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Fraction of examples classified correctly, in `[0, 1]`.
    pub accuracy: f64,
    /// Mean cross-entropy loss per example.
    pub mean_loss: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
}

impl Evaluation {
    /// Number of examples evaluated.
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

/// Evaluates `model` on every example of `data`, `batch_size` at a time, on the model's
/// device.
///
/// # Errors
/// [`MlpError::ZeroBatchSize`] for a `batch_size` of 0;
/// [`MlpError::NoExamples`] for empty data (an accuracy over nothing would be a made-up 0);
/// an example that does not fit the network or holds a NaN or an infinity; a data source's
/// own error; a device that fails to return results.
pub fn evaluate(
    model: &Mlp,
    data: &dyn ClassificationData,
    batch_size: usize,
) -> Result<Evaluation, MlpError> {
    evaluate_on(model, data, batch_size)
}

pub(crate) fn evaluate_on(
    model: &Mlp,
    data: &dyn ClassificationData,
    batch_size: usize,
) -> Result<Evaluation, MlpError> {
    if batch_size == 0 {
        return Err(MlpError::ZeroBatchSize);
    }
    if data.is_empty() {
        return Err(MlpError::NoExamples);
    }
    let device = model.output.weight.device();
    let sizes = MlpConfig::new()
        .with_input_size(model.input_size())
        .with_output_size(model.output_size());
    let classes = model.output_size();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut confusion = vec![vec![0u64; classes]; classes];
    let mut loss_sum = 0.0;
    let n = data.len();
    let indices: Vec<usize> = (0..n).collect();
    for chunk in indices.chunks(batch_size) {
        let (x, y) = batch(data, chunk, &sizes, &device)?;
        let logits = model.forward(x);
        let loss = loss_fn.forward(logits.clone(), y.clone());
        loss_sum += f64::from(
            loss.try_into_scalar::<f32>()
                .map_err(kiln_core::DeviceError::new)?,
        ) * chunk.len() as f64;
        let predicted = logits
            .argmax(1)
            .try_into_data()
            .map_err(kiln_core::DeviceError::new)?;
        let truth = y.try_into_data().map_err(kiln_core::DeviceError::new)?;
        for (t, p) in truth.iter::<i64>().zip(predicted.iter::<i64>()) {
            if let (Ok(t), Ok(p)) = (usize::try_from(t), usize::try_from(p))
                && let Some(cell) = confusion.get_mut(t).and_then(|row| row.get_mut(p))
            {
                *cell += 1;
            }
        }
    }
    let correct: u64 = (0..classes).map(|i| confusion[i][i]).sum();
    Ok(Evaluation {
        accuracy: correct as f64 / n.max(1) as f64,
        mean_loss: loss_sum / n.max(1) as f64,
        confusion,
    })
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
