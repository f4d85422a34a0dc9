//! The classic GAN losses (Goodfellow et al. 2014), from logits.
//!
//! With `D(x) = σ(logit)`: `−log D(x) = softplus(−logit)` and `−log(1 − D(x)) =
//! softplus(logit)`. Computing them as softplus of the logit, never as the log of a
//! saturated sigmoid, keeps them finite and accurate for any logit.

use burn::tensor::Tensor;

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

/// The generator's non-saturating loss `L_G = −log D(G(z))`, averaged over the batch:
/// `mean softplus(−fake)`.
///
/// # Shapes
/// - fake_logits: `[batch, 1]`
/// - output: `[1]`
pub fn generator_loss(fake_logits: Tensor<2>) -> Tensor<1> {
    softplus(fake_logits.neg()).mean()
}
