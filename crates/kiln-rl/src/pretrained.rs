//! A pretrained Q-network (feature `pretrained`), compiled into the crate: no download, no
//! run folder.
//!
//! ```
//! use burn::tensor::Device;
//! use kiln_rl::pretrained::PretrainedDqn;
//! use kiln_rl::{CartPole, evaluate};
//! # fn main() -> Result<(), kiln_rl::DqnError> {
//! let device = Device::flex();
//! let network = PretrainedDqn::CartPole.load(&device)?;
//! let returns = evaluate(&network, &mut CartPole::new(0), 3, 1_000_000)?;
//! assert_eq!(returns, [500.0; 3]);
//! # Ok(()) }
//! ```
//!
//! The file is also a PyTorch `state_dict` for `Mlp` in `python/kiln_torch.py`
//! (`Mlp(4, [120, 84], 2)`).

use burn::tensor::Device;
use kiln_core::{Precision, Pretrained};
use kiln_mlp::Mlp;

use crate::{DqnError, DqnTrainingConfig};

/// The Q-networks kiln ships: the `dqn` example's defaults (CleanRL's 4-120-84-2 with
/// ReLU), stored in f32 (`crates/kiln-rl/pretrained/`; 44 KB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PretrainedDqn {
    /// Gymnasium's CartPole-v1 (kiln's [`CartPole`](crate::CartPole)).
    CartPole,
}

kiln_core::named_enum!(PretrainedDqn, "pretrained Q-network", { CartPole => "cartpole" });

const CARTPOLE: Pretrained = Pretrained {
    name: "dqn-cartpole",
    dataset: "CartPole-v1 (kiln's Gymnasium-exact environment)",
    metric: "greedy return 500.0 ± 0.0 over 100 episodes (cargo run --release --example dqn \
             -- --eval pretrained)",
    command: "cargo run --release --example dqn -- --backend flex --seed 2 \
              && cargo run --release --example dqn -- \
              --export crates/kiln-rl/pretrained/dqn-cartpole.safetensors",
    sha256: "948ed9460f91072dfb1540a9c27a54a962a450eb8d112c3c40b5b35e7ad738bf",
    precision: Precision::F32,
    bytes: include_bytes!("../pretrained/dqn-cartpole.safetensors"),
};

impl PretrainedDqn {
    /// Where the weights came from, what they reached, and the file itself.
    pub fn weights(self) -> &'static Pretrained {
        match self {
            PretrainedDqn::CartPole => &CARTPOLE,
        }
    }

    /// The Q-network's training config (its `network` is the architecture).
    pub fn config(self) -> DqnTrainingConfig {
        DqnTrainingConfig::new()
    }

    /// The Q-network with the pretrained weights, on `device`.
    ///
    /// # Errors
    /// [`DqnError::Weights`] if the compiled-in file does not fit the network (a defect of
    /// the build, reported rather than panicking).
    pub fn load(self, device: &Device) -> Result<Mlp, DqnError> {
        let mut network = self.config().network.init(device)?;
        self.weights().load_into(&mut network)?;
        Ok(network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_loads_into_its_network() {
        let device = Device::flex();
        for p in PretrainedDqn::ALL {
            let q = p.load(&device).unwrap();
            assert_eq!((q.input_size(), q.output_size()), (4, 2));
            assert_eq!(p.name().parse::<PretrainedDqn>(), Ok(p));
        }
    }
}
