//! kiln's cross-crate and cross-backend tests, in one binary so that the workspace links
//! Burn's backends once.
//!
//! Tests that need MNIST or Fashion-MNIST read them from `KILN_DATA_DIR`, else from
//! `../shared/data` beside the checkout (the layout of kiln's CI), and fail with a message
//! saying so when neither has them: they never touch the network.

mod kiln {
    mod cluster;
    pub mod common;
    mod cross_backend;
    mod data_real;
    mod dcgan;
    mod dqn;
    mod fuzz;
    mod gradients;
    mod layers;
    mod mlp_training;
    mod save_reload;
}
