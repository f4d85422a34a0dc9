//! Helpers shared by the integration tests.

use std::path::PathBuf;

use kiln::backend::{self, Backend};
use kiln::data::{DatasetKind, ImageDataset, Split};

/// The committed sample: the first 4,000 training and 1,000 test images of each dataset
/// (`tests/fixtures/data/`, see its README). Every test that needs real images but not the
/// whole set uses it, so the default test run needs no network and no downloaded data.
pub fn sample(kind: DatasetKind, split: Split) -> ImageDataset {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data");
    kiln::data::load_from_dir(kind, split, &dir)
        .unwrap_or_else(|e| panic!("cannot load the {kind} sample: {e}"))
}

/// Whether tests that need the full datasets must run (`KILN_REQUIRE_FULL_DATA=1`, as CI
/// sets it) rather than skip when the data is not here.
fn full_data_required() -> bool {
    std::env::var("KILN_REQUIRE_FULL_DATA").is_ok_and(|v| v == "1")
}

/// The folder holding the full `kind` (all four files), from `KILN_DATA_DIR` or kiln's
/// download cache, without downloading. When it is not there, `test` is skipped with a line
/// on standard error, or fails when `KILN_REQUIRE_FULL_DATA=1`.
pub fn full_dir(kind: DatasetKind, test: &str) -> Option<PathBuf> {
    let found = kiln::data::find(kind, Split::Train, None)
        .and_then(|_| kiln::data::find(kind, Split::Test, None));
    match found {
        Ok((images, _)) => Some(images.parent().expect("a file has a folder").to_path_buf()),
        Err(e) if full_data_required() => {
            panic!("KILN_REQUIRE_FULL_DATA=1 but the full {kind} is not here: {e}")
        }
        Err(_) => {
            loud(&format!(
                "SKIPPED {test}: the full {kind} is not here (run `cargo xtask data`, or set \
                 KILN_DATA_DIR)"
            ));
            None
        }
    }
}

/// One split of the full dataset, as [`full_dir`] finds it.
pub fn full(kind: DatasetKind, split: Split, test: &str) -> Option<ImageDataset> {
    let dir = full_dir(kind, test)?;
    Some(
        kiln::data::load_from_dir(kind, split, &dir)
            .unwrap_or_else(|e| panic!("cannot load {kind} {split:?}: {e}")),
    )
}

/// Every backend compiled in whose device works here, with its device. When
/// `KILN_EXPECT_BACKENDS` (comma-separated names) is set, each of those must be among them,
/// so CI cannot silently test fewer backends than it builds.
pub fn backends() -> Vec<(Backend, burn::tensor::Device)> {
    let mut out = Vec::new();
    // A remote device needs a server: tests/kiln/remote.rs starts its own.
    for b in backend::compiled()
        .into_iter()
        .filter(|b| *b != Backend::Remote)
    {
        match b.device() {
            Ok(d) => out.push((b, d)),
            Err(e) => {
                // Once per backend per test binary, not once per test.
                static SAID: std::sync::Mutex<Vec<Backend>> = std::sync::Mutex::new(Vec::new());
                let mut said = SAID.lock().unwrap_or_else(|p| p.into_inner());
                if !said.contains(&b) {
                    said.push(b);
                    loud(&format!("skipping {b}: {e}"));
                }
            }
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
