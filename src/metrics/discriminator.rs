//! Numbers about a GAN's discriminator for studying its adversarial
//! training: how steep it is (an empirical Lipschitz estimate) and how
//! easily one FGSM step flips its decision. Every result is plain `f64`s.
//!
//! # Lipschitz estimate
//!
//! For each sample, `‖∇ₓ D(x)‖₂` of D's raw output (the logit for BCE, the
//! critic's score otherwise), in evaluation mode (`train = false`: no
//! dropout, batch norm's running statistics, spectral norm's stored
//! `u`, `v`). The outputs are summed over the batch before differentiating,
//! so each sample's gradient is its own; only the inputs get gradients, D's
//! parameters are left untouched. Reported as mean and max on real images,
//! on generated ones `G(z)`, and on interpolates `α·x + (1 − α)·G(z)` with
//! one `α ~ U[0, 1)` per pair drawn from the seed (where WGAN-GP puts its
//! penalty, Gulrajani et al. 2017). The max is a *lower* bound on D's
//! Lipschitz constant; spectral normalisation (Miyato et al. 2018) bounds it
//! from above by the product of the layers' spectral norms.
//!
//! # Decision flips under FGSM
//!
//! D decides "real" when its score is above a threshold, by the objective:
//!
//! | objective | threshold on D's raw output |
//! |---|---|
//! | minimax, non-saturating | 0 (the logit; probability ½) |
//! | hinge | 0 (the margins are ±1) |
//! | least squares | ½ (the targets are 1 and 0) |
//! | Wasserstein, WGAN-GP | the midpoint of the batch's mean real and mean fake scores (a critic's scores have no fixed zero) |
//!
//! One FGSM step (Goodfellow et al. 2015) in pixel space `[-1, 1]`,
//! `x' = clamp(x + ε·sign(∇ₓ L), −1, 1)`, with `L = −D(x)` for real images
//! (lower their score) and `L = D(x)` for generated ones (raise it). Every
//! objective's per-sample loss is monotone in D's output, so this is the
//! same step as FGSM on D's own loss. A sample *flips* when D decided it
//! correctly before the step and wrongly after; the rate is over the samples
//! decided correctly before.
//!
//! # Conditional GANs
//!
//! The measures score `D(x)` without a label. An AC-GAN's real/fake logit
//! takes no label, so it is measured as is (its generator draws the classes
//! `i mod K` in turn). A projection discriminator's score (cGAN) depends on
//! the label; scoring it without one would leave the projection term out,
//! so those discriminators are refused with an error.
//!
//! # Shapes
//!
//! Images are `[n, C·H·W]` (or `[n, C, H, W]`) in `[-1, 1]`, as the
//! generator makes them; codes are `[n, latent_dim]`.
use crate::error::{Error, Result};
use crate::gan::{Gan, Objective};
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Samples per forward/backward pass.
const BATCH: i64 = 500;

/// Mean and max of per-sample input-gradient norms `‖∇ₓ D(x)‖₂`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradStats {
    pub mean: f64,
    pub max: f64,
}

impl GradStats {
    fn of(norms: &[f64]) -> Self {
        let max = norms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Self { mean: norms.iter().sum::<f64>() / norms.len() as f64, max }
    }
}

/// D's input-gradient norms on real, generated and interpolated images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LipschitzEstimate {
    pub real: GradStats,
    pub fake: GradStats,
    pub interpolated: GradStats,
    /// Samples in each of the three sets.
    pub n: usize,
    /// Seed of the interpolation weights.
    pub seed: u64,
}

impl std::fmt::Display for LipschitzEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = |s: &GradStats| format!("{:.3} / {:.3}", s.mean, s.max);
        write!(
            f,
            "‖∇ₓD‖₂ mean / max: real {}, fake {}, interpolated {} (n = {})",
            g(&self.real),
            g(&self.fake),
            g(&self.interpolated),
            self.n
        )
    }
}

