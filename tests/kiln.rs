//! kiln's cross-crate and cross-backend tests, in one binary so that the workspace links
//! Burn's backends once.
//!
//! Tests that need real images use the committed sample in `tests/fixtures/data/` (the
//! first 4,000 training and 1,000 test images of MNIST and Fashion-MNIST). Tests that need
//! the full datasets (sizes, class balance, full-set accuracy, the real checksums) read them
//! from `KILN_DATA_DIR` or kiln's download cache, and skip with a line on standard error when
//! they are not there, unless `KILN_REQUIRE_FULL_DATA=1` (CI), which makes that a failure.
//! No test touches the network: the downloader's tests talk to a server they start on
//! 127.0.0.1.

mod kiln {
    mod cluster;
    pub mod common;
    mod contract;
    mod cross_backend;
    mod data_real;
    mod dcgan;
    mod dqn;
    mod faults;
    mod features;
    mod fetch;
    mod fuzz;
    mod gradients;
    mod hostile;
    mod layers;
    mod mlp_training;
    mod pytorch;
    #[cfg(feature = "remote-server")]
    mod remote;
    mod save_reload;
    #[cfg(feature = "remote-server")]
    mod strangers;
}
