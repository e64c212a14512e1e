//! The 2D demo: a small MLP GAN trained on points in the plane, with the
//! views GAN Lab (Kahng et al. 2018, <https://poloclub.github.io/ganlab/>)
//! shows in a browser: real and generated points, the discriminator's output
//! as a heat map over the plane, and the generator's gradient at generated
//! points (where each sample is pushed next).
//!
//! ```text
//! G: z [n, latent] -> Linear(hidden) -> ReLU -> Linear(hidden) -> ReLU -> Linear(2)        [n, 2]
//! D: x [n/m, 2m]   -> Linear(hidden) -> LeakyReLU(0.2) -> Linear(hidden) -> LeakyReLU(0.2) -> Linear(1)   (logits)
//! ```
//!
//! `m` is PacGAN's packing (Lin et al. 2018, <https://arxiv.org/abs/1712.04086>):
//! with `pack = m > 1` the discriminator judges `m` samples at once, so a
//! generator that puts them all on one mode is easy to spot. `pack = 1` is
//! the vanilla GAN. `d_steps` is Algorithm 1's `k`.
use super::density::{normal, uniform, Density};
use super::modes::{mode_stats, ModeStats};
use crate::rng::SplitMix64;
use crate::error::{Error, Result};
use crate::gan::Objective;
use crate::notebook::RunMode;
use crate::optim::{Adam, AdamConfig};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// The 2D data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Toy2d {
    /// 8 Gaussians (σ = 0.02) on a circle of radius 2: the classic mode-collapse case.
    Ring8,
    /// 25 Gaussians (σ = 0.05) on a 5×5 grid with spacing 2.
    Grid25,
    /// A segment from (−2, −1) to (2, 1), with noise 0.02.
    Line,
    /// Two interleaved half circles, with noise 0.05.
    TwoMoons,
    /// An Archimedean spiral of 1.5 turns, with noise 0.05.
    Spiral,
}

impl std::str::FromStr for Toy2d {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
            "ring" | "ring8" | "ring-8" => Ok(Toy2d::Ring8),
            "grid" | "grid25" | "grid-25" => Ok(Toy2d::Grid25),
            "line" => Ok(Toy2d::Line),
            "moons" | "two-moons" => Ok(Toy2d::TwoMoons),
            "spiral" => Ok(Toy2d::Spiral),
            _ => Err(Error::config("distribution", format!("`{s}` is not a 2D data set: use ring8, grid25, line, moons or spiral"))),
        }
    }
}

impl std::fmt::Display for Toy2d {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Toy2d::Ring8 => "ring of 8 Gaussians",
            Toy2d::Grid25 => "5×5 grid of Gaussians",
            Toy2d::Line => "line",
            Toy2d::TwoMoons => "two moons",
            Toy2d::Spiral => "spiral",
        })
    }
}

impl Toy2d {
    /// Mode centres and their σ, for the mixtures.
    pub fn modes(self) -> Option<(Vec<[f64; 2]>, f64)> {
        match self {
            Toy2d::Ring8 => Some((
                (0..8).map(|i| {
                    let a = i as f64 * std::f64::consts::TAU / 8.0;
                    [2.0 * a.cos(), 2.0 * a.sin()]
                }).collect(),
                0.02,
            )),
            Toy2d::Grid25 => Some(((0..25).map(|i| [2.0 * (i / 5) as f64 - 4.0, 2.0 * (i % 5) as f64 - 4.0]).collect(), 0.05)),
            _ => None,
        }
    }

    /// The square `[-e, e]²` the plots show.
    pub fn extent(self) -> f64 {
        match self {
            Toy2d::Ring8 => 3.0,
            Toy2d::Grid25 => 6.0,
            Toy2d::Line | Toy2d::TwoMoons | Toy2d::Spiral => 3.0,
        }
    }

    /// `n` points from a generator seeded by `seed`.
    pub fn sample(self, n: usize, seed: u64) -> Result<Vec<[f64; 2]>> {
        if let Some((centres, std)) = self.modes() {
            let d = Density::gaussian_mixture(&centres.iter().map(|c| c.to_vec()).collect::<Vec<_>>(), std);
            return Ok(d.sample(n, seed)?.into_iter().map(|p| [p[0], p[1]]).collect());
        }
        let mut rng = SplitMix64::new(seed);
        let pi = std::f64::consts::PI;
        Ok((0..n)
            .map(|_| {
                let u = uniform(&mut rng);
                let (x, y, noise) = match self {
                    Toy2d::Line => (4.0 * u - 2.0, 2.0 * u - 1.0, 0.02),
                    Toy2d::TwoMoons => {
                        let t = pi * uniform(&mut rng);
                        let (x, y) = if u < 0.5 { (t.cos() - 0.5, t.sin() - 0.25) } else { (0.5 - t.cos(), 0.25 - t.sin()) };
                        (1.5 * x, 1.5 * y, 0.05)
                    }
                    _ => {
                        // Spiral: radius grows linearly with the angle.
                        let t = 3.0 * pi * u.sqrt();
                        let r = 2.5 * t / (3.0 * pi);
                        (r * t.cos(), r * t.sin(), 0.05)
                    }
                };
                [x + noise * normal(&mut rng), y + noise * normal(&mut rng)]
            })
            .collect())
    }
}

