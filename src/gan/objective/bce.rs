//! The original GAN's binary cross-entropy objectives (Goodfellow et al. 2014),
//! on logits: `-log D = softplus(-l)`, `-log(1 - D) = softplus(l)`.
use tch::{Reduction, Tensor};

/// Mean binary cross-entropy of `sigmoid(logits)` against a constant target.
pub fn bce_with_logits(logits: &Tensor, target: f64) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(&logits.full_like(target), None, None, Reduction::Mean)
}

/// The tutorial's D loss with the plain labels 1 (real) and 0 (fake):
/// `½·(BCE(D(x), 1) + BCE(D(G(z)), 0))`. `// [n, 1], [m, 1] -> []`
pub fn d_loss_plain(real: &Tensor, fake: &Tensor) -> Tensor {
    0.5 * (bce_with_logits(real, 1.0) + bce_with_logits(fake, 0.0))
}

fn bce(logits: &Tensor, target: &Tensor) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(target, None, None, Reduction::Mean)
}

/// `½·(BCE(D(x), t_real) + BCE(D(G(z)), t_fake))`, the tutorial's D loss, with
/// targets that the tips may smooth or flip.
pub fn d_loss(real: &Tensor, fake: &Tensor, real_target: &Tensor, fake_target: &Tensor) -> Tensor {
    0.5 * (bce(real, real_target) + bce(fake, fake_target))
}

/// `E[log(1 − D(G(z)))]`, the game as written.
/// Its gradient vanishes when D confidently rejects fakes, i.e. early in training.
pub fn minimax_g_loss(fake: &Tensor) -> Tensor {
    -fake.softplus().mean(None)
}

/// `−E[log D(G(z))]`.
pub fn non_saturating_g_loss(fake: &Tensor) -> Tensor {
    bce_with_logits(fake, 1.0)
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
        let d = scalar(d_loss_plain(&real, &fake));
        assert!((d - 0.5 * (-(0.8f64).ln() - (0.7f64).ln())).abs() < 1e-9, "{d}");
        let (ones, zeros) = (Tensor::ones([1, 1], (tch::Kind::Double, tch::Device::Cpu)), Tensor::zeros([1, 1], (tch::Kind::Double, tch::Device::Cpu)));
        assert!((scalar(d_loss(&real, &fake, &ones, &zeros)) - d).abs() < 1e-12);
        // non-saturating: -ln 0.3; minimax: ln(1 - 0.3)
        let ns = scalar(non_saturating_g_loss(&fake));
        assert!((ns + (0.3f64).ln()).abs() < 1e-9, "{ns}");
        let mm = scalar(minimax_g_loss(&fake));
        assert!((mm - (0.7f64).ln()).abs() < 1e-9, "{mm}");
    }

    #[test]
    fn minimax_gradient_vanishes_when_d_rejects_fakes() {
        // D(G(z)) = sigmoid(-8) ~ 3e-4: the minimax gradient is tiny, the non-saturating one is ~1.
        let grad = |f: fn(&Tensor) -> Tensor| {
            let l = Tensor::from_slice(&[-8.0f32]).view([1, 1]).set_requires_grad(true);
            f(&l).backward();
            l.grad().abs().double_value(&[0, 0])
        };
        let mm = grad(minimax_g_loss);
        let ns = grad(non_saturating_g_loss);
        assert!(mm < 1e-3 && ns > 0.99, "minimax {mm}, non-saturating {ns}");
    }
}
