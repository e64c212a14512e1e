//! The objectives of the GAN family, one small file each, behind one enum the
//! trainer dispatches on. Every function takes the discriminator's raw
//! outputs (logits for BCE, scores for the others), `[n, 1]`.
//!
//! | objective | D / critic minimises | G minimises |
//! |---|---|---|
//! | minimax (Goodfellow 2014) | ½·BCE(D(x), 1) + ½·BCE(D(G(z)), 0) | E log(1 − D(G(z))) |
//! | non-saturating | same | −E log D(G(z)) |
//! | least squares (Mao 2017) | ½E(D(x) − 1)² + ½E D(G(z))² | ½E(D(G(z)) − 1)² |
//! | Wasserstein (Arjovsky 2017) | E C(G(z)) − E C(x), weights clipped | −E C(G(z)) |
//! | WGAN-GP (Gulrajani 2017) | the same + λ E(‖∇C(x̂)‖₂ − 1)² | −E C(G(z)) |
//! | hinge (Lim & Ye 2017; SNGAN) | E relu(1 − D(x)) + E relu(1 + D(G(z))) | −E D(G(z)) |
pub mod bce;
pub mod gradient_penalty;
pub mod hinge;
pub mod least_squares;
pub mod wasserstein;

pub use gradient_penalty::{gradient_penalty, gradient_penalty_at, interpolation_weights};

use serde::{Deserialize, Serialize};
use tch::Tensor;

/// A GAN objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    Minimax,
    NonSaturating,
    LeastSquares,
    /// Wasserstein with weight clipping (WGAN).
    Wasserstein,
    /// Wasserstein with a gradient penalty (WGAN-GP).
    WassersteinGp,
    Hinge,
}

impl Objective {
    /// The discriminator's loss. `real_target` and `fake_target` (`[n, 1]`)
    /// are the labels of the BCE and least-squares objectives (1 and 0, or
    /// smoothed / flipped by the training tips); the others ignore them.
    pub fn d_loss(self, real: &Tensor, fake: &Tensor, real_target: &Tensor, fake_target: &Tensor) -> Tensor {
        match self {
            Objective::Minimax | Objective::NonSaturating => bce::d_loss(real, fake, real_target, fake_target),
            Objective::LeastSquares => least_squares::d_loss(real, fake, real_target, fake_target),
            Objective::Wasserstein | Objective::WassersteinGp => wasserstein::critic_loss(real, fake),
            Objective::Hinge => hinge::d_loss(real, fake),
        }
    }

    /// The generator's loss from D's outputs on fakes.
    pub fn g_loss(self, fake: &Tensor) -> Tensor {
        match self {
            Objective::Minimax => bce::minimax_g_loss(fake),
            Objective::NonSaturating => bce::non_saturating_g_loss(fake),
            Objective::LeastSquares => least_squares::g_loss(fake),
            Objective::Wasserstein | Objective::WassersteinGp | Objective::Hinge => wasserstein::generator_loss(fake),
        }
    }

    /// Whether D's targets (and so label smoothing and flipping) mean anything.
    pub fn has_targets(self) -> bool {
        matches!(self, Objective::Minimax | Objective::NonSaturating | Objective::LeastSquares)
    }

    /// Whether D outputs a probability through a sigmoid.
    pub fn is_probability(self) -> bool {
        matches!(self, Objective::Minimax | Objective::NonSaturating)
    }

    /// The number recorded as "D(x)": a probability for BCE, the raw score otherwise.
    pub fn score(self, outputs: &Tensor) -> Tensor {
        if self.is_probability() { outputs.sigmoid() } else { outputs.shallow_clone() }
    }

