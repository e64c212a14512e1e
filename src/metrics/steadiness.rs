//! How steady a loss curve is, as plain numbers: the rolling standard
//! deviation over a window, and the number of spikes.
//!
//! # The rules
//!
//! - **Rolling std**: for every full window `losses[j .. j + window]`, the
//!   population standard deviation (divided by `window`, not `window − 1`),
//!   so `rolling_std[j]` belongs to the window *ending* at step
//!   `j + window − 1`; there are `len − window + 1` of them.
//!   `mean_rolling_std` is their mean: one number for "how much the loss
//!   shakes at this time scale".
//! - **Spike**: step `i ≥ window` is a spike when its distance from the mean
//!   of the `window` steps *before* it exceeds `k` times their standard
//!   deviation (`k = 3` by default; the step itself is not in its reference
//!   window, so a spike cannot hide itself). A distance below `1e-12` times
//!   the reference's size is rounding, never a spike, so a constant series
//!   has none. After a sudden *level change* (a step function) the later
//!   windows mix both levels; with `window > k² + 1` (10 for k = 3) the
//!   steps just after the change can count as spikes too.
//! - A NaN or infinite loss is an error naming its index: cut the series
//!   before a divergence rather than measure through it.
//!
//! ```
//! use gan_tutorial::metrics::steadiness;
//! # fn main() -> gan_tutorial::Result<()> {
//! let mut losses = vec![0.7; 50];
//! losses[30] = 2.0; // one spike
//! let s = steadiness(&losses, 10)?;
//! assert_eq!((s.spikes, s.spike_steps.clone()), (1, vec![30]));
//! # Ok(())
//! # }
//! ```
use crate::error::{Error, Result};
use crate::gan::TrainHistory;
use serde::{Deserialize, Serialize};

/// The spike threshold in rolling standard deviations, unless told otherwise.
pub const DEFAULT_SPIKE_K: f64 = 3.0;

/// Rolling spread and spikes of one loss series (see the module's rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Steadiness {
    /// Steps per window.
    pub window: usize,
    /// Spike threshold, in standard deviations of the preceding window.
    pub k: f64,
    /// Population std of each full window; entry `j` covers steps `j ..= j + window − 1`.
    pub rolling_std: Vec<f64>,
    /// The mean of `rolling_std`.
    pub mean_rolling_std: f64,
    /// How many steps are spikes.
    pub spikes: usize,
    /// The steps (indices into the series) that are spikes.
    pub spike_steps: Vec<usize>,
}

impl std::fmt::Display for Steadiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rolling std {:.4} (window {}), {} spike{} beyond {}σ",
            self.mean_rolling_std,
            self.window,
            self.spikes,
            if self.spikes == 1 { "" } else { "s" },
            self.k
        )
    }
}

/// [`Steadiness`] of both losses of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossSteadiness {
    /// Of the discriminator's (critic's) loss.
    pub d: Steadiness,
    /// Of the generator's loss.
    pub g: Steadiness,
}

/// [`steadiness_with`] with `k = 3`.
pub fn steadiness(losses: &[f64], window: usize) -> Result<Steadiness> {
    steadiness_with(losses, window, DEFAULT_SPIKE_K)
}

/// Rolling std over `window` steps and the spikes beyond `k` standard
/// deviations of the preceding window (the module's rules).
pub fn steadiness_with(losses: &[f64], window: usize, k: f64) -> Result<Steadiness> {
    if !(k.is_finite() && k > 0.0) {
        return Err(Error::config("k", format!("{k}: the spike threshold must be a positive number of standard deviations (3 is usual)")));
    }
    let rolling_std = rolling_std(losses, window)?;
    let mean_rolling_std = rolling_std.iter().sum::<f64>() / rolling_std.len() as f64;
    let spike_steps: Vec<usize> = (window..losses.len()).filter(|&i| is_spike(&losses[i - window..i], losses[i], k)).collect();
    Ok(Steadiness { window, k, rolling_std, mean_rolling_std, spikes: spike_steps.len(), spike_steps })
}

/// The population standard deviation of every full window of `window`
/// steps: `len − window + 1` numbers.
pub fn rolling_std(losses: &[f64], window: usize) -> Result<Vec<f64>> {
    check_series(losses, window)?;
    Ok(losses.windows(window).map(|w| mean_std(w).1).collect())
}

/// [`steadiness`] of a run's D and G losses.
pub fn loss_steadiness(history: &TrainHistory, window: usize) -> Result<LossSteadiness> {
    let named = |what: &str, e: Error| match e {
        Error::Config { name, what: msg } => Error::config(format!("{what}.{name}"), msg),
        other => other,
    };
    Ok(LossSteadiness {
        d: steadiness(&history.d_losses, window).map_err(|e| named("d_losses", e))?,
        g: steadiness(&history.g_losses, window).map_err(|e| named("g_losses", e))?,
    })
}

