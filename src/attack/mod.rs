//! Adversarial attacks, one per file behind one [`Attack`] trait.
//!
//! Every attack takes images in `[0, 1]` (`[n, 1, 28, 28]`) with their true
//! labels and returns adversarial images in `[0, 1]`; the model's
//! normalisation lives inside the model ([`crate::classifier::normalise`]),
//! so no attack ever sees it. The shared pieces are here: the gradient of the
//! attacker's objective ([`objective_grad`]), the projection onto the
//! ε-ball ([`project`]) and the targeted mode ([`Target`]).
//!
//! | attack | file | update |
//! |---|---|---|
//! | FGSM (Goodfellow et al. 2015) | `fgsm.rs` | x + ε·sign(∇ₓL) |
//! | BIM / iterative FGSM (Kurakin et al. 2017) | `bim.rs` | T steps of α·sign(∇ₓL), projected |
//! | PGD, L∞, random start (Madry et al. 2018) | `pgd.rs` | BIM from a uniform start in the ε-ball |
//! | adversarial patch (Brown et al. 2017) | `patch.rs` | a trained k×k patch pasted at random places |
//!
//! Targeted variants ([`Target::Class`], [`Target::Next`]) descend the loss of
//! the target class instead of ascending the loss of the true class.
pub mod bim;
pub mod fgsm;
pub mod model;
pub mod patch;
pub mod pgd;

pub use bim::Bim;
pub use fgsm::Fgsm;
pub use model::{as_images, logits_batched, Model};
pub use patch::{train_patch, AdversarialPatch, PatchConfig};
pub use pgd::Pgd;

use crate::rng::SplitMix64;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Which way an attack pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", content = "class", rename_all = "snake_case")]
pub enum Target {
    /// Any wrong class: ascend the loss of the true label.
    #[default]
    Untargeted,
    /// Make every image read as this class.
    Class(i64),
    /// Make each digit read as the next one, (y + 1) mod 10.
    Next,
}

impl Target {
    /// The class each image is pushed to (`None` when untargeted). `// [n] -> [n]`
    pub fn labels(&self, y: &Tensor) -> Option<Tensor> {
        match self {
            Target::Untargeted => None,
            Target::Class(c) => Some(y.ones_like() * *c),
            Target::Next => Some((y + 1).remainder(10)),
        }
    }

    fn check(&self) -> Result<()> {
        match self {
            Target::Class(c) if !(0..10).contains(c) => Err(Error::config("target", format!("class {c} is not a digit 0..=9"))),
            _ => Ok(()),
        }
    }

    fn suffix(&self) -> String {
        match self {
            Target::Untargeted => String::new(),
            Target::Class(c) => format!(" → {c}"),
            Target::Next => " → y+1".into(),
        }
    }
}

/// An adversarial attack on images in `[0, 1]`.
pub trait Attack {
    /// A short name for tables and legends, e.g. `PGD-40`.
    fn name(&self) -> String;
    /// The L∞ budget ε (1 for attacks not bounded in L∞, such as the patch).
    fn eps(&self) -> f64;
    fn target(&self) -> Target {
        Target::Untargeted
    }
    /// Adversarial versions of `x` (`[n, 1, 28, 28]` in `[0, 1]`, true labels
    /// `y` `[n]`), against `model`. `seed` drives any randomness (random
    /// starts, patch positions), so that a result repeats exactly.
    fn perturb_seeded(&self, model: &dyn Model, x: &Tensor, y: &Tensor, seed: u64) -> Result<Tensor>;
    /// [`Attack::perturb_seeded`] with seed 0.
    fn perturb(&self, model: &dyn Model, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        self.perturb_seeded(model, x, y, 0)
    }
}

/// Checks an attack's inputs: images `[n, 1, 28, 28]` (or `[n, 784]`) in
/// `[0, 1]`, labels `[n]` int64 digits. Returns the images as `[n, 1, 28, 28]`.
pub fn check_inputs(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let x = as_images(x)?;
    let n = x.size()[0];
    if y.size() != [n] || y.kind() != Kind::Int64 {
        return Err(Error::Shape(format!(
            "labels of shape {:?} and kind {:?}: give [{n}] int64 labels, one per image",
            y.size(),
            y.kind()
        )));
    }
    if n > 0 {
        let (lo, hi) = x.aminmax(None, false);
        let (lo, hi) = (lo.double_value(&[]), hi.double_value(&[]));
        if lo < 0.0 || hi > 1.0 {
            return Err(Error::Shape(format!("pixel values span [{lo}, {hi}]: attacks take images in [0, 1] (divide bytes by 255)")));
        }
    }
    Ok(x)
}

pub(crate) fn check_eps(eps: f64) -> Result<()> {
    if eps.is_finite() && (0.0..=1.0).contains(&eps) {
        Ok(())
    } else {
        Err(Error::config("eps", format!("{eps} must be in [0, 1] (pixels are in [0, 1])")))
    }
}

