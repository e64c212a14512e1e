//! The basic iterative method, or iterative FGSM (Kurakin, Goodfellow &
//! Bengio 2017, [arXiv:1607.02533](https://arxiv.org/abs/1607.02533)):
//!
//! x⁰ = x,  xᵗ⁺¹ = Π_{‖·−x‖∞≤ε, [0,1]}( xᵗ + α · sign(∇ₓ L(f(xᵗ), y)) )
//!
//! Many small FGSM steps, each projected back into the ε-ball: it follows the
//! loss surface where it bends, which one FGSM step cannot.
use super::{check_eps, check_inputs, objective_grad, sign_step, Attack, Ball, Target};
use super::model::Model;
use crate::error::{Error, Result};
use tch::Tensor;

/// BIM: `steps` steps of `step_size` (default 2.5·ε/steps, so the ball's edge is reachable).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bim {
    pub eps: f64,
    pub steps: usize,
    pub step_size: Option<f64>,
    pub target: Target,
}

impl Bim {
    pub fn new(eps: f64, steps: usize) -> Self {
        Self { eps, steps, step_size: None, target: Target::Untargeted }
    }
    pub fn with_step_size(mut self, alpha: f64) -> Self {
        self.step_size = Some(alpha);
        self
    }
    pub fn targeted(mut self, target: Target) -> Self {
        self.target = target;
        self
    }
    pub fn alpha(&self) -> f64 {
        self.step_size.unwrap_or(2.5 * self.eps / self.steps.max(1) as f64)
    }
}

/// The iterative core shared with PGD: `steps` projected sign-gradient steps from `start`.
pub(crate) fn iterate(model: &dyn Model, x: &Tensor, start: Tensor, y: &Tensor, eps: f64, alpha: f64, steps: usize, target: Target) -> Result<Tensor> {
    let targets = target.labels(y);
    // The same values as `project(&(x_adv + g.sign() * alpha), x, eps)` at every step, with
    // the ball's bounds computed once and the step taken in the gradient's buffer.
    let ball = Ball::new(x, eps);
    let mut x_adv = start;
    for _ in 0..steps {
        let g = objective_grad(model, &x_adv, y, targets.as_ref())?;
        x_adv = sign_step(g, &x_adv, alpha);
        ball.project_(&mut x_adv);
    }
    Ok(x_adv.detach())
}

pub(crate) fn check_steps(steps: usize, alpha: f64) -> Result<()> {
    if steps == 0 {
        return Err(Error::config("steps", "an iterative attack needs at least one step"));
    }
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(Error::config("step_size", format!("{alpha} must be a non-negative number")));
    }
    Ok(())
}

impl Attack for Bim {
    fn name(&self) -> String {
        format!("BIM-{}{}", self.steps, self.target.suffix())
    }
    fn eps(&self) -> f64 {
        self.eps
    }
    fn target(&self) -> Target {
        self.target
    }
    fn perturb_seeded(&self, model: &dyn Model, x: &Tensor, y: &Tensor, _seed: u64) -> Result<Tensor> {
        check_eps(self.eps)?;
        check_steps(self.steps, self.alpha())?;
        self.target.check()?;
        let x = check_inputs(x, y)?;
        iterate(model, &x, x.detach(), y, self.eps, self.alpha(), self.steps, self.target)
    }
}
