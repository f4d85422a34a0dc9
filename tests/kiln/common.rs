//! Helpers shared by the integration tests.

use std::path::PathBuf;

use kiln::backend::{self, Backend};
use kiln::data::{DatasetKind, ImageDataset, Split};

/// The folder holding `mnist/` and `fashion-mnist/` IDX files.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(kiln::data::DATA_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        beside.is_dir(),
        "MNIST not found: set KILN_DATA_DIR to a folder with mnist/ and fashion-mnist/ IDX files \
         (CI uses ../shared/data)"
    );
    beside
}

/// One split of a real dataset, from [`data_dir`].
pub fn real(kind: DatasetKind, split: Split) -> ImageDataset {
    kiln::data::load_from_dir(kind, split, &data_dir())
        .unwrap_or_else(|e| panic!("cannot load {kind} {split:?}: {e}"))
}

/// Every backend compiled in whose device works here, with its device. When
/// `KILN_EXPECT_BACKENDS` (comma-separated names) is set, each of those must be among them,
/// so CI cannot silently test fewer backends than it builds.
pub fn backends() -> Vec<(Backend, burn::tensor::Device)> {
    let mut out = Vec::new();
    for b in backend::compiled() {
        match b.device() {
            Ok(d) => out.push((b, d)),
            Err(e) => println!("skipping {b}: {e}"),
        }
    }
    if let Ok(expected) = std::env::var("KILN_EXPECT_BACKENDS") {
        for name in expected.split(',').filter(|s| !s.is_empty()) {
            let b: Backend = name.parse().expect("KILN_EXPECT_BACKENDS names a backend");
            assert!(
                out.iter().any(|(have, _)| *have == b),
                "KILN_EXPECT_BACKENDS names {b}, which did not run here"
            );
        }
    }
    assert!(!out.is_empty(), "no backend works in this build");
    out
}

/// The reference CPU device: flex when compiled in, else the first working backend.
pub fn cpu() -> burn::tensor::Device {
    backends()
        .into_iter()
        .find(|(b, _)| *b == Backend::Flex)
        .or_else(|| backends().into_iter().next())
        .map(|(_, d)| d)
        .expect("a backend")
}

/// The largest absolute difference between two equally long slices (for cross-backend
/// comparisons).
///
/// # Panics
/// If their lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared outputs differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}
