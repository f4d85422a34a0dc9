//! W1: MLP 784-512-256-10, ReLU, Adam lr 1e-3, batch 128, f32.
//! Training samples/s (forward, backward, Adam step) and inference samples/s at batch 1024.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use kiln::backend::Backend;
use kiln::cli::AnyError;
use kiln::mlp::{Activation, Mlp, MlpConfig};

use crate::timing::{Environment, per_second};
use crate::{Row, torch_runner};

const TRAIN_BATCH: usize = 128;
const INFER_BATCH: usize = 1024;

fn config() -> MlpConfig {
    MlpConfig::new()
        .with_input_size(784)
        .with_hidden_sizes(vec![512, 256])
        .with_output_size(10)
        .with_activation(Activation::Relu)
        .with_dropout(0.0)
}

fn sync(device: &Device) {
    device.sync().expect("device sync");
}

/// Training samples per second on `device`.
pub fn train_rate(device: &Device, seconds: f64) -> Result<f64, AnyError> {
    device.seed(0);
    let device = device.clone().autodiff();
    let mut model: Option<Mlp> = Some(config().init(&device)?);
    let mut optim = AdamConfig::new().init();
    let x = Tensor::<2>::random([TRAIN_BATCH, 784], Distribution::Default, &device);
    let labels: Vec<i64> = (0..TRAIN_BATCH as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [TRAIN_BATCH]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let rate = per_second(
        10,
        seconds,
        20,
        || {
            let m = model.take().expect("model");
            let loss = loss_fn.forward(m.forward(x.clone()), y.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            model = Some(optim.step(1e-3, m, grads));
        },
        || sync(&device),
    );
    Ok(rate * TRAIN_BATCH as f64)
}

/// Inference samples per second on `device` at batch 1024.
pub fn infer_rate(device: &Device, seconds: f64) -> Result<f64, AnyError> {
    device.seed(0);
    let model = config().init(device)?;
    let x = Tensor::<2>::random([INFER_BATCH, 784], Distribution::Default, device);
    let rate = per_second(
        3,
        seconds,
        5,
        || {
            let _ = model.forward(x.clone());
        },
        || sync(device),
    );
    Ok(rate * INFER_BATCH as f64)
}

/// W1 on every backend given, plus PyTorch where it is installed and wanted.
pub fn run(
    backends: &[Backend],
    seconds: f64,
    pytorch: bool,
    torch_device: &str,
) -> Result<Vec<Row>, AnyError> {
    let mut rows = Vec::new();
    let row = |metric: &str, runner: &str, value: f64| Row::new("W1", metric, runner, value);
    for (backend, device) in crate::working(backends, "W1") {
        let train = train_rate(&device, seconds)?;
        let infer = infer_rate(&device, seconds)?;
        eprintln!("W1 {backend}: train {train:.0} samples/s, inference {infer:.0} samples/s");
        rows.push(row("train samples/s", backend.name(), train));
        rows.push(row("infer samples/s (batch 1024)", backend.name(), infer));
    }
    if pytorch {
        let threads = Environment::capture().threads();
        match crate::timing::python_reference(
            "w1.py",
            seconds,
            threads,
            &["--device", torch_device],
        ) {
            Ok(v) => {
                let get = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
                if let (Some(t), Some(i)) = (get("train_samples_per_s"), get("infer_samples_per_s"))
                {
                    eprintln!("W1 pytorch ({threads} threads): train {t:.0}, inference {i:.0}");
                    rows.push(row("train samples/s", &torch_runner(torch_device), t));
                    rows.push(row(
                        "infer samples/s (batch 1024)",
                        &torch_runner(torch_device),
                        i,
                    ));
                }
            }
            Err(reason) => eprintln!("W1: no PyTorch column: {reason}"),
        }
    }
    Ok(rows)
}
