//! The DCGAN's PyTorch twins (feature `pytorch`): `Generator` and `Discriminator` in the
//! repository's `python/kiln_torch.py`, `nn.Module`s with the same attribute names
//! (`project`, `project_norm`, `up1`, `up1_norm`, `up2`; `down1`, `down2`, `down2_norm`,
//! `classify`). The layouts are PyTorch's already for the convolutions (`[out, in, k, k]`,
//! transposed ones `[in, out, k, k]`); burn-store transposes the linear layers and renames
//! the batch norms' `gamma`/`beta`. A spectrally normalised discriminator
//! ([`DiscriminatorNorm::Spectral`](crate::DiscriminatorNorm), kiln's recipe) has no
//! `down2_norm` and keeps its power-iteration vectors as `spectral.down1`, `spectral.down2`
//! and `spectral.classify`; kiln_torch.py's `Discriminator(norm="Spectral")` reads them and
//! computes `W / σ` as kiln does (tested both ways in `tests/kiln/pytorch.rs`).

use kiln_core::PytorchWeights;

use crate::{Discriminator, Generator};

impl PytorchWeights for Generator {
    const NAME: &'static str = "DCGAN generator";
}

impl PytorchWeights for Discriminator {
    const NAME: &'static str = "DCGAN discriminator";
}
