//! The checkpoint contract: a training loop lists what its checkpoint holds once, in
//! [`Checkpoint::parts`], and [`RunDir`](crate::RunDir) runs that list to write a checkpoint
//! ([`RunDir::save_state`](crate::RunDir::save_state)) and to read one back
//! ([`RunDir::restore`](crate::RunDir::restore)). No run layer writes a loop's fields.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    RunError, load_json, load_module, load_optimizer, save_json, save_module, save_optimizer,
};

/// A training loop's resumable state.
///
/// ```ignore
/// impl Checkpoint for Trainer {
///     type Error = MlpError;
///     fn done(&self) -> usize { self.metrics.len() }
///     fn parts(&mut self, parts: &mut Parts<'_>) -> Result<(), MlpError> {
///         parts.module("model.bpk", &mut self.model)?;
///         parts.optimizer("optimizer.bpk", &mut self.optim)?;
///         parts.state("metrics.json", "MLP metrics", &mut self.metrics)?;
///         Ok(())
///     }
/// }
/// ```
pub trait Checkpoint {
    /// The loop's error; kiln-train's errors convert into it.
    type Error: From<RunError>;

    /// Units done (epochs, or environment steps): the checkpoint's place in the run.
    fn done(&self) -> usize;

    /// Every part of the checkpoint, each under its file name, always in the same order:
    /// `parts` saves each when a checkpoint is written and loads each when one is restored.
    ///
    /// # Errors
    /// A part that cannot be written or read.
    fn parts(&mut self, parts: &mut Parts<'_>) -> Result<(), Self::Error>;

    /// Checks the state once every part is loaded (the loaded parts fit each other and the
    /// run's config). Nothing by default.
    ///
    /// # Errors
    /// A restored state that cannot continue.
    fn restored(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The checkpoint folder being written or read, handed to [`Checkpoint::parts`].
#[derive(Debug)]
pub struct Parts<'a> {
    dir: &'a Path,
    saving: bool,
}

impl<'a> Parts<'a> {
    pub(crate) fn saving(dir: &'a Path) -> Self {
        Self { dir, saving: true }
    }

    pub(crate) fn loading(dir: &'a Path) -> Self {
        Self { dir, saving: false }
    }

    /// Whether this pass writes the checkpoint (else it reads one).
    pub fn is_saving(&self) -> bool {
        self.saving
    }

    /// A module's weights (burnpack) as `file`.
    ///
    /// # Errors
    /// As [`save_module`] / [`load_module`].
    pub fn module<M: Module>(&mut self, file: &str, module: &mut M) -> Result<(), RunError> {
        let path = self.dir.join(file);
        if self.saving {
            save_module(module.clone(), &path)
        } else {
            *module = load_module(module.clone(), &path)?;
            Ok(())
        }
    }

    /// An optimiser's state (burnpack) as `file`.
    ///
    /// # Errors
    /// As [`save_optimizer`] / [`load_optimizer`].
    pub fn optimizer(&mut self, file: &str, optim: &mut ModuleOptimizer) -> Result<(), RunError> {
        let path = self.dir.join(file);
        if self.saving {
            save_optimizer(optim, &path)
        } else {
            *optim = load_optimizer(optim.clone(), &path)?;
            Ok(())
        }
    }

    /// Any serde value (metrics, a replay buffer, a generator's state) as JSON `file`;
    /// `what` names it in errors.
    ///
    /// # Errors
    /// As [`save_json`] / [`load_json`].
    pub fn state<T: Serialize + DeserializeOwned>(
        &mut self,
        file: &str,
        what: &'static str,
        value: &mut T,
    ) -> Result<(), RunError> {
        let path = self.dir.join(file);
        if self.saving {
            save_json(&path, value)
        } else {
            *value = load_json(&path, what)?;
            Ok(())
        }
    }
}
