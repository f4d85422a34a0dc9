//! A pretrained generator (feature `pretrained`), compiled into the crate: no download, no
//! run folder.
//!
//! ```
//! use burn::tensor::Device;
//! use kiln_dcgan::pretrained::PretrainedGenerator;
//! use kiln_dcgan::{Rng, latent};
//! # fn main() -> Result<(), kiln_dcgan::DcganError> {
//! let device = Device::flex();
//! let generator = PretrainedGenerator::Mnist.load(&device)?;
//! let z = latent(4, generator.latent_size(), &mut Rng::new(7), &device);
//! assert_eq!(generator.forward(z).dims(), [4, 1, 28, 28]); // in [−1, 1]
//! # Ok(()) }
//! ```
//!
//! The file is also a PyTorch `state_dict` for `Generator` in `python/kiln_torch.py`.

use burn::tensor::Device;
use kiln_core::{Precision, Pretrained};

use crate::{DcganError, Generator, GeneratorConfig};

/// The generators kiln ships: the `dcgan` example's defaults (z = 100, 28×28, one channel,
/// 64 features), kiln's recipe (the generator's average after 10 epochs), stored in f16
/// (`crates/kiln-dcgan/pretrained/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PretrainedGenerator {
    /// MNIST's digits.
    Mnist,
}

kiln_core::named_enum!(PretrainedGenerator, "pretrained generator", { Mnist => "mnist" });

const MNIST: Pretrained = Pretrained {
    name: "dcgan-mnist-generator",
    dataset: "MNIST (all 60,000 training images)",
    metric: "Fréchet distance 32.91, class coverage 9.91 of 10 (10,000 samples, judge: the \
             pretrained MNIST classifier; cargo run --release --example dcgan -- --generate \
             pretrained --judge pretrained --quality-samples 10000 --backend flex)",
    command: "OMP_NUM_THREADS=1 cargo run --release --example dcgan -- --epochs 10 --backend tch \
              --judge pretrained --quality-samples 10000 && cargo run --release --example dcgan -- \
              --export crates/kiln-dcgan/pretrained/dcgan-mnist-generator.safetensors --half",
    sha256: "c515785775c1916efc0500caa8cfccdf93f6164f19fb91b4ce1fa74c97366590",
    precision: Precision::F16,
    bytes: include_bytes!("../pretrained/dcgan-mnist-generator.safetensors"),
};

impl PretrainedGenerator {
    /// Where the weights came from, what they reached, and the file itself.
    pub fn weights(self) -> &'static Pretrained {
        match self {
            PretrainedGenerator::Mnist => &MNIST,
        }
    }

    /// The generator the weights are for.
    pub fn config(self) -> GeneratorConfig {
        GeneratorConfig::new()
    }

    /// The generator with the pretrained weights, on `device`.
    ///
    /// # Errors
    /// [`DcganError::Weights`] if the compiled-in file does not fit the network (a defect of
    /// the build, reported rather than panicking).
    pub fn load(self, device: &Device) -> Result<Generator, DcganError> {
        let mut generator = self.config().init(device)?;
        self.weights().load_into(&mut generator)?;
        Ok(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_loads_into_its_network() {
        let device = Device::flex();
        for p in PretrainedGenerator::ALL {
            let g = p.load(&device).unwrap();
            assert_eq!(g.latent_size(), 100);
            assert_eq!(p.name().parse::<PretrainedGenerator>(), Ok(p));
        }
    }
}
