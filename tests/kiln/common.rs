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
            Err(e) => loud(&format!("skipping {b}: {e}")),
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

/// Writes a line to standard error past the test harness's output capture (which takes only
/// `print!`/`eprint!`), so that it shows in `cargo test`'s output even when the test passes.
pub fn loud(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// [`backends`] for a test that compares backends with each other: with fewer than two it
/// compares nothing, and says so on standard error (CI sets `KILN_EXPECT_BACKENDS`, which
/// makes [`backends`] fail instead when one it names does not run).
pub fn cross_backends(test: &str) -> Vec<(Backend, burn::tensor::Device)> {
    let all = backends();
    if all.len() < 2 {
        loud(&format!(
            "WARNING {test}: only {} runs here, so nothing is compared across backends",
            all.iter()
                .map(|(b, _)| b.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    all
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
