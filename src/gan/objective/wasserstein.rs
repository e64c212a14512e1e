//! Wasserstein GAN (Arjovsky et al. 2017, <https://arxiv.org/abs/1701.07875>):
//! the critic C estimates `W(p_data, p_g) = sup_{‖f‖_L ≤ 1} E f(x) − E f(G(z))`,
//! and the Lipschitz constraint is enforced by clipping every weight to
//! `[−c, c]` after each critic step (c = 0.01), or by a gradient penalty
//! (WGAN-GP, `gradient_penalty.rs`).
use tch::{nn, Tensor};

/// `E[C(G(z))] − E[C(x)]`: minus the critic's Wasserstein estimate.
pub fn critic_loss(real: &Tensor, fake: &Tensor) -> Tensor {
    fake.mean(None) - real.mean(None)
}

/// `−E[C(G(z))]`.
pub fn generator_loss(fake: &Tensor) -> Tensor {
    -fake.mean(None)
}

/// Clamps every trainable variable of the critic to `[−clip, clip]`, in place
/// (the paper clips all parameters, biases and batch-norm scales included).
pub fn clip_weights(vs: &nn::VarStore, clip: f64) {
    tch::no_grad(|| {
        for mut p in vs.trainable_variables() {
            let _ = p.clamp_(-clip, clip);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn clipping_bounds_every_weight() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[10, 10], nn::Init::Randn { mean: 0.0, stdev: 1.0 });
        clip_weights(&vs, 0.01);
        assert!(w.abs().max().double_value(&[]) <= 0.01 + 1e-9);
        assert!(w.abs().max().double_value(&[]) > 0.0099, "weights were clipped, not zeroed");
    }
}