/// Empirical Lipschitz estimate of D around `real` images and the images
/// the generator makes from `z` (one code per real image), with the
/// interpolation weights drawn from `seed`; see the module docs.
pub fn lipschitz_estimate(gan: &Gan, real: &Tensor, z: &Tensor, seed: u64) -> Result<LipschitzEstimate> {
    let real = images(gan, real, "real images")?;
    let n = real.size()[0];
    if z.size().first() != Some(&n) {
        return Err(Error::Shape(format!("latent codes of shape {:?} for {n} real images: give one code per image, [{n}, {}]", z.size(), gan.latent_dim())));
    }
    check_label_free(gan, &real)?;
    let fake = generated(gan, z)?;
    let alpha = Tensor::from_slice(&uniform01(n as usize, seed)).view([n, 1]).to_device(real.device()); // [n, 1]
    let mixed = &alpha * &real + (1.0 - &alpha) * &fake;
    Ok(LipschitzEstimate {
        real: GradStats::of(&grad_norms(gan, &real)?),
        fake: GradStats::of(&grad_norms(gan, &fake)?),
        interpolated: GradStats::of(&grad_norms(gan, &mixed)?),
        n: n as usize,
        seed,
    })
}

/// Each sample's `‖∇ₓ D(x)‖₂` (evaluation mode), e.g. for a histogram.
pub fn input_gradient_norms(gan: &Gan, x: &Tensor) -> Result<Vec<f64>> {
    let x = images(gan, x, "images")?;
    check_label_free(gan, &x)?;
    grad_norms(gan, &x)
}

/// D's raw outputs (logits or critic scores) in evaluation mode, one per image.
pub fn d_scores(gan: &Gan, x: &Tensor) -> Result<Vec<f64>> {
    let x = images(gan, x, "images")?;
    check_label_free(gan, &x)?;
    Ok(Vec::<f64>::try_from(scores(gan, &x).to_kind(Kind::Double).to_device(Device::Cpu))?)
}

// ------------------------------------------------------------ decision flips

/// How many of D's correct decisions one FGSM step of size `eps` flips.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlipRate {
    /// The step size in pixel units of `[-1, 1]`.
    pub eps: f64,
    /// Samples attacked.
    pub n: usize,
    /// Samples D decided correctly before the step.
    pub n_correct_before: usize,
    /// Of those, how many D decides wrongly after it.
    pub n_flipped: usize,
    /// `n_flipped / n_correct_before` (0 when D got none right: nothing to flip).
    pub rate: f64,
}

/// Flip rate against ε on real and on generated images, at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlipCurve {
    pub objective: Objective,
    /// D decides "real" above this raw output (see the module's table).
    pub threshold: f64,
    pub eps: Vec<f64>,
    /// One per `eps`, on real images (pushed down).
    pub real: Vec<FlipRate>,
    /// One per `eps`, on generated images (pushed up).
    pub fake: Vec<FlipRate>,
}

impl std::fmt::Display for FlipCurve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "D's decisions flipped by one FGSM step ({}, threshold {:.4})", self.objective, self.threshold)?;
        writeln!(f, "{:>8}  {:>14}  {:>14}", "eps", "real → fake", "fake → real")?;
        for ((e, r), g) in self.eps.iter().zip(&self.real).zip(&self.fake) {
            writeln!(f, "{e:>8.4}  {:>13.1}%  {:>13.1}%", 100.0 * r.rate, 100.0 * g.rate)?;
        }
        Ok(())
    }
}

