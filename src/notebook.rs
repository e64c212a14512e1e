//! What the course notebooks share: the run mode, read in one place.
//!
//! A notebook runs the taught configuration for a student and a short one in
//! CI, without edits to the notebook. The switch is one environment variable,
//! [`MODE_ENV`] = `full` (the default) or `quick`, which the test command
//! sets (`make test`). Each helper's config has a `for_mode` that scales it
//! (e.g. [`vanilla_config`](crate::vanilla_config)).
//!
//! ```
//! use gan_tutorial::notebook::RunMode;
//! # fn main() -> gan_tutorial::Result<()> {
//! let mode = RunMode::from_env()?; // Full unless GAN_TUTORIAL_NOTEBOOK_MODE=quick
//! assert_eq!(RunMode::parse("quick")?, RunMode::Quick);
//! # let _ = mode;
//! # Ok(())
//! # }
//! ```
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The environment variable that selects the run mode.
pub const MODE_ENV: &str = "GAN_TUTORIAL_NOTEBOOK_MODE";

/// How much a notebook computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    /// The taught settings (the tutorial's 100 epochs, ...).
    #[default]
    Full,
    /// The same steps, scaled down to run in CI in about a minute.
    Quick,
}

impl RunMode {
    /// [`MODE_ENV`] if set and not empty, else [`RunMode::Full`]. A value that
    /// is neither `full` nor `quick` is an error that names the variable.
    pub fn from_env() -> Result<RunMode> {
        match std::env::var(MODE_ENV) {
            Ok(s) if !s.trim().is_empty() => Self::parse(&s).map_err(|e| match e {
                Error::Config { what, .. } => Error::config(MODE_ENV, what),
                other => other,
            }),
            _ => Ok(RunMode::Full),
        }
    }

    /// Parses `full` or `quick` (case-insensitive).
    pub fn parse(s: &str) -> Result<RunMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(RunMode::Full),
            "quick" | "ci" => Ok(RunMode::Quick),
            _ => Err(Error::config("mode", format!("`{s}` is not a run mode: use full or quick"))),
        }
    }

    pub fn is_quick(self) -> bool {
        self == RunMode::Quick
    }
}

impl std::fmt::Display for RunMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunMode::Full => "full",
            RunMode::Quick => "quick",
        })
    }
}

/// One line for the top of a notebook: crate, libtorch, device, threads and
/// run mode, e.g. `gan_tutorial 0.1.0 | libtorch 2.13.0 | device cpu (no CUDA device) | 2 threads | mode full`.
pub fn summary() -> String {
    let device = match crate::device::device() {
        Ok(d) => crate::device::device_name(d),
        Err(e) => format!("error: {e}"),
    };
    let cuda = if tch::Cuda::is_available() {
        format!("{} CUDA device(s)", tch::Cuda::device_count())
    } else {
        "no CUDA device".to_string()
    };
    let mode = match RunMode::from_env() {
        Ok(m) => m.to_string(),
        Err(e) => format!("error: {e}"),
    };
    format!(
        "gan_tutorial {} | libtorch {} | device {device} ({cuda}) | {} threads | mode {mode}",
        env!("CARGO_PKG_VERSION"),
        libtorch_version(),
        tch::get_num_threads(),
    )
}

/// The libtorch version this program runs on, read from the `version.py` of
/// the PyTorch it was built against (`unknown` when that is not at hand).
pub fn libtorch_version() -> String {
    option_env!("GAN_TUTORIAL_LIBTORCH_LIB")
        .map(std::path::Path::new)
        .and_then(|lib| std::fs::read_to_string(lib.parent()?.join("version.py")).ok())
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("__version__ = ").map(|v| v.trim_matches(['\'', '"', ' ']).to_string()))
        })
        .map(|v| v.split('+').next().unwrap_or(&v).to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_modes_and_name_bad_ones() {
        assert_eq!(RunMode::parse("FULL").unwrap(), RunMode::Full);
        assert_eq!(RunMode::parse(" quick ").unwrap(), RunMode::Quick);
        let e = RunMode::parse("fast").unwrap_err().to_string();
        assert!(e.contains("fast") && e.contains("full or quick"), "{e}");
        assert_eq!(RunMode::default(), RunMode::Full);
        assert_eq!(RunMode::Quick.to_string(), "quick");
    }

    #[test]
    fn summary_names_device_and_mode() {
        let s = summary();
        assert!(s.starts_with("gan_tutorial ") && s.contains("| device ") && s.contains("| mode "), "{s}");
    }
}
