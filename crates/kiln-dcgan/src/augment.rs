//! Differentiable augmentation (Zhao et al. 2020, "DiffAugment"): the same random
//! transformation of every image the discriminator sees, real and generated, in both
//! networks' updates, written with tensor operations so the generator's gradient flows
//! through it. The discriminator then never sees an image as it is and cannot memorise the
//! training set, and the generator is not pushed to make transformed images (the generated
//! images are transformed the same way as the real ones).
//!
//! The two transformations for grayscale images of DiffAugment's `translation,cutout`
//! policy, as its reference code draws them: a shift of up to `translation · side` pixels in
//! each direction (zeros fill what comes in), then a `cutout · side` square of zeros
//! centred anywhere in the image (it may hang over the edge). DiffAugment's third,
//! `color`, acts on colour images and is not built.

use std::str::FromStr;

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};
use kiln_core::Rng;

use crate::DcganError;

/// A DiffAugment policy: which transformations, how strong. [`DiffAugment::new`] is the
/// paper's `translation,cutout` (1/8 and 1/2).
#[derive(Config, Debug, PartialEq)]
pub struct DiffAugment {
    /// The largest shift, as a fraction of the side (0.125: ±4 pixels of 28, rounded as
    /// DiffAugment does); 0: no translation. At most 0.5.
    #[config(default = 0.125)]
    pub translation: f64,
    /// The cut-out square's side, as a fraction of the image's (0.5: 14 of 28); 0: no
    /// cutout. At most 1.
    #[config(default = 0.5)]
    pub cutout: f64,
}

/// One draw of a policy for a batch: per image, its shift `(rows, columns)` and the centre
/// `(row, column)` of its cut-out square.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AugmentDraw {
    /// Per image: output pixel `(i, j)` is input pixel `(i + rows, j + columns)`, zero when
    /// that is outside the image.
    pub shifts: Vec<(isize, isize)>,
    /// Per image: the centre of the cut-out square (none when the policy has no cutout).
    pub cutouts: Vec<(usize, usize)>,
}

impl DiffAugment {
    /// Checks both fractions.
    ///
    /// # Errors
    /// [`DcganError::Augmentation`] for a fraction that is not finite or out of its range.
    pub fn validate(&self) -> Result<(), DcganError> {
        let ok = (0.0..=0.5).contains(&self.translation) && (0.0..=1.0).contains(&self.cutout);
        if ok {
            Ok(())
        } else {
            Err(DcganError::Augmentation {
                translation: self.translation,
                cutout: self.cutout,
            })
        }
    }

    /// The largest shift in pixels on a side of `side` pixels.
    pub fn max_shift(&self, side: usize) -> usize {
        (side as f64 * self.translation + 0.5) as usize
    }

    /// The cut-out square's side in pixels on a side of `side` pixels.
    pub fn cutout_side(&self, side: usize) -> usize {
        (side as f64 * self.cutout + 0.5) as usize
    }

    /// Random shifts and cut-out centres for `batch` images of `side × side` pixels: each
    /// shift uniform in `[−max, max]`, each centre uniform over the image's rows (and
    /// columns), and one past them for an even square, as DiffAugment draws.
    pub fn draw(&self, batch: usize, side: usize, rng: &mut Rng) -> AugmentDraw {
        let max = self.max_shift(side) as isize;
        let mut shift = || rng.below((2 * max + 1) as usize) as isize - max;
        let shifts = (0..batch).map(|_| (shift(), shift())).collect();
        let cut = self.cutout_side(side);
        let cutouts = if cut == 0 {
            Vec::new()
        } else {
            let centres = side + 1 - cut % 2;
            (0..batch)
                .map(|_| (rng.below(centres), rng.below(centres)))
                .collect()
        };
        AugmentDraw { shifts, cutouts }
    }

