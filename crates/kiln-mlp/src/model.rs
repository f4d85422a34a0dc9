//! The multi-layer perceptron.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation;

use crate::MlpError;

/// The non-linearity between layers.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
}

kiln_core::named_enum!(Activation, "activation", { Relu => "relu", Sigmoid => "sigmoid", Tanh => "tanh" });

impl Activation {
    /// Applies the activation element-wise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Sigmoid => activation::sigmoid(x),
            Activation::Tanh => activation::tanh(x),
        }
    }
}

/// Configuration of an [`Mlp`]: `input_size → hidden_sizes… → output_size`, fully connected.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Number of input features (784 for a flattened 28×28 image).
    #[config(default = 784)]
    pub input_size: usize,
    /// Widths of the hidden layers, input side first. Empty makes a linear model.
    #[config(default = "vec![512, 256]")]
    pub hidden_sizes: Vec<usize>,
    /// Number of outputs (classes for a classifier, actions for a Q-network).
    #[config(default = 10)]
    pub output_size: usize,
    /// Activation after every hidden layer (none after the output layer).
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Dropout probability after every hidden activation, active only while training on an
    /// autodiff device. 0 disables it.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl MlpConfig {
    /// Checks every value.
    ///
    /// # Errors
    /// The first invalid value, as its own [`MlpError`] variant.
    pub fn validate(&self) -> Result<(), MlpError> {
        if self.input_size == 0 {
            return Err(MlpError::ZeroInputSize);
        }
        if self.output_size == 0 {
            return Err(MlpError::ZeroOutputSize);
        }
        if let Some(layer) = self.hidden_sizes.iter().position(|&w| w == 0) {
            return Err(MlpError::ZeroHiddenSize { layer });
        }
        if !self.dropout.is_finite() || !(0.0..1.0).contains(&self.dropout) {
            return Err(MlpError::DropoutOutOfRange(self.dropout));
        }
        Ok(())
    }

    /// Builds the model on `device`, weights initialised as burn's `Linear` does
    /// (Kaiming-uniform, as PyTorch's `nn.Linear`).
    ///
    /// Unlike most burn configs, `init` validates first and returns a `Result`: an MLP config
    /// usually comes from a command line or a JSON file, and a bad value must be an error,
    /// not a panic.
    ///
    /// # Errors
    /// As [`validate`](Self::validate).
    pub fn init(&self, device: &burn::tensor::Device) -> Result<Mlp, MlpError> {
        self.validate()?;
        let mut widths = vec![self.input_size];
        widths.extend(&self.hidden_sizes);
        let hidden = widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        let last = *widths.last().unwrap_or(&self.input_size);
        Ok(Mlp {
            hidden,
            output: LinearConfig::new(last, self.output_size).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: self.activation,
        })
    }
}

impl MlpConfig {
    /// [`init`](Self::init) with the initial weights drawn on the host from `seed` (kiln's
    /// [`Rng`](kiln_core::Rng)) rather than from the device's shared generator, so a seed
    /// gives the same network whatever else runs on the device at the same time (parallel
    /// tests, other models). The distribution is `init`'s, Burn's and PyTorch's default for a
    /// linear layer: weights and biases uniform in ±1/√fan_in.
    ///
    /// # Errors
    /// As [`init`](Self::init).
    pub fn init_seeded(&self, device: &burn::tensor::Device, seed: u64) -> Result<Mlp, MlpError> {
        let mut mlp = self.init(device)?;
        let mut rng = kiln_core::Rng::new(seed);
        let mut draw = |layer: &mut Linear| {
            let [fan_in, fan_out] = layer.weight.dims();
            let bound = 1.0 / (fan_in as f64).sqrt();
            let mut uniform = |n: usize| -> Vec<f32> {
                (0..n).map(|_| rng.uniform(-bound, bound) as f32).collect()
            };
            let weight = uniform(fan_in * fan_out);
            layer.weight = burn::module::Param::from_tensor(burn::tensor::Tensor::from_data(
                burn::tensor::TensorData::new(weight, [fan_in, fan_out]),
                device,
            ));
            if layer.bias.is_some() {
                let bias = uniform(fan_out);
                layer.bias = Some(burn::module::Param::from_tensor(
                    burn::tensor::Tensor::from_data(
                        burn::tensor::TensorData::new(bias, [fan_out]),
                        device,
                    ),
                ));
            }
        };
        for layer in &mut mlp.hidden {
            draw(layer);
        }
        draw(&mut mlp.output);
        Ok(mlp)
    }
}

