//! The GAN game before any images: its Nash equilibrium, the optimal
//! discriminator, the 2D demo, and the three serious problems
//! (non-convergence, mode collapse, vanishing gradients), each computed.
//!
//! Layout: the analytic side works on known densities in plain `f64`
//! (`density.rs`, `optimal.rs`); the games and the networks are one file
//! each (`bilinear.rs`, `toy2d.rs`, `vanishing.rs`, with `modes.rs` to
//! measure mode collapse); `plot.rs` draws the figures from their numbers;
//! [`nash_demo`] runs everything a notebook shows in one call.
//!
//! Goodfellow et al. 2014, <https://arxiv.org/abs/1406.2661> (Proposition 1,
//! Theorem 1); Goodfellow 2016, NIPS tutorial, §3.2 (non-convergence) and
//! §5.1.1 (mode collapse), <https://arxiv.org/abs/1701.00160>.
//!
//! ```no_run
//! use gan_tutorial::nash::{nash_demo, NashConfig};
//! use gan_tutorial::notebook::RunMode;
//! # fn main() -> gan_tutorial::Result<()> {
//! let report = nash_demo(&NashConfig::default().for_mode(RunMode::Quick))?;
//! println!("{}", report.summary());
//! report.save("runs/nash")?; // figures, nash.json, config.json
//! # Ok(())
//! # }
//! ```
pub mod bilinear;
pub mod density;
pub mod modes;
pub mod optimal;
pub mod plot;
pub mod toy2d;
pub mod vanishing;

pub use bilinear::{bilinear_game, BilinearConfig, BilinearTrajectory, UpdateRule};
pub use density::{Density, Grid};
pub use modes::{mode_stats, ModeStats};
pub use optimal::{
    check_nash_identity, cost_against_shift, game_value, jensen_shannon, kl_divergence, optimal_discriminator, pointwise_argmax,
    train_discriminator, value_at_optimum, CostCurve, NashCheck, OptimalDReport, TrainDConfig,
};
pub use plot::{
    plot_bilinear, plot_cost_curve, plot_mode_collapse, plot_optimal_d, plot_optimal_d_2d, plot_toy_history, plot_toy_snapshots,
    plot_vanishing,
};
pub use toy2d::{train_toy_gan, Snapshot, Toy2d, Toy2dConfig, Toy2dHistory, Toy2dReport};
pub use vanishing::{vanishing_gradients, VanishingConfig, VanishingReport};

use crate::error::Result;
use crate::notebook::RunMode;
use crate::plot::Figure;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Runs small networks on one thread while alive: 2D nets are too small to
/// gain from libtorch's thread pool, and lose much to it when the machine is
/// busy. The previous setting comes back on drop.
pub(crate) struct SmallNetThreads(Option<i32>);

impl SmallNetThreads {
    pub(crate) fn new(device: tch::Device) -> Self {
        if device != tch::Device::Cpu {
            return Self(None);
        }
        let before = tch::get_num_threads();
        tch::set_num_threads(1);
        Self(Some(before))
    }
}

impl Drop for SmallNetThreads {
    fn drop(&mut self) {
        if let Some(n) = self.0 {
            tch::set_num_threads(n);
        }
    }
}

/// Everything [`nash_demo`] runs, with the notebook's settings as `Default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NashConfig {
    pub seed: u64,
    /// Training of the 1D and 2D discriminators compared with D*.
    pub train_d: TrainDConfig,
    /// Shifts at which C(G) is evaluated (evenly over [-shift_range, shift_range]).
    pub shift_range: f64,
    pub shift_points: usize,
    pub bilinear: BilinearConfig,
    /// The vanilla GAN on the ring of 8 Gaussians.
    pub vanilla: Toy2dConfig,
    /// The same run with a remedy against mode collapse.
    pub remedy: Toy2dConfig,
    pub vanishing: VanishingConfig,
    pub mode: RunMode,
}

impl Default for NashConfig {
    fn default() -> Self {
        // A discriminator that learns 5× slower than its generator: the generator
        // "is trained too much without updating D" (Goodfellow 2016, §5.1.1),
        // the situation in which it collapses. The remedy gives D k = 5 steps.
        let ring = Toy2dConfig::new(Toy2d::Ring8).with_lr_d(2e-4);
        Self {
            seed: 0,
            train_d: TrainDConfig::default(),
            shift_range: 4.0,
            shift_points: 161,
            bilinear: BilinearConfig::default(),
            remedy: ring.clone().with_d_steps(5),
            vanilla: ring,
            vanishing: VanishingConfig::default(),
            mode: RunMode::Full,
        }
    }
}

