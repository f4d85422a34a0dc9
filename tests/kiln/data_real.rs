//! The real MNIST and Fashion-MNIST files load, with the sizes and labels they are known to have.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use kiln::data::{DatasetKind, ImageBatcher, Normalization, Split};

use super::common::{cpu, real};

#[test]
fn mnist_has_its_known_sizes_and_first_labels() {
    let train = real(DatasetKind::Mnist, Split::Train);
    let test = real(DatasetKind::Mnist, Split::Test);
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.height(), train.width()), (28, 28));
    assert_eq!(train.label(0), Some(5));
    assert_eq!(test.label(0), Some(7));
}

#[test]
fn fashion_mnist_has_its_known_sizes_and_balanced_classes() {
    let train = real(DatasetKind::FashionMnist, Split::Train);
    let test = real(DatasetKind::FashionMnist, Split::Test);
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

#[test]
fn standardised_batches_have_zero_mean_and_unit_std() {
    let train = real(DatasetKind::Mnist, Split::Train);
    let items: Vec<_> = (0..2000).map(|i| train.get(i).unwrap()).collect();
    let batch = ImageBatcher::new(Normalization::MNIST).batch(items, &cpu());
    assert_eq!(batch.images.dims(), [2000, 1, 28, 28]);
    assert_eq!(batch.targets.dims(), [2000]);
    let values = batch.images.into_data().try_to_vec_as::<f32>().unwrap();
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