/// A fully connected network: `(Linear → activation → dropout)* → Linear`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The hidden layers, input side first.
    pub hidden: Vec<Linear>,
    /// The output layer.
    pub output: Linear,
    /// Dropout after every hidden activation.
    pub dropout: Dropout,
    /// The activation after every hidden layer.
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    /// The output (logits) for a batch of inputs.
    ///
    /// # Shapes
    /// - input: `[batch, input_size]`
    /// - output: `[batch, output_size]`
    ///
    /// # Panics
    /// If the input is not `[batch, input_size]` (Burn's shape check). Input from outside the
    /// program goes through [`try_forward`](Self::try_forward), which returns an error instead.
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.features(input))
    }

    /// [`forward`](Self::forward), checked: an input that is not `[batch, input_size]` (or
    /// has no row) is [`MlpError::InputShape`](crate::MlpError::InputShape), not a panic.
    ///
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use kiln_mlp::{MlpConfig, MlpError};
    /// let device = Device::flex();
    /// let mlp = MlpConfig::new().with_input_size(12).init(&device).unwrap();
    /// let wrong = mlp.try_forward(Tensor::<2>::zeros([4, 11], &device));
    /// assert!(matches!(wrong, Err(MlpError::InputShape { expected: 12, found: [4, 11] })));
    /// ```
    ///
    /// # Errors
    /// [`MlpError::InputShape`](crate::MlpError::InputShape).
    pub fn try_forward(&self, input: Tensor<2>) -> Result<Tensor<2>, crate::MlpError> {
        let found = input.dims();
        if found[1] != self.input_size() || found[0] == 0 {
            return Err(crate::MlpError::InputShape {
                expected: self.input_size(),
                found,
            });
        }
        Ok(self.forward(input))
    }

    /// The activations of the last hidden layer (the input itself if there is none), without
    /// dropout at inference time: what later layers see. Used as an embedding, for example by
    /// the DCGAN's Fréchet distance.
    ///
    /// # Shapes
    /// - input: `[batch, input_size]`
    /// - output: `[batch, last hidden width]`
    pub fn features(&self, input: Tensor<2>) -> Tensor<2> {
        self.hidden.iter().fold(input, |x, layer| {
            self.dropout
                .forward(self.activation.apply(layer.forward(x)))
        })
    }

    /// Number of outputs.
    pub fn output_size(&self) -> usize {
        self.output.weight.dims()[1]
    }

    /// Number of inputs.
    pub fn input_size(&self) -> usize {
        self.hidden.first().unwrap_or(&self.output).weight.dims()[0]
    }

    /// The activation this network uses.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_weights_do_not_depend_on_the_device_generator() {
        let device = burn::tensor::Device::flex();
        let config = MlpConfig::new()
            .with_input_size(6)
            .with_hidden_sizes(vec![5])
            .with_output_size(3);
        let values = |m: &Mlp| -> Vec<f32> {
            let x = Tensor::<2>::from_data(
                burn::tensor::TensorData::new(
                    (0..12).map(|i| i as f32 / 7.0).collect::<Vec<_>>(),
                    [2, 6],
                ),
                &device,
            );
            m.forward(x).into_data().iter::<f32>().collect()
        };
        device.seed(1);
        let a = config.init_seeded(&device, 5).unwrap();
        // Anything else drawing from, or reseeding, the device's generator in between.
        device.seed(99);
        let _ = Tensor::<2>::random([100, 100], burn::tensor::Distribution::Default, &device);
        let b = config.init_seeded(&device, 5).unwrap();
        assert_eq!(values(&a), values(&b));
        assert_ne!(values(&a), values(&config.init_seeded(&device, 6).unwrap()));
        // Within ±1/√fan_in, as `init`.
        let w: Vec<f32> = a.hidden[0].weight.val().into_data().iter::<f32>().collect();
        let bound = 1.0 / 6f32.sqrt();
        assert!(w.iter().all(|v| v.abs() <= bound), "{w:?}");
    }

    #[test]
    fn default_config_is_valid() {
        assert!(matches!(MlpConfig::new().validate(), Ok(())));
    }

    #[test]
    fn zero_input_size_is_rejected() {
        let c = MlpConfig::new().with_input_size(0);
        assert!(matches!(c.validate(), Err(MlpError::ZeroInputSize)));
    }

    #[test]
    fn zero_output_size_is_rejected() {
        let c = MlpConfig::new().with_output_size(0);
        assert!(matches!(c.validate(), Err(MlpError::ZeroOutputSize)));
    }

    #[test]
    fn zero_hidden_width_is_rejected_with_its_layer() {
        let c = MlpConfig::new().with_hidden_sizes(vec![64, 0, 8]);
        assert!(matches!(
            c.validate(),
            Err(MlpError::ZeroHiddenSize { layer: 1 })
        ));
    }

    #[test]
    fn dropout_out_of_range_is_rejected() {
        for p in [-0.1, 1.0, f64::NAN] {
            let c = MlpConfig::new().with_dropout(p);
            assert!(
                matches!(c.validate(), Err(MlpError::DropoutOutOfRange(_))),
                "{p}"
            );
        }
    }

    #[test]
    fn activation_names_parse() {
        for a in Activation::ALL {
            assert_eq!(a.name().parse::<Activation>(), Ok(a));
        }
        assert_eq!(
            "gelu".parse::<Activation>().map_err(|e| e.to_string()),
            Err("unknown activation 'gelu': expected relu, sigmoid or tanh".into())
        );
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = MlpConfig::new()
            .with_hidden_sizes(vec![3])
            .with_activation(Activation::Tanh);
        let back: MlpConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.hidden_sizes, vec![3]);
        assert_eq!(back.activation, Activation::Tanh);
    }
}
