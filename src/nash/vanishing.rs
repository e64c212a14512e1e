//! Vanishing gradients, measured: a generator is held fixed while its
//! discriminator trains against it and gets stronger; at each checkpoint the
//! size of the gradient that reaches the generator's parameters is computed
//! for both generator losses on the same batch:
//!
//! ```text
//! minimax         L_G = E[log(1 − D(G(z)))]   ∂L/∂logit = −D(G(z))       → 0 as D rejects the fakes
//! non-saturating  L_G = −E[log D(G(z))]       ∂L/∂logit = −(1 − D(G(z))) → −1
//! ```
use super::toy2d::{points_tensor, Nets, Toy2d};
use crate::error::{Error, Result};
use crate::gan::Objective;
use crate::notebook::RunMode;
use crate::optim::{Adam, AdamConfig};
use serde::{Deserialize, Serialize};
use tch::{nn::Module, Kind, Tensor};

/// Settings of the vanishing-gradient experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VanishingConfig {
    pub dist: Toy2d,
    /// Discriminator steps in all.
    pub d_steps: usize,
    /// Measure after every this many D steps.
    pub measure_every: usize,
    pub batch_size: usize,
    pub latent_dim: i64,
    pub hidden: i64,
    pub lr_d: f64,
    pub seed: u64,
}

impl Default for VanishingConfig {
    fn default() -> Self {
        Self { dist: Toy2d::Ring8, d_steps: 600, measure_every: 20, batch_size: 256, latent_dim: 2, hidden: 128, lr_d: 3e-3, seed: 0 }
    }
}

impl VanishingConfig {
    /// Quick mode: half the D steps (D is strong long before).
    pub fn for_mode(mut self, mode: RunMode) -> Self {
        if mode.is_quick() {
            self.d_steps /= 2;
        }
        self
    }
}

/// Gradient sizes as D trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VanishingReport {
    pub config: VanishingConfig,
    pub d_step: Vec<usize>,
    /// Mean D(x) on real points and D(G(z)) on the fixed generator's points.
    pub d_real: Vec<f64>,
    pub d_fake: Vec<f64>,
    /// ‖∇_θG L_G‖₂ over all generator parameters.
    pub grad_minimax: Vec<f64>,
    pub grad_non_saturating: Vec<f64>,
}

fn grad_norm(loss: &Tensor, params: &[Tensor]) -> Result<f64> {
    let refs: Vec<&Tensor> = params.iter().collect();
    let grads = Tensor::f_run_backward(&[loss], &refs, true, false)?;
    Ok(grads.iter().map(|g| g.square().sum(Kind::Double).double_value(&[])).sum::<f64>().sqrt())
}

/// Trains D against a fixed, freshly initialised G and measures both
/// generator losses' gradient norms along the way.
pub fn vanishing_gradients(config: &VanishingConfig) -> Result<VanishingReport> {
    if config.d_steps == 0 || config.measure_every == 0 || config.batch_size == 0 {
        return Err(Error::config("vanishing", "d_steps, measure_every and batch_size must be at least 1"));
    }
    let device = crate::device::device()?;
    let _threads = super::SmallNetThreads::new(device);
    let nets = {
        let _seeded = crate::rng::seeded_section();
        tch::manual_seed(config.seed as i64);
        Nets::new(config.latent_dim, config.hidden, 1, device)
    };
    let mut opt_d = Adam::new(&nets.d_vs, AdamConfig { lr: config.lr_d, beta1: 0.5, ..Default::default() })?;
    let g_params = nets.g_vs.trainable_variables();
    let b = config.batch_size as i64;
    let z_eval = Tensor::randn([1024, config.latent_dim], (Kind::Float, device));
    let real_eval = points_tensor(&config.dist.sample(1024, config.seed ^ 0xe7a1)?, device);
    let mut r = VanishingReport { config: config.clone(), d_step: vec![], d_real: vec![], d_fake: vec![], grad_minimax: vec![], grad_non_saturating: vec![] };
    for step in 0..=config.d_steps {
        if step % config.measure_every == 0 || step == config.d_steps {
            let logits = nets.d_logits(&nets.g.forward(&z_eval));
            r.d_step.push(step);
            r.d_fake.push(logits.sigmoid().mean(None).double_value(&[]));
            r.d_real.push(tch::no_grad(|| nets.d_logits(&real_eval).sigmoid().mean(None).double_value(&[])));
            r.grad_minimax.push(grad_norm(&Objective::Minimax.g_loss(&logits), &g_params)?);
            r.grad_non_saturating.push(grad_norm(&Objective::NonSaturating.g_loss(&logits), &g_params)?);
        }
        if step == config.d_steps {
            break;
        }
        let real = points_tensor(&config.dist.sample(config.batch_size, config.seed.wrapping_add(step as u64 + 1))?, device);
        let fake = tch::no_grad(|| nets.g.forward(&Tensor::randn([b, config.latent_dim], (Kind::Float, device))));
        let loss = crate::gan::objective::bce::d_loss_plain(&nets.d_logits(&real), &nets.d_logits(&fake));
        opt_d.zero_grad();
        loss.backward();
        opt_d.step();
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimax_gradient_vanishes_as_d_wins() {
        // It seeds and draws from libtorch's global generator: take turns with the other tests that do.
        let _rng = crate::torch_rng_lock();
        let r = vanishing_gradients(&VanishingConfig { d_steps: 300, measure_every: 50, ..Default::default() }).unwrap();
        let last = r.d_step.len() - 1;
        assert_eq!(r.d_step, vec![0, 50, 100, 150, 200, 250, 300]);
        assert!(r.d_fake[last] < 0.05 && r.d_fake[0] > 0.3, "D learns to reject the fixed fakes: {:?}", r.d_fake);
        // At the logit the two gradients are D(G(z)) and 1 − D(G(z)); through G's
        // parameters the minimax one falls behind the non-saturating one as D wins.
        let ratio = |i: usize| r.grad_non_saturating[i] / r.grad_minimax[i];
        assert!(ratio(0) < 3.0 && ratio(last) > 8.0, "non-saturating / minimax: {} -> {}", ratio(0), ratio(last));
        assert!(r.grad_minimax[last] < r.grad_minimax.iter().fold(0f64, |m, g| m.max(*g)) / 2.0, "{:?}", r.grad_minimax);
    }
}
