//! Known densities in one or two dimensions, the grids the game is integrated
//! on, and seeded sampling, all in plain `f64`: the analytic side of the
//! Nash-equilibrium checks does not go through libtorch, so that it can judge
//! what the networks compute.
use crate::rng::SplitMix64;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A density on R^d (d = 1 or 2) that can be evaluated and sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Density {
    /// Isotropic Gaussian `N(mean, std² I)`.
    Gaussian { mean: Vec<f64>, std: f64 },
    /// Uniform on the box `[lo, hi]` (per coordinate).
    Uniform { lo: Vec<f64>, hi: Vec<f64> },
    /// `Σ wᵢ pᵢ` with weights that sum to 1.
    Mixture(Vec<(f64, Density)>),
}

impl Density {
    pub fn gaussian_1d(mean: f64, std: f64) -> Self {
        Density::Gaussian { mean: vec![mean], std }
    }

    pub fn uniform_1d(lo: f64, hi: f64) -> Self {
        Density::Uniform { lo: vec![lo], hi: vec![hi] }
    }

    /// Equal-weight mixture of isotropic Gaussians with one `std`.
    pub fn gaussian_mixture(means: &[Vec<f64>], std: f64) -> Self {
        let w = 1.0 / means.len().max(1) as f64;
        Density::Mixture(means.iter().map(|m| (w, Density::Gaussian { mean: m.clone(), std })).collect())
    }

    /// The dimension, after checking that the parameters describe a density.
    pub fn dim(&self) -> Result<usize> {
        let bad = |what: String| Err(Error::config("density", what));
        match self {
            Density::Gaussian { mean, std } => {
                if mean.is_empty() || mean.iter().any(|m| !m.is_finite()) {
                    return bad(format!("Gaussian mean {mean:?} must be a finite, non-empty vector"));
                }
                if !(std.is_finite() && *std > 0.0) {
                    return bad(format!("Gaussian std {std} must be a positive number"));
                }
                Ok(mean.len())
            }
            Density::Uniform { lo, hi } => {
                if lo.is_empty() || lo.len() != hi.len() || lo.iter().zip(hi).any(|(a, b)| !(a.is_finite() && b.is_finite() && a < b)) {
                    return bad(format!("uniform box lo {lo:?}, hi {hi:?}: give finite bounds with lo < hi in every coordinate"));
                }
                Ok(lo.len())
            }
            Density::Mixture(parts) => {
                if parts.is_empty() {
                    return bad("a mixture needs at least one component".into());
                }
                let total: f64 = parts.iter().map(|p| p.0).sum();
                if parts.iter().any(|p| !(p.0.is_finite() && p.0 >= 0.0)) || (total - 1.0).abs() > 1e-9 {
                    return bad(format!("mixture weights must be non-negative and sum to 1 (they sum to {total})"));
                }
                let d = parts[0].1.dim()?;
                for p in parts {
                    if p.1.dim()? != d {
                        return bad("mixture components must share one dimension".into());
                    }
                }
                Ok(d)
            }
        }
    }

    /// The density at `x` (`x.len()` must be the dimension; not checked here,
    /// [`Density::dim`] is checked by the functions that take a density).
    pub fn pdf(&self, x: &[f64]) -> f64 {
        match self {
            Density::Gaussian { mean, std } => {
                let d = mean.len() as f64;
                let r2: f64 = x.iter().zip(mean).map(|(a, m)| (a - m) * (a - m)).sum();
                (-0.5 * r2 / (std * std)).exp() / (2.0 * std::f64::consts::PI * std * std).powf(d / 2.0)
            }
            Density::Uniform { lo, hi } => {
                let inside = x.iter().zip(lo.iter().zip(hi)).all(|(v, (a, b))| *v >= *a && *v <= *b);
                if inside {
                    1.0 / lo.iter().zip(hi).map(|(a, b)| b - a).product::<f64>()
                } else {
                    0.0
                }
            }
            Density::Mixture(parts) => parts.iter().map(|(w, p)| w * p.pdf(x)).sum(),
        }
    }

    /// `n` points drawn with a generator seeded by `seed`. `// -> n × dim`
    pub fn sample(&self, n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
        self.dim()?;
        let mut rng = SplitMix64::new(seed);
        Ok((0..n).map(|_| self.draw(&mut rng)).collect())
    }

    fn draw(&self, rng: &mut SplitMix64) -> Vec<f64> {
        match self {
            Density::Gaussian { mean, std } => mean.iter().map(|m| m + std * normal(rng)).collect(),
            Density::Uniform { lo, hi } => lo.iter().zip(hi).map(|(a, b)| a + (b - a) * uniform(rng)).collect(),
            Density::Mixture(parts) => {
                let u = uniform(rng);
                let mut acc = 0.0;
                for (w, p) in parts {
                    acc += w;
                    if u < acc {
                        return p.draw(rng);
                    }
                }
                parts[parts.len() - 1].1.draw(rng)
            }
        }
    }
}

