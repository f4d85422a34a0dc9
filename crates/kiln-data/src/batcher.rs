//! Turning [`ImageItem`]s into normalised tensor batches.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{DataError, ImageItem};

/// How pixel bytes (0..=255) become floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Normalization {
    /// `x / 255` in `[0, 1]`.
    Unit,
    /// `x / 127.5 - 1` in `[-1, 1]`, matching a tanh generator's output.
    Symmetric,
    /// `(x / 255 - mean) / std`: zero mean and unit variance over the training set.
    Standardize {
        /// Mean of `x / 255` over the training images.
        mean: f32,
        /// Standard deviation of `x / 255` over the training images.
        std: f32,
    },
}

impl Normalization {
    /// The `(mean, std)` that maps pixels scaled to `[0, 1]` onto this normalisation:
    /// `value = (pixel / 255 − mean) / std`.
    pub fn mean_std(self) -> (f32, f32) {
        match self {
            Normalization::Unit => (0.0, 1.0),
            Normalization::Symmetric => (0.5, 0.5),
            Normalization::Standardize { mean, std } => (mean, std),
        }
    }

    /// MNIST's training-set statistics (mean 0.1307, std 0.3081), as torchvision uses.
    pub const MNIST: Normalization = Normalization::Standardize {
        mean: 0.1307,
        std: 0.3081,
    };
    /// Fashion-MNIST's training-set statistics (mean 0.2860, std 0.3530).
    pub const FASHION_MNIST: Normalization = Normalization::Standardize {
        mean: 0.2860,
        std: 0.3530,
    };

    /// The float value of one pixel byte.
    pub fn apply(self, pixel: u8) -> f32 {
        let x = f32::from(pixel);
        match self {
            Normalization::Unit => x / 255.0,
            Normalization::Symmetric => x / 127.5 - 1.0,
            Normalization::Standardize { mean, std } => (x / 255.0 - mean) / std,
        }
    }
}

/// A batch of images with their labels.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// `[batch, 1, height, width]`, normalised.
    pub images: Tensor<4>,
    /// `[batch]` class labels.
    pub targets: Tensor<1, Int>,
}

impl ImageBatch {
    /// The images flattened to `[batch, height * width]`, as an MLP takes them.
    pub fn flat_images(&self) -> Tensor<2> {
        self.images.clone().flatten(1, 3)
    }
}

/// Batches [`ImageItem`]s of equal size into an [`ImageBatch`].
#[derive(Debug, Clone)]
pub struct ImageBatcher {
    lut: [f32; 256],
}

impl ImageBatcher {
    /// A batcher applying `normalization` to every pixel.
    pub fn new(normalization: Normalization) -> Self {
        let mut lut = [0.0; 256];
        for (byte, v) in (0..=255u8).zip(lut.iter_mut()) {
            *v = normalization.apply(byte);
        }
        Self { lut }
    }
}

impl ImageBatcher {
    /// Batches `items`, which must all have one shape (any `height × width`, square or not).
    ///
    /// # Errors
    /// [`DataError::EmptyBatch`] for no items, [`DataError::ItemShape`] for an item whose
    /// shape differs from the first's or whose pixel count is not its `height × width`.
    pub fn try_batch(&self, items: &[ImageItem], device: &Device) -> Result<ImageBatch, DataError> {
        let first = items.first().ok_or(DataError::EmptyBatch)?;
        let (height, width) = (first.height, first.width);
        let size = height * width;
        let mut pixels = Vec::with_capacity(items.len() * size);
        let mut labels = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            if (item.height, item.width) != (height, width) || item.pixels.len() != size {
                return Err(DataError::ItemShape {
                    index,
                    expected: [height, width],
                    got: [item.height, item.width],
                    pixels: item.pixels.len(),
                });
            }
            pixels.extend(item.pixels.iter().map(|&p| self.lut[usize::from(p)]));
            labels.push(i64::from(item.label));
        }
        let n = items.len();
        let images = Tensor::from_data(TensorData::new(pixels, [n, 1, height, width]), device);
        let targets = Tensor::from_data(TensorData::new(labels, [n]), device);
        Ok(ImageBatch { images, targets })
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    /// [`ImageBatcher::try_batch`] for Burn's data loader, whose `Batcher` trait cannot return
    /// an error.
    ///
    /// # Panics
    /// On an empty batch or items of different shapes, which a data loader over one
    /// [`ImageDataset`](crate::ImageDataset) never makes; call `try_batch` for items from
    /// elsewhere.
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        self.try_batch(&items, device)
            .unwrap_or_else(|e| panic!("ImageBatcher: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(label: u8, height: usize, width: usize) -> ImageItem {
        ImageItem {
            pixels: (0..height * width).map(|i| (i * 40) as u8).collect(),
            label,
            height,
            width,
        }
    }

    #[test]
    fn non_square_images_batch_in_their_shape() {
        let batch = ImageBatcher::new(Normalization::Unit)
            .try_batch(&[item(1, 2, 3), item(2, 2, 3)], &Device::flex())
            .unwrap();
        assert_eq!(batch.images.dims(), [2, 1, 2, 3]);
        let values: Vec<f32> = batch.images.into_data().iter::<f32>().collect();
        assert_eq!(
            values[..6],
            [
                0.0,
                40.0 / 255.0,
                80.0 / 255.0,
                120.0 / 255.0,
                160.0 / 255.0,
                200.0 / 255.0
            ]
        );
        let labels: Vec<i64> = batch.targets.into_data().iter::<i64>().collect();
        assert_eq!(labels, [1, 2]);
    }

    #[test]
    fn mixed_shapes_and_empty_batches_are_typed_errors() {
        let batcher = ImageBatcher::new(Normalization::Unit);
        let err = batcher
            .try_batch(&[item(0, 2, 3), item(0, 3, 2)], &Device::flex())
            .unwrap_err();
        assert!(
            matches!(
                err,
                DataError::ItemShape {
                    index: 1,
                    expected: [2, 3],
                    got: [3, 2],
                    pixels: 6
                }
            ),
            "{err}"
        );
        let mut short = item(0, 2, 3);
        short.pixels.pop();
        let err = batcher.try_batch(&[short], &Device::flex()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::ItemShape {
                    index: 0,
                    pixels: 5,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            batcher.try_batch(&[], &Device::flex()),
            Err(DataError::EmptyBatch)
        ));
    }
}
