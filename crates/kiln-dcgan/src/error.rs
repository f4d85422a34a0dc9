//! The one error type of kiln-dcgan.

/// Errors of the DCGAN: invalid configs, images that do not fit the networks, a judge of
/// another size, a failed device, and (with `run`) its run folder and drawings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DcganError {
    // Invalid configs: the networks' sizes, then training's values.
    /// The latent size is 0.
    #[error("latent_size must be at least 1")]
    ZeroLatentSize,
    /// The channel count is 0.
    #[error("channels must be at least 1")]
    ZeroChannels,
    /// A feature-map width is 0.
    #[error("the feature-map widths must be at least 1")]
    ZeroFeatures,
    /// The image side is not a positive multiple of 4 (two stride-2 stages).
    #[error("image_size must be a positive multiple of 4, got {0}")]
    ImageSize(usize),
    /// Generator and discriminator disagree on the images.
    #[error("the generator makes {generator:?} images, the discriminator takes {discriminator:?}")]
    ImageMismatch {
        /// Generator's (channels, side).
        generator: (usize, usize),
        /// Discriminator's (channels, side).
        discriminator: (usize, usize),
    },
    /// `epochs` is 0.
    #[error("epochs must be at least 1")]
    ZeroEpochs,
    /// `batch_size` is below 2 (batch norm needs two samples).
    #[error("batch_size must be at least 2, got {0}")]
    BatchSize(usize),
    /// The learning rate is not in (0, 1].
    #[error("learning_rate must be in (0, 1], got {0}")]
    LearningRate(f64),
    /// The discriminator's own learning rate is not in (0, 1].
    #[error("discriminator_learning_rate must be in (0, 1], got {0}")]
    DiscriminatorLearningRate(f64),
    /// The generator average's decay is not in [0, 1).
    #[error(
        "generator_average (the decay of the generator's moving average) must be in [0, 1), got {0}"
    )]
    GeneratorAverage(f64),
    /// The real images' target is not in [0.5, 1].
    #[error(
        "real_label (the real images' target, for one-sided label smoothing) must be in [0.5, 1], got {0}"
    )]
    RealLabel(f64),
    /// Label smoothing asked for with the hinge loss, which has no target.
    #[error(
        "real_label (label smoothing) applies to the classic loss only; the hinge loss has no target"
    )]
    RealLabelWithHinge,
    /// Standing statistics asked for on fewer than 2 or more than 65,536 latent vectors.
    #[error(
        "standing_statistics (latent vectors for the sampler's batch-norm statistics) must be 2 to 65,536, got {0}"
    )]
    StandingStatistics(usize),
    /// A differentiable-augmentation fraction out of its range.
    #[error(
        "augmentation: translation must be in [0, 0.5] and cutout in [0, 1], got {translation} and {cutout}"
    )]
    Augmentation {
        /// The largest shift, as a fraction of the side.
        translation: f64,
        /// The cut-out square's side, as a fraction of the image's.
        cutout: f64,
    },
    /// Fewer than 2 quality samples (a covariance needs two).
    #[error("quality_samples must be at least 2, got {0}")]
    QualitySamples(usize),
    // Data, devices, runs.
    /// The images do not have the shape the networks take.
    #[error("the images are {found:?} (channels, height, width), the networks take {expected:?}")]
    ImageShape {
        /// `[channels, side, side]` of the config.
        expected: [usize; 3],
        /// `[channels, height, width]` of the data.
        found: [usize; 3],
    },
    /// The judge's classifier does not take images of the networks' size.
    #[error("the judge takes {judge} inputs, the images have {pixels} values")]
    JudgeInput {
        /// The classifier's input size.
        judge: usize,
        /// `channels × side × side`.
        pixels: usize,
    },
    /// A quality check was given fewer than 2 real images (a covariance needs two).
    #[error("the quality check needs at least 2 real images, got {0}")]
    QualityImages(usize),
    /// The device failed to compute or read back a result (Burn's `try_` readers).
    #[error("the device failed: {0}")]
    Device(#[from] kiln_core::DeviceError),
    /// Weights could not be read from or written to a PyTorch `state_dict` file (or
    /// pretrained weights), or do not fit the network.
    #[error(transparent)]
    Weights(#[from] kiln_core::WeightsError),
    /// The dataset has fewer images than one batch.
    #[error("{images} training images do not fill one batch of {batch}")]
    TooFewImages {
        /// Images available.
        images: usize,
        /// Batch size.
        batch: usize,
    },
    /// An image source returned nothing, or the wrong number of values, for an index below
    /// its length.
    #[error("image {index} is missing or does not have {expected} values")]
    BadImage {
        /// The image.
        index: usize,
        /// `channels × height × width`.
        expected: usize,
    },
    /// A pixel is NaN, infinite, or outside `[−1, 1]` (the generator's `tanh` range, which
    /// real images must share; 0..255 bytes must be scaled first).
    #[error(
        "image {index} has the value {value} at position {position}; pixels must be finite and in [-1, 1]"
    )]
    PixelOutOfRange {
        /// The image.
        index: usize,
        /// The value's position in the image, row-major.
        position: usize,
        /// The value.
        value: f32,
    },
    /// A latent batch given to [`Generator::try_forward`](crate::Generator::try_forward) is
    /// not `[batch, latent_size]`.
    #[error("the generator takes [batch, {expected}] latent vectors, got {found:?}")]
    LatentShape {
        /// The generator's latent size.
        expected: usize,
        /// The shape given.
        found: [usize; 2],
    },
    /// Images given to [`Discriminator::try_forward`](crate::Discriminator::try_forward)
    /// are not `[batch, channels, side, side]` of its size.
    #[error("the discriminator takes [batch, {channels}, {side}, {side}] images, got {found:?}")]
    InputShape {
        /// Channels it takes.
        channels: usize,
        /// Side it takes.
        side: usize,
        /// The shape given.
        found: [usize; 4],
    },
    /// A run folder's file could not be read or written or failed its checksum, or the
    /// folder does not fit the run asked for.
    #[error(transparent)]
    Run(#[from] kiln_core::RunError),
    /// An image could not be drawn.
    #[error("drawing {path}: {reason}")]
    Plot {
        /// The image.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}
