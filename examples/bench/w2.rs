//! W2: kiln's DCGAN (generator z = 100 → 28×28, discriminator 28×28 → logit) at batch 64.
//! One iteration = one discriminator step on real + detached fake images, then one generator
//! step; iterations per second.

use burn::tensor::{Device, Tensor, TensorData};
use kiln::backend::Backend;
use kiln::cli::AnyError;
use kiln::dcgan::Rng;
use kiln::dcgan::{DiscriminatorConfig, Gan, GeneratorConfig, latent};

use crate::timing::{Environment, per_second};
use crate::{Row, torch_runner};

const BATCH: usize = 64;
/// Warm-up iterations and the fewest timed iterations, the same on both sides (passed to
/// `bench/python/w2.py`): ndarray takes ~11 s for one iteration here.
const WARMUP: usize = 2;
const MIN_ITERS: usize = 5;

/// Iterations per second on `device`.
fn rate(device: &Device, seconds: f64) -> Result<f64, AnyError> {
    let train = device.clone().autodiff();
    let mut gan = Gan::new(
        GeneratorConfig::new().init_seeded(&train, 0)?,
        DiscriminatorConfig::new().init_seeded(&train, 1)?,
        2e-4,
    );
    let mut rng = Rng::new(2);
    let pixels: Vec<f32> = (0..BATCH * 784)
        .map(|_| rng.uniform(-1.0, 1.0) as f32)
        .collect();
    let real = Tensor::<4>::from_data(TensorData::new(pixels, [BATCH, 1, 28, 28]), &train);
    Ok(per_second(
        WARMUP,
        seconds,
        MIN_ITERS,
        || {
            let z = latent(BATCH, 100, &mut rng, &train);
            // No read-back, as PyTorch's step (w2.py) does none.
            let _ = gan.step_on_device(real.clone(), z);
        },
        || device.sync().expect("device sync"),
    ))
}

/// W2 on every backend given, plus PyTorch where installed.
pub fn run(
    backends: &[Backend],
    seconds: f64,
    pytorch: bool,
    torch_device: &str,
) -> Result<Vec<Row>, AnyError> {
    let mut rows = Vec::new();
    let row =
        |runner: &str, value: f64| Row::new("W2", "DCGAN iterations/s (batch 64)", runner, value);
    for (backend, device) in crate::working(backends, "W2") {
        let r = rate(&device, seconds)?;
        eprintln!("W2 {backend}: {r:.2} iterations/s");
        rows.push(row(backend.name(), r));
    }
    if pytorch {
        let threads = Environment::capture().threads();
        match crate::timing::python_reference(
            "w2.py",
            seconds,
            threads,
            &[
                "--device",
                torch_device,
                "--warmup",
                &WARMUP.to_string(),
                "--min-iters",
                &MIN_ITERS.to_string(),
            ],
        ) {
            Ok(v) => {
                if let Some(r) = v
                    .get("iterations_per_s")
                    .and_then(serde_json::Value::as_f64)
                {
                    eprintln!("W2 pytorch ({threads} threads): {r:.2} iterations/s");
                    rows.push(row(&torch_runner(torch_device), r));
                }
            }
            Err(reason) => eprintln!("W2: no PyTorch column: {reason}"),
        }
    }
    Ok(rows)
}