/// The score above which D decides "real", by `objective` (the module's
/// table); for Wasserstein critics the midpoint of the mean scores of `real`
/// and `fake`.
pub fn decision_threshold(gan: &Gan, objective: Objective, real: &Tensor, fake: &Tensor) -> Result<f64> {
    Ok(match objective {
        Objective::Minimax | Objective::NonSaturating | Objective::Hinge => 0.0,
        Objective::LeastSquares => 0.5,
        Objective::Wasserstein | Objective::WassersteinGp => {
            let mean = |x: &Tensor| -> Result<f64> {
                let s = d_scores(gan, x)?;
                Ok(s.iter().sum::<f64>() / s.len() as f64)
            };
            0.5 * (mean(real)? + mean(fake)?)
        }
    })
}

/// The images after one FGSM step of size `eps` towards D's other decision
/// (real images pushed down, generated ones up), for before/after pictures
/// (`gan.to_images(&x')`). `// [n, C·H·W] -> [n, C·H·W]` in `[-1, 1]`.
pub fn flip_images(gan: &Gan, x: &Tensor, is_real: bool, eps: f64) -> Result<Tensor> {
    check_eps(eps)?;
    let pushed = Pushed::new(gan, x, is_real, "images")?;
    Ok(pushed.at(eps))
}

/// The share of D's correct decisions on `x` (real images when `is_real`,
/// generated ones otherwise) that one FGSM step of size `eps` flips, D
/// deciding "real" above `threshold` (see [`decision_threshold`]).
pub fn flip_rate(gan: &Gan, x: &Tensor, is_real: bool, eps: f64, threshold: f64) -> Result<FlipRate> {
    check_eps(eps)?;
    check_threshold(threshold)?;
    Pushed::new(gan, x, is_real, "images")?.rate(gan, eps, threshold)
}

/// [`flip_rate`] for every ε in `eps_list`, on `real` and on `fake` images,
/// at the objective's [`decision_threshold`]. The gradient is taken once
/// per set: FGSM's direction does not depend on ε.
pub fn flip_curve(gan: &Gan, objective: Objective, real: &Tensor, fake: &Tensor, eps_list: &[f64]) -> Result<FlipCurve> {
    if eps_list.is_empty() {
        return Err(Error::config("eps", "the list of step sizes is empty: give at least one ε in (0, 1], e.g. [0.01, 0.05, 0.1]"));
    }
    eps_list.iter().try_for_each(|&e| check_eps(e))?;
    let threshold = decision_threshold(gan, objective, real, fake)?;
    let on_real = Pushed::new(gan, real, true, "real images")?;
    let on_fake = Pushed::new(gan, fake, false, "generated images")?;
    let rates = |p: &Pushed| eps_list.iter().map(|&e| p.rate(gan, e, threshold)).collect::<Result<Vec<_>>>();
    Ok(FlipCurve { objective, threshold, eps: eps_list.to_vec(), real: rates(&on_real)?, fake: rates(&on_fake)? })
}

/// Images with D's scores and the FGSM direction towards the other decision.
struct Pushed {
    /// `[n, d]`
    x: Tensor,
    /// `[n, d]`: ±1 (0 where the gradient is 0).
    direction: Tensor,
    /// `[n]`
    before: Tensor,
    is_real: bool,
}

impl Pushed {
    fn new(gan: &Gan, x: &Tensor, is_real: bool, what: &str) -> Result<Self> {
        let x = images(gan, x, what)?;
        check_label_free(gan, &x)?;
        let (before, grads) = scores_and_grads(gan, &x)?;
        let sign = if is_real { -1.0 } else { 1.0 }; // lower reals, raise fakes
        Ok(Self { x, direction: grads.sign() * sign, before, is_real })
    }

    fn at(&self, eps: f64) -> Tensor {
        (&self.x + &self.direction * eps).clamp(-1.0, 1.0)
    }