impl NashConfig {
    /// Quick mode: shorter trainings, the same experiments.
    pub fn for_mode(mut self, mode: RunMode) -> Self {
        self.mode = mode;
        if mode.is_quick() {
            self.train_d.steps /= 3;
            self.vanilla = self.vanilla.for_mode(mode);
            self.remedy = self.remedy.for_mode(mode);
            self.vanishing = self.vanishing.for_mode(mode);
        }
        self
    }

    /// One seed for every part (each part derives its own from it).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.train_d.seed = seed;
        self.vanilla.seed = seed;
        self.remedy.seed = seed;
        self.vanishing.seed = seed;
        self
    }
}

/// The figures of [`nash_demo`], one per notebook cell.
#[derive(Debug, Clone)]
pub struct NashFigures {
    pub optimal_d: Figure,
    pub optimal_d_2d: Figure,
    pub cost: Figure,
    pub bilinear: Figure,
    pub training: Figure,
    pub d_outputs: Figure,
    pub mode_collapse: Figure,
    pub vanishing: Figure,
}

impl NashFigures {
    /// (file stem, figure) pairs, in notebook order.
    pub fn named(&self) -> [(&'static str, &Figure); 8] {
        [
            ("optimal_d", &self.optimal_d),
            ("optimal_d_2d", &self.optimal_d_2d),
            ("cost_vs_shift", &self.cost),
            ("bilinear", &self.bilinear),
            ("training_2d", &self.training),
            ("d_outputs_2d", &self.d_outputs),
            ("mode_collapse", &self.mode_collapse),
            ("vanishing_gradients", &self.vanishing),
        ]
    }
}

/// The numbers and figures of the game-theory notebook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NashReport {
    pub config: NashConfig,
    /// `(a, b, argmax of a·log y + b·log(1 − y), a / (a + b))`.
    pub pointwise: Vec<(f64, f64, f64, f64)>,
    pub optimal_1d: OptimalDReport,
    pub optimal_2d: OptimalDReport,
    pub cost: CostCurve,
    pub simultaneous: BilinearTrajectory,
    pub alternating: BilinearTrajectory,
    pub vanilla: Toy2dReport,
    pub remedy: Toy2dReport,
    pub vanishing: VanishingReport,
    #[serde(skip)]
    pub figures: Option<NashFigures>,
}

/// The 1D densities of the optimal-discriminator check: a two-bump data
/// density and a generator that has not matched it.
pub fn demo_densities_1d() -> (Density, Density) {
    let p_data = Density::Mixture(vec![(0.5, Density::gaussian_1d(-1.5, 0.5)), (0.5, Density::gaussian_1d(1.5, 0.5))]);
    (p_data, Density::gaussian_1d(0.5, 1.2))
}

/// The 2D pair: four Gaussians on a circle against one broad Gaussian.
pub fn demo_densities_2d() -> (Density, Density) {
    let centres = [[1.5, 0.0], [0.0, 1.5], [-1.5, 0.0], [0.0, -1.5]];
    (Density::gaussian_mixture(&centres.map(|c| c.to_vec()), 0.35), Density::Gaussian { mean: vec![0.0, 0.0], std: 1.0 })
}

/// Runs every experiment of notebook 02 and draws its figures.
pub fn nash_demo(config: &NashConfig) -> Result<NashReport> {
    nash_demo_with(config, &mut crate::progress::Lines)
}

/// [`nash_demo`], telling `progress` as each of its nine experiments ends.
pub fn nash_demo_with(config: &NashConfig, progress: &mut dyn crate::progress::Progress) -> Result<NashReport> {
    progress.start("nash", 9);
    let mut done = 0;
    let mut step = |what: &str| {
        done += 1;
        progress.line(&format!("[nash {done}/9] {what}"));
        progress.advance(done);
    };
    let pointwise = [(1.0, 1.0), (0.3, 2.0), (2.0, 0.5), (0.05, 0.9)]
        .iter()
        .map(|&(a, b)| Ok((a, b, pointwise_argmax(a, b)?, a / (a + b))))
        .collect::<Result<Vec<_>>>()?;
    step("the pointwise maximum a/(a+b)");
    let (p_data, p_g) = demo_densities_1d();
    let optimal_1d = train_discriminator(&p_data, &p_g, &Grid::line(-7.0, 8.0, 600)?, &config.train_d)?;
    step("a trained D against D* in 1D");
    let (p_data2, p_g2) = demo_densities_2d();
    let train_2d = TrainDConfig { steps: config.train_d.steps / 2, ..config.train_d.clone() };
    let optimal_2d = train_discriminator(&p_data2, &p_g2, &Grid::square(-5.0, 5.0, 80)?, &train_2d)?;
    step("a trained D against D* in 2D");
    let n = config.shift_points.max(2);
    let shifts: Vec<f64> = (0..n).map(|i| -config.shift_range + 2.0 * config.shift_range * i as f64 / (n - 1) as f64).collect();
    let cost = cost_against_shift(0.5, &shifts)?;
    step("C(G) = -log 4 + 2 JSD against the shift");
    let simultaneous = bilinear_game(UpdateRule::Simultaneous, &config.bilinear)?;
    step("x*y with simultaneous updates");
    let alternating = bilinear_game(UpdateRule::Alternating, &config.bilinear)?;
    step("x*y with alternating updates");
    let vanilla = train_toy_gan(&config.vanilla)?;
    step(&format!("the 2D GAN: {}", config.vanilla.label()));
    let remedy = train_toy_gan(&config.remedy)?;
    step(&format!("the 2D GAN: {}", config.remedy.label()));
    let vanishing = vanishing_gradients(&config.vanishing)?;
    step("vanishing gradients");
    let mut report = NashReport {
        config: config.clone(),
        pointwise,
        optimal_1d,
        optimal_2d,
        cost,
        simultaneous,
        alternating,
        vanilla,
        remedy,
        vanishing,
        figures: None,
    };
    report.figures = Some(report.draw()?);
    Ok(report)
}

