//! Each backend feature turns on Burn's speed features for it (see the `[features]` table of
//! the root `Cargo.toml`): this reads `cargo tree` for each, so that a change to
//! the wiring (or to Burn's) cannot silently build a slow backend again. (`cargo tree -i CRATE
//! --format "{p} {f}"` prints the features a crate is built with.)
//!
//! Needs `cargo` (the one running the tests: `$CARGO`) and the lock file's crates in the
//! registry cache; runs offline.

use std::process::Command;

/// The features `cargo tree` shows enabled on `krate` when kiln is built with `features`
/// alone (no default features).
fn enabled(krate: &str, features: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "-p", "kiln", "--no-default-features"])
        .args(["--features", features, "-i", krate])
        .args(["--prefix", "none", "--format", "{p} {f}"])
        .output()
        .expect("cargo runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Lines look like `burn-wgpu v0.22.1 std,fusion,autotune` (the first line is the crate).
    let first = text
        .lines()
        .find(|l| l.starts_with(&format!("{krate} v")))
        .unwrap_or_else(|| panic!("{krate} is not in the tree with --features {features}: {text}"));
    first
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .split(',')
        .map(String::from)
        .collect()
}

fn check(feature: &str, krate: &str, wanted: &[&str]) {
    let on = enabled(krate, feature);
    println!("--features {feature}: {krate} has {on:?}");
    for w in wanted {
        assert!(
            on.iter().any(|f| f == w),
            "--features {feature} builds {krate} without `{w}` (has {on:?})"
        );
    }
}

#[test]
fn cubecl_backends_get_fusion_and_autotune() {
    check("wgpu", "burn-wgpu", &["fusion", "autotune"]);
    check("wgpu", "burn-cubecl", &["fusion", "autotune"]);
    check("vulkan", "burn-cubecl", &["fusion", "autotune"]);
    check("cuda", "burn-cubecl", &["fusion", "autotune"]);
}

#[test]
fn cpu_backends_get_threads_and_simd() {
    check("flex", "burn-flex", &["rayon", "simd", "x86-v4"]);
    // x86-v4 reaches the matrix product's AVX-512 kernels.
    check("flex", "gemm-f32", &["x86-v4"]);
    check("ndarray", "burn-ndarray", &["multi-threads", "simd"]);
}
