//! The MLP as an image classifier: cross-entropy loss, accuracy, burn-train steps.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Tensor;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use kiln_data::ImageBatch;

use crate::{Mlp, MlpConfig, MlpConfigError};

/// An [`Mlp`] that classifies flattened images.
#[derive(Module, Debug)]
pub struct MlpClassifier {
    /// The network; its input size is the image's pixel count, its output the class count.
    pub mlp: Mlp,
}

impl MlpClassifier {
    /// Builds a classifier from an MLP config.
    ///
    /// # Errors
    /// As [`MlpConfig::init`].
    pub fn new(config: &MlpConfig, device: &burn::tensor::Device) -> Result<Self, MlpConfigError> {
        Ok(Self {
            mlp: config.init(device)?,
        })
    }

    /// Class logits of a batch of images.
    ///
    /// # Shapes
    /// - images: `[batch, 1, height, width]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = images.flatten::<2>(1, 3); // [batch, height * width]
        self.mlp.forward(x)
    }

    /// Logits, mean cross-entropy loss and targets of a batch, as burn-train's metrics want.
    pub fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl TrainStep for MlpClassifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for MlpClassifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}
