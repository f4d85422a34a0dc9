//! (a) kiln's `Mlp` as one layer of the application's own `#[derive(Module)]`, trained in the
//! application's own loop, saved and reloaded.

use std::path::Path;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Distribution, Tensor, activation};
use kiln_mlp::{Mlp, MlpConfig};

use crate::Error;

/// The application's model: its own input layer, then kiln's MLP.
#[derive(Module, Debug)]
pub struct Regressor {
    /// The application's own layer: 2 inputs to 16 features.
    pub embed: Linear,
    /// kiln's network on top: 16 → 32 → 1.
    pub body: Mlp,
}

impl Regressor {
    /// A fresh model on `device`.
    pub fn new(device: &Device) -> Result<Self, Error> {
        Ok(Self {
            embed: LinearConfig::new(2, 16).init(device),
            body: MlpConfig::new()
                .with_input_size(16)
                .with_hidden_sizes(vec![32])
                .with_output_size(1)
                .with_dropout(0.0)
                .init(device)?,
        })
    }

    /// `[batch, 2]` → `[batch, 1]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.body.forward(activation::tanh(self.embed.forward(x)))
    }
}

/// What the run measured.
#[derive(Debug)]
pub struct Report {
    /// Mean squared error on fresh points before training.
    pub mse_before: f64,
    /// The same after training.
    pub mse_after: f64,
    /// Largest difference between the trained and the reloaded model's outputs.
    pub reload_difference: f32,
}

/// Points in `[−1, 1]²` and the target `x₀·x₁ + 0.5·x₀` the model learns.
fn points(n: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x = Tensor::<2>::random([n, 2], Distribution::Uniform(-1.0, 1.0), device);
    let x0 = x.clone().narrow(1, 0, 1);
    let x1 = x.clone().narrow(1, 1, 1);
    let y = x0.clone() * x1 + x0 * 0.5;
    (x, y)
}

fn mse(model: &Regressor, x: Tensor<2>, y: Tensor<2>) -> f64 {
    let e = model.forward(x) - y;
    f64::from(e.powi_scalar(2).mean().into_scalar::<f32>())
}

/// Trains a [`Regressor`] for 400 Adam steps in the application's own loop, saves it to
/// `dir`, reloads it, and compares.
///
/// # Errors
/// A model that cannot be built, saved or loaded.
pub fn run(dir: &Path) -> Result<Report, Error> {
    let device = crate::device();
    device.seed(1);
    let train_device = device.clone().autodiff();
    let mut model = Regressor::new(&train_device)?;
    let mut optim = AdamConfig::new().init();
    let (test_x, test_y) = points(1000, &device);
    let mse_before = mse(&model.valid(), test_x.clone(), test_y.clone());
    for _ in 0..400 {
        let (x, y) = points(64, &train_device);
        let loss = (model.forward(x) - y).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    let trained = model.valid();
    let mse_after = mse(&trained, test_x.clone(), test_y);

    // Save with Burn's own record, reload into a fresh model.
    let path = dir.join("regressor.bpk");
    trained.clone().into_record().save(&path)?;
    let reloaded = Regressor::new(&device)?.try_load_record(ModuleRecord::load(&path)?)?;
    let a: Vec<f32> = trained
        .forward(test_x.clone())
        .into_data()
        .iter::<f32>()
        .collect();
    let b: Vec<f32> = reloaded.forward(test_x).into_data().iter::<f32>().collect();
    let reload_difference = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max);
    Ok(Report {
        mse_before,
        mse_after,
        reload_difference,
    })
}