/// Uniform in [0, 1) with 53 random bits.
pub(crate) fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal (Box-Muller).
pub(crate) fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = 1.0 - uniform(rng); // (0, 1]
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Points on which an integral over R^d is approximated by the midpoint rule:
/// `∫ f ≈ Σ f(xᵢ) · cell_volume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Per dimension: (low, high, cells).
    pub axes: Vec<(f64, f64, usize)>,
    /// Cell centres, row-major over the axes (the last axis varies fastest).
    pub points: Vec<Vec<f64>>,
    pub cell_volume: f64,
}

impl Grid {
    /// `cells` midpoints covering `[lo, hi]`.
    pub fn line(lo: f64, hi: f64, cells: usize) -> Result<Grid> {
        Self::new(vec![(lo, hi, cells)])
    }

    /// `cells × cells` midpoints covering the square `[lo, hi]²`.
    pub fn square(lo: f64, hi: f64, cells: usize) -> Result<Grid> {
        Self::new(vec![(lo, hi, cells), (lo, hi, cells)])
    }

    pub fn new(axes: Vec<(f64, f64, usize)>) -> Result<Grid> {
        if axes.is_empty() || axes.len() > 2 {
            return Err(Error::config("grid", format!("{} axes: give 1 or 2", axes.len())));
        }
        for &(lo, hi, n) in &axes {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) || n < 2 {
                return Err(Error::config("grid", format!("axis [{lo}, {hi}] with {n} cells: need lo < hi and at least 2 cells")));
            }
        }
        let centres: Vec<Vec<f64>> =
            axes.iter().map(|&(lo, hi, n)| (0..n).map(|i| lo + (hi - lo) * (i as f64 + 0.5) / n as f64).collect()).collect();
        let points = match centres.len() {
            1 => centres[0].iter().map(|&x| vec![x]).collect(),
            _ => centres[0].iter().flat_map(|&x| centres[1].iter().map(move |&y| vec![x, y])).collect(),
        };
        let cell_volume = axes.iter().map(|&(lo, hi, n)| (hi - lo) / n as f64).product();
        Ok(Grid { axes, points, cell_volume })
    }

    pub fn dim(&self) -> usize {
        self.axes.len()
    }

    /// `∫ f` over the grid's box.
    pub fn integrate(&self, values: &[f64]) -> f64 {
        values.iter().sum::<f64>() * self.cell_volume
    }

    /// The density evaluated at every grid point, after checking dimensions.
    pub fn eval(&self, p: &Density) -> Result<Vec<f64>> {
        let d = p.dim()?;
        if d != self.dim() {
            return Err(Error::config("density", format!("a {d}-dimensional density on a {}-dimensional grid", self.dim())));
        }
        Ok(self.points.iter().map(|x| p.pdf(x)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_integrate_to_one_and_sample_their_moments() {
        let g = Grid::line(-12.0, 12.0, 4000).unwrap();
        for p in [
            Density::gaussian_1d(1.0, 0.7),
            Density::uniform_1d(-1.0, 2.0),
            Density::Mixture(vec![(0.3, Density::gaussian_1d(-2.0, 0.5)), (0.7, Density::uniform_1d(0.0, 1.0))]),
        ] {
            let mass = g.integrate(&g.eval(&p).unwrap());
            assert!((mass - 1.0).abs() < 2e-3, "{p:?} integrates to {mass}");
        }
        let sq = Grid::square(-4.0, 4.0, 200).unwrap();
        let ring = Density::gaussian_mixture(&[vec![1.0, 0.0], vec![-1.0, 0.0]], 0.3);
        assert!((sq.integrate(&sq.eval(&ring).unwrap()) - 1.0).abs() < 1e-3);
        // Sample mean and std of N(1, 0.7²).
        let xs = Density::gaussian_1d(1.0, 0.7).sample(20000, 7).unwrap();
        let mean = xs.iter().map(|x| x[0]).sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x[0] - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((mean - 1.0).abs() < 0.02 && (var.sqrt() - 0.7).abs() < 0.02, "mean {mean}, std {}", var.sqrt());
        assert_eq!(xs[..5], Density::gaussian_1d(1.0, 0.7).sample(5, 7).unwrap()[..], "same seed, same points");
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(Density::gaussian_1d(0.0, 0.0).dim().unwrap_err().to_string().contains("positive"));
        assert!(Density::uniform_1d(1.0, 0.0).dim().is_err());
        assert!(Density::Mixture(vec![(0.5, Density::gaussian_1d(0.0, 1.0))]).dim().unwrap_err().to_string().contains("sum to 1"));
        assert!(Grid::line(0.0, 1.0, 1).is_err());
        let g = Grid::line(0.0, 1.0, 10).unwrap();
        assert!(g.eval(&Density::gaussian_mixture(&[vec![0.0, 0.0]], 1.0)).unwrap_err().to_string().contains("2-dimensional"));
    }
}