    fn rate(&self, gan: &Gan, eps: f64, threshold: f64) -> Result<FlipRate> {
        let after = scores(gan, &self.at(eps));
        let says_real = |s: &Tensor| s.gt(threshold);
        let (correct, wrong_after) = if self.is_real {
            (says_real(&self.before), says_real(&after).logical_not())
        } else {
            (says_real(&self.before).logical_not(), says_real(&after))
        };
        let n_correct_before = correct.sum(Kind::Int64).int64_value(&[]) as usize;
        let n_flipped = correct.logical_and(&wrong_after).sum(Kind::Int64).int64_value(&[]) as usize;
        let rate = if n_correct_before == 0 { 0.0 } else { n_flipped as f64 / n_correct_before as f64 };
        Ok(FlipRate { eps, n: self.x.size()[0] as usize, n_correct_before, n_flipped, rate })
    }
}

// ------------------------------------------------------------------ shared

fn check_eps(eps: f64) -> Result<()> {
    if eps.is_finite() && eps > 0.0 && eps <= 1.0 {
        Ok(())
    } else {
        Err(Error::config("eps", format!("{eps}: the FGSM step must be in (0, 1] (pixels span [-1, 1], so 1 is half their range)")))
    }
}

fn check_threshold(threshold: f64) -> Result<()> {
    if threshold.is_finite() {
        Ok(())
    } else {
        Err(Error::config("threshold", format!("{threshold}: give a finite score, e.g. from decision_threshold")))
    }
}

/// `x` as `[n, C·H·W]` float on the GAN's device, checked against the
/// generator's image shape and the range `[-1, 1]`.
fn images(gan: &Gan, x: &Tensor, what: &str) -> Result<Tensor> {
    let (c, h, w) = gan.generator.image_shape();
    let d = c * h * w;
    let size = x.size();
    let n = size.first().copied().unwrap_or(0);
    if size.len() < 2 || n == 0 || size[1..].iter().product::<i64>() != d {
        return Err(Error::Shape(format!("{what} of shape {size:?}: give [n, {d}] or [n, {c}, {h}, {w}] with n ≥ 1, as the generator makes them")));
    }
    let x = x.to_kind(Kind::Float).to_device(gan.device()).reshape([n, d]);
    let (lo, hi) = (x.min().double_value(&[]), x.max().double_value(&[]));
    if !(lo >= -1.0 - 1e-5 && hi <= 1.0 + 1e-5) {
        return Err(Error::Shape(format!("{what} span [{lo}, {hi}]: D takes pixels in [-1, 1] (map [0, 1] pixels with 2x − 1)")));
    }
    Ok(x)
}

/// Refuses discriminators whose score depends on a class label (projection
/// discriminators): with labels 0 and 1 the score of the first images differs.
fn check_label_free(gan: &Gan, x: &Tensor) -> Result<()> {
    if gan.num_classes() < 2 {
        return Ok(());
    }
    let probe = x.narrow(0, 0, x.size()[0].min(4));
    let logits = |class: i64| {
        let y = Tensor::full([probe.size()[0]], class, (Kind::Int64, probe.device()));
        tch::no_grad(|| gan.discriminator.forward_cond_t(&probe, Some(&y), false).logits)
    };
    if logits(0).equal(&logits(1)) {
        Ok(())
    } else {
        Err(Error::config(
            "gan",
            "this discriminator's score depends on the class label (a projection discriminator, as in cgan); these measures score D(x) without a label: measure an unconditional GAN or an AC-GAN",
        ))
    }
}

/// `G(z)` in evaluation mode; a conditional generator draws the classes `i mod K`.
fn generated(gan: &Gan, z: &Tensor) -> Result<Tensor> {
    let n = z.size()[0];
    match gan.num_classes() {
        0 => gan.generate_from(z),
        k => gan.generate_cond_from(z, &Tensor::arange(n, (Kind::Int64, gan.device())).remainder(k)),
    }
}

/// `n` numbers uniform in `[0, 1)` from `seed` alone, so that they repeat on any device.
fn uniform01(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| ((rng.next_u64() >> 40) as f64 / (1u64 << 24) as f64) as f32).collect()
}