impl NashReport {
    /// The figures drawn by [`nash_demo`]; an error for a report read back
    /// from JSON (figures are not stored there: call [`NashReport::draw`]).
    pub fn figures(&self) -> Result<&NashFigures> {
        self.figures.as_ref().ok_or_else(|| crate::Error::config("figures", "this report has no figures: call report.draw()"))
    }

    /// Draws the figures from the report's numbers.
    pub fn draw(&self) -> Result<NashFigures> {
        Ok(NashFigures {
            optimal_d: plot_optimal_d(&self.optimal_1d)?,
            optimal_d_2d: plot_optimal_d_2d(&self.optimal_2d)?,
            cost: plot_cost_curve(&self.cost)?,
            bilinear: plot_bilinear(&[self.simultaneous.clone(), self.alternating.clone()])?,
            training: plot_toy_snapshots(&self.vanilla)?,
            d_outputs: plot_toy_history(&self.vanilla, 50)?,
            mode_collapse: plot_mode_collapse(&[self.vanilla.clone(), self.remedy.clone()])?,
            vanishing: plot_vanishing(&self.vanishing)?,
        })
    }

    /// The headline numbers, small enough to print and to keep as JSON.
    pub fn summary(&self) -> NashSummary {
        let pointwise_max_error = self.pointwise.iter().map(|p| (p.2 - p.3).abs()).fold(0.0, f64::max);
        let cost_min = self.cost.cost.iter().copied().fold(f64::MAX, f64::min);
        let v = &self.vanishing;
        let last = v.d_step.len().saturating_sub(1);
        NashSummary {
            pointwise_max_error,
            d_star_1d: OptimalSummary::of(&self.optimal_1d),
            d_star_2d: OptimalSummary::of(&self.optimal_2d),
            minus_log4: -(4f64.ln()),
            cost_min,
            bilinear_lr: self.config.bilinear.lr,
            bilinear_steps: self.simultaneous.x.len().saturating_sub(1),
            start_distance: self.simultaneous.distance[0],
            simultaneous_final_distance: *self.simultaneous.distance.last().unwrap_or(&f64::NAN),
            alternating_max_distance: self.alternating.distance.iter().copied().fold(0.0, f64::max),
            vanilla: RunSummary::of(&self.vanilla),
            remedy: RunSummary::of(&self.remedy),
            vanishing_d_fake: (v.d_fake.first().copied().unwrap_or(f64::NAN), v.d_fake.get(last).copied().unwrap_or(f64::NAN)),
            vanishing_grad_minimax: (v.grad_minimax.first().copied().unwrap_or(f64::NAN), v.grad_minimax.get(last).copied().unwrap_or(f64::NAN)),
            vanishing_grad_non_saturating: (
                v.grad_non_saturating.first().copied().unwrap_or(f64::NAN),
                v.grad_non_saturating.get(last).copied().unwrap_or(f64::NAN),
            ),
        }
    }

