//! The DCGAN's PyTorch twins (feature `pytorch`): `Generator` and `Discriminator` in the
//! repository's `python/kiln_torch.py`, `nn.Module`s with the same attribute names
//! (`project`, `project_norm`, `up1`, `up1_norm`, `up2`; `down1`, `down2`, `down2_norm`,
//! `classify`). The layouts are PyTorch's already for the convolutions (`[out, in, k, k]`,
//! transposed ones `[in, out, k, k]`); burn-store transposes the linear layers and renames
//! the batch norms' `gamma`/`beta`. The Python twin is the batch-norm discriminator: a
//! spectrally normalised one ([`DiscriminatorNorm::Spectral`](crate::DiscriminatorNorm)) has
//! no `down2_norm` and keeps its power-iteration vectors under `spectral.*`, which
//! kiln_torch.py does not read.

use kiln_core::PytorchWeights;

use crate::{Discriminator, Generator};

impl PytorchWeights for Generator {
    const NAME: &'static str = "DCGAN generator";
}

impl PytorchWeights for Discriminator {
    const NAME: &'static str = "DCGAN discriminator";
}
