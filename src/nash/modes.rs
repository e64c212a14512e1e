//! Mode collapse, measured on mixtures with known modes, as in the unrolled
//! GAN (Metz et al. 2017) and PacGAN (Lin et al. 2018) papers:
//!
//! - a sample is **high quality** when it lies within 3σ of some mode's centre;
//! - a mode is **covered** when at least `min_count` samples are high-quality
//!   samples of it (PacGAN: 20 of 2 500);
//! - **KL to uniform**: `KL(h ‖ U)` of the histogram `h` of high-quality
//!   samples over the modes; 0 when every mode gets its share, `log K` when
//!   one mode gets them all.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How well a set of points covers a mixture's modes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeStats {
    pub samples: usize,
    pub modes: usize,
    pub modes_covered: usize,
    /// Share of samples within 3σ of a mode.
    pub high_quality: f64,
    /// `KL(h ‖ uniform)` in nats; `None` when no sample is of high quality.
    pub kl_to_uniform: Option<f64>,
    /// High-quality samples per mode.
    pub counts: Vec<usize>,
    pub min_count: usize,
}

impl std::fmt::Display for ModeStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} modes covered, {:.1}% high-quality samples, KL(modes ‖ uniform) = {}  (of {} samples; a mode counts with ≥ {})",
            self.modes_covered,
            self.modes,
            100.0 * self.high_quality,
            self.kl_to_uniform.map_or("n/a".to_string(), |k| format!("{k:.3}")),
            self.samples,
            self.min_count
        )
    }
}

/// Counts, for 2D `points`, the modes at `centres` (isotropic, std `sigma`)
/// they cover.
pub fn mode_stats(points: &[[f64; 2]], centres: &[[f64; 2]], sigma: f64, min_count: usize) -> Result<ModeStats> {
    if centres.is_empty() {
        return Err(Error::config("centres", "give at least one mode centre"));
    }
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(Error::config("sigma", format!("{sigma} must be a positive number")));
    }
    let mut counts = vec![0usize; centres.len()];
    let r2 = (3.0 * sigma).powi(2);
    for p in points {
        let nearest = centres
            .iter()
            .enumerate()
            .map(|(i, c)| (i, (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("centres is not empty");
        if nearest.1 <= r2 {
            counts[nearest.0] += 1;
        }
    }
    let good: usize = counts.iter().sum();
    let k = centres.len() as f64;
    let kl_to_uniform = (good > 0).then(|| {
        counts.iter().filter(|c| **c > 0).map(|&c| {
            let h = c as f64 / good as f64;
            h * (h * k).ln()
        }).sum::<f64>()
    });
    Ok(ModeStats {
        samples: points.len(),
        modes: centres.len(),
        modes_covered: counts.iter().filter(|c| **c >= min_count.max(1)).count(),
        high_quality: if points.is_empty() { 0.0 } else { good as f64 / points.len() as f64 },
        kl_to_uniform,
        counts,
        min_count: min_count.max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Vec<[f64; 2]> {
        (0..8).map(|i| {
            let a = i as f64 * std::f64::consts::TAU / 8.0;
            [2.0 * a.cos(), 2.0 * a.sin()]
        }).collect()
    }

    #[test]
    fn all_one_and_no_modes() {
        let c = ring();
        // 100 points exactly on each mode, plus a little jitter inside 3σ.
        let all: Vec<[f64; 2]> = (0..800).map(|i| {
            let m = c[i % 8];
            [m[0] + 0.01 * ((i / 8) as f64 / 100.0 - 0.5), m[1]]
        }).collect();
        let s = mode_stats(&all, &c, 0.02, 20).unwrap();
        assert_eq!((s.modes_covered, s.counts.clone()), (8, vec![100; 8]));
        assert!((s.high_quality - 1.0).abs() < 1e-12 && s.kl_to_uniform.unwrap().abs() < 1e-12);

        let one: Vec<[f64; 2]> = vec![c[3]; 500];
        let s = mode_stats(&one, &c, 0.02, 20).unwrap();
        assert_eq!(s.modes_covered, 1);
        assert!((s.kl_to_uniform.unwrap() - 8f64.ln()).abs() < 1e-12);

        // Points between the modes (the ring's centre, and halfway along the ring) are not of high quality.
        let none: Vec<[f64; 2]> = (0..300).map(|i| if i % 2 == 0 { [0.0, 0.0] } else { [2.0 * (0.39f64).cos(), 2.0 * (0.39f64).sin()] }).collect();
        let s = mode_stats(&none, &c, 0.02, 20).unwrap();
        assert_eq!((s.modes_covered, s.high_quality, s.kl_to_uniform), (0, 0.0, None));

        // 19 points do not make a covered mode; 20 do.
        let mut few = vec![c[0]; 19];
        few.extend(vec![c[1]; 20]);
        assert_eq!(mode_stats(&few, &c, 0.02, 20).unwrap().modes_covered, 1);
        assert!(mode_stats(&few, &[], 0.02, 20).is_err());
    }
}
