//! How pixel bytes become the floats a model reads.

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
