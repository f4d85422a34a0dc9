//! Parameters checked once (linfa's `ParamGuard` pattern): a builder's values are validated
//! by [`ParamGuard::check`] into [`Checked`] parameters, and the algorithms only ever run with
//! those, so no fit validates again and none can see an invalid value.

use crate::ClusterError;

/// Parameters that can be checked: every builder (`KMeansParams`, `MiniBatchKMeansParams`,
/// `DbscanParams`).
pub trait ParamGuard: Clone + Sized {
    /// Checks every value.
    ///
    /// # Errors
    /// The first invalid value, as its own [`ClusterError`] variant.
    fn check_ref(&self) -> Result<(), ClusterError>;

    /// The parameters, checked: what the algorithms run with.
    ///
    /// # Errors
    /// As [`check_ref`](Self::check_ref).
    fn check(self) -> Result<Checked<Self>, ClusterError> {
        self.check_ref()?;
        Ok(Checked(self))
    }
}

/// Parameters that passed [`ParamGuard::check`]; they read as the parameters themselves
/// (`Deref`) and cannot be changed (a saved model's parameters are checked again on
/// loading).
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<P>(P);

impl<P> Checked<P> {
    /// The parameters, to change and check again.
    pub fn into_inner(self) -> P {
        self.0
    }
}

impl<P> std::ops::Deref for Checked<P> {
    type Target = P;

    fn deref(&self) -> &P {
        &self.0
    }
}
