//! PyTorch interop: a kiln network's weights to and from a PyTorch `state_dict`, through
//! burn-store. [`WeightsError`] and [`Precision`] are always here (so that every crate's
//! error enum has one shape in every build); [`PytorchWeights`] needs the `pytorch` feature.
//!
//! Every network kiln trains implements [`PytorchWeights`]: `save_pytorch` writes a
//! safetensors file with PyTorch's names and layouts (a linear layer's weight transposed to
//! `[out, in]`, a batch norm's `gamma`/`beta` as `weight`/`bias`), which the module
//! definitions in the repository's `python/kiln_torch.py` load with `strict=True`;
//! `load_pytorch` reads such a `state_dict` back, from safetensors or from PyTorch's own
//! `.pt`/`.pth` pickle. The conversions are burn-store's (`BurnToPyTorchAdapter`,
//! `PyTorchToBurnAdapter`); what this module adds is the strictness PyTorch users expect of
//! `load_state_dict(strict=True)`: a key the network lacks, a key the file lacks, or a shape
//! that does not fit is a [`WeightsError`] that names it, and the network is left as it was.
//!
//! PyTorch's `BatchNorm*.num_batches_tracked` counters have no kiln counterpart: they are
//! ignored when read and not written (PyTorch restores them as 0 when a plain dict, such as
//! `safetensors.torch.load_file`'s, lacks them; with a momentum set, as kiln's and PyTorch's
//! defaults are, the counter changes nothing).

#[cfg(feature = "pytorch")]
use std::path::Path;
use std::path::PathBuf;

#[cfg(feature = "pytorch")]
use burn::module::Module;
#[cfg(feature = "pytorch")]
use burn::store::burn_pack::Tensor as PackTensor;
#[cfg(feature = "pytorch")]
use burn::store::{
    ApplyError, BurnToPyTorchAdapter, ChainAdapter, FloatCastAdapter, HalfPrecisionAdapter,
    ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};
#[cfg(feature = "pytorch")]
use burn::tensor::DType;

/// Why weights could not be read into, or written from, a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file is neither safetensors nor a PyTorch pickle, by its extension.
    #[error("{}: weights must be a .safetensors, .pt or .pth file", path.display())]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// The file (or bytes) could not be read or parsed.
    #[error("cannot read weights from {origin}: {reason}")]
    Read {
        /// The file or the pretrained weights' name.
        origin: String,
        /// What burn-store said.
        reason: String,
    },
    /// The file could not be written.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O or format error.
        reason: String,
    },
    /// The names do not match the network's, as `load_state_dict(strict=True)` would say.
    #[error(
        "{origin} does not hold this {model}'s weights: {}",
        key_mismatch(missing, unexpected)
    )]
    Keys {
        /// The file or the pretrained weights' name.
        origin: String,
        /// The network's name ("MLP", "DCGAN generator", ...).
        model: &'static str,
        /// Tensors the network has and the file lacks (PyTorch's names).
        missing: Vec<String>,
        /// Tensors the file has and the network lacks.
        unexpected: Vec<String>,
    },
    /// A tensor of the right name has the wrong shape (both shapes in PyTorch's layout).
    #[error("{origin}: '{key}' has shape {found:?}, this {model} needs {expected:?}")]
    Shape {
        /// The file or the pretrained weights' name.
        origin: String,
        /// The network's name.
        model: &'static str,
        /// The tensor's name.
        key: String,
        /// The shape the network needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor of the right name and shape could not be used (its data type, its data).
    #[error("{origin}: '{key}': {reason}")]
    Tensor {
        /// The file or the pretrained weights' name.
        origin: String,
        /// The tensor's name.
        key: String,
        /// What went wrong.
        reason: String,
    },
}

fn key_mismatch(missing: &[String], unexpected: &[String]) -> String {
    let list = |keys: &[String]| {
        let shown: Vec<&str> = keys.iter().take(8).map(String::as_str).collect();
        let more = keys.len().saturating_sub(shown.len());
        let mut text = shown.join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    };
    match (missing.is_empty(), unexpected.is_empty()) {
        (false, false) => format!("missing {}; unexpected {}", list(missing), list(unexpected)),
        (false, true) => format!("missing {}", list(missing)),
        _ => format!("unexpected {}", list(unexpected)),
    }
}

/// One set of pretrained weights compiled into a kiln crate (feature `pretrained` of the
/// model crates): a safetensors file in PyTorch's names and layouts, with where it came from.
/// Each model crate lists its own in an enum (`kiln_mlp::pretrained::PretrainedMlp`, ...)
/// whose `load` builds the network and reads them.
#[derive(Debug, Clone, Copy)]
pub struct Pretrained {
    /// The registry name (`mlp-mnist`, ...); also the file's stem in the crate's
    /// `pretrained/` folder.
    pub name: &'static str,
    /// What it was trained on.
    pub dataset: &'static str,
    /// What it reached, with the command that measured it.
    pub metric: &'static str,
    /// The command that trained and exported it, from the repository's root.
    pub command: &'static str,
    /// SHA-256 of the file, hex (checked against the compiled-in bytes by the root package's test
    /// `every_pretrained_file_matches_its_checksum`).
    pub sha256: &'static str,
    /// The precision the floating-point tensors are stored in.
    pub precision: Precision,
    /// The safetensors file.
    pub bytes: &'static [u8],
}

