//! Adversarial training of the discriminator itself (issue 16): before D's
//! update, the real and fake batches are moved against D, and D learns on
//! the moved inputs. [`update_d`](super::update_d) calls
//! [`attack_d_inputs`]; [`update_g`](super::update_g) calls
//! [`attack_g_fakes`]. Off by default ([`DAttack::None`]).
//!
//! - **FGSM** (the SNGAN-FGSM recipe of Zhou & Krähenbühl, "Don't let your
//!   Discriminator be fooled", ICLR 2019): on an attacked step,
//!   `x ← clamp(x + ε·sign(∇ₓ L_D), −1, 1)`, detached, for the reals and/or
//!   the fakes. `L_D` is the objective's D loss (the real-vs-fake verdict,
//!   with this step's targets) on the current D; WGAN-GP's penalty and
//!   AC-GAN's class loss are left out of it (they are not D's verdict on the
//!   inputs). A step is attacked from `start_fraction` of the run on, with
//!   `probability`, drawn from `(seed, step)` alone ([`step_draw`]), so a
//!   resumed run attacks the same steps as an uninterrupted one.
//! - **DAT** (Li et al. 2020, "Direct Adversarial Training",
//!   <https://arxiv.org/abs/2008.09041>): every step, with `r`, `f` the mean
//!   raw outputs (logits) of D on the reals and the fakes, held constant,
//!   `fake_adv = clamp(fake − clamp(∇ |mean D(fake) − r|, −t, t), −1, 1)` and
//!   `real_adv = real − clamp(∇ |mean D(real) − f|, −t, t)`: the raw
//!   gradient, not its sign. D then takes its usual loss on
//!   `(real_adv, fake_adv)` only (WGAN-GP's penalty too, between them). By
//!   default `real_adv` is scored unclamped, as the authors' code does in
//!   effect (it clamps after scoring); `clamp_first` clamps it to [−1, 1]
//!   first.
//!
//! Images here are in [−1, 1] (tanh generators, data scaled `byte/127.5 − 1`).
//! The input gradients are taken with respect to the inputs only
//! (`run_backward` with the inputs named), so D's parameter gradients are
//! untouched. The extra passes run D in training mode, like its update:
//! they draw dropout masks, and batch norm's running statistics and
//! spectral norm's power iteration see them too.
use super::config::GanConfig;
use super::model::Gan;
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Where in its run a step is: the instance noise and the D attack depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepAt {
    /// 0-based iteration.
    pub step: usize,
    /// The run's length in iterations.
    pub total: usize,
}

impl StepAt {
    pub fn new(step: usize, total: usize) -> Self {
        Self { step, total }
    }
}

/// The attack on D's inputs during training (`d_attack` in `config.json`).
///
/// The CLI's `--d-attack` form ([`std::str::FromStr`], and [`std::fmt::Display`] back):
/// `none`; `fgsm`, `fgsm:EPS`, with optional items `p=P`, `start=F`,
/// `no-reals`, `no-fakes`, `g-step` (e.g. `fgsm:0.05,p=0.5,no-reals`);
/// `dat`, `dat:T`, with optional items `t=T`, `clamp-first`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DAttack {
    /// Plain GAN training.
    #[default]
    None,
    /// FGSM on an attacked step's reals and/or fakes (SNGAN-FGSM).
    Fgsm(FgsmSettings),
    /// Direct adversarial training (Li et al. 2020), every step.
    Dat(DatSettings),
}

/// FGSM's settings; the defaults are those of the public SNGAN-FGSM code.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FgsmSettings {
    /// The step ε on images in [−1, 1], in (0, 1] (default 0.02).
    pub eps: f64,
    /// The chance that a step is attacked, in [0, 1] (default 0.8).
    pub probability: f64,
    /// No attack before this fraction of the run, in [0, 1) (default 0.05).
    pub start_fraction: f64,
    /// Move the real batch (default true).
    pub reals: bool,
    /// Move the fake batch (default true).
    pub fakes: bool,
    /// Also move the fakes the G step scores, by the same rule (default
    /// false). G's gradient passes straight through the detached step: G
    /// learns from D's verdict on the moved fakes.
    pub in_g_step: bool,
}

impl Default for FgsmSettings {
    fn default() -> Self {
        Self { eps: 0.02, probability: 0.8, start_fraction: 0.05, reals: true, fakes: true, in_g_step: false }
    }
}

/// DAT's settings; the defaults are the authors'.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatSettings {
    /// The bound on each pixel's move, > 0 (default 1).
    pub t: f64,
    /// Clamp `real_adv` to [−1, 1] before D scores it (default false: the authors' order).
    pub clamp_first: bool,
}

