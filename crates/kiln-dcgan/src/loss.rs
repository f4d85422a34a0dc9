//! The GAN losses, from logits: the classic ones (Goodfellow et al. 2014) and the hinge loss
//! (Lim & Ye 2017; Miyato et al. 2018), chosen by [`GanLoss`].
//!
//! With `D(x) = σ(logit)`: `−log D(x) = softplus(−logit)` and `−log(1 − D(x)) =
//! softplus(logit)`. Computing them as softplus of the logit, never as the log of a
//! saturated sigmoid, keeps them finite and accurate for any logit.

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// `log(1 + eˣ)` as `max(x, 0) + log1p(e^(−|x|))`: no overflow for large `x`, no loss of
/// precision for very negative `x`.
pub fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

/// The discriminator's loss `L_D = −[log D(x) + log(1 − D(G(z)))]`, averaged over each batch:
/// `mean softplus(−real) + mean softplus(fake)`.
///
/// # Shapes
/// - real_logits, fake_logits: `[batch, 1]`
/// - output: `[1]`
pub fn discriminator_loss(real_logits: Tensor<2>, fake_logits: Tensor<2>) -> Tensor<1> {
    softplus(real_logits.neg()).mean() + softplus(fake_logits).mean()
}

/// The discriminator's loss with one-sided label smoothing (Salimans et al. 2016): the real
/// images' target is `real_label` (e.g. 0.9) instead of 1, the fakes' stays 0, so
/// `L_D = −[s·log D(x) + (1 − s)·log(1 − D(x)) + log(1 − D(G(z)))]`, averaged over each
/// batch: `s·mean softplus(−real) + (1 − s)·mean softplus(real) + mean softplus(fake)`.
/// `real_label` 1 is [`discriminator_loss`].
///
/// # Shapes
/// - real_logits, fake_logits: `[batch, 1]`
/// - output: `[1]`
pub fn smoothed_discriminator_loss(
    real_logits: Tensor<2>,
    fake_logits: Tensor<2>,
    real_label: f64,
) -> Tensor<1> {
    softplus(real_logits.clone().neg()).mean() * real_label
        + softplus(real_logits).mean() * (1.0 - real_label)
        + softplus(fake_logits).mean()
}

/// The generator's non-saturating loss `L_G = −log D(G(z))`, averaged over the batch:
/// `mean softplus(−fake)`.
///
/// # Shapes
/// - fake_logits: `[batch, 1]`
/// - output: `[1]`
pub fn generator_loss(fake_logits: Tensor<2>) -> Tensor<1> {
    softplus(fake_logits.neg()).mean()
}

/// The discriminator's hinge loss `L_D = mean max(0, 1 − real) + mean max(0, 1 + fake)`.
///
/// # Shapes
/// - real_logits, fake_logits: `[batch, 1]`
/// - output: `[1]`
pub fn hinge_discriminator_loss(real_logits: Tensor<2>, fake_logits: Tensor<2>) -> Tensor<1> {
    relu(real_logits.neg() + 1.0).mean() + relu(fake_logits + 1.0).mean()
}

/// The generator's hinge loss `L_G = −mean fake`.
///
/// # Shapes
/// - fake_logits: `[batch, 1]`
/// - output: `[1]`
pub fn hinge_generator_loss(fake_logits: Tensor<2>) -> Tensor<1> {
    fake_logits.mean().neg()
}

/// Which pair of losses the GAN trains with.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum GanLoss {
    /// [`discriminator_loss`] and the non-saturating [`generator_loss`]: the DCGAN paper's.
    Classic,
    /// [`hinge_discriminator_loss`] and [`hinge_generator_loss`].
    Hinge,
}

kiln_core::named_enum!(GanLoss, "GAN loss", { Classic => "classic", Hinge => "hinge" });

impl GanLoss {
    /// The discriminator's loss on a real and a fake batch of logits.
    ///
    /// # Shapes
    /// - real_logits, fake_logits: `[batch, 1]`
    /// - output: `[1]`
    pub fn discriminator(self, real_logits: Tensor<2>, fake_logits: Tensor<2>) -> Tensor<1> {
        match self {
            GanLoss::Classic => discriminator_loss(real_logits, fake_logits),
            GanLoss::Hinge => hinge_discriminator_loss(real_logits, fake_logits),
        }
    }

    /// The generator's loss on the discriminator's logits of its images.
    ///
    /// # Shapes
    /// - fake_logits: `[batch, 1]`
    /// - output: `[1]`
    pub fn generator(self, fake_logits: Tensor<2>) -> Tensor<1> {
        match self {
            GanLoss::Classic => generator_loss(fake_logits),
            GanLoss::Hinge => hinge_generator_loss(fake_logits),
        }
    }
}
