//! "Tips for training GANs" (Goodfellow's NIPS 2016 tutorial §4, Salimans et
//! al. 2016, Sønderby et al. 2017, Heusel et al. 2017, soumith/ganhacks) as
//! settings of one line each, and the checks that catch a failing run early.
//!
//! Which tip lives where: Gaussian vs uniform z is [`crate::gan::LatentDist`];
//! two time-scale learning rates are `lr_g` / `lr_d` and `n_dis` is the
//! number of D steps per G step, all on [`crate::gan::GanConfig`]. This file
//! holds the ones that change D's inputs or targets.
use crate::error::{Error, Result};
use crate::gan::objective::Objective;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Two-sided soft labels' intervals (ganhacks #6): real targets, fake targets.
pub const SOFT_REAL: (f64, f64) = (0.7, 1.2);
pub const SOFT_FAKE: (f64, f64) = (0.0, 0.3);

/// Changes to what D sees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Tips {
    /// One-sided label smoothing (Salimans et al. 2016): real targets become
    /// `1 − s` (e.g. 0.1), fake targets stay 0. BCE and least squares only.
    pub label_smoothing: f64,
    /// Noisy labels: each of D's targets is flipped (real ↔ fake) with this
    /// probability (e.g. 0.05). BCE and least squares only.
    pub label_flip: f64,
    /// Instance noise (Sønderby et al. 2017): N(0, σ²) added to every input
    /// of D, real and fake, with σ annealed linearly from this value to 0
    /// over the run (e.g. 0.1, on images in [−1, 1]).
    pub instance_noise: f64,
    /// Two-sided soft labels (ganhacks #6): each real target drawn from
    /// U(0.7, 1.2) and each fake target from U(0.0, 0.3), fresh every step
    /// (from the step's seed, like the flips). Instead of one-sided
    /// smoothing, not with it. BCE and least squares only.
    ///
    /// Salimans et al. smooth only the real side, and the lecture notes'
    /// "0.9 and 0.1" smooth both by a fixed amount: a fake target above 0
    /// rewards D for calling fakes partly real wherever G is weak, which
    /// is why the paper leaves fakes at 0. Ganhacks' real targets above 1
    /// make the BCE loss unbounded below on those samples (its minimum in
    /// the logit is at +∞ and below 0), so D's loss can go negative: the
    /// near-zero D-loss check can fire on such a run without D having won.
    /// Absent from older config files: off.
    pub soft_labels: bool,
}

impl Tips {
    pub fn validate(&self, objective: Objective) -> Result<()> {
        for (name, v) in [("tips.label_smoothing", self.label_smoothing), ("tips.label_flip", self.label_flip)] {
            if !(0.0..0.5).contains(&v) {
                return Err(Error::config(name, format!("{v} must be in [0, 0.5)")));
            }
            if v > 0.0 && !objective.has_targets() {
                return Err(Error::config(name, format!("the {objective} objective has no labels to smooth or flip: use it with minimax, non-saturating or least-squares")));
            }
        }
        if self.soft_labels && self.label_smoothing > 0.0 {
            return Err(Error::config("tips.soft_labels", format!("two-sided soft labels replace one-sided smoothing: set tips.label_smoothing to 0 (it is {}) or turn soft_labels off", self.label_smoothing)));
        }
        if self.soft_labels && !objective.has_targets() {
            return Err(Error::config("tips.soft_labels", format!("the {objective} objective has no labels to soften: use it with minimax, non-saturating or least-squares")));
        }
        if !(self.instance_noise.is_finite() && self.instance_noise >= 0.0) {
            return Err(Error::config("tips.instance_noise", format!("{} must be a standard deviation >= 0", self.instance_noise)));
        }
        Ok(())
    }

