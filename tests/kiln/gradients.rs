//! Autodiff gradients of a tiny MLP match central finite differences, for each activation,
//! both for the input and for the first layer's weights (the whole chain of layers).

use burn::module::Param;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use kiln::mlp::{Activation, Mlp, MlpConfig};

use super::common::cpu;

const H: f32 = 1e-3;

fn loss(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>) -> f32 {
    let l = CrossEntropyLossConfig::new()
        .init(&x.device())
        .forward(model.forward(x), y);
    l.into_scalar::<f32>()
}

fn tensor(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// `(f(v + h·e_i) − f(v − h·e_i)) / 2h` for every coordinate `i`.
fn central_differences(values: &[f32], f: impl Fn(&[f32]) -> f32) -> Vec<f32> {
    (0..values.len())
        .map(|i| {
            let mut plus = values.to_vec();
            let mut minus = values.to_vec();
            plus[i] += H;
            minus[i] -= H;
            (f(&plus) - f(&minus)) / (2.0 * H)
        })
        .collect()
}

fn assert_close(analytic: &[f32], numeric: &[f32], what: &str) {
    assert_eq!(analytic.len(), numeric.len());
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        let tol = 2e-3 + 2e-2 * n.abs();
        assert!(
            (a - n).abs() <= tol,
            "{what}[{i}]: autodiff {a}, finite difference {n}"
        );
    }
    assert!(
        analytic.iter().any(|g| g.abs() > 1e-3),
        "{what}: all gradients ~0, test is vacuous"
    );
}

#[test]
fn gradients_match_finite_differences_for_every_activation() {
    for activation in Activation::ALL {
        let device = cpu().autodiff();
        device.seed(11);
        let model = MlpConfig::new()
            .with_input_size(3)
            .with_hidden_sizes(vec![5, 4])
            .with_output_size(3)
            .with_activation(activation)
            .with_dropout(0.0)
            .init(&device)
            .unwrap();
        let x = Tensor::<2>::random([6, 3], Distribution::Normal(0.0, 1.0), &device);
        let xs = x.to_data().try_to_vec_as::<f32>().unwrap();
        let y =
            Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 0, 1, 2], [6]), &device);

        // Autodiff.
        let x_ad = x.require_grad();
        let l = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(model.forward(x_ad.clone()), y.clone());
        let grads = l.backward();
        let gx = x_ad
            .grad(&grads)
            .unwrap()
            .to_data()
            .try_to_vec_as::<f32>()
            .unwrap();
        let w = model.hidden[0].weight.val();
        let gw = w
            .grad(&grads)
            .unwrap()
            .to_data()
            .try_to_vec_as::<f32>()
            .unwrap();

        // Central differences on the input.
        let numeric_x =
            central_differences(&xs, |v| loss(&model, tensor(v, [6, 3], &device), y.clone()));
        assert_close(&gx, &numeric_x, &format!("{} d/dx", activation.name()));

        // Central differences on the first layer's weights.
        let ws = w.to_data().try_to_vec_as::<f32>().unwrap();
        let shape = model.hidden[0].weight.dims();
        let x_plain = tensor(&xs, [6, 3], &device);
        let numeric_w = central_differences(&ws, |v| {
            let mut m = model.clone();
            m.hidden[0].weight = Param::from_tensor(tensor(v, shape, &device));
            loss(&m, x_plain.clone(), y.clone())
        });
        assert_close(&gw, &numeric_w, &format!("{} d/dW1", activation.name()));
    }
}