/// D's raw outputs in evaluation mode, without gradients. `// [n, d] -> [n]`
fn scores(gan: &Gan, x: &Tensor) -> Tensor {
    let n = x.size()[0];
    tch::no_grad(|| {
        let parts: Vec<Tensor> = (0..n).step_by(BATCH as usize).map(|s| gan.discriminator.forward_t(&x.narrow(0, s, BATCH.min(n - s)), false).view([-1])).collect();
        Tensor::cat(&parts, 0)
    })
}

/// D's raw outputs `[n]` and their input gradients `[n, d]`, in batches.
fn scores_and_grads(gan: &Gan, x: &Tensor) -> Result<(Tensor, Tensor)> {
    let n = x.size()[0];
    let (mut outs, mut grads) = (Vec::new(), Vec::new());
    for s in (0..n).step_by(BATCH as usize) {
        let xb = x.narrow(0, s, BATCH.min(n - s)).detach().set_requires_grad(true);
        let out = gan.discriminator.forward_t(&xb, false).view([-1]); // [b]
        // The sum's gradient with respect to sample i is sample i's own gradient.
        let mut g = Tensor::f_run_backward(&[out.sum(Kind::Float)], &[&xb], false, false)?;
        grads.push(g.pop().ok_or_else(|| Error::Shape("no gradient came back for D's input".into()))?);
        outs.push(out.detach());
    }
    Ok((Tensor::cat(&outs, 0), Tensor::cat(&grads, 0)))
}