impl Default for DatSettings {
    fn default() -> Self {
        Self { t: 1.0, clamp_first: false }
    }
}

const FORMS: &str = "none, fgsm[:EPS][,p=P][,start=F][,no-reals][,no-fakes][,g-step] or dat[:T][,clamp-first]";

impl DAttack {
    /// Checks the settings, naming the bad one and its allowed values.
    pub fn validate(&self) -> Result<()> {
        match self {
            DAttack::None => Ok(()),
            DAttack::Fgsm(s) => s.validate(),
            DAttack::Dat(s) => s.validate(),
        }
    }

    /// Whether step `at` of a run seeded `seed` is attacked: never without an
    /// attack, every step under DAT, and under FGSM from `start_fraction` of
    /// the run on with `probability`, drawn from `(seed, step)` alone.
    pub fn attacks(&self, seed: u64, at: StepAt) -> bool {
        match self {
            DAttack::None => false,
            DAttack::Dat(_) => true,
            DAttack::Fgsm(s) => at.step as f64 >= s.start_fraction * at.total as f64 && step_draw(seed, at.step) < s.probability,
        }
    }

    /// The attack's part of a run's name (`fgsm0.02`, `dat`), or None.
    pub fn label(&self) -> Option<String> {
        match self {
            DAttack::None => None,
            DAttack::Fgsm(s) => {
                let d = FgsmSettings::default();
                let mut l = format!("fgsm{}", s.eps);
                for (on, part) in [(s.probability != d.probability, format!("-p{}", s.probability)), (s.start_fraction != d.start_fraction, format!("-start{}", s.start_fraction))] {
                    if on {
                        l.push_str(&part);
                    }
                }
                l.push_str(match (s.reals, s.fakes) {
                    (true, false) => "-reals",
                    (false, true) => "-fakes",
                    _ => "",
                });
                if s.in_g_step {
                    l.push_str("-g");
                }
                Some(l)
            }
            DAttack::Dat(s) => Some(format!("dat{}{}", if s.t == 1.0 { String::new() } else { s.t.to_string() }, if s.clamp_first { "-clamp-first" } else { "" })),
        }
    }
}

impl FgsmSettings {
    fn validate(&self) -> Result<()> {
        if !(self.eps > 0.0 && self.eps <= 1.0) {
            return Err(Error::config("d_attack.fgsm.eps", format!("{} must be in (0, 1] (a step on images in [-1, 1]; SNGAN-FGSM uses 0.02)", self.eps)));
        }
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(Error::config("d_attack.fgsm.probability", format!("{} must be in [0, 1] (the chance that a step is attacked)", self.probability)));
        }
        if !(0.0..1.0).contains(&self.start_fraction) {
            return Err(Error::config("d_attack.fgsm.start_fraction", format!("{} must be in [0, 1) (the fraction of the run before the first attack)", self.start_fraction)));
        }
        if !(self.reals || self.fakes || self.in_g_step) {
            return Err(Error::config("d_attack.fgsm", "moves nothing: set reals, fakes or in_g_step (or use d_attack none)"));
        }
        Ok(())
    }

    fn parse_items<'a>(items: impl Iterator<Item = &'a str>) -> Result<Self> {
        let mut s = FgsmSettings::default();
        for item in items {
            match item.split_once('=') {
                Some(("eps", v)) => s.eps = number("d_attack.fgsm.eps", v)?,
                Some(("p" | "probability", v)) => s.probability = number("d_attack.fgsm.probability", v)?,
                Some(("start" | "start_fraction", v)) => s.start_fraction = number("d_attack.fgsm.start_fraction", v)?,
                None if item.parse::<f64>().is_ok() => s.eps = number("d_attack.fgsm.eps", item)?,
                None if item == "no-reals" => s.reals = false,
                None if item == "no-fakes" => s.fakes = false,
                None if item == "g-step" => s.in_g_step = true,
                _ => return Err(Error::config("d_attack", format!("`{item}` is not an FGSM setting: use EPS, eps=E, p=P, start=F, no-reals, no-fakes or g-step"))),
            }
        }
        Ok(s)
    }
}

impl DatSettings {
    fn validate(&self) -> Result<()> {
        if !(self.t.is_finite() && self.t > 0.0) {
            return Err(Error::config("d_attack.dat.t", format!("{} must be a finite number > 0 (the bound on each pixel's move; the authors use 1)", self.t)));
        }
        Ok(())
    }

