//! kiln inside someone else's Burn application: the uses `docs/embedding.md` walks through,
//! each a function that returns what it measured. `cargo test -p
//! kiln-embed-example` runs them and checks the results; `cargo run -p kiln-embed-example`
//! prints them.
//!
//! The crate depends on `kiln-mlp`, `kiln-dcgan`, `kiln-rl` and `kiln-cluster` with their
//! default features off, as an application that wants the models and not kiln's run folders,
//! datasets or plots would; `pretrained` (and so `pytorch`) is on for the last use.

pub mod classifier;
pub mod clustering;
pub mod dqn;
pub mod gan;
pub mod own_model;
pub mod pretrained;

/// Any error of the uses, for `?`.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The application's device: flex, the portable CPU backend it was built with.
pub fn device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}