#[cfg(feature = "pytorch")]
impl Pretrained {
    /// Reads these weights into `network` (strictly, as
    /// [`PytorchWeights::load_safetensors_bytes`]); the crates' `load` calls it.
    ///
    /// # Errors
    /// As [`PytorchWeights::load_safetensors_bytes`] (a file that does not fit is a defect of
    /// the build, reported rather than panicking).
    pub fn load_into<M: PytorchWeights>(&self, network: &mut M) -> Result<(), WeightsError> {
        network.load_safetensors_bytes(self.bytes, self.name)
    }
}

/// The precision of the floating-point tensors a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats: the weights exactly.
    F32,
    /// 16-bit floats for linear and convolution layers (batch norms stay 32-bit: their
    /// running variance underflows in f16); half the size. Read back as f32.
    F16,
}

#[cfg(feature = "pytorch")]
/// A network with a PyTorch twin of the same names and layouts (in `python/kiln_torch.py`).
///
/// Implemented by kiln-mlp's `Mlp` (also the DQN's Q-network) and kiln-dcgan's `Generator`
/// and `Discriminator` (each with its crate's `pytorch` feature); the provided methods are
/// the whole interface. A `.pt`/`.pth` file is read by burn-store's own unpickler, which
/// rebuilds tensors and never runs code from the file.
pub trait PytorchWeights: Module + Sized {
    /// What messages call the network ("MLP", "DCGAN generator", ...).
    const NAME: &'static str;

    /// PyTorch names to kiln's, for a `state_dict` whose names are not those of kiln's own
    /// module definitions (e.g. an `nn.Sequential`): `(from, to)` pairs for the names in
    /// `keys` that change. The default changes none.
    fn rename(&self, keys: &[String]) -> Vec<(String, String)> {
        let _ = keys;
        Vec::new()
    }

    /// The weights as a safetensors file in PyTorch's names and layouts.
    ///
    /// # Errors
    /// [`WeightsError::Write`] if burn-store cannot serialise them (a tensor the device
    /// cannot read back).
    fn to_safetensors(&self, precision: Precision) -> Result<Vec<u8>, WeightsError> {
        let store = SafetensorsStore::from_bytes(None)
            .skip_enum_variants(true)
            .metadata("kiln.model", Self::NAME);
        let mut store = match precision {
            Precision::F32 => store.with_to_adapter(BurnToPyTorchAdapter),
            Precision::F16 => store.with_to_adapter(ChainAdapter::new(
                BurnToPyTorchAdapter,
                HalfPrecisionAdapter::new(),
            )),
        };
        let fail = |reason: String| WeightsError::Write {
            path: PathBuf::from("(memory)"),
            reason,
        };
        self.save_into(&mut store)
            .map_err(|e| fail(e.to_string()))?;
        store.get_bytes().map_err(|e| fail(e.to_string()))
    }

