//! The checks behind the notebooks' code exercises. Each takes the student's
//! function, runs it beside the crate's own code on fixed inputs, and returns
//! a [`Verdict`] that prints `correct` or `not yet: <what differs>`.
//!
//! A check never panics and never returns an error on a wrong answer, only on
//! the student's own panics: a notebook's check cell must run against the
//! exercise's stub too (the students' copy has no solution cells), and say
//! "not yet" there without writing to stderr.
//!
//! | exercise | notebook | reference |
//! |---|---|---|
//! | one D step of Algorithm 1 | 01 | [`update_d`](crate::gan::update_d) on the tutorial's MLPs |
//! | WGAN-GP's gradient penalty | 03 | [`gradient_penalty_at`](crate::gan::objective::gradient_penalty_at) |
//! | FGSM from the gradient | 05 | [`Fgsm`](crate::attack::Fgsm) |
//!
//! ```no_run
//! use gan_tutorial::prelude::*;
//! fn fgsm(model: &dyn Model, x: &Tensor, y: &Tensor, eps: f64) -> Tensor {
//!     let _ = (model, y, eps);
//!     x.shallow_clone() // a stub: the check says "not yet"
//! }
//! println!("{}", check_fgsm(fgsm));
//! ```
use crate::attack::{objective_grad, Attack, Fgsm, Model};
use crate::classifier::{Arch, Classifier};
use crate::gan::objective::gradient_penalty_at;
use crate::gan::{update_d, GanConfig, StepAt, Variant};
use crate::optim::Optimizer;
use tch::{nn, Device, Kind, Tensor};

/// What a check found: right, or what is not right yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub correct: bool,
    /// Empty when correct; otherwise a hint that names what differs.
    pub hint: String,
}

impl Verdict {
    fn correct() -> Self {
        Self { correct: true, hint: String::new() }
    }
    fn not_yet(hint: impl Into<String>) -> Self {
        Self { correct: false, hint: hint.into() }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.correct { f.write_str("correct") } else { write!(f, "not yet: {}", self.hint) }
    }
}

/// A scalar from a tensor, or `None` when it is not one finite number.
fn scalar(t: &Tensor) -> Option<f64> {
    if !t.defined() || t.numel() != 1 {
        return None;
    }
    let v = t.detach().to_kind(Kind::Double).view([-1]).double_value(&[0]);
    v.is_finite().then_some(v)
}

/// Largest |a − b| over two lists of tensors of the same shapes.
fn max_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs().max().double_value(&[])).fold(0.0, f64::max)
}

fn snapshot(vs: &nn::VarStore) -> Vec<Tensor> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named.into_iter().map(|(_, t)| t.detach().copy()).collect()
}