    /// Writes every figure as PNG, `nash.json` (the summary), `runs_2d.json`
    /// (the 2D runs' histories and final statistics) and `config.json` into
    /// `dir`, atomically. Returns the files written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        crate::fsutil::create_dir(dir)?;
        let drawn;
        let figures = match &self.figures {
            Some(f) => f,
            None => {
                drawn = self.draw()?;
                &drawn
            }
        };
        let mut files = vec![];
        for (name, fig) in figures.named() {
            let path = dir.join(format!("{name}.png"));
            fig.save_png(&path)?;
            files.push(path);
        }
        let runs = serde_json::json!({
            "vanilla": { "label": self.vanilla.config.label(), "history": self.vanilla.history, "final_stats": self.vanilla.final_stats },
            "remedy": { "label": self.remedy.config.label(), "history": self.remedy.history, "final_stats": self.remedy.final_stats },
            "vanishing": self.vanishing,
            "bilinear": [self.simultaneous.clone(), self.alternating.clone()],
        });
        for (name, value) in [
            ("nash.json", serde_json::to_value(self.summary())?),
            ("runs_2d.json", runs),
            ("config.json", serde_json::json!({ "config": self.config, "runtime": crate::device::runtime_info() })),
        ] {
            let path = dir.join(name);
            crate::fsutil::write_json(&path, &value)?;
            files.push(path);
        }
        Ok(files)
    }
}

/// A trained discriminator against D*, in numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalSummary {
    pub mean_abs_error: f64,
    pub max_abs_error: f64,
    pub value_trained: f64,
    pub nash: NashCheck,
}

impl OptimalSummary {
    fn of(r: &OptimalDReport) -> Self {
        Self { mean_abs_error: r.mean_abs_error, max_abs_error: r.max_abs_error, value_trained: r.value_trained, nash: r.nash.clone() }
    }
}

/// A 2D run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub label: String,
    pub steps: usize,
    pub stats: Option<ModeStats>,
    pub wall_time_secs: f64,
}

impl RunSummary {
    fn of(r: &Toy2dReport) -> Self {
        Self { label: r.config.label(), steps: r.config.steps, stats: r.final_stats.clone(), wall_time_secs: r.wall_time_secs }
    }
}

/// The headline numbers of [`nash_demo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NashSummary {
    /// max |argmax_y (a·log y + b·log(1 − y)) − a/(a + b)| over the checked pairs.
    pub pointwise_max_error: f64,
    pub d_star_1d: OptimalSummary,
    pub d_star_2d: OptimalSummary,
    pub minus_log4: f64,
    /// The smallest C(G) along the shifts (−log 4 at shift 0).
    pub cost_min: f64,
    pub bilinear_lr: f64,
    pub bilinear_steps: usize,
    pub start_distance: f64,
    pub simultaneous_final_distance: f64,
    pub alternating_max_distance: f64,
    pub vanilla: RunSummary,
    pub remedy: RunSummary,
    /// (first, last) measurement of the vanishing-gradient experiment.
    pub vanishing_d_fake: (f64, f64),
    pub vanishing_grad_minimax: (f64, f64),
    pub vanishing_grad_non_saturating: (f64, f64),
}

impl std::fmt::Display for NashSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stats = |r: &RunSummary| r.stats.as_ref().map_or("no modes to count".to_string(), |s| s.to_string());
        writeln!(f, "pointwise max of a·log y + b·log(1−y) vs a/(a+b): largest difference {:.1e}", self.pointwise_max_error)?;
        for (name, d) in [("1D", &self.d_star_1d), ("2D", &self.d_star_2d)] {
            writeln!(
                f,
                "{name}: trained D vs D*: mean |D − D*| = {:.4}, max = {:.3};  V(G, D) = {:.4} ≤ V(G, D*) = {:.4} = −log 4 + 2·JSD = {:.4} (JSD = {:.4})",
                d.mean_abs_error, d.max_abs_error, d.value_trained, d.nash.value_at_optimum, d.nash.predicted, d.nash.jsd
            )?;
        }
        writeln!(f, "min over shifts of C(G) = {:.6}; −log 4 = {:.6}", self.cost_min, self.minus_log4)?;
        writeln!(
            f,
            "x·y game, η = {}, {} steps from distance {:.3}: simultaneous ends at {:.3}, alternating never exceeds {:.3}",
            self.bilinear_lr, self.bilinear_steps, self.start_distance, self.simultaneous_final_distance, self.alternating_max_distance
        )?;
        writeln!(f, "{} ({} steps, {:.1}s): {}", self.vanilla.label, self.vanilla.steps, self.vanilla.wall_time_secs, stats(&self.vanilla))?;
        writeln!(f, "{} ({} steps, {:.1}s): {}", self.remedy.label, self.remedy.steps, self.remedy.wall_time_secs, stats(&self.remedy))?;
        write!(
            f,
            "D vs fixed G: D(G(z)) {:.3} -> {:.3}; ‖∇θ L_G‖ minimax {:.3} -> {:.3}, non-saturating {:.3} -> {:.3}",
            self.vanishing_d_fake.0,
            self.vanishing_d_fake.1,
            self.vanishing_grad_minimax.0,
            self.vanishing_grad_minimax.1,
            self.vanishing_grad_non_saturating.0,
            self.vanishing_grad_non_saturating.1
        )
    }
}
