//! The model crates' cores stand on `burn` alone: without their default `run` feature, their
//! dependency trees hold none of kiln's run-layer crates or burn-train's terminal stack.

use std::process::Command;

/// Crates a core must not pull in.
const RUN_LAYER: [&str; 8] = [
    "burn-train",
    "burn-dataset",
    "ratatui",
    "reqwest",
    "tokio",
    "kiln-data",
    "kiln-plot",
    "kiln-train",
];

fn tree(args: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn model_cores_hold_no_run_layer_dependency() {
    for krate in ["kiln-mlp", "kiln-dcgan", "kiln-rl", "kiln-cluster"] {
        let names = tree(&["--no-default-features", "-p", krate]);
        let found: Vec<&str> = RUN_LAYER
            .iter()
            .copied()
            .filter(|c| names.iter().any(|n| n == c))
            .collect();
        assert!(found.is_empty(), "{krate}'s core depends on {found:?}");
        println!("{krate} without default features: {} crates", names.len());
    }
    // The test would see them: the run layer does bring kiln-data in.
    let with_run = tree(&["-p", "kiln-mlp"]);
    assert!(with_run.iter().any(|n| n == "kiln-data"));
    assert!(with_run.iter().any(|n| n == "kiln-train"));
}
