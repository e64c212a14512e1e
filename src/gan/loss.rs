//! GAN objectives as an enum backed by plain functions. All take the
//! discriminator's **logits** `l` (so `D(x) = sigmoid(l)`) and use the
//! numerically stable forms `-log D = softplus(-l)`, `-log(1 - D) = softplus(l)`,
//! which equal PyTorch's `BCELoss(Sigmoid(l), y)` wherever that does not clamp.
//!
//! Goodfellow et al. 2014, <https://arxiv.org/abs/1406.2661>:
//! `min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]`.
use serde::{Deserialize, Serialize};
use tch::{Reduction, Tensor};

/// Which generator objective a BCE GAN uses. The discriminator always
/// minimises `0.5 · (BCE(D(x), 1) + BCE(D(G(z)), 0))`, as in the tutorial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GanLoss {
    /// The game as written: G minimises `E[log(1 - D(G(z)))]`. Its gradient
    /// vanishes when D confidently rejects fakes, i.e. early in training.
    Minimax,
    /// Goodfellow's practical fix: G minimises `-E[log D(G(z))]` (BCE against
    /// the label "real"): same fixed point, strong gradients early.
    #[default]
    NonSaturating,
}

impl GanLoss {
    /// Discriminator loss from logits of a real batch and a fake batch.
    /// `// [n, 1], [m, 1] -> []`
    pub fn d_loss(self, real_logits: &Tensor, fake_logits: &Tensor) -> Tensor {
        0.5 * (bce_with_logits(real_logits, 1.0) + bce_with_logits(fake_logits, 0.0))
    }

    /// Generator loss from the discriminator's logits on fakes. `// [m, 1] -> []`
    pub fn g_loss(self, fake_logits: &Tensor) -> Tensor {
        match self {
            GanLoss::Minimax => minimax_g_loss(fake_logits),
            GanLoss::NonSaturating => bce_with_logits(fake_logits, 1.0),
        }
    }
}

impl std::str::FromStr for GanLoss {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "minimax" | "saturating" => Ok(GanLoss::Minimax),
            "non-saturating" | "nonsaturating" | "ns" => Ok(GanLoss::NonSaturating),
            _ => Err(crate::Error::config("loss", format!("`{s}` is not a loss: use non-saturating or minimax"))),
        }
    }
}

/// Mean binary cross-entropy of `sigmoid(logits)` against a constant target.
pub fn bce_with_logits(logits: &Tensor, target: f64) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(&logits.full_like(target), None, None, Reduction::Mean)
}

/// `E[log(1 - D)] = -E[softplus(l)]`: the generator's term of the minimax game.
pub fn minimax_g_loss(fake_logits: &Tensor) -> Tensor {
    -fake_logits.softplus().mean(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(t: Tensor) -> f64 {
        t.double_value(&[])
    }

    #[test]
    fn losses_match_hand_computed_values() {
        // D(x) = 0.8 on a real, D(G(z)) = 0.3 on a fake.
        let logit = |p: f64| (p / (1.0 - p)).ln();
        let real = Tensor::from_slice(&[logit(0.8)]).view([1, 1]);
        let fake = Tensor::from_slice(&[logit(0.3)]).view([1, 1]);
        // 0.5 * (-ln 0.8 - ln 0.7)
        let d = scalar(GanLoss::NonSaturating.d_loss(&real, &fake));
        assert!((d - 0.5 * (-(0.8f64).ln() - (0.7f64).ln())).abs() < 1e-6, "{d}");
        // non-saturating: -ln 0.3; minimax: ln(1 - 0.3)
        let ns = scalar(GanLoss::NonSaturating.g_loss(&fake));
        assert!((ns + (0.3f64).ln()).abs() < 1e-6, "{ns}");
        let mm = scalar(GanLoss::Minimax.g_loss(&fake));
        assert!((mm - (0.7f64).ln()).abs() < 1e-6, "{mm}");
    }

    #[test]
    fn minimax_gradient_vanishes_when_d_rejects_fakes() {
        // D(G(z)) = sigmoid(-8) ~ 3e-4: the minimax gradient is tiny, the non-saturating one is ~1.
        let grad = |loss: GanLoss| {
            let l = Tensor::from_slice(&[-8.0f32]).view([1, 1]).set_requires_grad(true);
            loss.g_loss(&l).backward();
            l.grad().abs().double_value(&[0, 0])
        };
        let mm = grad(GanLoss::Minimax);
        let ns = grad(GanLoss::NonSaturating);
        assert!(mm < 1e-3 && ns > 0.99, "minimax {mm}, non-saturating {ns}");
    }

    #[test]
    fn parse_names() {
        assert_eq!("minimax".parse::<GanLoss>().unwrap(), GanLoss::Minimax);
        assert_eq!("non_saturating".parse::<GanLoss>().unwrap(), GanLoss::NonSaturating);
        assert!("wasserstein".parse::<GanLoss>().unwrap_err().to_string().contains("non-saturating"));
    }
}
