//! In-memory labelled image datasets read from IDX files.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};

use crate::DataError;
use crate::idx;

/// One labelled grayscale image, as stored: `height * width` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageItem {
    /// Pixel values, 0..=255, row-major.
    pub pixels: Vec<u8>,
    /// The class label.
    pub label: u8,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// A labelled grayscale image dataset held in memory (MNIST's 60,000 training images
/// take 47 MB). Cloning is cheap: the pixels are shared.
#[derive(Debug, Clone)]
pub struct ImageDataset {
    pixels: Arc<[u8]>,
    labels: Arc<[u8]>,
    height: usize,
    width: usize,
    range: Range<usize>,
}

impl ImageDataset {
    /// Builds a dataset from raw pixels (`labels.len() * height * width` bytes) and labels.
    ///
    /// # Errors
    /// [`DataError::CountMismatch`] when the counts disagree, [`DataError::LabelOutOfRange`]
    /// when a label is not below `num_classes`.
    pub fn new(
        pixels: Vec<u8>,
        labels: Vec<u8>,
        height: usize,
        width: usize,
        num_classes: usize,
    ) -> Result<Self, DataError> {
        let images = pixels.len() / (height * width).max(1);
        if height == 0 || width == 0 || pixels.len() != labels.len() * height * width {
            return Err(DataError::CountMismatch {
                images,
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| usize::from(**l) >= num_classes)
        {
            return Err(DataError::LabelOutOfRange {
                index,
                label,
                num_classes,
            });
        }
        let n = labels.len();
        Ok(Self {
            pixels: pixels.into(),
            labels: labels.into(),
            height,
            width,
            range: 0..n,
        })
    }

    /// Reads an image file and a label file (IDX, raw or gzipped) and checks that they agree.
    ///
    /// # Errors
    /// Any [`DataError`] of either file, or a count or label mismatch between them.
    pub fn from_idx_files(
        images: &Path,
        labels: &Path,
        num_classes: usize,
    ) -> Result<Self, DataError> {
        Self::from_idx(
            idx::read_images(images)?,
            idx::read_labels(labels)?,
            num_classes,
        )
    }

    /// Images and labels read from IDX files, checked to agree.
    pub(crate) fn from_idx(
        img: idx::IdxImages,
        lab: Vec<u8>,
        num_classes: usize,
    ) -> Result<Self, DataError> {
        if img.count != lab.len() {
            return Err(DataError::CountMismatch {
                images: img.count,
                labels: lab.len(),
            });
        }
        Self::new(img.pixels, lab, img.rows, img.cols, num_classes)
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The items in `range` (relative to this dataset) as a new dataset sharing the pixels;
    /// the range is clamped to the dataset's length.
    pub fn slice(&self, range: Range<usize>) -> Self {
        let start = (self.range.start + range.start).min(self.range.end);
        let end = (self.range.start + range.end).clamp(start, self.range.end);
        Self {
            range: start..end,
            ..self.clone()
        }
    }

    /// The label of item `index`, if it exists.
    pub fn label(&self, index: usize) -> Option<u8> {
        (index < self.len()).then(|| self.labels[self.range.start + index])
    }

    /// The item at `index`, if it exists.
    pub fn item(&self, index: usize) -> Option<ImageItem> {
        if index >= self.len() {
            return None;
        }
        let i = self.range.start + index;
        let size = self.height * self.width;
        Some(ImageItem {
            pixels: self.pixels[i * size..(i + 1) * size].to_vec(),
            label: self.labels[i],
            height: self.height,
            width: self.width,
        })
    }
}

/// An [`ImageDataset`] seen through a [`Normalization`](crate::Normalization): each image as `f32` values and its
/// class, which is what kiln's models train on (the MLP and DCGAN run layers implement their
/// data traits for it).
#[derive(Debug, Clone)]
pub struct NormalizedImages {
    /// The images.
    pub images: ImageDataset,
    /// How pixels become values.
    pub normalization: crate::Normalization,
}

impl NormalizedImages {
    /// `images` normalised with `normalization`.
    pub fn new(images: ImageDataset, normalization: crate::Normalization) -> Self {
        Self {
            images,
            normalization,
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// `[channels, height, width]` of every image (one channel).
    pub fn shape(&self) -> [usize; 3] {
        [1, self.images.height(), self.images.width()]
    }

    /// Image `index` as normalised values (row-major) and its class.
    pub fn get(&self, index: usize) -> Option<(Vec<f32>, usize)> {
        let item = self.images.item(index)?;
        let values = item
            .pixels
            .iter()
            .map(|&p| self.normalization.apply(p))
            .collect();
        Some((values, usize::from(item.label)))
    }
}

impl Dataset<ImageItem> for ImageDataset {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        // The trait's contract: an index out of bounds panics, like slice indexing.
        match self.item(index) {
            Some(item) => Ok(item),
            None => panic!("Index out of bounds for dataset: {index} >= {}", self.len()),
        }
    }

    fn len(&self) -> usize {
        self.range.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ImageDataset {
        // Four 1x2 images whose pixels encode their index.
        ImageDataset::new(vec![0, 0, 1, 1, 2, 2, 3, 3], vec![0, 1, 2, 3], 1, 2, 10).unwrap()
    }

    #[test]
    fn items_and_slices_share_pixels() {
        let ds = tiny();
        assert_eq!(ds.len(), 4);
        let s = ds.slice(1..3);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.get(0).unwrap(),
            ImageItem {
                pixels: vec![1, 1],
                label: 1,
                height: 1,
                width: 2
            }
        );
        assert_eq!(s.slice(1..10).item(0).unwrap().label, 2);
        assert_eq!(s.item(2), None);
        assert_eq!(ds.slice(7..9).len(), 0);
    }

    #[test]
    fn count_mismatch_is_an_error() {
        let err = ImageDataset::new(vec![0; 6], vec![0, 1], 1, 2, 10).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    images: 3,
                    labels: 2
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn label_out_of_range_is_an_error() {
        let err = ImageDataset::new(vec![0; 4], vec![0, 10], 1, 2, 10).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    num_classes: 10
                }
            ),
            "{err}"
        );
    }
}