    /// D's targets for a batch of `n` reals and `n` fakes: `[n, 1]` each.
    pub fn targets(&self, n: i64, device: tch::Device) -> (Tensor, Tensor) {
        let opts = (Kind::Float, device);
        let (mut real, mut fake) = if self.soft_labels {
            // ganhacks #6: real in [0.7, 1.2), fake in [0.0, 0.3), from the step's seed.
            let uniform = |(lo, hi): (f64, f64)| Tensor::rand([n, 1], opts) * (hi - lo) + lo;
            (uniform(SOFT_REAL), uniform(SOFT_FAKE))
        } else {
            (Tensor::full([n, 1], 1.0 - self.label_smoothing, opts), Tensor::zeros([n, 1], opts))
        };
        if self.label_flip > 0.0 {
            let flip_r = Tensor::rand([n, 1], opts).lt(self.label_flip);
            let flip_f = Tensor::rand([n, 1], opts).lt(self.label_flip);
            real = real.where_self(&flip_r.logical_not(), &Tensor::zeros([n, 1], opts));
            fake = fake.where_self(&flip_f.logical_not(), &Tensor::ones([n, 1], opts));
        }
        (real, fake)
    }

    /// σ of the instance noise at `step` of `total`.
    pub fn noise_std(&self, step: usize, total: usize) -> f64 {
        if total == 0 { 0.0 } else { self.instance_noise * (1.0 - step as f64 / total as f64).max(0.0) }
    }

    /// `x + σ·N(0, I)` (or `x` when σ = 0).
    pub fn add_noise(x: &Tensor, std: f64) -> Tensor {
        if std > 0.0 { x + x.randn_like() * std } else { x.shallow_clone() }
    }

    /// One line per tip in use (for config tables).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.label_smoothing > 0.0 {
            out.push(format!("one-sided label smoothing: real target {}", 1.0 - self.label_smoothing));
        }
        if self.label_flip > 0.0 {
            out.push(format!("noisy labels: {}% of D's targets flipped", self.label_flip * 100.0));
        }
        if self.soft_labels {
            out.push(format!("two-sided soft labels: real targets U({}, {}), fake U({}, {})", SOFT_REAL.0, SOFT_REAL.1, SOFT_FAKE.0, SOFT_FAKE.1));
        }
        if self.instance_noise > 0.0 {
            out.push(format!("instance noise: sigma {} annealed to 0", self.instance_noise));
        }
        out
    }
}

/// "Track failures early" (ganhacks #9): the thresholds of the checks run
/// after every step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailureChecks {
    /// D's loss below this for `window` steps in a row: D has won and G's
    /// gradient carries little information (BCE and least squares only).
    pub d_loss_floor: f64,
    pub window: usize,
    /// A gradient norm (of all of G's or all of D's parameters) above this.
    pub grad_norm_max: f64,
    /// The variance of D's loss over the last `window` steps above this:
    /// the game oscillates instead of settling (ganhacks #9's "check that
    /// D's loss has low variance"). 0: off (the default, and what older
    /// config files mean).
    pub d_loss_var_max: f64,
}

impl Default for FailureChecks {
    fn default() -> Self {
        Self { d_loss_floor: 1e-3, window: 20, grad_norm_max: 100.0, d_loss_var_max: 0.0 }
    }
}

impl FailureChecks {
    pub fn validate(&self) -> Result<()> {
        if !(self.d_loss_var_max.is_finite() && self.d_loss_var_max >= 0.0) {
            return Err(Error::config("checks.d_loss_var_max", format!("{} must be a variance >= 0 (0: the check is off)", self.d_loss_var_max)));
        }
        if self.d_loss_var_max > 0.0 && self.window < 2 {
            return Err(Error::config("checks.window", format!("{}: the D-loss variance check needs a window of at least 2 steps", self.window)));
        }
        Ok(())
    }
}

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// D's loss stayed near 0.
    DLossNearZero,
    /// D's gradient norm exceeded the limit.
    DGradExplodes,
    /// G's gradient norm exceeded the limit.
    GGradExplodes,
    /// D's loss varied more than the limit over the window.
    DLossVarianceHigh,
}

/// A failure check that fired: when first, how often, and what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainWarning {
    pub kind: WarningKind,
    pub first_step: usize,
    pub count: usize,
    pub message: String,
}

impl std::fmt::Display for TrainWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "warning (step {}, {}x): {}", self.first_step, self.count, self.message)
    }
}

