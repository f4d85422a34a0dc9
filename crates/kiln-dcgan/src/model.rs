//! The DCGAN generator and discriminator (Radford et al. 2016), sized for 28×28 images.

use burn::config::Config;
use burn::module::{Module, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::module::{conv2d, linear};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use kiln_core::Rng;

use crate::DcganError;

/// DCGAN's weight initialisation: N(0, 0.02).
const INIT: Initializer = Initializer::Normal {
    mean: 0.0,
    std: 0.02,
};
/// Slope of the LeakyReLUs.
const SLOPE: f64 = 0.2;

/// LeakyReLU as `x · f` with `f = 1` where `x > 0` and `slope` elsewhere, `f` computed from a
/// detached `x`: exactly `max(x, slope·x)`, and under autodiff one tracked product, whose
/// backward pass is one product (`grad · f`).
///
/// Burn's `activation::leaky_relu` has no autodiff kernel of its own: under autodiff it runs as
/// `lower_elem`, `mul_scalar` and `mask_where` (burn-backend 0.22.1,
/// `src/backend/ops/activation.rs`, `fn leaky_relu`; burn-autodiff overrides `relu` but not
/// `leaky_relu`), and `mask_where`'s forward and backward were the largest single cost of a
/// DCGAN iteration after the matrix products: 14% of the samples on flex and 19% on tch
/// (`perf record` of `bench --workloads w2`). The form before this one,
/// `(1 − slope)·relu(x) + slope·x`, ran four tracked passes each way; this one is 2–2.5 times
/// faster forward + backward on tch and 1.3 on flex (docs/benchmarks.md, W2).
pub fn leaky_relu<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    let factor = x.clone().detach().greater_elem(0.0).float() * (1.0 - slope) + slope;
    x * factor
}

/// The generator: `z → linear → BN → LeakyReLU → [B, 2f, s/4, s/4] → deconv → BN → LeakyReLU
/// → deconv → tanh`, with `f = features` and `s = image_size`.
#[derive(Config, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// Length of the latent vector z.
    #[config(default = 100)]
    pub latent_size: usize,
    /// Channels of the generated images (1 for MNIST, 3 for colour).
    #[config(default = 1)]
    pub channels: usize,
    /// Side of the square images; a multiple of 4.
    #[config(default = 28)]
    pub image_size: usize,
    /// Channels of the 14×14 feature map; the 7×7 map has twice as many (64 → 128).
    #[config(default = 64)]
    pub features: usize,
}

/// How the discriminator is normalised.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum DiscriminatorNorm {
    /// DCGAN's: batch norm after the second convolution.
    Batch,
    /// Spectral normalisation (Miyato et al. 2018) of all three layers' weights and no batch
    /// norm: each layer runs with `W / σ(W)`, `σ` its largest singular value estimated by one
    /// power iteration per training forward pass ([`SpectralNorms`]).
    Spectral,
}

kiln_core::named_enum!(DiscriminatorNorm, "discriminator normalisation", {
    Batch => "batch",
    Spectral => "spectral",
});

/// The discriminator: `x → conv(stride 2) → LeakyReLU → conv(stride 2) → BN → LeakyReLU →
/// flatten → linear → one logit` (with [`DiscriminatorNorm::Spectral`]: no BN, every weight
/// spectrally normalised).
#[derive(Config, Debug, PartialEq)]
pub struct DiscriminatorConfig {
    /// Channels of the input images.
    #[config(default = 1)]
    pub channels: usize,
    /// Side of the square images; a multiple of 4.
    #[config(default = 28)]
    pub image_size: usize,
    /// Channels after the first convolution; the second has twice as many (64 → 128).
    #[config(default = 64)]
    pub features: usize,
    /// The normalisation; `None`: [`DiscriminatorNorm::Batch`], DCGAN's (an `Option` so that
    /// a config written before it existed still reads).
    pub norm: Option<DiscriminatorNorm>,
}