    fn parse_items<'a>(items: impl Iterator<Item = &'a str>) -> Result<Self> {
        let mut s = DatSettings::default();
        for item in items {
            match item.split_once('=') {
                Some(("t", v)) => s.t = number("d_attack.dat.t", v)?,
                None if item.parse::<f64>().is_ok() => s.t = number("d_attack.dat.t", item)?,
                None if item == "clamp-first" => s.clamp_first = true,
                _ => return Err(Error::config("d_attack", format!("`{item}` is not a DAT setting: use T, t=T or clamp-first"))),
            }
        }
        Ok(s)
    }
}

fn number(name: &str, v: &str) -> Result<f64> {
    v.trim().parse().map_err(|_| Error::config(name, format!("`{v}` is not a number")))
}

impl std::str::FromStr for DAttack {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (kind, rest) = s.trim().split_once(':').unwrap_or((s.trim(), ""));
        let items = rest.split(',').map(str::trim).filter(|i| !i.is_empty());
        let attack = match kind.to_ascii_lowercase().as_str() {
            "none" if rest.is_empty() => DAttack::None,
            "fgsm" => DAttack::Fgsm(FgsmSettings::parse_items(items)?),
            "dat" => DAttack::Dat(DatSettings::parse_items(items)?),
            _ => return Err(Error::config("d_attack", format!("`{s}` is not a D attack: use {FORMS}"))),
        };
        attack.validate()?;
        Ok(attack)
    }
}

impl std::fmt::Display for DAttack {
    /// The CLI form, which parses back to the same attack.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DAttack::None => f.write_str("none"),
            DAttack::Fgsm(s) => {
                let d = FgsmSettings::default();
                write!(f, "fgsm:{}", s.eps)?;
                if s.probability != d.probability {
                    write!(f, ",p={}", s.probability)?;
                }
                if s.start_fraction != d.start_fraction {
                    write!(f, ",start={}", s.start_fraction)?;
                }
                for (on, item) in [(!s.reals, ",no-reals"), (!s.fakes, ",no-fakes"), (s.in_g_step, ",g-step")] {
                    if on {
                        f.write_str(item)?;
                    }
                }
                Ok(())
            }
            DAttack::Dat(s) => write!(f, "dat:{}{}", s.t, if s.clamp_first { ",clamp-first" } else { "" }),
        }
    }
}

