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

/// A clap `value_parser` for a float flag: a finite number (`NaN`, `inf` and numbers
/// beyond `f64` are refused with the flag's name, before anything runs). Ranges are the
/// configs' to check: `#[arg(long, value_parser = kiln::cli::finite)]`.
///
/// # Errors
/// Text saying what was wrong.
pub fn finite(s: &str) -> Result<f64, String> {
    let value: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("'{s}' is not a finite number"))
    }
}

/// [`finite`] for an `f32` flag: also refused when beyond `f32`'s range.
///
/// # Errors
/// Text saying what was wrong.
pub fn finite_f32(s: &str) -> Result<f32, String> {
    let value = finite(s)? as f32;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("'{s}' is beyond the range of a 32-bit float"))
    }
}

/// The most a duration flag may ask for: a day.
pub const MAX_SECONDS: f64 = 86_400.0;

/// A clap `value_parser` for a duration in seconds: finite, above 0 and at most
/// [`MAX_SECONDS`], so it always converts to a `Duration`.
///
/// # Errors
/// Text saying what was wrong.
pub fn seconds(s: &str) -> Result<f64, String> {
    let value = finite(s)?;
    if value > 0.0 && value <= MAX_SECONDS {
        Ok(value)
    } else {
        Err(format!(
            "{value} seconds is outside (0, {MAX_SECONDS}] (a day at most)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_flags_refuse_what_cannot_be_used() {
        for bad in ["NaN", "nan", "inf", "-inf", "1e400", "abc", ""] {
            assert!(finite(bad).is_err(), "{bad}");
            assert!(seconds(bad).is_err(), "{bad}");
        }
        for bad in ["0", "-1", "1e30", "86400.5"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(finite("-2.5"), Ok(-2.5));
        assert!(finite_f32("1e39").is_err());
        assert_eq!(finite_f32("0.5"), Ok(0.5));
        assert_eq!(seconds("0.5"), Ok(0.5));
        assert_eq!(seconds("86400"), Ok(86_400.0));
    }
}