fn is_spike(reference: &[f64], x: f64, k: f64) -> bool {
    let (mean, std) = mean_std(reference);
    let deviation = (x - mean).abs();
    deviation > k * std && deviation > 1e-12 * mean.abs().max(1.0)
}

/// Mean and population standard deviation (two passes, so a constant
/// window gives exactly 0 spread up to the mean's rounding).
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn check_series(losses: &[f64], window: usize) -> Result<()> {
    if window < 2 || window > losses.len() {
        return Err(Error::config(
            "window",
            format!("{window} for a series of {} losses: use at least 2 steps (one value has no spread) and at most the series' length", losses.len()),
        ));
    }
    match losses.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::config(
            "losses",
            format!("the loss at index {i} is {}: a run that diverged there; measure the steps before it (losses[..{i}])", losses[i]),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_series_has_no_spread_and_no_spikes() {
        for c in [0.0, 0.7, 0.1, 1234.5678] {
            let s = steadiness(&[c; 40], 8).unwrap();
            assert_eq!(s.rolling_std.len(), 33);
            assert!(s.rolling_std.iter().all(|&v| v < 1e-12 * c.max(1.0)), "{c}: {:?}", s.rolling_std);
            assert_eq!((s.spikes, s.window, s.k), (0, 8, 3.0));
        }
    }

    #[test]
    fn one_injected_spike_is_counted_once() {
        // A wobble with a period of ~9 steps: windows that span a period see it as spread.
        for window in [10, 20] {
            let mut losses: Vec<f64> = (0..60).map(|i| 1.0 + 0.05 * (0.7 * i as f64).sin()).collect();
            losses[40] += 5.0;
            let s = steadiness(&losses, window).unwrap();
            assert_eq!(s.spike_steps, vec![40], "window {window}");
            assert_eq!(s.spikes, 1);
        }
        // The same spike on a constant series (reference std 0).
        let mut losses = vec![0.5; 30];
        losses[20] = 0.6;
        assert_eq!(steadiness(&losses, 10).unwrap().spike_steps, vec![20]);
    }

    #[test]
    fn an_alternating_series_has_the_known_rolling_std() {
        // a, b, a, b, ...: every window of 2 has std |a − b| / 2; a window of 3
        // (a, b, a) has mean (2a + b)/3 and std |a − b|·√2/3.
        let (a, b) = (1.0, 4.0);
        let losses: Vec<f64> = (0..20).map(|i| if i % 2 == 0 { a } else { b }).collect();
        let s2 = steadiness(&losses, 2).unwrap();
        assert_eq!(s2.rolling_std.len(), 19);
        assert!(s2.rolling_std.iter().all(|v| (v - 1.5).abs() < 1e-12), "{:?}", s2.rolling_std);
        assert!((s2.mean_rolling_std - 1.5).abs() < 1e-12);
        let s3 = steadiness(&losses, 3).unwrap();
        let want = 3.0 * 2f64.sqrt() / 3.0;
        assert!(s3.rolling_std.iter().all(|v| (v - want).abs() < 1e-12), "{:?}", s3.rolling_std);
        // Steady shaking is no spike: each value is 1 std from the preceding window-2 mean.
        assert_eq!((s2.spikes, s3.spikes), (0, 0));
    }

    #[test]
    fn a_lower_k_counts_more_spikes() {
        let losses: Vec<f64> = (0..200).map(|i| ((i * 37 % 101) as f64 / 101.0).powi(3)).collect();
        let strict = steadiness_with(&losses, 20, 3.0).unwrap().spikes;
        let loose = steadiness_with(&losses, 20, 1.0).unwrap().spikes;
        assert!(loose > strict, "k = 1: {loose}, k = 3: {strict}");
    }

    #[test]
    fn bad_inputs_are_named() {
        let e = steadiness(&[1.0; 5], 0).unwrap_err().to_string();
        assert!(e.contains("window") && e.contains("at least 2"), "{e}");
        let e = steadiness(&[1.0; 5], 6).unwrap_err().to_string();
        assert!(e.contains("window") && e.contains("5 losses"), "{e}");
        let e = steadiness(&[1.0, 2.0, f64::NAN, 1.0], 2).unwrap_err().to_string();
        assert!(e.contains("index 2") && e.contains("NaN"), "{e}");
        let e = steadiness_with(&[1.0; 5], 2, 0.0).unwrap_err().to_string();
        assert!(e.contains("`k`"), "{e}");
        let h = TrainHistory { d_losses: vec![1.0; 4], g_losses: vec![1.0, f64::INFINITY, 1.0, 1.0], ..Default::default() };
        let e = loss_steadiness(&h, 2).unwrap_err().to_string();
        assert!(e.contains("g_losses.losses") && e.contains("index 1"), "{e}");
        assert_eq!(loss_steadiness(&TrainHistory { g_losses: vec![1.0; 4], ..h }, 2).unwrap().d.spikes, 0);
    }
}