/// Settings of a 2D GAN run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toy2dConfig {
    pub dist: Toy2d,
    /// Generator steps.
    pub steps: usize,
    pub batch_size: usize,
    /// Discriminator steps per generator step (Algorithm 1's k).
    pub d_steps: usize,
    pub loss: Objective,
    /// PacGAN packing: samples the discriminator judges at once (1 = vanilla).
    pub pack: usize,
    pub latent_dim: i64,
    pub hidden: i64,
    pub lr_g: f64,
    pub lr_d: f64,
    pub beta1: f64,
    /// Generator steps after which to take a snapshot (0 = before training).
    pub snapshots: Vec<usize>,
    /// Generated points per snapshot and for the mode statistics.
    pub eval_samples: usize,
    /// The heat map's cells per side.
    pub heat_cells: usize,
    /// Generated points that get a gradient arrow.
    pub arrows: usize,
    pub seed: u64,
}

impl Default for Toy2dConfig {
    fn default() -> Self {
        Self::new(Toy2d::Ring8)
    }
}

impl Toy2dConfig {
    /// The demo's settings for `dist` (vanilla GAN, k = 1, non-saturating loss).
    pub fn new(dist: Toy2d) -> Self {
        Self {
            dist,
            steps: 3000,
            batch_size: 256,
            d_steps: 1,
            loss: Objective::NonSaturating,
            pack: 1,
            latent_dim: 2,
            hidden: 128,
            lr_g: 1e-3,
            lr_d: 1e-3,
            beta1: 0.5,
            snapshots: vec![0, 250, 1000, 3000],
            eval_samples: 2500,
            heat_cells: 48,
            arrows: 64,
            seed: 0,
        }
    }

    /// Scales the run for a notebook: quick mode trains a third as long.
    pub fn for_mode(mut self, mode: RunMode) -> Self {
        if mode.is_quick() {
            let scale = |s: usize| s / 3;
            self.steps = scale(self.steps);
            self.snapshots = self.snapshots.iter().map(|&s| scale(s)).collect();
            self.snapshots.dedup();
        }
        self
    }

    pub fn with_steps(mut self, steps: usize) -> Self {
        // Snapshots keep their places relative to the run's length.
        let old = self.steps.max(1);
        self.snapshots = self.snapshots.iter().map(|&s| s * steps / old).collect();
        self.snapshots.dedup();
        self.steps = steps;
        self
    }
    pub fn with_d_steps(mut self, k: usize) -> Self {
        self.d_steps = k;
        self
    }
    pub fn with_loss(mut self, loss: Objective) -> Self {
        self.loss = loss;
        self
    }
    pub fn with_pack(mut self, pack: usize) -> Self {
        self.pack = pack;
        self
    }
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A short name for legends: "vanilla GAN", "k = 5", "PacGAN m = 4", with
    /// the discriminator's learning rate when it differs from the generator's.
    pub fn label(&self) -> String {
        let mut parts = vec![];
        if self.pack > 1 {
            parts.push(format!("PacGAN m = {}", self.pack));
        }
        if self.d_steps != 1 {
            parts.push(format!("k = {}", self.d_steps));
        }
        if self.loss == Objective::Minimax {
            parts.push("minimax".to_string());
        }
        if parts.is_empty() {
            parts.push("vanilla GAN".to_string());
        }
        if self.lr_d != self.lr_g {
            parts.push(format!("lr_D = {}", self.lr_d));
        }
        parts.join(", ")
    }

    /// The discriminator's learning rate (the generator's stays).
    pub fn with_lr_d(mut self, lr_d: f64) -> Self {
        self.lr_d = lr_d;
        self
    }

