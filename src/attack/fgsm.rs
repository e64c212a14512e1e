//! The fast gradient sign method (Goodfellow, Shlens & Szegedy 2015,
//! [arXiv:1412.6572](https://arxiv.org/abs/1412.6572)):
//!
//! x_adv = clip₍₀,₁₎( x + ε · sign(∇ₓ L(f(x), y)) )
//!
//! One gradient, one step to a corner of the L∞ ball: the best step against a
//! model that is linear around x.
use super::{check_eps, check_inputs, objective_grad, sign_step, Attack, Target};
use super::model::Model;
use crate::error::Result;
use tch::Tensor;

/// FGSM with budget `eps`, untargeted or targeted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fgsm {
    pub eps: f64,
    pub target: Target,
}

impl Fgsm {
    pub fn new(eps: f64) -> Self {
        Self { eps, target: Target::Untargeted }
    }
    pub fn targeted(mut self, target: Target) -> Self {
        self.target = target;
        self
    }
}

impl Attack for Fgsm {
    fn name(&self) -> String {
        format!("FGSM{}", self.target.suffix())
    }
    fn eps(&self) -> f64 {
        self.eps
    }
    fn target(&self) -> Target {
        self.target
    }
    fn perturb_seeded(&self, model: &dyn Model, x: &Tensor, y: &Tensor, _seed: u64) -> Result<Tensor> {
        check_eps(self.eps)?;
        self.target.check()?;
        let x = check_inputs(x, y)?;
        let targets = self.target.labels(y);
        let g = objective_grad(model, &x, y, targets.as_ref())?;
        // (x + ε·sign(g)).clamp(0, 1), in the gradient's buffer.
        let mut adv = sign_step(g, &x, self.eps);
        let _ = adv.clamp_(0.0, 1.0);
        Ok(adv.detach())
    }
}
