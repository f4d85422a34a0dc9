//! Real MNIST and Fashion-MNIST: the committed sample always, the full sets when they are
//! here (required in CI) with the sizes and labels they are known to have.

use burn::data::dataset::Dataset;
use kiln::data::{DatasetKind, Normalization, Split};

use super::common::{full, sample};

#[test]
fn mnist_has_its_known_sizes_and_first_labels() {
    let name = "mnist_has_its_known_sizes_and_first_labels";
    let (Some(train), Some(test)) = (
        full(DatasetKind::Mnist, Split::Train, name),
        full(DatasetKind::Mnist, Split::Test, name),
    ) else {
        return;
    };
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.height(), train.width()), (28, 28));
    assert_eq!(train.label(0), Some(5));
    assert_eq!(test.label(0), Some(7));
}

#[test]
fn fashion_mnist_has_its_known_sizes_and_balanced_classes() {
    let name = "fashion_mnist_has_its_known_sizes_and_balanced_classes";
    let (Some(train), Some(test)) = (
        full(DatasetKind::FashionMnist, Split::Train, name),
        full(DatasetKind::FashionMnist, Split::Test, name),
    ) else {
        return;
    };
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    let mut counts = [0usize; 10];
    for i in 0..train.len() {
        counts[usize::from(train.label(i).unwrap())] += 1;
    }
    assert_eq!(
        counts, [6000; 10],
        "Fashion-MNIST has 6,000 training images per class"
    );
}

/// The sample is the full sets' first items: same shape, same first labels, every class.
#[test]
fn the_samples_are_the_first_items_of_both_datasets() {
    for (kind, first_train, first_test) in [
        (DatasetKind::Mnist, 5, 7),
        // Ankle boot, ankle boot: Zalando's README shows the same first items.
        (DatasetKind::FashionMnist, 9, 9),
    ] {
        let train = sample(kind, Split::Train);
        let test = sample(kind, Split::Test);
        assert_eq!((train.len(), test.len()), (4000, 1000), "{kind}");
        assert_eq!((train.height(), train.width()), (28, 28));
        assert_eq!(train.label(0), Some(first_train), "{kind}");
        assert_eq!(test.label(0), Some(first_test), "{kind}");
        let mut counts = [0usize; 10];
        for i in 0..train.len() {
            counts[usize::from(train.label(i).unwrap())] += 1;
        }
        assert!(
            counts.iter().all(|&c| c >= 300),
            "{kind}: every class has 300+ of the 4,000 sample images: {counts:?}"
        );
        if let Some(full_train) = full(kind, Split::Train, "the_samples_are_the_first_items") {
            for i in [0, 1, 1234, 3999] {
                assert_eq!(train.item(i), full_train.item(i), "{kind} item {i}");
            }
        }
    }
}

#[test]
fn standardised_batches_have_zero_mean_and_unit_std() {
    let train = sample(DatasetKind::Mnist, Split::Train);
    let items: Vec<_> = (0..2000).map(|i| train.get(i).unwrap()).collect();
    let values: Vec<f32> = items
        .iter()
        .flat_map(|item| item.pixels.iter().map(|&p| Normalization::MNIST.apply(p)))
        .collect();
    assert_eq!(values.len(), 2000 * 28 * 28);
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(mean.abs() < 0.05, "mean {mean}");
    assert!((var.sqrt() - 1.0).abs() < 0.05, "std {}", var.sqrt());
}

#[test]
fn symmetric_normalisation_spans_minus_one_to_one() {
    assert_eq!(Normalization::Symmetric.apply(0), -1.0);
    assert_eq!(Normalization::Symmetric.apply(255), 1.0);
    assert_eq!(Normalization::Unit.apply(255), 1.0);
}
