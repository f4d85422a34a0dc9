//! Small pieces every kiln command-line program shares.

use std::fmt::Display;
use std::process::ExitCode;

/// Runs a program's body; an error is printed as one line on standard error and turns into
/// a non-zero exit code, never a panic or a backtrace.
pub fn run<E: Display>(body: impl FnOnce() -> Result<(), E>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A boxed error with a display, for program bodies that mix error types.
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;