    pub fn validate(&self) -> Result<()> {
        if !self.loss.is_probability() {
            return Err(Error::config("loss", format!("{}: the toy GAN's D outputs a probability; use minimax or non-saturating", self.loss.name())));
        }
        let positive = [("steps", self.steps), ("batch_size", self.batch_size), ("d_steps", self.d_steps), ("pack", self.pack), ("eval_samples", self.eval_samples)];
        for (name, v) in positive {
            if v == 0 {
                return Err(Error::config(name, "must be at least 1"));
            }
        }
        if self.batch_size % self.pack != 0 || self.eval_samples % self.pack != 0 || self.arrows % self.pack != 0 {
            return Err(Error::config(
                "pack",
                format!("batch_size {}, eval_samples {} and arrows {} must be multiples of pack {}", self.batch_size, self.eval_samples, self.arrows, self.pack),
            ));
        }
        if self.latent_dim < 1 || self.hidden < 1 {
            return Err(Error::config("latent_dim/hidden", "must be at least 1"));
        }
        for (name, lr) in [("lr_g", self.lr_g), ("lr_d", self.lr_d)] {
            if !(lr.is_finite() && lr > 0.0) {
                return Err(Error::config(name, format!("{lr} must be a positive number")));
            }
        }
        if let Some(s) = self.snapshots.iter().find(|s| **s > self.steps) {
            return Err(Error::config("snapshots", format!("step {s} is after the last step {}", self.steps)));
        }
        if self.arrows > self.eval_samples {
            return Err(Error::config("arrows", format!("{} arrows but only {} generated points (eval_samples): lower arrows", self.arrows, self.eval_samples)));
        }
        if self.heat_cells < 2 {
            return Err(Error::config("heat_cells", "must be at least 2"));
        }
        Ok(())
    }
}

/// The picture of a run at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Generator steps taken.
    pub step: usize,
    pub real: Vec<[f64; 2]>,
    pub fake: Vec<[f64; 2]>,
    /// D(x) at the centres of a `heat_cells²` grid over `[-e, e]²`, row-major
    /// (x outer, y inner); empty for a packed discriminator, which scores
    /// groups of points, not points.
    pub heat: Vec<f64>,
    /// Where the arrows start (the first `arrows` generated points)...
    pub arrow_from: Vec<[f64; 2]>,
    /// ... and `−∇ₓ L_G` there: the direction the generator's loss pushes each sample.
    pub arrow: Vec<[f64; 2]>,
    pub stats: Option<ModeStats>,
}

/// Plain numbers per generator step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Toy2dHistory {
    pub d_loss: Vec<f64>,
    pub g_loss: Vec<f64>,
    /// Mean D(x) on the last real batch of the step.
    pub d_real: Vec<f64>,
    /// Mean D(G(z)) on the generator's batch.
    pub d_fake: Vec<f64>,
}

/// What a 2D run gives back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toy2dReport {
    pub config: Toy2dConfig,
    pub history: Toy2dHistory,
    pub snapshots: Vec<Snapshot>,
    /// Mode statistics of `eval_samples` points after the last step (mixtures only).
    pub final_stats: Option<ModeStats>,
    pub wall_time_secs: f64,
}

/// The 2D generator and discriminator with their optimisers.
pub(crate) struct Nets {
    pub g_vs: nn::VarStore,
    pub d_vs: nn::VarStore,
    pub g: nn::Sequential,
    pub d: nn::Sequential,
    pub pack: i64,
}

impl Nets {
    pub fn new(latent_dim: i64, hidden: i64, pack: usize, device: Device) -> Self {
        let g_vs = nn::VarStore::new(device);
        let d_vs = nn::VarStore::new(device);
        let (gp, dp) = (g_vs.root(), d_vs.root());
        let c = Default::default();
        let g = nn::seq()
            .add(nn::linear(&gp / "fc1", latent_dim, hidden, c))
            .add_fn(|x| x.relu())
            .add(nn::linear(&gp / "fc2", hidden, hidden, c))
            .add_fn(|x| x.relu())
            .add(nn::linear(&gp / "fc3", hidden, 2, c));
        let d = nn::seq()
            .add(nn::linear(&dp / "fc1", 2 * pack as i64, hidden, c))
            .add_fn(|x| x.leaky_relu_ext(0.2))
            .add(nn::linear(&dp / "fc2", hidden, hidden, c))
            .add_fn(|x| x.leaky_relu_ext(0.2))
            .add(nn::linear(&dp / "fc3", hidden, 1, c));
        Self { g_vs, d_vs, g, d, pack: pack as i64 }
    }

    /// D's logits for points `[n, 2]`, `m` at a time: `// [n, 2] -> [n/m, 1]`.
    pub fn d_logits(&self, x: &Tensor) -> Tensor {
        self.d.forward(&x.view([-1, 2 * self.pack]))
    }
}

