//! The images a DCGAN trains on.

use crate::DcganError;

/// Images a DCGAN can train on: `len()` images of one `[channels, height, width]` shape,
/// values in `[−1, 1]` (the generator's `tanh` range; training refuses any other value as
/// [`DcganError::PixelOutOfRange`]). [`ImageSet`] holds them in memory;
/// the run layer adapts kiln-data's MNIST.
pub trait ImageData {
    /// Number of images.
    fn len(&self) -> usize;
    /// `[channels, height, width]` of every image.
    fn shape(&self) -> [usize; 3];
    /// Image `index`, `channels × height × width` values row-major; `None` only out of range.
    fn image(&self, index: usize) -> Option<Vec<f32>>;
    /// Whether there is no image.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Images in memory, values in `[−1, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    values: Vec<f32>,
    shape: [usize; 3],
}

impl ImageSet {
    /// `values.len() / (c·h·w)` images of `shape = [c, h, w]`, row-major one after another.
    ///
    /// # Errors
    /// [`DcganError::BadImage`] if `shape` has a 0 or `values` is not a whole number of images.
    pub fn new(values: Vec<f32>, shape: [usize; 3]) -> Result<Self, DcganError> {
        let size: usize = shape.iter().product();
        if size == 0 || !values.len().is_multiple_of(size) {
            return Err(DcganError::BadImage {
                index: values.len() / size.max(1),
                expected: size,
            });
        }
        Ok(Self { values, shape })
    }
}

impl ImageData for ImageSet {
    fn len(&self) -> usize {
        self.values.len() / self.shape.iter().product::<usize>()
    }

    fn shape(&self) -> [usize; 3] {
        self.shape
    }

    fn image(&self, index: usize) -> Option<Vec<f32>> {
        let size: usize = self.shape.iter().product();
        self.values
            .get(index * size..(index + 1) * size)
            .map(<[f32]>::to_vec)
    }
}

/// Every value finite and in `[−1, 1]` (kiln's rule for numeric input, and the generator's
/// range); otherwise [`DcganError::PixelOutOfRange`] naming the first bad one.
pub(crate) fn check_pixels(index: usize, values: &[f32]) -> Result<(), DcganError> {
    match values.iter().position(|v| !(-1.0..=1.0).contains(v)) {
        None => Ok(()),
        Some(position) => Err(DcganError::PixelOutOfRange {
            index,
            position,
            value: values[position],
        }),
    }
}
