//! The original GAN's binary cross-entropy objectives (Goodfellow et al. 2014),
//! on logits: `-log D = softplus(-l)`, `-log(1 - D) = softplus(l)`.
use crate::gan::loss::{self, bce_with_logits};
use tch::{Reduction, Tensor};

fn bce(logits: &Tensor, target: &Tensor) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(target, None, None, Reduction::Mean)
}

/// `½·(BCE(D(x), t_real) + BCE(D(G(z)), t_fake))`, the tutorial's D loss, with
/// targets that the tips may smooth or flip.
pub fn d_loss(real: &Tensor, fake: &Tensor, real_target: &Tensor, fake_target: &Tensor) -> Tensor {
    0.5 * (bce(real, real_target) + bce(fake, fake_target))
}

/// `E[log(1 − D(G(z)))]`, the game as written.
pub fn minimax_g_loss(fake: &Tensor) -> Tensor {
    loss::minimax_g_loss(fake)
}

/// `−E[log D(G(z))]`.
pub fn non_saturating_g_loss(fake: &Tensor) -> Tensor {
    bce_with_logits(fake, 1.0)
}