/// ∇ₓ of the attacker's objective: CE(f(x), y) when untargeted, −CE(f(x), t)
/// towards targets `t`. Only `x` gets a gradient; the model's parameters are
/// left untouched. A model's own [`Model::input_gradient`] is used where it
/// has one (the LeNet on the CPU), autograd otherwise. `// [n,1,28,28] -> [n,1,28,28]`
pub fn objective_grad(model: &dyn Model, x: &Tensor, y: &Tensor, targets: Option<&Tensor>) -> Result<Tensor> {
    if let Some(r) = model.input_gradient(x, y, targets) {
        return r.map(|(_objective, g)| g);
    }
    let xg = x.detach().set_requires_grad(true);
    let logits = model.logits(&xg);
    let objective = match targets {
        None => logits.f_cross_entropy_loss::<Tensor>(y, None, tch::Reduction::Mean, -100, 0.0)?,
        Some(t) => -logits.f_cross_entropy_loss::<Tensor>(t, None, tch::Reduction::Mean, -100, 0.0)?,
    };
    let mut g = Tensor::f_run_backward(&[&objective], &[&xg], false, false)?;
    g.pop().ok_or_else(|| Error::Shape("no gradient came back for the input".into()))
}

/// Projects onto the L∞ ball of radius `eps` around `x`, then onto `[0, 1]`.
pub fn project(x_adv: &Tensor, x: &Tensor, eps: f64) -> Tensor {
    x_adv.maximum(&(x - eps)).minimum(&(x + eps)).clamp(0.0, 1.0)
}

/// [`project`] with its bounds computed once, for the iterative attacks,
/// which project onto the same set at every step.
///
/// Clamping into `[x − ε, x + ε]` and then into `[0, 1]` is clamping into
/// their intersection `[max(x − ε, 0), min(x + ε, 1)]` (never empty: `x`
/// lies in both), so one `clamp` with these two tensors gives exactly the
/// values of `project`'s four element-wise passes (only comparisons, no
/// arithmetic on `x_adv`).
pub(crate) struct Ball {
    lo: Tensor,
    hi: Tensor,
}

impl Ball {
    pub(crate) fn new(x: &Tensor, eps: f64) -> Self {
        Self { lo: (x - eps).clamp_min(0.0), hi: (x + eps).clamp_max(1.0) }
    }

    /// `project(x_adv, x, eps)`, in `x_adv`'s own buffer.
    pub(crate) fn project_(&self, x_adv: &mut Tensor) {
        let _ = x_adv.clamp_tensor_(Some(&self.lo), Some(&self.hi));
    }
}

/// `x + step · sign(g)`, computed in the buffer of the gradient `g` (which
/// the caller owns and never reads again): no new tensor per step. Float
/// addition commutes, so `sign(g)·step + x` is bit for bit `x + sign(g)·step`.
pub(crate) fn sign_step(mut g: Tensor, x: &Tensor, step: f64) -> Tensor {
    if g.size() != x.size() || g.kind() != x.kind() || !g.is_contiguous() {
        return x + g.sign() * step;
    }
    let _ = g.sign_().g_mul_scalar_(step).g_add_(x);
    g
}

