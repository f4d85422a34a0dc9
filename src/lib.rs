//! kiln: ready-to-use machine-learning models on Burn 0.22, on every backend.
//!
//! The model crates are re-exported here with their run layers on; this root package also
//! owns the backend features and the one place that turns a backend name into a device
//! ([`backend`]). An application that only needs a model depends on its crate instead
//! (`kiln-mlp`, `kiln-dcgan`, `kiln-rl`, `kiln-cluster`), with `default-features = false`
//! for the core alone: see `docs/embedding.md`.
//!
//! ```
//! use kiln::backend;
//! use kiln::mlp::{MlpConfig, Activation};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // flex, kiln's default backend; `select(None)` picks the best one compiled in.
//! let (backend, device) = backend::select(Some("flex"))?;
//! let mlp = MlpConfig::new()
//!     .with_hidden_sizes(vec![128, 64])
//!     .with_activation(Activation::Tanh)
//!     .init(&device)?;
//! let x = burn::tensor::Tensor::<2>::zeros([4, 784], &device); // 784 inputs, 10 outputs by default
//! assert_eq!(mlp.forward(x).dims(), [4, 10]);
//! println!("ran on {backend}");
//! # Ok(())
//! # }
//! ```

pub mod backend;
pub mod cli;
#[cfg(feature = "remote")]
pub mod remote;

pub use kiln_cluster as cluster;
pub use kiln_data as data;
pub use kiln_dcgan as dcgan;
pub use kiln_mlp as mlp;
pub use kiln_plot as plot;
pub use kiln_rl as rl;
pub use kiln_train as train;

/// The vocabulary every model shares (from `kiln-core`): the seeded host generator and the
/// progress callback's types.
pub use kiln_core::{
    ControlFlow, Progress, Rng, Unit, UnknownName, catch_panic, silent, write_atomic,
};