/// A number uniform in [0, 1) that depends on `(seed, step)` alone: the
/// FGSM draw, reproducible and the same in a resumed run.
pub fn step_draw(seed: u64, step: usize) -> f64 {
    let key = SplitMix64::new(seed ^ 0xADD5_A77A_C4ED_D000).next_u64();
    let bits = SplitMix64::new(key ^ step as u64).next_u64();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The real and fake batches D's step scores, and whether this step was attacked.
#[derive(Debug)]
pub struct DInputs {
    pub real: Tensor,
    pub fake: Tensor,
    pub attacked: bool,
}

/// The D step's attack: `real` and `fake` (`[n, side²]`, in [−1, 1]) moved
/// by the config's [`DAttack`] when step `at` is attacked, else as they are.
/// `d_labels` are the projection discriminator's labels; `targets` are this
/// step's `(real, fake)` targets of D's loss (FGSM's `L_D` uses them).
pub fn attack_d_inputs(gan: &Gan, config: &GanConfig, real: &Tensor, fake: &Tensor, d_labels: Option<&Tensor>, targets: (&Tensor, &Tensor), at: StepAt) -> Result<DInputs> {
    let attacked = config.d_attack.attacks(config.seed, at);
    let (real, fake) = match config.d_attack {
        DAttack::Fgsm(s) if attacked && (s.reals || s.fakes) => fgsm_inputs(gan, config, real, fake, d_labels, targets, s)?,
        DAttack::Dat(s) => dat_inputs(gan, real, fake, d_labels, s)?,
        _ => (real.shallow_clone(), fake.shallow_clone()),
    };
    Ok(DInputs { real, fake, attacked })
}

/// FGSM on D's inputs: `clamp(x + ε·sign(∇ₓ L_D), −1, 1)`, detached, for the
/// batches `s` names; the others as they are.
fn fgsm_inputs(gan: &Gan, config: &GanConfig, real: &Tensor, fake: &Tensor, d_labels: Option<&Tensor>, targets: (&Tensor, &Tensor), s: FgsmSettings) -> Result<(Tensor, Tensor)> {
    let (xr, xf) = (real.detach().set_requires_grad(true), fake.detach().set_requires_grad(true));
    let lr = gan.discriminator.forward_cond_t(&xr, d_labels, true).logits; // [n, side²] -> [n, 1]
    let lf = gan.discriminator.forward_cond_t(&xf, d_labels, true).logits;
    let kind = lr.kind();
    let loss = config.objective.d_loss(&lr, &lf, &targets.0.to_kind(kind), &targets.1.to_kind(kind));
    let g = Tensor::f_run_backward(&[&loss], &[&xr, &xf], false, false)?;
    let step = |x: &Tensor, g: &Tensor, on: bool| if on { (x + s.eps * g.sign()).clamp(-1.0, 1.0).detach() } else { x.detach() };
    Ok((step(real, &g[0], s.reals), step(fake, &g[1], s.fakes)))
}

/// DAT's `(real_adv, fake_adv)` (see the module docs).
fn dat_inputs(gan: &Gan, real: &Tensor, fake: &Tensor, d_labels: Option<&Tensor>, s: DatSettings) -> Result<(Tensor, Tensor)> {
    let (xr, xf) = (real.detach().set_requires_grad(true), fake.detach().set_requires_grad(true));
    let dr = gan.discriminator.forward_cond_t(&xr, d_labels, true).logits.mean(None); // mean raw D(real)
    let df = gan.discriminator.forward_cond_t(&xf, d_labels, true).logits.mean(None); // mean raw D(fake)
    // r = dr and f = df are constants: the first term moves only the reals, the second only the fakes.
    let gap = (&dr - df.detach()).abs() + (&df - dr.detach()).abs();
    let g = Tensor::f_run_backward(&[&gap], &[&xr, &xf], false, false)?;
    let fake_adv = (fake - g[1].clamp(-s.t, s.t)).clamp(-1.0, 1.0);
    let real_adv = real - g[0].clamp(-s.t, s.t);
    let real_adv = if s.clamp_first { real_adv.clamp(-1.0, 1.0) } else { real_adv };
    Ok((real_adv.detach(), fake_adv.detach()))
}

/// The fakes the G step scores: under FGSM with `in_g_step`, on an attacked
/// step, `fake + δ` with `δ = clamp(fake + ε·sign(∇ L_D), −1, 1) − fake`
/// detached (`L_D` D's loss on these fakes as fakes), so G's gradient passes
/// straight through the step; otherwise `fake` itself.
pub fn attack_g_fakes(gan: &Gan, config: &GanConfig, fake: &Tensor, d_labels: Option<&Tensor>, at: StepAt) -> Result<Tensor> {
    let s = match config.d_attack {
        DAttack::Fgsm(s) if s.in_g_step && config.d_attack.attacks(config.seed, at) => s,
        _ => return Ok(fake.shallow_clone()),
    };
    let xf = fake.detach().set_requires_grad(true);
    let lf = gan.discriminator.forward_cond_t(&xf, d_labels, true).logits; // [n, side²] -> [n, 1]
    // Every objective's D loss is a real term plus a fake term: a constant
    // real term leaves the gradient with respect to the fakes as it is.
    let loss = config.objective.d_loss(&lf.zeros_like(), &lf, &lf.ones_like(), &lf.zeros_like());
    let g = Tensor::f_run_backward(&[&loss], &[&xf], false, false)?;
    let moved = (fake.detach() + s.eps * g[0].sign()).clamp(-1.0, 1.0);
    Ok(fake + (moved - fake.detach()).detach())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fgsm(f: impl FnOnce(&mut FgsmSettings)) -> DAttack {
        let mut s = FgsmSettings::default();
        f(&mut s);
        DAttack::Fgsm(s)
    }

    #[test]
    fn the_draw_depends_on_seed_and_step_alone() {
        let a = fgsm(|s| s.start_fraction = 0.0);
        let run = |seed| (0..2000).map(|step| a.attacks(seed, StepAt::new(step, 2000))).collect::<Vec<bool>>();
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hit = run(7).iter().filter(|b| **b).count() as f64 / 2000.0;
        assert!((hit - 0.8).abs() < 0.04, "{hit} of steps attacked at probability 0.8");
        // A step's draw does not depend on the steps before it (nor on the run's length).
        assert_eq!(a.attacks(7, StepAt::new(1234, 2000)), a.attacks(7, StepAt::new(1234, 5000)));
        assert!((0..1000).all(|i| (0.0..1.0).contains(&step_draw(i, i as usize * 3))));
    }

    #[test]
    fn probability_and_start_fraction_are_respected() {
        let never = fgsm(|s| (s.probability, s.start_fraction) = (0.0, 0.0));
        let always = fgsm(|s| (s.probability, s.start_fraction) = (1.0, 0.0));
        assert!((0..500).all(|i| !never.attacks(1, StepAt::new(i, 500)) && always.attacks(1, StepAt::new(i, 500))));
        let late = fgsm(|s| (s.probability, s.start_fraction) = (1.0, 0.25));
        let first = (0..100).find(|&i| late.attacks(1, StepAt::new(i, 100)));
        assert_eq!(first, Some(25));
        assert!(!DAttack::None.attacks(1, StepAt::new(50, 100)) && DAttack::Dat(DatSettings::default()).attacks(1, StepAt::new(0, 100)));
    }

    #[test]
    fn bad_settings_are_named_with_their_range() {
        let err = |a: DAttack| a.validate().unwrap_err().to_string();
        for (a, want) in [
            (fgsm(|s| s.eps = 0.0), "d_attack.fgsm.eps"),
            (fgsm(|s| s.eps = 1.5), "(0, 1]"),
            (fgsm(|s| s.eps = f64::NAN), "d_attack.fgsm.eps"),
            (fgsm(|s| s.probability = 1.1), "d_attack.fgsm.probability"),
            (fgsm(|s| s.probability = -0.1), "[0, 1]"),
            (fgsm(|s| s.start_fraction = 1.0), "d_attack.fgsm.start_fraction"),
            (fgsm(|s| (s.reals, s.fakes) = (false, false)), "moves nothing"),
            (DAttack::Dat(DatSettings { t: 0.0, clamp_first: false }), "d_attack.dat.t"),
            (DAttack::Dat(DatSettings { t: f64::INFINITY, clamp_first: false }), "finite"),
        ] {
            let e = err(a);
            assert!(e.contains(want), "{a:?}: {e}");
        }
        assert!(fgsm(|_| ()).validate().is_ok() && DAttack::Dat(DatSettings::default()).validate().is_ok());
    }

    #[test]
    fn the_cli_form_parses_and_prints_back() {
        assert_eq!("none".parse::<DAttack>().unwrap(), DAttack::None);
        assert_eq!("fgsm".parse::<DAttack>().unwrap(), fgsm(|_| ()));
        assert_eq!("FGSM:0.05".parse::<DAttack>().unwrap(), fgsm(|s| s.eps = 0.05));
        let custom = "fgsm:eps=0.1,p=0.5,start=0.2,no-reals,g-step".parse::<DAttack>().unwrap();
        assert_eq!(custom, fgsm(|s| (s.eps, s.probability, s.start_fraction, s.reals, s.in_g_step) = (0.1, 0.5, 0.2, false, true)));
        assert_eq!("dat".parse::<DAttack>().unwrap(), DAttack::Dat(DatSettings::default()));
        assert_eq!("dat:0.5,clamp-first".parse::<DAttack>().unwrap(), DAttack::Dat(DatSettings { t: 0.5, clamp_first: true }));
        for a in [DAttack::None, fgsm(|_| ()), custom, DAttack::Dat(DatSettings { t: 0.5, clamp_first: true })] {
            assert_eq!(a.to_string().parse::<DAttack>().unwrap(), a, "{a}");
        }
        for (bad, want) in [("pgd", "is not a D attack"), ("fgsm:2", "d_attack.fgsm.eps"), ("fgsm:p=x", "not a number"), ("dat:fast", "not a DAT setting"), ("fgsm:wide", "not an FGSM setting")] {
            let e = bad.parse::<DAttack>().unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
        assert_eq!(fgsm(|_| ()).label().unwrap(), "fgsm0.02");
        assert_eq!(DAttack::Dat(DatSettings::default()).label().unwrap(), "dat");
        assert_eq!(custom.label().unwrap(), "fgsm0.1-p0.5-start0.2-fakes-g");
    }

    #[test]
    fn serde_keeps_defaults_for_missing_fields() {
        let a: DAttack = serde_json::from_str(r#"{"fgsm": {"eps": 0.05}}"#).unwrap();
        assert_eq!(a, fgsm(|s| s.eps = 0.05));
        let a: DAttack = serde_json::from_str(r#""none""#).unwrap();
        assert_eq!(a, DAttack::None);
        assert!(serde_json::from_str::<DAttack>(r#"{"dat": {"tt": 1}}"#).is_err());
        let d = DAttack::Dat(DatSettings::default());
        assert_eq!(serde_json::from_str::<DAttack>(&serde_json::to_string(&d).unwrap()).unwrap(), d);
    }
}