trait LeakyExt {
    fn leaky_relu_ext(&self, slope: f64) -> Tensor;
}
impl LeakyExt for Tensor {
    fn leaky_relu_ext(&self, slope: f64) -> Tensor {
        crate::gan::layers::leaky_relu(self, slope)
    }
}

pub(crate) fn points_tensor(points: &[[f64; 2]], device: Device) -> Tensor {
    let flat: Vec<f32> = points.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
    Tensor::from_slice(&flat).view([points.len() as i64, 2]).to_device(device)
}

pub(crate) fn tensor_points(t: &Tensor) -> Result<Vec<[f64; 2]>> {
    let v: Vec<f64> = t.to_kind(Kind::Double).to_device(Device::Cpu).contiguous().view([-1]).try_into()?;
    Ok(v.chunks(2).map(|c| [c[0], c[1]]).collect())
}

/// Trains a GAN on `config.dist` with snapshots.
///
/// ```no_run
/// use gan_tutorial::nash::{train_toy_gan, Toy2d, Toy2dConfig};
/// # fn main() -> gan_tutorial::Result<()> {
/// let report = train_toy_gan(&Toy2dConfig::new(Toy2d::Ring8).with_steps(500))?;
/// println!("{}", report.final_stats.unwrap());
/// # Ok(())
/// # }
/// ```
pub fn train_toy_gan(config: &Toy2dConfig) -> Result<Toy2dReport> {
    config.validate()?;
    let started = Instant::now();
    let device = crate::device::device()?;
    let _threads = super::SmallNetThreads::new(device);
    let nets = {
        let _seeded = crate::rng::seeded_section();
        tch::manual_seed(config.seed as i64);
        Nets::new(config.latent_dim, config.hidden, config.pack, device)
    };
    let adam = |vs: &nn::VarStore, lr: f64| Adam::new(vs, AdamConfig { lr, beta1: config.beta1, ..Default::default() });
    let (mut opt_g, mut opt_d) = (adam(&nets.g_vs, config.lr_g)?, adam(&nets.d_vs, config.lr_d)?);
    let b = config.batch_size as i64;
    let z_eval = Tensor::randn([config.eval_samples as i64, config.latent_dim], (Kind::Float, device));
    let real_eval = config.dist.sample(config.eval_samples.min(1000), config.seed ^ 0x5eed)?;
    let mut report = Toy2dReport { config: config.clone(), history: Toy2dHistory::default(), snapshots: vec![], final_stats: None, wall_time_secs: 0.0 };
    let mut data_seed = config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    if config.snapshots.contains(&0) {
        report.snapshots.push(snapshot(&nets, config, 0, &z_eval, &real_eval)?);
    }
    for step in 1..=config.steps {
        let mut d_real = 0.0;
        let mut d_loss_v = 0.0;
        for _ in 0..config.d_steps {
            data_seed = data_seed.wrapping_add(1);
            let real = points_tensor(&config.dist.sample(config.batch_size, data_seed)?, device);
            let fake = nets.g.forward(&Tensor::randn([b, config.latent_dim], (Kind::Float, device))).detach();
            let real_logits = nets.d_logits(&real);
            let d_loss = crate::gan::objective::bce::d_loss_plain(&real_logits, &nets.d_logits(&fake));
            opt_d.zero_grad();
            d_loss.backward();
            opt_d.step();
            d_loss_v = d_loss.double_value(&[]);
            d_real = real_logits.sigmoid().mean(None).double_value(&[]);
        }
        let fake_logits = nets.d_logits(&nets.g.forward(&Tensor::randn([b, config.latent_dim], (Kind::Float, device))));
        let g_loss = config.loss.g_loss(&fake_logits);
        opt_g.zero_grad();
        g_loss.backward();
        opt_g.step();
        let h = &mut report.history;
        h.d_loss.push(d_loss_v);
        h.g_loss.push(g_loss.double_value(&[]));
        h.d_real.push(d_real);
        h.d_fake.push(fake_logits.sigmoid().mean(None).double_value(&[]));
        if !(d_loss_v.is_finite() && h.g_loss[h.g_loss.len() - 1].is_finite()) {
            return Err(Error::config("lr", format!("the losses became NaN or infinite at step {step}: lower lr_g/lr_d")));
        }
        if config.snapshots.contains(&step) {
            report.snapshots.push(snapshot(&nets, config, step, &z_eval, &real_eval)?);
        }
    }
    let fake = tensor_points(&tch::no_grad(|| nets.g.forward(&z_eval)))?;
    report.final_stats = match config.dist.modes() {
        Some((centres, sigma)) => Some(mode_stats(&fake, &centres, sigma, min_count(config.eval_samples))?),
        None => None,
    };
    report.wall_time_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// PacGAN's threshold: 20 samples of 2 500 (0.8%), scaled to the sample count.
pub fn min_count(samples: usize) -> usize {
    ((samples as f64 * 20.0 / 2500.0).round() as usize).max(1)
}

fn snapshot(nets: &Nets, config: &Toy2dConfig, step: usize, z_eval: &Tensor, real: &[[f64; 2]]) -> Result<Snapshot> {
    let device = z_eval.device();
    let fake_t = tch::no_grad(|| nets.g.forward(z_eval));
    let fake = tensor_points(&fake_t)?;
    let e = config.dist.extent();
    let n = config.heat_cells;
    let heat = if config.pack == 1 {
        let cells: Vec<[f64; 2]> = (0..n * n)
            .map(|i| {
                let c = |j: usize| -e + 2.0 * e * (j as f64 + 0.5) / n as f64;
                [c(i / n), c(i % n)]
            })
            .collect();
        let d: Vec<f64> = tch::no_grad(|| nets.d_logits(&points_tensor(&cells, device)).sigmoid().to_kind(Kind::Double).view([-1])).try_into()?;
        d
    } else {
        vec![]
    };
    // −∇ₓ L_G at the first generated points: the way each sample is pushed.
    let x = fake_t.narrow(0, 0, config.arrows as i64).detach().set_requires_grad(true);
    let arrow = if config.arrows > 0 {
        let loss = config.loss.g_loss(&nets.d_logits(&x)) * (config.arrows as f64 / config.pack as f64);
        let g = Tensor::f_run_backward(&[loss], &[&x], false, false)?;
        tensor_points(&(-&g[0]))?
    } else {
        vec![]
    };
    let stats = match config.dist.modes() {
        Some((centres, sigma)) => Some(mode_stats(&fake, &centres, sigma, min_count(fake.len()))?),
        None => None,
    };
    Ok(Snapshot { step, real: real.to_vec(), arrow_from: fake[..config.arrows.min(fake.len())].to_vec(), fake, heat, arrow, stats })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sets_sample_where_they_should() {
        let _rng = crate::torch_rng_lock();
        for d in [Toy2d::Ring8, Toy2d::Grid25] {
            let (centres, sigma) = d.modes().unwrap();
            let pts = d.sample(2000, 1).unwrap();
            let s = mode_stats(&pts, &centres, sigma, 20).unwrap();
            assert_eq!(s.modes_covered, centres.len(), "{d}");
            // In 2D, 3σ holds 1 − e^{−4.5} = 98.9% of a Gaussian's mass.
            assert!((s.high_quality - 0.989).abs() < 0.01 && s.kl_to_uniform.unwrap() < 0.02, "{d}: {s}");
        }
        for d in [Toy2d::Line, Toy2d::TwoMoons, Toy2d::Spiral] {
            let pts = d.sample(1000, 2).unwrap();
            assert!(pts.iter().all(|p| p[0].abs() < d.extent() && p[1].abs() < d.extent()), "{d} leaves its plot");
        }
        assert_eq!("moons".parse::<Toy2d>().unwrap(), Toy2d::TwoMoons);
        assert!("circle".parse::<Toy2d>().unwrap_err().to_string().contains("ring8"));
    }

    #[test]
    fn a_short_run_gives_snapshots_and_finite_numbers() {
        let _rng = crate::torch_rng_lock();
        let c = Toy2dConfig { heat_cells: 8, eval_samples: 200, arrows: 8, ..Toy2dConfig::new(Toy2d::Ring8).with_steps(30) }.with_pack(2);
        let r = train_toy_gan(&c).unwrap();
        assert_eq!(r.history.g_loss.len(), 30);
        assert_eq!(r.snapshots.iter().map(|s| s.step).collect::<Vec<_>>(), vec![0, 2, 10, 30]);
        let s = &r.snapshots[3];
        assert_eq!((s.fake.len(), s.arrow.len(), s.heat.len()), (200, 8, 0), "a packed D has no heat map");
        assert!(s.arrow.iter().all(|a| a[0].is_finite() && a[1].is_finite()));
        let r1 = train_toy_gan(&Toy2dConfig { pack: 1, ..c.clone() }).unwrap();
        assert_eq!(r1.snapshots[0].heat.len(), 64);
        // Same seed, same run.
        assert_eq!(train_toy_gan(&c).unwrap().history, r.history);
        assert!(Toy2dConfig { batch_size: 255, ..c.clone() }.validate().unwrap_err().to_string().contains("multiples of pack"));
        assert!(Toy2dConfig { arrows: 400, ..c }.validate().unwrap_err().to_string().contains("lower arrows"));
    }
}
