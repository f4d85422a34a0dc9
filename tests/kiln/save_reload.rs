//! Saving and reloading a model gives bit-identical outputs, and bad files are clear errors.

use burn::tensor::{Distribution, Tensor};
use kiln::mlp::{Activation, MlpConfig};
use kiln::train::RunError;

use super::common::backends;

#[test]
fn save_then_reload_gives_bit_identical_outputs_on_every_backend() {
    for (backend, device) in backends() {
        let config = MlpConfig::new()
            .with_hidden_sizes(vec![32, 16])
            .with_activation(Activation::Sigmoid);
        let model = config.init(&device).unwrap();
        let x = Tensor::<2>::random([8, 784], Distribution::Default, &device);
        let outputs = |m: &kiln::mlp::Mlp| {
            m.forward(x.clone())
                .into_data()
                .try_to_vec_as::<f32>()
                .unwrap()
        };
        // With autotuning (wgpu) the first pass of a shape may run another kernel than the
        // later ones, which rounds differently: warm up, and compare the original and the
        // reloaded model on consecutive passes.
        outputs(&model);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mlp.bpk");
        kiln::train::save_module(model.clone(), &path).unwrap();
        // A freshly initialised model has other weights...
        let fresh = config.init(&device).unwrap();
        let other = outputs(&fresh);
        assert_ne!(
            outputs(&model),
            other,
            "{backend}: two inits gave the same weights"
        );
        // ...until the saved ones are loaded.
        let reloaded = kiln::train::load_module(fresh, &path).unwrap();
        let before = outputs(&model);
        let after = outputs(&reloaded);
        assert_eq!(before, after, "{backend}: reloaded model differs");
        println!("save/reload bit-identical on {backend}");
    }
}

#[test]
fn loading_weights_of_another_shape_is_an_error() {
    let (_, device) = backends().remove(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.bpk");
    let small = MlpConfig::new()
        .with_hidden_sizes(vec![8])
        .init(&device)
        .unwrap();
    kiln::train::save_module(small, &path).unwrap();
    let big = MlpConfig::new()
        .with_hidden_sizes(vec![16])
        .init(&device)
        .unwrap();
    let err = kiln::train::load_module(big, &path).unwrap_err();
    assert!(matches!(err, RunError::Weights { .. }), "{err}");
}

#[test]
fn loading_a_corrupt_file_is_an_error() {
    let (_, device) = backends().remove(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.bpk");
    std::fs::write(&path, b"not a burnpack file").unwrap();
    let model = MlpConfig::new().init(&device).unwrap();
    let err = kiln::train::load_module(model, &path).unwrap_err();
    assert!(matches!(err, RunError::Weights { .. }), "{err}");
}