    /// A short name, as the CLI and tables print it.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Minimax => "minimax",
            Objective::NonSaturating => "non-saturating",
            Objective::LeastSquares => "least-squares",
            Objective::Wasserstein => "wasserstein",
            Objective::WassersteinGp => "wasserstein-gp",
            Objective::Hinge => "hinge",
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Objective {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "minimax" | "saturating" => Objective::Minimax,
            "non-saturating" | "ns" | "bce" => Objective::NonSaturating,
            "least-squares" | "lsgan" | "ls" => Objective::LeastSquares,
            "wasserstein" | "wgan" => Objective::Wasserstein,
            "wasserstein-gp" | "wgan-gp" | "gp" => Objective::WassersteinGp,
            "hinge" => Objective::Hinge,
            _ => {
                return Err(crate::Error::config(
                    "objective",
                    format!("`{s}` is not an objective: use minimax, non-saturating, least-squares, wasserstein, wasserstein-gp or hinge"),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn t(v: &[f64]) -> Tensor {
        Tensor::from_slice(v).view([-1, 1])
    }

    #[test]
    fn each_objective_matches_its_formula() {
        let real = t(&[2.0, 0.5]);
        let fake = t(&[-1.0, 0.3]);
        let (one, zero) = (real.ones_like(), fake.zeros_like());
        let v = |o: Objective| (o.d_loss(&real, &fake, &one, &zero).double_value(&[]), o.g_loss(&fake).double_value(&[]));
        let sp = |x: f64| (1.0 + x.exp()).ln();
        let mean = |a: f64, b: f64| (a + b) / 2.0;
        // BCE: -log σ(l) = softplus(-l), -log(1 - σ(l)) = softplus(l).
        let d_bce = 0.5 * (mean(sp(-2.0), sp(-0.5)) + mean(sp(-1.0), sp(0.3)));
        let (d, g) = v(Objective::NonSaturating);
        assert!((d - d_bce).abs() < 1e-12 && (g - mean(sp(1.0), sp(-0.3))).abs() < 1e-12, "{d} {g}");
        let (_, g) = v(Objective::Minimax);
        assert!((g + mean(sp(-1.0), sp(0.3))).abs() < 1e-12, "{g}");
        let (d, g) = v(Objective::LeastSquares);
        assert!((d - (0.5 * mean(1.0, 0.25) + 0.5 * mean(1.0, 0.09))).abs() < 1e-12, "{d}");
        assert!((g - 0.5 * mean(4.0, 0.49)).abs() < 1e-12, "{g}");
        let (d, g) = v(Objective::Wasserstein);
        assert!((d - (mean(-1.0, 0.3) - mean(2.0, 0.5))).abs() < 1e-12 && (g - 0.35).abs() < 1e-12, "{d} {g}");
        let (d, g) = v(Objective::Hinge);
        assert!((d - (mean(0.0, 0.5) + mean(0.0, 1.3))).abs() < 1e-12 && (g - 0.35).abs() < 1e-12, "{d} {g}");
        // Smoothed targets change BCE and LS, not the critics.
        let smooth = real.full_like(0.9);
        assert!(Objective::LeastSquares.d_loss(&real, &fake, &smooth, &zero).double_value(&[]) != v(Objective::LeastSquares).0);
        assert_eq!(Objective::Hinge.d_loss(&real, &fake, &smooth, &zero).double_value(&[]), v(Objective::Hinge).0);
        assert!(Objective::NonSaturating.score(&real).max().double_value(&[]) < 1.0);
        assert_eq!(Objective::Hinge.score(&real).to_kind(Kind::Double).max().double_value(&[]), 2.0);
    }

    #[test]
    fn names_parse_back() {
        for o in [Objective::Minimax, Objective::NonSaturating, Objective::LeastSquares, Objective::Wasserstein, Objective::WassersteinGp, Objective::Hinge] {
            assert_eq!(o.name().parse::<Objective>().unwrap(), o);
        }
        assert_eq!("WGAN_GP".parse::<Objective>().unwrap(), Objective::WassersteinGp);
        let e = "kl".parse::<Objective>().unwrap_err().to_string();
        assert!(e.contains("objective") && e.contains("hinge"), "{e}");
    }
}