    /// Writes the weights to `path` as safetensors (f32) in PyTorch's names and layouts, so
    /// that `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` loads
    /// them into the matching module of `python/kiln_torch.py`. The file is replaced whole
    /// or not at all.
    ///
    /// # Errors
    /// [`WeightsError::Write`].
    fn save_pytorch(&self, path: &Path) -> Result<(), WeightsError> {
        let bytes = self.to_safetensors(Precision::F32).map_err(|e| match e {
            WeightsError::Write { reason, .. } => WeightsError::Write {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })?;
        crate::write_atomic(path, &bytes).map_err(|e| WeightsError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Reads a PyTorch `state_dict` from `path` into the network: `.safetensors`, or `.pt` /
    /// `.pth` as written by `torch.save(model.state_dict(), path)`. Every tensor of the
    /// network must be in the file and every tensor of the file in the network (PyTorch's
    /// `strict=True`; batch-norm counters aside), with the right shape; 16-bit floats are
    /// widened. On any error the network is left as it was.
    ///
    /// # Errors
    /// [`WeightsError::Format`] for another extension, [`WeightsError::Read`] for a file that
    /// cannot be read or parsed, [`WeightsError::Keys`], [`WeightsError::Shape`] or
    /// [`WeightsError::Tensor`] for one that does not fit.
    fn load_pytorch(&mut self, path: &Path) -> Result<(), WeightsError> {
        let origin = path.display().to_string();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let pytorch = match extension.as_deref() {
            Some("safetensors") => false,
            Some("pt" | "pth") => true,
            _ => {
                return Err(WeightsError::Format {
                    path: path.to_path_buf(),
                });
            }
        };
        if !path.is_file() {
            return Err(WeightsError::Read {
                origin,
                reason: "no such file".into(),
            });
        }
        let tensors = if pytorch {
            tensors_of(
                PytorchStore::from_file(path).map_indices_contiguous(false),
                &origin,
            )?
        } else {
            tensors_of(SafetensorsStore::from_file(path), &origin)?
        };
        apply_strict(self, tensors, &origin)
    }

    /// [`load_pytorch`](Self::load_pytorch) from safetensors bytes in memory (pretrained
    /// weights compiled into a program); `origin` names them in errors.
    ///
    /// # Errors
    /// As [`load_pytorch`](Self::load_pytorch).
    fn load_safetensors_bytes(&mut self, bytes: &[u8], origin: &str) -> Result<(), WeightsError> {
        let tensors = tensors_of(SafetensorsStore::from_bytes(Some(bytes.to_vec())), origin)?;
        apply_strict(self, tensors, origin)
    }
}

/// Every tensor of `store` (read lazily: the data comes when applied).
#[cfg(feature = "pytorch")]
fn tensors_of<S: ModuleStore>(mut store: S, origin: &str) -> Result<Vec<PackTensor>, WeightsError> {
    Ok(store
        .get_all_tensors()
        .map_err(|e| WeightsError::Read {
            origin: origin.to_string(),
            reason: e.to_string(),
        })?
        .values()
        .cloned()
        .collect())
}

/// PyTorch's counter of a batch norm's updates; kiln's batch norms have none.
#[cfg(feature = "pytorch")]
const BATCHES_TRACKED: &str = ".num_batches_tracked";

#[cfg(feature = "pytorch")]
fn apply_strict<M: PytorchWeights>(
    module: &mut M,
    mut tensors: Vec<PackTensor>,
    origin: &str,
) -> Result<(), WeightsError> {
    tensors.retain(|t| !t.name.ends_with(BATCHES_TRACKED));
    let keys: Vec<String> = tensors.iter().map(|t| t.name.clone()).collect();
    for (from, to) in module.rename(&keys) {
        if let Some(t) = tensors.iter_mut().find(|t| t.name == from) {
            t.name = to;
        }
    }
    // The file's own shapes, to report a mismatch in the file's (PyTorch's) layout.
    let file_shapes: Vec<(String, Vec<usize>)> = tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.to_vec()))
        .collect();
    let mut candidate = module.clone();
    let adapter = ChainAdapter::new(PyTorchToBurnAdapter, FloatCastAdapter::to(DType::F32));
    let result = candidate.apply(tensors, None, Some(Box::new(adapter)), true);
    if let Some(error) = result.errors.first() {
        return Err(match error {
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } => {
                let (expected, found) = (expected.to_vec(), found.to_vec());
                let in_file = file_shapes
                    .iter()
                    .find(|(name, _)| name == path)
                    .map(|(_, s)| s.clone());
                // A linear layer's weight was transposed on the way: both shapes back to
                // PyTorch's `[out, in]`.
                let transposed = found.len() == 2
                    && in_file.as_deref() == Some(&[found[1], found[0]][..])
                    && found[0] != found[1];
                let (expected, found) = if transposed {
                    (
                        expected.iter().rev().copied().collect(),
                        found.iter().rev().copied().collect(),
                    )
                } else {
                    (expected, found)
                };
                WeightsError::Shape {
                    origin: origin.to_string(),
                    model: M::NAME,
                    key: path.clone(),
                    expected,
                    found,
                }
            }
            ApplyError::DTypeMismatch {
                path,
                expected,
                found,
            } => WeightsError::Tensor {
                origin: origin.to_string(),
                key: path.clone(),
                reason: format!("data type {found:?}, expected {expected:?}"),
            },
            ApplyError::AdapterError { path, message }
            | ApplyError::LoadError { path, message } => WeightsError::Tensor {
                origin: origin.to_string(),
                key: path.clone(),
                reason: message.clone(),
            },
        });
    }
    if !result.missing.is_empty() || !result.unused.is_empty() {
        let mut missing: Vec<String> = result
            .missing
            .iter()
            .map(|(path, _)| pytorch_name(path))
            .collect();
        missing.sort();
        let mut unexpected = result.unused.clone();
        unexpected.sort();
        return Err(WeightsError::Keys {
            origin: origin.to_string(),
            model: M::NAME,
            missing,
            unexpected,
        });
    }
    *module = candidate;
    Ok(())
}

/// A kiln parameter path in PyTorch's terms: a batch norm's `gamma`/`beta` are
/// `weight`/`bias` there.
#[cfg(feature = "pytorch")]
fn pytorch_name(path: &str) -> String {
    match path.rsplit_once('.') {
        Some((prefix, "gamma")) => format!("{prefix}.weight"),
        Some((prefix, "beta")) => format!("{prefix}.bias"),
        _ => path.to_string(),
    }
}
