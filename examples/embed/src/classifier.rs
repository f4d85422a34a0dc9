//! (b) kiln's MLP classifier trained in memory on the application's own data: three classes
//! of 20-dimensional points, no files, no MNIST.

use kiln_mlp::{ControlFlow, Labelled, MlpConfig, MlpTrainingConfig, Rng, evaluate, train};

use crate::Error;

/// What the run measured.
#[derive(Debug)]
pub struct Report {
    /// Accuracy on 300 held-out points.
    pub test_accuracy: f64,
    /// Epochs run (the callback stops the run once validation accuracy reaches 99%).
    pub epochs: usize,
}

/// `n` points around three centres in 20 dimensions, class = centre.
pub fn three_classes(n: usize, seed: u64) -> Vec<Labelled> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let class = i % 3;
            let features = (0..20)
                .map(|d| {
                    let centre = if d % 3 == class { 1.5 } else { 0.0 };
                    (centre + rng.normal()) as f32
                })
                .collect();
            Labelled::new(features, class)
        })
        .collect()
}

/// Trains a 20 → 32 → 3 classifier on 900 points, validating on 150 and stopping at 99%.
///
/// # Errors
/// A config or data error from kiln-mlp.
pub fn run() -> Result<Report, Error> {
    let device = crate::device();
    let (train_data, valid, test) = (
        three_classes(900, 1),
        three_classes(150, 2),
        three_classes(300, 3),
    );
    let config = MlpTrainingConfig::new()
        .with_model(
            MlpConfig::new()
                .with_input_size(20)
                .with_hidden_sizes(vec![32])
                .with_output_size(3),
        )
        .with_epochs(30)
        .with_batch_size(32);
    let trained = train(&config, &train_data, Some(&valid), &device, |p| {
        match p.metric("valid_accuracy") {
            Some(a) if a >= 0.99 => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    })?;
    let test_accuracy = evaluate(&trained.model, &test, 100)?.accuracy;
    Ok(Report {
        test_accuracy,
        epochs: trained.metrics.len(),
    })
}