fn grad_norms(gan: &Gan, x: &Tensor) -> Result<Vec<f64>> {
    let (_, g) = scores_and_grads(gan, x)?;
    let norms = g.to_kind(Kind::Double).to_device(Device::Cpu).square().sum_dim_intlist([1i64].as_slice(), false, Kind::Double).sqrt(); // [n]
    Ok(Vec::<f64>::try_from(norms)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::{Discriminator, GanConfig, Variant};

    /// `D(x) = w·x + b (+ ½‖x‖² when quadratic)`, with `w` a variable of the GAN's D store.
    #[derive(Debug)]
    struct TestD {
        w: Tensor,
        b: f64,
        quadratic: bool,
    }

    impl Discriminator for TestD {
        fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
            let mut out = x.matmul(&self.w.view([-1, 1])) + self.b; // [n, 1]
            if self.quadratic {
                out = out + 0.5 * x.square().sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
            }
            out
        }
    }

    impl std::fmt::Display for TestD {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "w·x + b")
        }
    }

    /// A tiny GAN on 4×4 images (d = 16) whose D is replaced by a [`TestD`].
    fn gan_with(w: &[f32], b: f64, quadratic: bool) -> Gan {
        let mut c = GanConfig::variant(Variant::Vanilla).with_widths(8, 8).with_image_side(4);
        c.net.latent_dim = 3;
        let mut gan = c.build_gan(Device::Cpu);
        let w = gan.d_vs.root().var_copy("w", &Tensor::from_slice(w));
        gan.discriminator = Box::new(TestD { w, b, quadratic });
        gan
    }

    fn tiny(v: Variant) -> Gan {
        let mut c = GanConfig::variant(v).with_widths(8, 8);
        c.net.latent_dim = 8;
        c.build_gan(Device::Cpu)
    }

    /// A fixed weight vector of 16 mixed-sign entries.
    fn weights() -> Vec<f32> {
        (0..16).map(|j| 0.1 * ((j % 4) as f32 + 1.0) * if j % 3 == 0 { -1.0 } else { 1.0 }).collect()
    }

    fn random_images(n: i64, d: i64) -> Tensor {
        Tensor::rand([n, d], (Kind::Float, Device::Cpu)) * 2.0 - 1.0
    }

    #[test]
    fn a_linear_d_has_the_weights_norm_everywhere() {
        let _rng = crate::torch_rng_lock();
        let w = weights();
        let l2 = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt(); // ‖w‖₂ = 1.1832...
        let gan = gan_with(&w, 0.3, false);
        let est = lipschitz_estimate(&gan, &random_images(64, 16), &gan.sample_latent(64), 7).unwrap();
        for (name, s) in [("real", est.real), ("fake", est.fake), ("interpolated", est.interpolated)] {
            assert!((s.mean - l2).abs() < 1e-5 && (s.max - l2).abs() < 1e-5, "{name}: {s:?} vs ‖w‖ = {l2}");
        }
        assert_eq!((est.n, est.seed), (64, 7));
        // Only the input got a gradient: D's parameter has none.
        assert!(!gan.d_vs.trainable_variables()[0].grad().defined(), "the estimate must not accumulate into D's parameter grads");
    }

    #[test]
    fn each_sample_gets_its_own_gradient() {
        let _rng = crate::torch_rng_lock();
        // D(x) = ½‖x‖²: ∇ₓD = x, so each norm is that image's ‖x‖₂.
        let gan = gan_with(&[0.0; 16], 0.0, true);
        let x = random_images(5, 16);
        let norms = input_gradient_norms(&gan, &x).unwrap();
        let want = Vec::<f64>::try_from(x.to_kind(Kind::Double).square().sum_dim_intlist([1i64].as_slice(), false, Kind::Double).sqrt()).unwrap();
        for (a, b) in norms.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{norms:?} vs {want:?}");
        }
        // Image-shaped input is the same.
        assert_eq!(input_gradient_norms(&gan, &x.view([5, 1, 4, 4])).unwrap(), norms);
    }

    /// `σ_max(W)` of a weight reshaped to `[out, in·k·k]`, exact (in f64).
    fn spectral_norm_exact(w: &Tensor) -> f64 {
        let m = w.view([w.size()[0], -1]).to_kind(Kind::Double);
        m.linalg_norm(2, [-2i64, -1].as_slice(), false, None::<Kind>).double_value(&[])
    }

    #[test]
    fn a_spectrally_normalised_d_stays_under_its_layer_bound() {
        let _rng = crate::torch_rng_lock();
        let gan = tiny(Variant::Sngan); // DCGAN D, 28×28: conv 1→8, conv 8→16, linear 784→1, all spectrally normalised
        let real = random_images(32, 784);
        for _ in 0..200 {
            let _ = gan.discriminator.forward_t(&real.narrow(0, 0, 2), true); // power iterations (training mode only)
        }
        // In evaluation the layers use W/σ̂ with σ̂ = uᵀWv, so ‖W/σ̂‖₂ = σ(W)/σ̂.
        // A 4×4 stride-2 convolution reads each pixel in at most 2×2 windows:
        // its operator norm is at most √4 = 2 times that of its [out, in·16]
        // matrix. LeakyReLU is 1-Lipschitz, biases add nothing.
        let vars = gan.d_vs.variables();
        let mut bound = 1.0;
        let mut layers = 0;
        for (name, w) in &vars {
            let Some(layer) = name.strip_suffix(".weight") else { continue };
            let (u, v) = (&vars[&format!("{layer}.sn_u")], &vars[&format!("{layer}.sn_v")]);
            let sigma_hat = u.dot(&w.view([w.size()[0], -1]).mv(v)).double_value(&[]);
            let conv_factor = if w.dim() == 4 { 2.0 } else { 1.0 };
            bound *= conv_factor * spectral_norm_exact(w) / sigma_hat;
            layers += 1;
        }
        assert_eq!(layers, 3, "{:?}", vars.keys().collect::<Vec<_>>());
        let est = lipschitz_estimate(&gan, &real, &gan.sample_latent(32), 1).unwrap();
        let largest = est.real.max.max(est.fake.max).max(est.interpolated.max);
        assert!(largest > 0.0 && largest <= bound * (1.0 + 1e-4), "estimate {est} vs bound {bound}");
        // The bound is 4 up to the power iteration's error.
        assert!((bound - 4.0).abs() < 0.02, "bound {bound}");
    }

    #[test]
    fn the_estimate_is_taken_in_evaluation_mode() {
        let _rng = crate::torch_rng_lock();
        let gan = tiny(Variant::Vanilla); // the tutorial's MLP D, dropout 0.5 in training mode
        let real = random_images(16, 784);
        let z = gan.sample_latent(16);
        let a = lipschitz_estimate(&gan, &real, &z, 3).unwrap();
        let b = lipschitz_estimate(&gan, &real, &z, 3).unwrap();
        assert_eq!(a, b, "no dropout, so the same numbers");
        let c = lipschitz_estimate(&gan, &real, &z, 4).unwrap();
        assert_eq!(a.real, c.real);
        assert_ne!(a.interpolated, c.interpolated, "another seed mixes other interpolates");
        assert!(a.real.mean > 0.0 && a.real.max >= a.real.mean);
    }

    #[test]
    fn conditional_discriminators() {
        let _rng = crate::torch_rng_lock();
        let real = random_images(8, 784);
        let acgan = tiny(Variant::Acgan);
        let est = lipschitz_estimate(&acgan, &real, &acgan.sample_latent(8), 0).unwrap();
        assert!(est.fake.max.is_finite() && est.fake.max > 0.0, "{est}");
        let cgan = tiny(Variant::Cgan);
        let e = lipschitz_estimate(&cgan, &real, &cgan.sample_latent(8), 0).unwrap_err().to_string();
        assert!(e.contains("projection") && e.contains("label"), "{e}");
        let e = flip_rate(&cgan, &real, true, 0.1, 0.0).unwrap_err().to_string();
        assert!(e.contains("projection"), "{e}");
    }

    /// Images `±½·t·sign(w)`: D's score is `±½·t·‖w‖₁ + b`, and an FGSM step
    /// of ε (no clamping for ε ≤ ½) moves it by `∓ε·‖w‖₁`.
    fn along_sign_w(w: &[f32], ts: &[f32]) -> Tensor {
        let sign = Tensor::from_slice(w).sign(); // [16]
        let t = Tensor::from_slice(ts).view([-1, 1]); // [n, 1]
        0.5 * t * sign.view([1, -1])
    }

    #[test]
    fn flips_on_a_linear_d_follow_its_margins() {
        let _rng = crate::torch_rng_lock();
        let w = weights();
        let l1: f64 = w.iter().map(|v| v.abs() as f64).sum(); // ‖w‖₁ = 4.0
        let gan = gan_with(&w, 0.0, false);
        // Margins (score/‖w‖₁) 0.1, 0.2, 0.3, 0.4; the fifth real is already called fake.
        let real = along_sign_w(&w, &[0.2, 0.4, 0.6, 0.8, -0.2]);
        let fake = along_sign_w(&w, &[-0.2, -0.4, -0.6, -0.8]);
        assert!((d_scores(&gan, &real).unwrap()[3] - 0.4 * l1).abs() < 1e-5);
        let eps = [1e-4, 0.15, 0.25, 0.35, 0.45];
        let curve = flip_curve(&gan, Objective::NonSaturating, &real, &fake, &eps).unwrap();
        assert_eq!(curve.threshold, 0.0);
        // A correct decision with margin m flips when ε·‖w‖₁ > m·‖w‖₁, i.e. ε > m.
        let expected = |e: f64| [0.1, 0.2, 0.3, 0.4].iter().filter(|&&m| e > m).count();
        for (i, &e) in eps.iter().enumerate() {
            for r in [curve.real[i], curve.fake[i]] {
                assert_eq!(r.n_correct_before, 4);
                assert_eq!(r.n_flipped, expected(e), "eps {e}: {r:?}");
                assert!((r.rate - expected(e) as f64 / 4.0).abs() < 1e-12);
            }
        }
        assert_eq!((curve.real[0].rate, curve.real[4].rate), (0.0, 1.0));
        assert_eq!((curve.real[0].n, curve.fake[0].n), (5, 4));
        assert_eq!(flip_rate(&gan, &real, true, 0.25, 0.0).unwrap(), curve.real[2]);
    }

    #[test]
    fn thresholds_follow_the_objective() {
        let _rng = crate::torch_rng_lock();
        let w = weights();
        let gan = gan_with(&w, 0.3, false);
        let real = along_sign_w(&w, &[0.2, 0.4]); // scores 0.4 + 0.3, 0.8 + 0.3
        let fake = along_sign_w(&w, &[-0.6]); // score −1.2 + 0.3
        let t = |o| decision_threshold(&gan, o, &real, &fake).unwrap();
        assert_eq!((t(Objective::Minimax), t(Objective::Hinge), t(Objective::LeastSquares)), (0.0, 0.0, 0.5));
        // Midpoint of mean real (0.9) and mean fake (−0.9) scores.
        assert!((t(Objective::Wasserstein) - 0.0).abs() < 1e-5 && (t(Objective::WassersteinGp) - 0.0).abs() < 1e-5);
        let gan = gan_with(&w, 1.3, false);
        assert!((decision_threshold(&gan, Objective::Wasserstein, &real, &fake).unwrap() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn flipped_images_stay_in_the_ball_and_the_range() {
        let _rng = crate::torch_rng_lock();
        let gan = gan_with(&weights(), 0.0, false);
        let x = random_images(20, 16);
        for (is_real, eps) in [(true, 0.3), (false, 1.0)] {
            let adv = flip_images(&gan, &x, is_real, eps).unwrap();
            assert_eq!(adv.size(), vec![20, 16]);
            assert!(adv.abs().max().double_value(&[]) <= 1.0);
            let moved = (&adv - &x).abs().max().double_value(&[]);
            assert!((moved - eps).abs() < 1e-6 || moved < eps, "moved {moved} with eps {eps}");
            // The scores moved the asked way.
            let (before, after) = (d_scores(&gan, &x).unwrap(), d_scores(&gan, &adv).unwrap());
            assert!(before.iter().zip(&after).all(|(b, a)| if is_real { a < b } else { a > b }));
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let _rng = crate::torch_rng_lock();
        let gan = gan_with(&weights(), 0.0, false);
        let x = random_images(4, 16);
        for eps in [0.0, -0.1, 1.5, f64::NAN] {
            let e = flip_rate(&gan, &x, true, eps, 0.0).unwrap_err().to_string();
            assert!(e.contains("`eps`") && e.contains("(0, 1]"), "{e}");
        }
        let e = flip_curve(&gan, Objective::Hinge, &x, &x, &[]).unwrap_err().to_string();
        assert!(e.contains("`eps`") && e.contains("empty"), "{e}");
        let e = flip_rate(&gan, &x, true, 0.1, f64::NAN).unwrap_err().to_string();
        assert!(e.contains("threshold"), "{e}");
        let e = input_gradient_norms(&gan, &random_images(4, 15)).unwrap_err().to_string();
        assert!(e.contains("[4, 15]") && e.contains("[n, 16]"), "{e}");
        let e = input_gradient_norms(&gan, &(random_images(4, 16) + 1.5)).unwrap_err().to_string();
        assert!(e.contains("[-1, 1]") && e.contains("2x − 1"), "{e}");
        let e = lipschitz_estimate(&gan, &x, &gan.sample_latent(3), 0).unwrap_err().to_string();
        assert!(e.contains("one code per image"), "{e}");
        let json = serde_json::to_string(&flip_curve(&gan, Objective::Hinge, &x, &x, &[0.1]).unwrap()).unwrap();
        assert!(json.contains("\"objective\":\"hinge\"") && json.contains("\"n_flipped\""), "{json}");
    }
}
