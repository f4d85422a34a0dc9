//! The uses of kiln inside an application, with the results they must reach: a
//! regression in any of them fails here, not only a crash.

use kiln_embed_example::{classifier, clustering, dqn, gan, own_model, pretrained};

#[test]
fn kiln_mlp_inside_an_own_module_learns_saves_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let r = own_model::run(dir.path()).unwrap();
    println!("{r:?}");
    // The target's variance is about 0.19; a model that learnt it is ten times below that.
    assert!(r.mse_after < 0.02, "{r:?}");
    assert!(r.mse_after < r.mse_before / 5.0, "{r:?}");
    assert_eq!(r.reload_difference, 0.0, "{r:?}");
}

#[test]
fn kiln_classifier_learns_three_classes_of_20_dimensional_points_in_memory() {
    let r = classifier::run().unwrap();
    println!("{r:?}");
    assert!(r.test_accuracy >= 0.95, "{r:?}");
    assert!(r.epochs < 30, "the callback never stopped the run: {r:?}");
}

#[test]
fn kiln_dqn_learns_with_an_own_q_network_on_an_own_environment() {
    let r = dqn::run().unwrap();
    println!("{r:?}");
    // Chance is 5 of 10; the greedy policy of a learnt Q-function is right every time.
    assert!(r.mean_return >= 9.5, "{r:?}");
}

#[test]
fn kiln_clustering_fits_saves_reloads_and_predicts_own_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let r = clustering::run(dir.path()).unwrap();
    println!("{r:?}");
    assert_eq!(r.kmeans_ari, 1.0, "{r:?}");
    assert!(r.reload_same_labels, "{r:?}");
    assert_eq!(r.dbscan_clusters, 4, "{r:?}");
    assert!(r.dbscan_ari > 0.95, "{r:?}");
}

#[test]
fn kiln_dcgan_trains_on_own_colour_images_without_the_run_layer() {
    let r = gan::run().unwrap();
    println!("{r:?}");
    assert_eq!(r.epochs, 15);
    assert_eq!(r.generated, [256, 3, 8, 8]);
    assert!(r.losses.0.is_finite() && r.losses.1.is_finite(), "{r:?}");
    // Training brings the generator's average image at least halfway to the data's.
    assert!(r.mean_image_gap < 0.5 * r.untrained_gap, "{r:?}");
}

/// Every Rust block of docs/embedding.md is an excerpt of this crate's compiled and tested
/// code, so the walkthrough cannot drift from what runs.
#[test]
fn the_embedding_guide_quotes_this_crates_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("../../docs/embedding.md")).unwrap();
    let mut sources = String::new();
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        sources += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
        sources.push('\n');
    }
    let mut blocks = 0;
    for block in guide.split("```rust\n").skip(1) {
        let code = block.split("```").next().unwrap();
        for line in code.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                sources.contains(line),
                "docs/embedding.md shows a line the example does not have:\n{line}"
            );
        }
        blocks += 1;
    }
    assert!(blocks >= 4, "the guide shows {blocks} code blocks");
}

#[test]
fn kiln_pretrained_networks_work_and_go_to_pytorch_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let r = pretrained::run(dir.path()).unwrap();
    println!("{r:?}");
    // 200 generated digits read as (nearly) every class by the pretrained classifier.
    assert!(r.digits_seen >= 9, "{r:?}");
    assert_eq!(r.cartpole_return, 500.0, "{r:?}");
    assert_eq!(r.round_trip_difference, 0.0, "{r:?}");
}