/// Runs the checks step by step and keeps one [`TrainWarning`] per kind.
#[derive(Debug, Clone, Default)]
pub struct FailureMonitor {
    pub checks: FailureChecks,
    pub warnings: Vec<TrainWarning>,
    low_d_run: usize,
    /// The last `window` D losses (the variance check's; empty when it is off).
    recent_d: std::collections::VecDeque<f64>,
}

impl FailureMonitor {
    pub fn new(checks: FailureChecks, warnings: Vec<TrainWarning>) -> Self {
        Self { checks, warnings, low_d_run: 0, recent_d: Default::default() }
    }

    /// A monitor that goes on from a checkpoint: its warnings and how many
    /// steps in a row D's loss had been under the floor.
    pub fn resumed(checks: FailureChecks, warnings: Vec<TrainWarning>, low_d_run: usize) -> Self {
        Self { checks, warnings, low_d_run, recent_d: Default::default() }
    }

    /// Gives a resumed monitor the D losses of the run so far (its history),
    /// so the variance check's window goes on where it stopped.
    pub fn with_past_d_losses(mut self, d_losses: &[f64]) -> Self {
        if self.checks.d_loss_var_max > 0.0 {
            let from = d_losses.len().saturating_sub(self.checks.window);
            self.recent_d = d_losses[from..].iter().copied().collect();
        }
        self
    }

    /// Steps in a row, up to now, with D's loss under `checks.d_loss_floor`.
    pub fn low_d_run(&self) -> usize {
        self.low_d_run
    }

    /// Checks one step; returns the warnings raised for the first time now.
    /// (A non-finite loss is not a warning: the trainer stops with
    /// [`Error::Diverged`](crate::Error::Diverged) before it gets here.)
    pub fn check(&mut self, step: usize, d_loss: f64, _g_loss: f64, d_grad: f64, g_grad: f64, d_has_targets: bool) -> Vec<TrainWarning> {
        let mut fired = Vec::new();
        let c = self.checks;
        if d_has_targets && d_loss < c.d_loss_floor {
            self.low_d_run += 1;
            if self.low_d_run == c.window {
                fired.push((WarningKind::DLossNearZero, format!("D loss below {} for {} steps: D rejects every fake and G learns little (try label smoothing, instance noise or a smaller lr_d)", c.d_loss_floor, c.window)));
            }
        } else {
            self.low_d_run = 0;
        }
        if d_grad > c.grad_norm_max {
            fired.push((WarningKind::DGradExplodes, format!("D gradient norm {d_grad:.1} > {}", c.grad_norm_max)));
        }
        if g_grad > c.grad_norm_max {
            fired.push((WarningKind::GGradExplodes, format!("G gradient norm {g_grad:.1} > {}", c.grad_norm_max)));
        }
        if c.d_loss_var_max > 0.0 {
            self.recent_d.push_back(d_loss);
            if self.recent_d.len() > c.window {
                self.recent_d.pop_front();
            }
            if self.recent_d.len() == c.window {
                let var = variance(self.recent_d.iter().copied());
                if var > c.d_loss_var_max {
                    fired.push((WarningKind::DLossVarianceHigh, format!("D loss variance {var:.4} over the {} steps to step {step} > {}: the players oscillate instead of settling (try a smaller lr, or lr_d != lr_g)", c.window, c.d_loss_var_max)));
                }
            }
        }
        let mut new = Vec::new();
        for (kind, message) in fired {
            match self.warnings.iter_mut().find(|w| w.kind == kind) {
                Some(w) => w.count += 1,
                None => {
                    let w = TrainWarning { kind, first_step: step, count: 1, message };
                    self.warnings.push(w.clone());
                    new.push(w);
                }
            }
        }
        new
    }
}

/// The population variance of `xs` (0 for none).
pub fn variance(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = xs.clone().count();
    if n == 0 {
        return 0.0;
    }
    let mean = xs.clone().sum::<f64>() / n as f64;
    xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64
}

