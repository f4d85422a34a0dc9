//! The MLP's PyTorch weights (feature `pytorch`), in this crate alone: what does not fit is a
//! typed error that names it, the network is left as it was, an `nn.Sequential`'s names
//! (CleanRL's Q-network) are understood, and f16 files read back. Agreement with PyTorch
//! itself is tested in the root package (tests/kiln/pytorch.rs), which runs Python.
#![cfg(feature = "pytorch")]

use std::path::Path;

use burn::store::{BurnToPyTorchAdapter, KeyRemapper, ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Tensor, TensorData};
use kiln_mlp::{Mlp, MlpConfig, Precision, PytorchWeights, WeightsError};

fn mlp(inputs: usize, hidden: &[usize], seed: u64) -> Mlp {
    MlpConfig::new()
        .with_input_size(inputs)
        .with_hidden_sizes(hidden.to_vec())
        .with_output_size(3)
        .with_dropout(0.0)
        .init_seeded(&Device::flex(), seed)
        .unwrap()
}

fn outputs(m: &Mlp) -> Vec<f32> {
    let n = m.input_size();
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..2 * n).map(|i| (i as f32 * 0.37).sin()).collect(),
            [2, n],
        ),
        &Device::flex(),
    );
    m.forward(x).into_data().iter::<f32>().collect()
}

fn saved(m: &Mlp, dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    m.save_pytorch(&path).unwrap();
    path
}

#[test]
fn a_round_trip_keeps_the_outputs_and_a_load_replaces_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let file = saved(&mlp(12, &[8], 1), dir.path(), "a.safetensors");
    let mut other = mlp(12, &[8], 2);
    assert_ne!(outputs(&other), outputs(&mlp(12, &[8], 1)));
    other.load_pytorch(&file).unwrap();
    assert_eq!(outputs(&other), outputs(&mlp(12, &[8], 1)));
}

#[test]
fn missing_and_unexpected_tensors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let shallow = saved(&mlp(12, &[8], 1), dir.path(), "shallow.safetensors");
    let deep = saved(&mlp(12, &[8, 8], 1), dir.path(), "deep.safetensors");
    let mut net = mlp(12, &[8, 8], 3);
    let before = outputs(&net);
    match net.load_pytorch(&shallow) {
        Err(WeightsError::Keys {
            missing,
            unexpected,
            model: "MLP",
            ..
        }) => {
            assert_eq!(missing, ["hidden.1.bias", "hidden.1.weight"]);
            assert!(unexpected.is_empty(), "{unexpected:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(outputs(&net), before, "a failed load changed the network");
    let mut net = mlp(12, &[8], 3);
    let err = net.load_pytorch(&deep).unwrap_err();
    match &err {
        WeightsError::Keys {
            missing,
            unexpected,
            ..
        } => {
            assert!(missing.is_empty(), "{missing:?}");
            assert_eq!(unexpected, &["hidden.1.bias", "hidden.1.weight"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("unexpected hidden.1.bias"),
        "{err}"
    );
}

#[test]
fn a_shape_that_does_not_fit_is_named_in_pytorchs_layout() {
    let dir = tempfile::tempdir().unwrap();
    let file = saved(&mlp(12, &[8], 1), dir.path(), "a.safetensors");
    let mut net = mlp(13, &[8], 3);
    let before = outputs(&net);
    match net.load_pytorch(&file) {
        Err(WeightsError::Shape {
            key,
            expected,
            found,
            ..
        }) => {
            assert_eq!(key, "hidden.0.weight");
            // nn.Linear's [out, in].
            assert_eq!((expected, found), (vec![8, 13], vec![8, 12]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(outputs(&net), before);
}

#[test]
fn files_that_are_not_weights_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = mlp(12, &[8], 1);
    let garbage = b"this is not a tensor file at all";
    for name in ["g.safetensors", "g.pt", "g.pth"] {
        std::fs::write(dir.path().join(name), garbage).unwrap();
        let err = net.load_pytorch(&dir.path().join(name)).unwrap_err();
        assert!(matches!(err, WeightsError::Read { .. }), "{name}: {err:?}");
    }
    let err = net.load_pytorch(&dir.path().join("absent.pt")).unwrap_err();
    assert!(matches!(err, WeightsError::Read { .. }), "{err:?}");
    let err = net.load_pytorch(&dir.path().join("g.bin")).unwrap_err();
    assert!(matches!(err, WeightsError::Format { .. }), "{err:?}");
    let err = net
        .load_safetensors_bytes(garbage, "some bytes")
        .unwrap_err();
    assert!(err.to_string().contains("some bytes"), "{err}");
}

#[test]
fn an_nn_sequentials_names_load_as_cleanrls_q_network() {
    // CleanRL's QNetwork: self.network = nn.Sequential(Linear, ReLU, Linear, ReLU, Linear).
    let source = mlp(4, &[6, 5], 1);
    let mut store = SafetensorsStore::from_bytes(None)
        .with_to_adapter(BurnToPyTorchAdapter)
        .remap(
            KeyRemapper::new()
                .add_pattern(r"^hidden\.0\.", "network.0.")
                .unwrap()
                .add_pattern(r"^hidden\.1\.", "network.2.")
                .unwrap()
                .add_pattern(r"^output\.", "network.4.")
                .unwrap(),
        );
    source.save_into(&mut store).unwrap();
    let bytes = store.get_bytes().unwrap();
    let mut net = mlp(4, &[6, 5], 2);
    net.load_safetensors_bytes(&bytes, "cleanrl").unwrap();
    assert_eq!(outputs(&net), outputs(&source));
}

#[test]
fn half_precision_files_are_half_the_size_and_read_back() {
    let source = mlp(64, &[32], 1);
    let full = source.to_safetensors(Precision::F32).unwrap();
    let half = source.to_safetensors(Precision::F16).unwrap();
    assert!(
        half.len() * 10 < full.len() * 6,
        "{} vs {}",
        half.len(),
        full.len()
    );
    let mut net = mlp(64, &[32], 2);
    net.load_safetensors_bytes(&half, "half").unwrap();
    let (a, b) = (outputs(&net), outputs(&source));
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(diff > 0.0 && diff < 1e-2, "{diff}");
}
