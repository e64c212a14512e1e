//! Projected gradient descent on the L∞ ball with a random start (Madry et
//! al. 2018, [arXiv:1706.06083](https://arxiv.org/abs/1706.06083)):
//!
//! x⁰ = Π(x + U(−ε, ε)),  xᵗ⁺¹ = Π_{‖·−x‖∞≤ε, [0,1]}( xᵗ + α · sign(∇ₓ L(f(xᵗ), y)) )
//!
//! BIM from a random point of the ball: the random start avoids the sharp
//! curvature right at the data point, and restarts with other seeds explore
//! other local maxima. Madry et al. call it the strongest first-order attack.
use super::bim::{check_steps, iterate};
use super::{check_eps, check_inputs, project, uniform_noise, Attack, Target};
use super::model::Model;
use crate::error::{Error, Result};
use tch::Tensor;

/// PGD with `steps` steps of `step_size` (default 2.5·ε/steps) from a uniform random start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pgd {
    pub eps: f64,
    pub steps: usize,
    pub step_size: Option<f64>,
    pub target: Target,
    pub seed: u64,
}

impl Pgd {
    pub fn new(eps: f64, steps: usize) -> Self {
        Self { eps, steps, step_size: None, target: Target::Untargeted, seed: 0 }
    }
    pub fn with_step_size(mut self, alpha: f64) -> Self {
        self.step_size = Some(alpha);
        self
    }
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn targeted(mut self, target: Target) -> Self {
        self.target = target;
        self
    }
    pub fn alpha(&self) -> f64 {
        self.step_size.unwrap_or(2.5 * self.eps / self.steps.max(1) as f64)
    }

    /// PGD from a given random offset `delta0` (same shape as `x`, in
    /// `[-eps, eps]`): what the golden-value test compares with PyTorch.
    pub fn perturb_from(&self, model: &dyn Model, x: &Tensor, y: &Tensor, delta0: &Tensor) -> Result<Tensor> {
        check_eps(self.eps)?;
        check_steps(self.steps, self.alpha())?;
        self.target.check()?;
        let x = check_inputs(x, y)?;
        self.perturb_from_checked(model, &x, y, delta0)
    }

    /// [`Pgd::perturb_from`] on images `check_inputs` has already seen.
    fn perturb_from_checked(&self, model: &dyn Model, x: &Tensor, y: &Tensor, delta0: &Tensor) -> Result<Tensor> {
        check_eps(self.eps)?;
        check_steps(self.steps, self.alpha())?;
        self.target.check()?;
        if delta0.size() != x.size() {
            return Err(Error::Shape(format!("random start of shape {:?} for images of shape {:?}", delta0.size(), x.size())));
        }
        let start = project(&(x + delta0), x, self.eps).detach();
        iterate(model, x, start, y, self.eps, self.alpha(), self.steps, self.target)
    }
}

impl Attack for Pgd {
    fn name(&self) -> String {
        format!("PGD-{}{}", self.steps, self.target.suffix())
    }
    fn eps(&self) -> f64 {
        self.eps
    }
    fn target(&self) -> Target {
        self.target
    }
    fn perturb_seeded(&self, model: &dyn Model, x: &Tensor, y: &Tensor, seed: u64) -> Result<Tensor> {
        let x = check_inputs(x, y)?;
        let delta0 = uniform_noise(&x, self.eps, self.seed ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.perturb_from_checked(model, &x, y, &delta0)
    }
}