/// Uniform noise in `[-eps, eps]` shaped like `x`, from `seed` alone (not
/// libtorch's generator), so that random starts repeat on CPU and GPU.
pub fn uniform_noise(x: &Tensor, eps: f64, seed: u64) -> Tensor {
    let mut rng = SplitMix64::new(seed);
    let v: Vec<f32> = (0..x.numel()).map(|_| ((rng.next_u64() >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32 * eps as f32).collect();
    Tensor::from_slice(&v).view(x.size().as_slice()).to_device(x.device()).to_kind(x.kind())
}

/// Runs `attack` in batches of `batch` images against `attacker` (whose
/// gradients it uses). `// [n,1,28,28] -> [n,1,28,28]`
pub fn perturb_batched(attack: &dyn Attack, attacker: &dyn Model, x: &Tensor, y: &Tensor, batch: i64, seed: u64) -> Result<Tensor> {
    let n = x.size()[0];
    let batch = batch.max(1);
    let mut parts = Vec::new();
    for (i, s) in (0..n).step_by(batch as usize).enumerate() {
        let len = batch.min(n - s);
        parts.push(attack.perturb_seeded(attacker, &x.narrow(0, s, len), &y.narrow(0, s, len), seed.wrapping_add(i as u64 * 7919))?);
    }
    Ok(Tensor::cat(&parts, 0))
}

/// What an attack did to a set of images, as plain numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackOutcome {
    /// Accuracy of the evaluated model on the clean images.
    pub clean_accuracy: f64,
    /// Accuracy on the adversarial images.
    pub robust_accuracy: f64,
    /// For targeted attacks: the fraction of images whose true label is not the target that now read as the target.
    pub target_success: Option<f64>,
    /// Largest |x_adv − x| over all pixels.
    pub max_linf: f64,
    pub n: usize,
}

/// Attacks `x` using `attacker`'s gradients and measures `evaluated` on the
/// result (the same model for a white-box attack; another one for transfer or
/// for an attacker unaware of a defense).
pub fn evaluate_attack(attack: &dyn Attack, attacker: &dyn Model, evaluated: &dyn Model, x: &Tensor, y: &Tensor, seed: u64) -> Result<AttackOutcome> {
    let x = check_inputs(x, y)?;
    let x_adv = perturb_batched(attack, attacker, &x, y, 500, seed)?;
    outcome(attack, evaluated, &x, &x_adv, y)
}

/// [`AttackOutcome`] of given adversarial images.
pub fn outcome(attack: &dyn Attack, evaluated: &dyn Model, x: &Tensor, x_adv: &Tensor, y: &Tensor) -> Result<AttackOutcome> {
    let rate = |m: &Tensor| m.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
    let clean = logits_batched(evaluated, x).argmax(-1, false);
    let adv = logits_batched(evaluated, x_adv).argmax(-1, false);
    let target_success = attack.target().labels(y).and_then(|t| {
        let eligible = t.ne_tensor(y);
        let k = eligible.sum(Kind::Int64).int64_value(&[]);
        (k > 0).then(|| adv.eq_tensor(&t).logical_and(&eligible).sum(Kind::Double).double_value(&[]) / k as f64)
    });
    Ok(AttackOutcome {
        clean_accuracy: rate(&clean.eq_tensor(y)),
        robust_accuracy: rate(&adv.eq_tensor(y)),
        target_success,
        max_linf: (x_adv - x).abs().max().double_value(&[]),
        n: y.size()[0] as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, nn::Module, Device, Kind};

    /// A small conv net (the attacks need no classifier module, and may not use one: same floor).
    struct Net {
        _vs: nn::VarStore,
        conv: nn::Conv2D,
        fc: nn::Linear,
    }
    impl Net {
        fn new(kind: Kind) -> Self {
            let mut vs = nn::VarStore::new(Device::Cpu);
            let conv = nn::conv2d(vs.root() / "conv", 1, 4, 5, nn::ConvConfig { padding: 2, ..Default::default() });
            let fc = nn::linear(vs.root() / "fc", 4 * 14 * 14, 10, Default::default());
            if kind == Kind::Double {
                vs.double();
            }
            Self { _vs: vs, conv, fc }
        }
    }
    impl Model for Net {
        fn logits(&self, x: &Tensor) -> Tensor {
            let h = self.conv.forward(&((x - 0.1307) / 0.3081)).relu().max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
            self.fc.forward(&h.flatten(1, -1))
        }
        fn name(&self) -> String {
            "net".into()
        }
    }

    /// The attacks as they were written before the in-place steps and the
    /// precomputed ball (issue 17): the values must not change by one bit.
    fn reference_iterate(model: &dyn Model, x: &Tensor, start: Tensor, y: &Tensor, eps: f64, alpha: f64, steps: usize) -> Tensor {
        let mut x_adv = start;
        for _ in 0..steps {
            let g = objective_grad(model, &x_adv, y, None).unwrap();
            x_adv = project(&(x_adv + g.sign() * alpha), x, eps).detach();
        }
        x_adv
    }

    #[test]
    fn the_in_place_steps_give_the_reference_values_bit_for_bit() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(5);
        for kind in [Kind::Float, Kind::Double] {
            let model = Net::new(kind);
            // Pixels at 0 and 1 too, so that both clamps bind.
            let x = (Tensor::rand([16, 1, 28, 28], (kind, Device::Cpu)) * 1.4 - 0.2).clamp(0.0, 1.0);
            let y = Tensor::randint(10, [16], (Kind::Int64, Device::Cpu));
            let same = |a: &Tensor, b: &Tensor| assert_eq!((a - b).abs().max().double_value(&[]), 0.0, "{kind:?}");
            for eps in [0.0, 0.03, 0.1, 0.3] {
                let g = objective_grad(&model, &x, &y, None).unwrap();
                same(&fgsm::Fgsm::new(eps).perturb(&model, &x, &y).unwrap(), &(&x + g.sign() * eps).clamp(0.0, 1.0));
                let bim = Bim::new(eps, 7).perturb(&model, &x, &y).unwrap();
                same(&bim, &reference_iterate(&model, &x, x.detach(), &y, eps, 2.5 * eps / 7.0, 7));
                let pgd = Pgd::new(eps, 7).perturb_seeded(&model, &x, &y, 3).unwrap();
                let delta0 = uniform_noise(&x, eps, 3u64.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let start = project(&(&x + &delta0), &x, eps).detach();
                same(&pgd, &reference_iterate(&model, &x, start, &y, eps, 2.5 * eps / 7.0, 7));
            }
        }
    }
}
