//! Pretrained classifiers (feature `pretrained`), compiled into the crate: no download, no
//! run folder.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use kiln_mlp::pretrained::PretrainedMlp;
//! # fn main() -> Result<(), kiln_mlp::MlpError> {
//! let device = Device::flex();
//! let mlp = PretrainedMlp::Mnist.load(&device)?;
//! // Images as 784 values each, standardised with the dataset's mean and standard
//! // deviation (kiln-data's `DatasetKind::standardization`).
//! let logits = mlp.forward(Tensor::<2>::zeros([2, 784], &device));
//! assert_eq!(logits.dims(), [2, 10]);
//! # Ok(()) }
//! ```
//!
//! Each file is also a PyTorch `state_dict` for `Mlp` in `python/kiln_torch.py`.

use burn::tensor::Device;
use kiln_core::{Precision, Pretrained};

use crate::{Mlp, MlpConfig, MlpError};

/// The classifiers kiln ships, each `784 → 512 → 256 → 10` with ReLU (the `mlp` example's
/// defaults), trained by the `mlp` example and stored in f16 (`crates/kiln-mlp/pretrained/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PretrainedMlp {
    /// MNIST's digits.
    Mnist,
    /// Fashion-MNIST's clothes.
    FashionMnist,
}

kiln_core::named_enum!(PretrainedMlp, "pretrained MLP", { Mnist => "mnist", FashionMnist => "fashion-mnist" });

const MNIST: Pretrained = Pretrained {
    name: "mlp-mnist",
    dataset: "MNIST (the first 55,000 training images; 5,000 held out to validate)",
    metric: "98.64% test accuracy (cargo run --release --example mlp -- --eval pretrained)",
    command: "cargo run --release --example mlp -- --dataset mnist --epochs 10 --backend flex \
              && cargo run --release --example mlp -- --dataset mnist \
              --export crates/kiln-mlp/pretrained/mlp-mnist.safetensors --half",
    sha256: "22c2bbafc3c263252698aeb272a00b7c2ef405301aa86ad2a15b23fccb3e8df1",
    precision: Precision::F16,
    bytes: include_bytes!("../pretrained/mlp-mnist.safetensors"),
};

const FASHION_MNIST: Pretrained = Pretrained {
    name: "mlp-fashion-mnist",
    dataset: "Fashion-MNIST (the first 55,000 training images; 5,000 held out to validate)",
    metric: "89.65% test accuracy (cargo run --release --example mlp -- --eval pretrained \
             --dataset fashion-mnist)",
    command: "cargo run --release --example mlp -- --dataset fashion-mnist --epochs 10 \
              --backend flex && cargo run --release --example mlp -- --dataset fashion-mnist \
              --export crates/kiln-mlp/pretrained/mlp-fashion-mnist.safetensors --half",
    sha256: "440f29ef94f3c9d9ae82b9b2fdf85362d68264b0708aa310e19f44b09c723bb3",
    precision: Precision::F16,
    bytes: include_bytes!("../pretrained/mlp-fashion-mnist.safetensors"),
};

impl PretrainedMlp {
    /// Where the weights came from, what they reached, and the file itself.
    pub fn weights(self) -> &'static Pretrained {
        match self {
            PretrainedMlp::Mnist => &MNIST,
            PretrainedMlp::FashionMnist => &FASHION_MNIST,
        }
    }

    /// The network the weights are for.
    pub fn config(self) -> MlpConfig {
        MlpConfig::new()
    }

    /// The network with the pretrained weights, on `device`.
    ///
    /// # Errors
    /// [`MlpError::Weights`] if the compiled-in file does not fit the network (a defect of
    /// the build, reported rather than panicking).
    pub fn load(self, device: &Device) -> Result<Mlp, MlpError> {
        let mut mlp = self.config().init(device)?;
        self.weights().load_into(&mut mlp)?;
        Ok(mlp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_loads_into_its_network() {
        let device = Device::flex();
        for p in PretrainedMlp::ALL {
            let mlp = p.load(&device).unwrap();
            assert_eq!((mlp.input_size(), mlp.output_size()), (784, 10));
            assert_eq!(p.name().parse::<PretrainedMlp>(), Ok(p));
        }
    }
}