    /// `images` transformed by a fresh draw from `rng`, differentiably.
    ///
    /// # Shapes
    /// - images, output: `[batch, channels, side, side]`
    pub fn apply(&self, images: Tensor<4>, rng: &mut Rng) -> Tensor<4> {
        let [batch, _, side, _] = images.dims();
        let draw = self.draw(batch, side, rng);
        let cut = self.cutout_side(side);
        let shifted = if self.max_shift(side) == 0 {
            images
        } else {
            translate(images, &draw.shifts)
        };
        if cut == 0 {
            shifted
        } else {
            cutout(shifted, &draw.cutouts, cut)
        }
    }
}

/// `images` shifted image by image: output pixel `(i, j)` of image `n` is input pixel
/// `(i + shifts[n].0, j + shifts[n].1)`, zero where that falls outside. Two batched matrix
/// products with 0/1 shift matrices (`S_rows · X · S_colsᵀ`), so gradients flow to the
/// pixels kept.
///
/// # Shapes
/// - images, output: `[batch, channels, height, width]`; `shifts`: one per image
pub fn translate(images: Tensor<4>, shifts: &[(isize, isize)]) -> Tensor<4> {
    let [batch, channels, height, width] = images.dims();
    let device = images.device();
    // For each image (and channel), `matrix[a][b] = 1` when `b = a + shift` (in range).
    let matrices = |size: usize, shift: fn(&(isize, isize)) -> isize, transpose: bool| {
        let mut v = vec![0f32; batch * channels * size * size];
        for (n, s) in shifts.iter().enumerate().take(batch) {
            for c in 0..channels {
                let base = (n * channels + c) * size * size;
                for a in 0..size {
                    let b = a as isize + shift(s);
                    if (0..size as isize).contains(&b) {
                        let (r, col) = if transpose {
                            (b as usize, a)
                        } else {
                            (a, b as usize)
                        };
                        v[base + r * size + col] = 1.0;
                    }
                }
            }
        }
        Tensor::<4>::from_data(TensorData::new(v, [batch, channels, size, size]), &device)
    };
    let rows = matrices(height, |s| s.0, false);
    let columns = matrices(width, |s| s.1, true);
    rows.matmul(images).matmul(columns)
}

/// `images` with a `side × side` square of zeros per image, centred at `centres[n]` (rows
/// and columns `centre − side/2 .. centre − side/2 + side`, clipped to the image).
///
/// # Shapes
/// - images, output: `[batch, channels, height, width]`; `centres`: one per image
pub fn cutout(images: Tensor<4>, centres: &[(usize, usize)], side: usize) -> Tensor<4> {
    let [batch, channels, height, width] = images.dims();
    let mut mask = vec![1f32; batch * channels * height * width];
    for (n, &(row, column)) in centres.iter().enumerate().take(batch) {
        let span = |centre: usize, size: usize| {
            let start = centre.saturating_sub(side / 2);
            start..(centre + side - side / 2).min(size)
        };
        for c in 0..channels {
            let base = (n * channels + c) * height * width;
            for i in span(row, height) {
                for j in span(column, width) {
                    mask[base + i * width + j] = 0.0;
                }
            }
        }
    }
    let mask = Tensor::<4>::from_data(
        TensorData::new(mask, [batch, channels, height, width]),
        &images.device(),
    );
    images * mask
}

/// `translation,cutout` (the paper's), `translation`, `cutout` (each at the paper's
/// strength) or `none` (no transformation).
impl FromStr for DiffAugment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut policy = DiffAugment::new().with_translation(0.0).with_cutout(0.0);
        if s == "none" {
            return Ok(policy);
        }
        for part in s.split(',') {
            match part.trim() {
                "translation" => policy.translation = DiffAugment::new().translation,
                "cutout" => policy.cutout = DiffAugment::new().cutout,
                other => {
                    return Err(format!(
                        "unknown augmentation {other:?}: expected translation, cutout (comma-separated) or none"
                    ));
                }
            }
        }
        Ok(policy)
    }
}