/// The L2 norm of all gradients of `params` together (0 if none).
pub fn grad_norm(params: &[Tensor]) -> Tensor {
    let parts: Vec<Tensor> = params.iter().map(|p| p.grad()).filter(|g| g.defined()).map(|g| g.square().sum(Kind::Float)).collect();
    if parts.is_empty() {
        return Tensor::from(0.0f32);
    }
    Tensor::stack(&parts, 0).sum(Kind::Float).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn smoothing_and_flipping_set_the_targets() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(0);
        let (r, f) = Tips { label_smoothing: 0.1, ..Default::default() }.targets(1000, Device::Cpu);
        assert!((r.mean(None).double_value(&[]) - 0.9).abs() < 1e-6 && f.abs().max().double_value(&[]) == 0.0);
        let (r, f) = Tips { label_flip: 0.2, ..Default::default() }.targets(10_000, Device::Cpu);
        let flipped_r = 1.0 - r.mean(None).double_value(&[]);
        let flipped_f = f.mean(None).double_value(&[]);
        assert!((flipped_r - 0.2).abs() < 0.02 && (flipped_f - 0.2).abs() < 0.02, "{flipped_r} {flipped_f}");
        let e = Tips { label_smoothing: 0.1, ..Default::default() }.validate(Objective::Hinge).unwrap_err().to_string();
        assert!(e.contains("label_smoothing") && e.contains("hinge"), "{e}");
        assert!(Tips { label_flip: 0.7, ..Default::default() }.validate(Objective::NonSaturating).is_err());
    }

    #[test]
    fn two_sided_soft_labels_lie_in_their_intervals_and_repeat_under_one_seed() {
        let _rng = crate::torch_rng_lock();
        let soft = Tips { soft_labels: true, ..Default::default() };
        tch::manual_seed(4);
        let (r, f) = soft.targets(5000, Device::Cpu);
        let range = |t: &Tensor| (t.min().double_value(&[]), t.max().double_value(&[]), t.mean(None).double_value(&[]));
        let (lo, hi, mean) = range(&r);
        assert!(lo >= 0.7 && hi < 1.2 + 1e-6 && (mean - 0.95).abs() < 0.01, "real {lo} {hi} {mean}");
        let (lo, hi, mean) = range(&f);
        assert!(lo >= 0.0 && hi < 0.3 + 1e-6 && (mean - 0.15).abs() < 0.01, "fake {lo} {hi} {mean}");
        tch::manual_seed(4);
        let (r2, f2) = soft.targets(5000, Device::Cpu);
        assert!(r.equal(&r2) && f.equal(&f2), "one seed, the same draws");
        assert!(soft.describe()[0].contains("U(0.7, 1.2)"));
        // Off, the targets are the hard ones and nothing is drawn.
        tch::manual_seed(4);
        let (r, _) = Tips::default().targets(3, Device::Cpu);
        assert_eq!(r.mean(None).double_value(&[]), 1.0);
        let after_off = Tensor::rand([1], (Kind::Float, Device::Cpu)).double_value(&[0]);
        tch::manual_seed(4);
        assert_eq!(after_off, Tensor::rand([1], (Kind::Float, Device::Cpu)).double_value(&[0]));
    }

    #[test]
    fn the_variance_check_fires_on_an_oscillating_d_loss_and_not_on_a_flat_one() {
        let checks = FailureChecks { window: 4, d_loss_var_max: 0.1, ..Default::default() };
        let mut m = FailureMonitor::new(checks, vec![]);
        let swinging = [0.7, 0.7, 0.2, 1.4, 0.1, 1.5];
        let fired: Vec<_> = swinging.iter().enumerate().flat_map(|(s, &d)| m.check(s, d, 1.0, 1.0, 1.0, true)).collect();
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!((fired[0].kind, fired[0].first_step), (WarningKind::DLossVarianceHigh, 3));
        let var = variance([0.7, 0.7, 0.2, 1.4].into_iter());
        assert!(fired[0].message.contains(&format!("{var:.4}")) && fired[0].message.contains("step 3") && fired[0].message.contains("> 0.1"), "{}", fired[0].message);
        let mut flat = FailureMonitor::new(checks, vec![]);
        assert!((0..50).all(|s| flat.check(s, 0.69 + 0.001 * (s % 2) as f64, 1.0, 1.0, 1.0, true).is_empty()));
        // Off by default: the same series raises nothing.
        let mut off = FailureMonitor::new(FailureChecks::default(), vec![]);
        assert!(swinging.iter().enumerate().all(|(s, &d)| off.check(s, d, 1.0, 1.0, 1.0, true).is_empty()));
        // Resumed with the run's past D losses, it fires at the same step.
        let mut rest = FailureMonitor::resumed(checks, vec![], 0).with_past_d_losses(&swinging[..2]);
        let fired: Vec<_> = (2..6).flat_map(|s| rest.check(s, swinging[s], 1.0, 1.0, 1.0, true)).collect();
        assert_eq!(fired[0].first_step, 3);
        assert!(FailureChecks { d_loss_var_max: -1.0, ..Default::default() }.validate().unwrap_err().to_string().contains("checks.d_loss_var_max"));
    }

    #[test]
    fn instance_noise_anneals_to_zero() {
        let _rng = crate::torch_rng_lock();
        let t = Tips { instance_noise: 0.2, ..Default::default() };
        assert_eq!(t.noise_std(0, 100), 0.2);
        assert!((t.noise_std(50, 100) - 0.1).abs() < 1e-12);
        assert_eq!(t.noise_std(100, 100), 0.0);
        let x = Tensor::zeros([10_000], (Kind::Float, Device::Cpu));
        let s = Tips::add_noise(&x, 0.2).std(true).double_value(&[]);
        assert!((s - 0.2).abs() < 0.01, "{s}");
    }

    #[test]
    fn the_monitor_fires_once_per_kind_and_counts() {
        let _rng = crate::torch_rng_lock();
        let mut m = FailureMonitor::new(FailureChecks { window: 3, ..Default::default() }, vec![]);
        assert!(m.check(0, 0.5, 1.0, 1.0, 1.0, true).is_empty());
        for s in 1..3 {
            assert!(m.check(s, 1e-5, 9.0, 1.0, 1.0, true).is_empty());
        }
        let w = m.check(3, 1e-5, 9.0, 1.0, 1.0, true);
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].kind, w[0].first_step), (WarningKind::DLossNearZero, 3));
        // The same D loss on a critic (no targets) is not a warning.
        let mut wm = FailureMonitor::new(FailureChecks { window: 1, ..Default::default() }, vec![]);
        assert!(wm.check(0, -5.0, 1.0, 1.0, 1.0, false).is_empty());
        let w = m.check(4, 0.5, 1.0, 250.0, 1.0, true);
        assert_eq!(w[0].kind, WarningKind::DGradExplodes);
        assert!(m.check(5, 0.5, 1.0, 300.0, 1.0, true).is_empty(), "reported once");
        assert_eq!(m.warnings.iter().find(|w| w.kind == WarningKind::DGradExplodes).unwrap().count, 2);
    }

    #[test]
    fn a_resumed_monitor_warns_at_the_same_step_as_an_uninterrupted_one() {
        let checks = FailureChecks { window: 5, ..Default::default() };
        let d_loss = |step: usize| if step < 2 { 0.6 } else { 1e-4 };
        let mut whole = FailureMonitor::new(checks, vec![]);
        for step in 0..12 {
            whole.check(step, d_loss(step), 3.0, 1.0, 1.0, true);
        }
        let mut first = FailureMonitor::new(checks, vec![]);
        for step in 0..4 {
            first.check(step, d_loss(step), 3.0, 1.0, 1.0, true);
        }
        assert_eq!(first.low_d_run(), 2);
        let mut rest = FailureMonitor::resumed(checks, first.warnings.clone(), first.low_d_run());
        for step in 4..12 {
            rest.check(step, d_loss(step), 3.0, 1.0, 1.0, true);
        }
        assert_eq!(rest.warnings, whole.warnings);
        assert_eq!((rest.warnings[0].first_step, rest.warnings[0].count), (6, 1));
        // Starting the count afresh (what resume did before) would warn 2 steps late.
        let mut fresh = FailureMonitor::new(checks, vec![]);
        for step in 4..12 {
            fresh.check(step, d_loss(step), 3.0, 1.0, 1.0, true);
        }
        assert_eq!(fresh.warnings[0].first_step, 8);
    }
}