/// Notebook 01's exercise: one D step of Algorithm 1, written by the student as
/// `fn d_step(d: &dyn Fn(&Tensor) -> Tensor, opt: &mut Optimizer, real: &Tensor, fake: &Tensor) -> Tensor`
/// (`d` gives D's logits, `opt` is D's optimiser, `fake` is G's output with its
/// graph; the function returns the loss it stepped on).
///
/// The reference is the trainer's own [`update_d`] on the tutorial's MLPs
/// (dropout off, so that both runs see the same network), from the same
/// weights and the same batches: the loss, D's weights after the step, and
/// G's weights' gradients (none may reach G) are compared.
pub fn check_d_step(d_step: impl Fn(&dyn Fn(&Tensor) -> Tensor, &mut Optimizer, &Tensor, &Tensor) -> Tensor) -> Verdict {
    let mut config = GanConfig::variant(Variant::Vanilla).with_seed(5);
    config.net.dropout = 0.0;
    let (mine, reference) = (config.build_gan(Device::Cpu), config.build_gan(Device::Cpu));
    let opt = |gan: &crate::gan::Gan| Optimizer::new(&gan.d_vs, config.optimizer_d, config.lr_d);
    let (Ok(mut my_opt), Ok(mut ref_opt)) = (opt(&mine), opt(&reference)) else {
        return Verdict::not_yet("the check could not build D's optimiser (a bug in the crate: please report it)");
    };
    let _guard = tch::no_grad_guard();
    tch::manual_seed(11);
    let real = Tensor::rand([16, 784], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let z = mine.sample_latent(16);
    drop(_guard);
    // The reference step, on fakes without a graph (update_d detaches them itself).
    let ref_fake = tch::no_grad(|| reference.generator.forward_cond_t(&z, None, false));
    let Ok(ref_step) = update_d(&reference, &mut ref_opt, &config, &real, &ref_fake, None, StepAt::new(0, 1)) else {
        return Verdict::not_yet("the crate's own D step failed on the check's batch (a bug in the crate: please report it)");
    };
    let ref_loss = scalar(&ref_step.loss).unwrap_or(f64::NAN);
    // The student's step, on fakes that still carry G's graph, as G's output does in training.
    let fake = mine.generator.forward_cond_t(&z, None, false);
    let d = |x: &Tensor| mine.discriminator.forward_cond_t(x, None, true).logits;
    let before = snapshot(&mine.d_vs);
    let loss = d_step(&d, &mut my_opt, &real, &fake);
    let Some(loss) = scalar(&loss) else {
        return Verdict::not_yet("return the loss you stepped on: one finite number (a tensor of one element)");
    };
    if (loss - ref_loss).abs() > 1e-5 * (1.0 + ref_loss.abs()) {
        return Verdict::not_yet(format!(
            "your loss is {loss:.5}, D's loss on this batch is {ref_loss:.5}: D minimises ½·(BCE(D(x), 1) + BCE(D(G(z)), 0)) on its logits"
        ));
    }
    let after = snapshot(&mine.d_vs);
    if max_diff(&before, &after) == 0.0 {
        return Verdict::not_yet("the loss is right but D's weights did not move: zero the gradients, back-propagate the loss, step the optimiser");
    }
    let g_touched = mine.g_vs.trainable_variables().iter().any(|p| {
        let g = p.grad();
        g.defined() && g.abs().max().double_value(&[]) > 0.0
    });
    if g_touched {
        return Verdict::not_yet("a gradient reached G's weights: detach the fakes, D's step must not train G");
    }
    let diff = max_diff(&after, &snapshot(&reference.d_vs));
    if diff > 1e-6 {
        return Verdict::not_yet(format!(
            "D's weights moved differently from the trainer's update_d (largest difference {diff:.2e}): zero the gradients before backward, and descend D's loss"
        ));
    }
    Verdict::correct()
}

/// Notebook 03's exercise: WGAN-GP's penalty, written by the student as
/// `fn penalty(critic: &dyn Fn(&Tensor) -> Tensor, real: &Tensor, fake: &Tensor, eps: &Tensor, lambda: f64) -> Tensor`
/// with `eps` one interpolation weight per sample (`[n, 1, 1, 1]`).
///
/// The reference is [`gradient_penalty_at`] on image-shaped batches and a
/// small nonlinear critic, so that a weight drawn per pixel, a norm over one
/// dimension only, or a gradient without `create_graph` each show.
pub fn check_gradient_penalty(penalty: impl Fn(&dyn Fn(&Tensor) -> Tensor, &Tensor, &Tensor, &Tensor, f64) -> Tensor) -> Verdict {
    let vs = nn::VarStore::new(Device::Cpu);
    tch::manual_seed(3);
    let l1 = nn::linear(vs.root() / "l1", 9, 8, Default::default());
    // No bias on the last layer: it would not enter the input gradient, so the penalty could not be differentiated by it.
    let l2 = nn::linear(vs.root() / "l2", 8, 1, nn::LinearConfig { bias: false, ..Default::default() });
    let critic = |x: &Tensor| {
        let n = x.size()[0];
        x.reshape([n, 9]).apply(&l1).tanh().apply(&l2) // [n, 1, 3, 3] -> [n, 1]
    };
    let (real, fake, eps) = tch::no_grad(|| {
        let real = Tensor::rand([4, 1, 3, 3], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let fake = Tensor::rand([4, 1, 3, 3], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let eps = Tensor::from_slice(&[0.1f32, 0.4, 0.7, 0.95]).view([4, 1, 1, 1]);
        (real, fake, eps)
    });
    let lambda = 10.0;
    let Ok((want, _)) = gradient_penalty_at(&critic, &real, &fake, &eps, lambda) else {
        return Verdict::not_yet("the crate's own penalty failed on the check's batch (a bug in the crate: please report it)");
    };
    let want_v = scalar(&want).unwrap_or(f64::NAN);
    let got = penalty(&critic, &real, &fake, &eps, lambda);
    let Some(got_v) = scalar(&got) else {
        return Verdict::not_yet("return the penalty: one finite number (a tensor of one element)");
    };
    if (got_v - want_v).abs() > 1e-4 * (1.0 + want_v.abs()) {
        return Verdict::not_yet(format!(
            "your penalty is {got_v:.5}, the crate's is {want_v:.5}: x̂ = ε·x + (1 − ε)·G(z) with one ε per sample, the L2 norm over all of a sample's pixels, λ·mean((‖∇‖ − 1)²)"
        ));
    }
    if !got.requires_grad() {
        return Verdict::not_yet("the value is right, but no gradient reaches the critic's weights through it: take the input gradient with create_graph = true");
    }
    let params = vs.trainable_variables();
    let grads = |t: &Tensor| Tensor::f_run_backward(&[t], &params, true, false).ok();
    match (grads(&got), grads(&want)) {
        (Some(g), Some(w)) if max_diff(&g, &w) < 1e-4 => Verdict::correct(),
        (Some(g), Some(w)) => Verdict::not_yet(format!(
            "the value is right but its gradient with respect to the critic's weights differs by {:.2e}: detach the batches, not x̂",
            max_diff(&g, &w)
        )),
        _ => Verdict::not_yet("the value is right, but it cannot be differentiated with respect to the critic's weights: use create_graph = true"),
    }
}

/// Notebook 05's exercise: FGSM, written by the student as
/// `fn fgsm(model: &dyn Model, x: &Tensor, y: &Tensor, eps: f64) -> Tensor`
/// (images `[n, 1, 28, 28]` in `[0, 1]`, labels `[n]`).
///
/// The reference is the crate's [`Fgsm`] on a LeNet and eight embedded test
/// digits at ε = 0.1.
pub fn check_fgsm(fgsm: impl Fn(&dyn Model, &Tensor, &Tensor, f64) -> Tensor) -> Verdict {
    let Ok(data) = crate::data::embedded() else {
        return Verdict::not_yet("the embedded digits could not be read (a bug in the crate: please report it)");
    };
    tch::manual_seed(7);
    let model = Classifier::new(Arch::LeNet, Device::Cpu);
    let Ok((x, y)) = crate::classifier::images_and_labels(&data.test.take(8), Device::Cpu) else {
        return Verdict::not_yet("the check's digits could not be made into tensors (a bug in the crate: please report it)");
    };
    let eps = 0.1;
    let Ok(want) = Fgsm::new(eps).perturb(&model, &x, &y) else {
        return Verdict::not_yet("the crate's own FGSM failed on the check's digits (a bug in the crate: please report it)");
    };
    let got = fgsm(&model, &x, &y, eps);
    if !got.defined() || got.size() != x.size() {
        return Verdict::not_yet(format!("return images shaped like x, {:?}", x.size()));
    }
    let got = got.detach().to_kind(want.kind());
    let max = |t: Tensor| t.max().double_value(&[]);
    if max((&got - &x).abs()) == 0.0 {
        return Verdict::not_yet("the images did not move: add ε times the sign of the loss's gradient with respect to the input");
    }
    if got.min().double_value(&[]) < 0.0 || max(got.shallow_clone()) > 1.0 {
        return Verdict::not_yet("some pixels left [0, 1]: clip the moved images to the valid range");
    }
    if max((&got - &x).abs()) > eps + 1e-6 {
        return Verdict::not_yet(format!("some pixels moved by more than ε = {eps}: each pixel moves by at most ε"));
    }
    let Ok(g) = objective_grad(&model, &x, &y, None) else {
        return Verdict::not_yet("the check could not take the model's gradient (a bug in the crate: please report it)");
    };
    let wrong_way = (&x - eps * g.sign()).clamp(0.0, 1.0);
    let differ = |a: &Tensor, b: &Tensor| (a - b).abs().gt(1e-5).sum(Kind::Int64).int64_value(&[]);
    let off = differ(&got, &want);
    if off == 0 {
        return Verdict::correct();
    }
    if differ(&got, &wrong_way) == 0 {
        return Verdict::not_yet("every pixel moved the wrong way: FGSM *raises* the loss of the true label (x + ε·sign ∇ₓL)");
    }
    Verdict::not_yet(format!(
        "{off} of {} pixels differ from the crate's FGSM: move every pixel by ε·sign(∇ₓ CE(f(x), y)), then clip to [0, 1]",
        x.numel()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::objective::bce::bce_with_logits;

    fn good_d_step(d: &dyn Fn(&Tensor) -> Tensor, opt: &mut Optimizer, real: &Tensor, fake: &Tensor) -> Tensor {
        let fake = fake.detach();
        let loss: Tensor = 0.5 * (bce_with_logits(&d(real), 1.0) + bce_with_logits(&d(&fake), 0.0));
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss
    }

    #[test]
    fn the_d_step_check_accepts_the_solution_and_names_each_mistake() {
        let _lock = crate::torch_rng_lock();
        assert_eq!(check_d_step(good_d_step).to_string(), "correct");
        let stub = check_d_step(|_, _, _, _| Tensor::from(0.0));
        assert!(!stub.correct && stub.to_string().starts_with("not yet: your loss is 0.00000"), "{stub}");
        let no_step = check_d_step(|d, _, real, fake| 0.5 * (bce_with_logits(&d(real), 1.0) + bce_with_logits(&d(&fake.detach()), 0.0)));
        assert!(no_step.hint.contains("did not move"), "{no_step}");
        let no_detach = check_d_step(|d, opt, real, fake| {
            let loss: Tensor = 0.5 * (bce_with_logits(&d(real), 1.0) + bce_with_logits(&d(fake), 0.0));
            opt.zero_grad();
            loss.backward();
            opt.step();
            loss
        });
        assert!(no_detach.hint.contains("detach"), "{no_detach}");
        let ascends = check_d_step(|d, opt, real, fake| {
            let loss: Tensor = 0.5 * (bce_with_logits(&d(real), 1.0) + bce_with_logits(&d(&fake.detach()), 0.0));
            opt.zero_grad();
            (-&loss).backward();
            opt.step();
            loss
        });
        assert!(ascends.hint.contains("moved differently"), "{ascends}");
    }

    fn good_penalty(critic: &dyn Fn(&Tensor) -> Tensor, real: &Tensor, fake: &Tensor, eps: &Tensor, lambda: f64) -> Tensor {
        let mix: Tensor = eps * real.detach() + (1.0 - eps) * fake.detach();
        let x_hat = mix.set_requires_grad(true);
        let scores = critic(&x_hat);
        let g = Tensor::run_backward(&[scores.sum(scores.kind())], &[&x_hat], true, true).remove(0);
        let norms = g.flatten(1, -1).norm_scalaropt_dim(2, [1i64].as_slice(), false);
        lambda * (norms - 1.0).square().mean(None)
    }

    #[test]
    fn the_penalty_check_accepts_the_solution_and_names_each_mistake() {
        let _lock = crate::torch_rng_lock();
        assert_eq!(check_gradient_penalty(good_penalty).to_string(), "correct");
        let stub = check_gradient_penalty(|_, _, _, _, _| Tensor::from(0.0));
        assert!(stub.hint.starts_with("your penalty is 0.00000"), "{stub}");
        // The norm over one dimension only (PyTorch-GAN #20).
        let one_dim = check_gradient_penalty(|critic, real, fake, eps, lambda| {
            let mix: Tensor = eps * real.detach() + (1.0 - eps) * fake.detach();
            let x_hat = mix.set_requires_grad(true);
            let scores = critic(&x_hat);
            let g = Tensor::run_backward(&[scores.sum(scores.kind())], &[&x_hat], true, true).remove(0);
            lambda * (g.norm_scalaropt_dim(2, [1i64].as_slice(), false) - 1.0).square().mean(None)
        });
        assert!(one_dim.hint.starts_with("your penalty is"), "{one_dim}");
        // Without create_graph the value is right and the critic learns nothing from it.
        let no_graph = check_gradient_penalty(|critic, real, fake, eps, lambda| {
            let mix: Tensor = eps * real.detach() + (1.0 - eps) * fake.detach();
            let x_hat = mix.set_requires_grad(true);
            let scores = critic(&x_hat);
            let g = Tensor::run_backward(&[scores.sum(scores.kind())], &[&x_hat], false, false).remove(0);
            lambda * (g.flatten(1, -1).norm_scalaropt_dim(2, [1i64].as_slice(), false) - 1.0).square().mean(None)
        });
        assert!(no_graph.hint.contains("create_graph"), "{no_graph}");
    }

    #[test]
    fn the_fgsm_check_accepts_the_solution_and_names_each_mistake() {
        let _lock = crate::torch_rng_lock();
        let good = |model: &dyn Model, x: &Tensor, y: &Tensor, eps: f64| {
            let x = x.detach().set_requires_grad(true);
            let loss = model.logits(&x).cross_entropy_for_logits(y);
            let g = Tensor::run_backward(&[loss], &[&x], false, false).remove(0);
            (&x + eps * g.sign()).clamp(0.0, 1.0).detach()
        };
        assert_eq!(check_fgsm(good).to_string(), "correct");
        let stub = check_fgsm(|_, x, _, _| x.shallow_clone());
        assert!(stub.hint.contains("did not move"), "{stub}");
        let wrong_way = check_fgsm(|model, x, y, eps| {
            let x = x.detach().set_requires_grad(true);
            let loss = model.logits(&x).cross_entropy_for_logits(y);
            let g = Tensor::run_backward(&[loss], &[&x], false, false).remove(0);
            (&x - eps * g.sign()).clamp(0.0, 1.0).detach()
        });
        assert!(wrong_way.hint.contains("wrong way"), "{wrong_way}");
        let unclipped = check_fgsm(|model, x, y, eps| {
            let x = x.detach().set_requires_grad(true);
            let loss = model.logits(&x).cross_entropy_for_logits(y);
            let g = Tensor::run_backward(&[loss], &[&x], false, false).remove(0);
            (&x + eps * g.sign()).detach()
        });
        assert!(unclipped.hint.contains("[0, 1]"), "{unclipped}");
    }
}
