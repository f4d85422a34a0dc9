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

/// Sends `tracing` events to standard error: `info` and above from kiln and from the
/// program `crate_name` (pass `env!("CARGO_CRATE_NAME")`), `warn` and above from
/// everything else (Burn logs every training iteration at `info`). `RUST_LOG` overrides.
pub fn init_tracing(crate_name: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("warn,kiln=info,{crate_name}=info"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// A boxed error with a display, for program bodies that mix error types.
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// A clap `value_parser` for any type with `FromStr` (datasets, activations, ...), keeping
/// the type's own error message: `#[arg(value_parser = kiln::cli::parse::<DatasetKind>)]`.
///
/// # Errors
/// The type's parse error, as text.
pub fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}
