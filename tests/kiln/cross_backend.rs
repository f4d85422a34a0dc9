//! The same weights give the same logits on every backend compiled in.

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Tensor, TensorData};
use kiln::mlp::{Activation, MlpConfig};

use super::common::{cross_backends, max_abs_diff};

#[test]
fn same_weights_same_logits_on_every_backend() {
    let all = cross_backends("same_weights_same_logits_on_every_backend");
    let names: Vec<_> = all.iter().map(|(b, _)| b.name()).collect();
    println!("cross-backend MLP test runs on: {}", names.join(", "));
    for activation in Activation::ALL {
        let config = MlpConfig::new()
            .with_hidden_sizes(vec![64, 32])
            .with_activation(activation);
        let (ref_backend, ref_device) = &all[0];
        let reference = config.init(ref_device).unwrap();
        let bytes = reference.clone().into_record().into_bytes().unwrap();
        // Deterministic input in [0, 1).
        let input: Vec<f32> = (0..16 * 784)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let x = |device| Tensor::<2>::from_data(TensorData::new(input.clone(), [16, 784]), device);
        let expected = reference.forward(x(ref_device)).into_data();

        for (backend, device) in &all[1..] {
            let record = ModuleRecord::from_bytes(bytes.clone()).unwrap();
            let model = config
                .init(device)
                .unwrap()
                .try_load_record(record)
                .unwrap();
            let got = model.forward(x(device)).into_data();
            let (e, g) = (
                expected.try_to_vec_as::<f32>().unwrap(),
                got.try_to_vec_as::<f32>().unwrap(),
            );
            let worst = max_abs_diff(&e, &g);
            assert!(
                worst <= 1e-4,
                "{activation:?}: {backend} differs from {ref_backend} by {worst}"
            );
            println!("{activation:?}: {backend} matches {ref_backend} (max |Δ| {worst:.1e})");
        }
    }
}
