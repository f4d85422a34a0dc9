//! (f) Pretrained weights and PyTorch, with the model crates' `pretrained` feature: kiln's
//! generator draws digits that kiln's pretrained classifier reads, the pretrained Q-network
//! balances CartPole, and the classifier goes out to a PyTorch `state_dict` and back.

use std::path::Path;

use burn::tensor::Tensor;
use kiln_dcgan::pretrained::PretrainedGenerator;
use kiln_dcgan::{Rng, latent};
use kiln_mlp::PytorchWeights;
use kiln_mlp::pretrained::PretrainedMlp;
use kiln_rl::pretrained::PretrainedDqn;

use crate::{Error, device};

/// What the pretrained networks did.
#[derive(Debug)]
pub struct Report {
    /// Distinct digits the classifier saw among 200 generated images.
    pub digits_seen: usize,
    /// Mean return of the Q-network over 10 greedy CartPole episodes.
    pub cartpole_return: f64,
    /// Largest difference of the classifier's logits after a PyTorch round trip.
    pub round_trip_difference: f32,
}

/// Runs the three; `dir` receives the exported file.
pub fn run(dir: &Path) -> Result<Report, Error> {
    let device = device();
    let generator = PretrainedGenerator::Mnist.load(&device)?;
    let classifier = PretrainedMlp::Mnist.load(&device)?;
    let images = generator.forward(latent(200, 100, &mut Rng::new(3), &device));
    // [−1, 1] → [0, 1] → standardised as the classifier was trained (MNIST's mean and std).
    let input = ((images.flatten::<2>(1, 3) + 1.0) * 0.5 - 0.1307) / 0.3081;
    let logits = classifier.forward(input.clone());
    let classes: Vec<i64> = logits.clone().argmax(1).into_data().iter::<i64>().collect();
    let mut seen = classes.clone();
    seen.sort_unstable();
    seen.dedup();

    let q = PretrainedDqn::CartPole.load(&device)?;
    let returns = kiln_rl::evaluate(&q, &mut kiln_rl::CartPole::new(0), 10, 1)?;

    let file = dir.join("classifier.safetensors");
    classifier.save_pytorch(&file)?;
    let mut reloaded = kiln_mlp::MlpConfig::new().init(&device)?;
    reloaded.load_pytorch(&file)?;
    let again: Tensor<2> = reloaded.forward(input);
    let difference = (logits - again).abs().max().into_scalar();
    Ok(Report {
        digits_seen: seen.len(),
        cartpole_return: returns.iter().sum::<f64>() / returns.len() as f64,
        round_trip_difference: difference,
    })
}
