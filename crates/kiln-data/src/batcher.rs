//! Turning [`ImageItem`]s into normalised tensor batches.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::ImageItem;

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

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    /// # Panics
    /// On an empty batch or images of different sizes; the data loader never makes either.
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let size = items.first().map_or(0, |i| i.pixels.len());
        let side = (size as f64).sqrt() as usize;
        assert!(
            side * side == size && side > 0,
            "ImageBatcher takes square images"
        );
        let mut pixels = Vec::with_capacity(items.len() * size);
        let mut labels = Vec::with_capacity(items.len());
        for item in &items {
            assert_eq!(item.pixels.len(), size, "images of one batch share a size");
            pixels.extend(item.pixels.iter().map(|&p| self.lut[usize::from(p)]));
            labels.push(i64::from(item.label));
        }
        let n = items.len();
        let images = Tensor::from_data(TensorData::new(pixels, [n, 1, side, side]), device);
        let targets = Tensor::from_data(TensorData::new(labels, [n]), device);
        ImageBatch { images, targets }
    }
}