fn check_size(image_size: usize, channels: usize, features: usize) -> Result<(), DcganError> {
    if channels == 0 {
        return Err(DcganError::ZeroChannels);
    }
    if features == 0 {
        return Err(DcganError::ZeroFeatures);
    }
    if image_size == 0 || !image_size.is_multiple_of(4) {
        return Err(DcganError::ImageSize(image_size));
    }
    Ok(())
}

/// Batch norm with DCGAN's scale initialisation N(1, 0.02) (shift 0).
fn batch_norm(features: usize, device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(features).init(device);
    bn.gamma = Param::from_tensor(Tensor::random(
        [features],
        Distribution::Normal(1.0, 0.02),
        device,
    ));
    bn
}

/// A 4×4, stride-2, padding-1 transposed convolution: doubles the side.
fn up(channels: [usize; 2], device: &Device) -> ConvTranspose2d {
    ConvTranspose2dConfig::new(channels, [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .with_initializer(INIT)
        .init(device)
}

/// A 4×4, stride-2, padding-1 convolution: halves the side.
fn down(channels: [usize; 2], device: &Device) -> Conv2d {
    Conv2dConfig::new(channels, [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_initializer(INIT)
        .init(device)
}

/// A parameter of `shape` drawn from N(mean, std) with `rng`.
fn normal<const D: usize>(
    shape: [usize; D],
    mean: f64,
    std: f64,
    rng: &mut Rng,
    device: &Device,
) -> Param<Tensor<D>> {
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| (mean + std * rng.normal()) as f32).collect();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// Zeros of `shape` as a parameter.
fn zeros(len: usize, device: &Device) -> Option<Param<Tensor<1>>> {
    Some(Param::from_tensor(Tensor::zeros([len], device)))
}

impl GeneratorConfig {
    /// Checks the sizes.
    ///
    /// # Errors
    /// The first invalid size.
    pub fn validate(&self) -> Result<(), DcganError> {
        if self.latent_size == 0 {
            return Err(DcganError::ZeroLatentSize);
        }
        check_size(self.image_size, self.channels, self.features)
    }

    /// A generator with DCGAN's initial weights on `device`.
    ///
    /// # Errors
    /// An invalid size.
    pub fn init(&self, device: &Device) -> Result<Generator, DcganError> {
        self.validate()?;
        let (f, side) = (self.features, self.image_size / 4);
        let projected = 2 * f * side * side;
        Ok(Generator {
            project: LinearConfig::new(self.latent_size, projected)
                .with_initializer(INIT)
                .init(device),
            project_norm: batch_norm(projected, device),
            up1: up([2 * f, f], device),
            up1_norm: batch_norm(f, device),
            up2: up([f, self.channels], device),
            features: 2 * f,
            side,
        })
    }
}

impl GeneratorConfig {
    /// A generator with DCGAN's initial weights drawn from `seed` on the host, so the same
    /// seed gives the same weights on every backend and whatever else uses the device's
    /// generator meanwhile: N(0, 0.02) for linear and convolution weights, N(1, 0.02) for
    /// batch-norm scales, zero biases and shifts.
    ///
    /// # Errors
    /// An invalid size.
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Result<Generator, DcganError> {
        let mut g = self.init(device)?;
        let mut rng = Rng::new(seed);
        let rng = &mut rng;
        g.project.weight = normal(g.project.weight.dims(), 0.0, 0.02, rng, device);
        g.project.bias = zeros(g.project.weight.dims()[1], device);
        g.project_norm.gamma = normal(g.project_norm.gamma.dims(), 1.0, 0.02, rng, device);
        g.up1.weight = normal(g.up1.weight.dims(), 0.0, 0.02, rng, device);
        g.up1.bias = zeros(g.up1.channels[1], device);
        g.up1_norm.gamma = normal(g.up1_norm.gamma.dims(), 1.0, 0.02, rng, device);
        g.up2.weight = normal(g.up2.weight.dims(), 0.0, 0.02, rng, device);
        g.up2.bias = zeros(g.up2.channels[1], device);
        Ok(g)
    }
}

impl DiscriminatorConfig {
    /// A discriminator with DCGAN's initial weights drawn from `seed` on the host (see
    /// [`GeneratorConfig::init_seeded`]).
    ///
    /// # Errors
    /// An invalid size.
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Result<Discriminator, DcganError> {
        let mut d = self.init(device)?;
        let mut rng = Rng::new(seed);
        let rng = &mut rng;
        d.down1.weight = normal(d.down1.weight.dims(), 0.0, 0.02, rng, device);
        d.down1.bias = zeros(d.down1.weight.dims()[0], device);
        d.down2.weight = normal(d.down2.weight.dims(), 0.0, 0.02, rng, device);
        d.down2.bias = zeros(d.down2.weight.dims()[0], device);
        if let Some(norm) = &mut d.down2_norm {
            norm.gamma = normal(norm.gamma.dims(), 1.0, 0.02, rng, device);
        }
        d.classify.weight = normal(d.classify.weight.dims(), 0.0, 0.02, rng, device);
        d.classify.bias = zeros(1, device);
        if let Some(spectral) = &mut d.spectral {
            // Drawn after every weight, so the weights are the batch-norm discriminator's.
            let rows = spectral.rows();
            *spectral = SpectralNorms {
                down1: unit_vector(rows[0], rng, device),
                down2: unit_vector(rows[1], rng, device),
                classify: unit_vector(rows[2], rng, device),
            };
        }
        Ok(d)
    }
}

impl DiscriminatorConfig {
    /// Checks the sizes.
    ///
    /// # Errors
    /// The first invalid size.
    pub fn validate(&self) -> Result<(), DcganError> {
        check_size(self.image_size, self.channels, self.features)
    }

    /// A discriminator with DCGAN's initial weights on `device`.
    ///
    /// # Errors
    /// An invalid size.
    pub fn init(&self, device: &Device) -> Result<Discriminator, DcganError> {
        self.validate()?;
        let (f, side) = (self.features, self.image_size / 4);
        let spectral = self.norm == Some(DiscriminatorNorm::Spectral);
        let random = |n: usize| {
            let u = Tensor::<1>::random([n], Distribution::Normal(0.0, 1.0), device);
            RunningState::new(normalized(u))
        };
        Ok(Discriminator {
            down1: down([self.channels, f], device),
            down2: down([f, 2 * f], device),
            down2_norm: (!spectral).then(|| batch_norm(2 * f, device)),
            classify: LinearConfig::new(2 * f * side * side, 1)
                .with_initializer(INIT)
                .init(device),
            spectral: spectral.then(|| SpectralNorms {
                down1: random(f),
                down2: random(2 * f),
                classify: random(1),
            }),
        })
    }
}

/// The DCGAN generator.
#[derive(Module, Debug)]
pub struct Generator {
    /// z → 2f · (s/4)².
    pub project: Linear,
    /// Batch norm of the projection.
    pub project_norm: BatchNorm,
    /// (s/4) → (s/2), 2f → f channels.
    pub up1: ConvTranspose2d,
    /// Batch norm after `up1`.
    pub up1_norm: BatchNorm,
    /// (s/2) → s, f → image channels.
    pub up2: ConvTranspose2d,
    /// Channels of the projected map.
    #[module(skip)]
    pub features: usize,
    /// Side of the projected map.
    #[module(skip)]
    pub side: usize,
}

impl Generator {
    /// Images in [−1, 1] from latent vectors.
    ///
    /// # Shapes
    /// - z: `[batch, latent_size]`
    /// - output: `[batch, channels, image_size, image_size]`
    ///
    /// # Panics
    /// If `z` is not `[batch, latent_size]` (Burn's shape check). Input from outside the
    /// program goes through [`try_forward`](Self::try_forward).
    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let batch = z.dims()[0];
        let x = self.project.forward(z); // [batch, 2f·side²]
        let x = leaky_relu(self.project_norm.forward(x), SLOPE);
        let x = x.reshape([batch, self.features, self.side, self.side]); // [batch, 2f, side, side]
        let x = leaky_relu(self.up1_norm.forward(self.up1.forward(x)), SLOPE); // [batch, f, 2side, 2side]
        self.up2.forward(x).tanh() // [batch, channels, 4side, 4side]
    }

    /// [`forward`](Self::forward), checked: `z` that is not `[batch, latent_size]` (or has no
    /// row) is [`DcganError::LatentShape`](crate::DcganError::LatentShape), not a panic.
    ///
    /// # Errors
    /// [`DcganError::LatentShape`](crate::DcganError::LatentShape).
    pub fn try_forward(&self, z: Tensor<2>) -> Result<Tensor<4>, crate::DcganError> {
        let found = z.dims();
        if found[1] != self.latent_size() || found[0] == 0 {
            return Err(crate::DcganError::LatentShape {
                expected: self.latent_size(),
                found,
            });
        }
        Ok(self.forward(z))
    }

    /// The same generator, without autodiff, with its batch-norm running statistics replaced
    /// by the exact statistics of its own activations on the latent batch `z` (on the plain
    /// device): "standing statistics" (Brock et al. 2019). Running statistics are an average
    /// over the last training steps of weights that kept moving; the statistics of a
    /// generator whose weights were averaged ([`GeneratorAverage`](crate::GeneratorAverage))
    /// belong to none of them. Means and biased variances, as batch norm computes them.
    ///
    /// # Shapes
    /// - z: `[batch, latent_size]`, batch ≥ 2
    pub fn with_batch_statistics(&self, z: Tensor<2>) -> Generator {
        let mut g = self.valid();
        let batch = z.dims()[0];
        let x = g.project.forward(z); // [batch, 2f·side²]
        let (mean, var) = moments(x.clone());
        g.project_norm.running_mean = RunningState::new(mean);
        g.project_norm.running_var = RunningState::new(var);
        let x = leaky_relu(g.project_norm.forward(x), SLOPE);
        let x = x.reshape([batch, g.features, g.side, g.side]);
        let x = g.up1.forward(x); // [batch, f, 2side, 2side]
        let channels = x.dims()[1];
        let (mean, var) = moments(x.swap_dims(0, 1).reshape([channels as i64, -1]).transpose());
        g.up1_norm.running_mean = RunningState::new(mean);
        g.up1_norm.running_var = RunningState::new(var);
        g
    }

    /// Length of the latent vectors it takes.
    pub fn latent_size(&self) -> usize {
        self.project.weight.dims()[0]
    }
}

/// Per-column mean and biased variance of `[rows, columns]`.
fn moments(x: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let columns = x.dims()[1];
    let mean = x.clone().mean_dim(0); // [1, columns]
    let var = (x - mean.clone()).powi_scalar(2).mean_dim(0);
    (mean.reshape([columns]), var.reshape([columns]))
}

/// `x / max(‖x‖, 1e-12)`, as PyTorch's `F.normalize`.
fn normalized<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let norm = x.clone().powi_scalar(2).sum().sqrt().clamp_min(1e-12);
    x / norm.unsqueeze()
}

/// A unit vector of length `n` with a direction drawn from `rng`.
fn unit_vector(n: usize, rng: &mut Rng, device: &Device) -> RunningState<Tensor<1>> {
    let values: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    RunningState::new(normalized(Tensor::from_data(
        TensorData::new(values, [n]),
        device,
    )))
}

/// The power-iteration state of a spectrally normalised discriminator
/// ([`DiscriminatorNorm::Spectral`]): for each layer, the estimate `u` of the left singular
/// vector of its weight seen as a matrix `W` with one row per output (`[out, in·k·k]` for a
/// convolution, `[out, in]` for the linear layer, as PyTorch's `spectral_norm` sees them).
///
/// Each forward pass on an autodiff device runs one power iteration, `v ← Wᵀu / ‖Wᵀu‖`,
/// `u ← Wv / ‖Wv‖` (with `W` detached), stores `u`, and divides the weight by
/// `σ = uᵀWv`, through which gradients flow (Miyato et al. 2018, as PyTorch does). Without
/// autodiff `u` is read, not updated.
#[derive(Module, Debug)]
pub struct SpectralNorms {
    /// `u` of `down1`.
    pub down1: RunningState<Tensor<1>>,
    /// `u` of `down2`.
    pub down2: RunningState<Tensor<1>>,
    /// `u` of `classify` (one output: a sign).
    pub classify: RunningState<Tensor<1>>,
}

impl SpectralNorms {
    /// Lengths of the three `u`.
    fn rows(&self) -> [usize; 3] {
        [
            self.down1.value().dims()[0],
            self.down2.value().dims()[0],
            self.classify.value().dims()[0],
        ]
    }
}

/// `σ`, the largest singular value of `matrix` (`[rows, columns]`) estimated from `u` by one
/// power iteration ([`SpectralNorms`]), as a `[1]` tensor with gradients to `matrix`; `u` is
/// updated when `matrix` is on an autodiff device.
fn spectral_norm(matrix: Tensor<2>, u: &RunningState<Tensor<1>>) -> Tensor<1> {
    let device = matrix.device();
    let rows = matrix.dims()[0];
    let held = matrix.clone().detach();
    let start = u.value_sync().to_device(&device).reshape([rows, 1]);
    let v = normalized(held.clone().transpose().matmul(start)); // [columns, 1]
    let u_new = normalized(held.matmul(v.clone())); // [rows, 1]
    if device.is_autodiff() {
        u.update(u_new.clone().reshape([rows]).detach());
        // `update` parks the value per thread until the next read; a module's record (a
        // checkpoint) reads the state without that step (burn-core 0.22.1,
        // `RunningState::visit`), and would save the previous `u`: resuming would not be exact.
        let _ = u.value_sync();
    }
    u_new.transpose().matmul(matrix.matmul(v)).reshape([1]) // uᵀWv
}

/// The DCGAN discriminator.
#[derive(Module, Debug)]
pub struct Discriminator {
    /// s → s/2, channels → f.
    pub down1: Conv2d,
    /// s/2 → s/4, f → 2f.
    pub down2: Conv2d,
    /// Batch norm after `down2` (none with [`DiscriminatorNorm::Spectral`]).
    pub down2_norm: Option<BatchNorm>,
    /// 2f·(s/4)² → one logit.
    pub classify: Linear,
    /// The power-iteration state of [`DiscriminatorNorm::Spectral`] (none with batch norm).
    pub spectral: Option<SpectralNorms>,
}

impl Discriminator {
    /// One logit per image: positive means "real".
    ///
    /// # Shapes
    /// - images: `[batch, channels, image_size, image_size]`
    /// - output: `[batch, 1]`
    ///
    /// # Panics
    /// If the images are not of the size it was built for (Burn's shape checks). Input from
    /// outside the program goes through [`try_forward`](Self::try_forward).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        if self.spectral.is_none() {
            let x = leaky_relu(self.down1.forward(images), SLOPE); // [batch, f, s/2, s/2]
            let x = self.down2.forward(x); // [batch, 2f, s/4, s/4]
            let x = match &self.down2_norm {
                Some(norm) => norm.forward(x),
                None => x,
            };
            return self.classify.forward(leaky_relu(x, SLOPE).flatten(1, 3)); // [batch, 1]
        }
        let (w1, w2, w3) = self.weights();
        // `down`'s convolutions: 4×4, stride 2, padding 1.
        let options = || ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
        let bias = |conv: &Conv2d| conv.bias.as_ref().map(Param::val);
        let x = leaky_relu(conv2d(images, w1, bias(&self.down1), options()), SLOPE);
        let x = leaky_relu(conv2d(x, w2, bias(&self.down2), options()), SLOPE);
        let bias = self.classify.bias.as_ref().map(Param::val);
        linear(x.flatten(1, 3), w3, bias) // [batch, 1]
    }

    /// The weights the forward pass uses for `down1`, `down2` and `classify` (in Burn's
    /// layouts): the parameters themselves, or with [`DiscriminatorNorm::Spectral`] each
    /// divided by its estimated largest singular value (which runs a power iteration, and
    /// updates the estimate on an autodiff device, as a forward pass does).
    pub fn weights(&self) -> (Tensor<4>, Tensor<4>, Tensor<2>) {
        let (w1, w2, w3) = (
            self.down1.weight.val(),
            self.down2.weight.val(),
            self.classify.weight.val(),
        );
        let Some(spectral) = &self.spectral else {
            return (w1, w2, w3);
        };
        let conv = |w: Tensor<4>, u| {
            let out = w.dims()[0];
            let sigma = spectral_norm(w.clone().reshape([out as i64, -1]), u);
            w / sigma.reshape([1, 1, 1, 1])
        };
        // Burn's linear weight is `[in, out]`: its matrix with one row per output is the
        // transpose.
        let sigma = spectral_norm(w3.clone().transpose(), &spectral.classify);
        (
            conv(w1, &spectral.down1),
            conv(w2, &spectral.down2),
            w3 / sigma.reshape([1, 1]),
        )
    }

    /// [`forward`](Self::forward), checked: images that are not `[batch, channels, side,
    /// side]` of the size it was built for (or no image) are
    /// [`DcganError::InputShape`](crate::DcganError::InputShape), not a panic.
    ///
    /// # Errors
    /// [`DcganError::InputShape`](crate::DcganError::InputShape).
    pub fn try_forward(&self, images: Tensor<4>) -> Result<Tensor<2>, crate::DcganError> {
        let found = images.dims();
        let [channels, side] = self.image_size();
        if found[0] == 0 || found[1] != channels || found[2] != side || found[3] != side {
            return Err(crate::DcganError::InputShape {
                channels,
                side,
                found,
            });
        }
        Ok(self.forward(images))
    }

    /// `[channels, side]` of the images it takes: `down1`'s input channels, and the side
    /// whose quarter squared times `down2`'s channels is `classify`'s input.
    pub fn image_size(&self) -> [usize; 2] {
        let channels = self.down1.weight.dims()[1]; // [f, channels, 4, 4]
        let doubled = self.down2.weight.dims()[0].max(1); // [2f, f, 4, 4]
        let cells = self.classify.weight.dims()[0] / doubled; // (side/4)²
        [channels, cells.isqrt() * 4]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value is `max(x, 0.2·x)` exactly, the gradient 1 above zero and the slope below.
    #[test]
    fn leaky_relu_has_the_right_values_and_gradient() {
        let device = Device::flex().autodiff();
        let values = [-3.0f32, -0.5, -1e-30, 0.0, 1e-30, 0.7, 5.0];
        let x =
            Tensor::<1>::from_data(TensorData::new(values.to_vec(), [7]), &device).require_grad();
        let y = leaky_relu(x.clone(), SLOPE);
        let got: Vec<f32> = y.clone().into_data().iter::<f32>().collect();
        let want: Vec<f32> = values.iter().map(|&v| v.max(v * 0.2)).collect();
        assert_eq!(got, want);
        let grads = y.sum().backward();
        let g: Vec<f32> = x.grad(&grads).unwrap().into_data().iter::<f32>().collect();
        let want: Vec<f32> = values
            .iter()
            .map(|&v| if v > 0.0 { 1.0 } else { 0.2 })
            .collect();
        assert_eq!(g, want);
    }

    #[test]
    fn defaults_are_valid() {
        assert!(matches!(GeneratorConfig::new().validate(), Ok(())));
        assert!(matches!(DiscriminatorConfig::new().validate(), Ok(())));
    }

    #[test]
    fn each_invalid_size_has_its_error() {
        assert!(matches!(
            GeneratorConfig::new().with_latent_size(0).validate(),
            Err(DcganError::ZeroLatentSize)
        ));
        assert!(matches!(
            GeneratorConfig::new().with_channels(0).validate(),
            Err(DcganError::ZeroChannels)
        ));
        assert!(matches!(
            DiscriminatorConfig::new().with_features(0).validate(),
            Err(DcganError::ZeroFeatures)
        ));
        assert!(matches!(
            DiscriminatorConfig::new().with_image_size(30).validate(),
            Err(DcganError::ImageSize(30))
        ));
    }
}
