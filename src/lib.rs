//! kiln: ready-to-use machine-learning models on Burn 0.22, on every backend.
//!
//! The model crates are re-exported here; this root package also owns the backend
//! features and the one place that turns a backend name into a device ([`backend`]).
//!
//! ```no_run
//! use kiln::backend;
//! use kiln::mlp::{MlpConfig, Activation};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (backend, device) = backend::select(None)?; // the best backend compiled in
//! let mlp = MlpConfig::new()
//!     .with_hidden_sizes(vec![128, 64])
//!     .with_activation(Activation::Tanh)
//!     .init(&device)?;
//! let x = burn::tensor::Tensor::<2>::zeros([4, 784], &device);
//! assert_eq!(mlp.forward(x).dims(), [4, 10]);
//! println!("ran on {backend}");
//! # Ok(())
//! # }
//! ```

pub mod backend;
pub mod cli;

pub use kiln_cluster as cluster;
pub use kiln_data as data;
pub use kiln_dcgan as dcgan;
pub use kiln_mlp as mlp;
pub use kiln_plot as plot;
pub use kiln_rl as rl;
pub use kiln_train as train;
