//! The GAN family on one trainer: any architecture of `nets.rs`, any
//! objective of `objective/`, the training tips of `tips.rs`, conditional
//! and AC-GAN training, and checkpoints that resume a run exactly.
//!
//! ```no_run
//! use gan_tutorial::prelude::*;
//! # fn main() -> gan_tutorial::Result<()> {
//! let config = GanConfig::variant(Variant::WganGp).with_steps(500).with_seed(1);
//! let run = train_gan(&config)?;
//! plot_losses(&run)?.save("wgan_gp_losses.png")?;
//! # Ok(())
//! # }
//! ```
//!
//! One iteration, for every variant: a D (critic) step on a real batch and
//! fresh fakes; then, every `n_dis`-th iteration, a G step on fresh codes.
//! Every iteration's randomness (codes, labels, flips, noise, dropout) is
//! drawn after seeding from `(seed, step)`, so a run resumed from a
//! checkpoint continues exactly as an uninterrupted one.
use super::latent::LatentDist;
use super::model::{Discriminator, Gan, Generator};
use super::nets::{NetArch, Conditioning, DNorm, FamilyDiscriminator, FamilyGenerator, NetSpec};
use super::objective::{gradient_penalty, wasserstein::clip_weights, Objective};
use super::observer::format_epoch;
use super::report::{SampleSnapshot, StepLog, TrainHistory};
use super::tips::{grad_norm, FailureChecks, FailureMonitor, Tips, TrainWarning};
use crate::data::{Batcher, DataSource, MnistData};
use crate::error::{Error, Result};
use crate::notebook::RunMode;
use crate::optim::{Optimizer, OptimizerKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{nn, Device, Kind, Reduction, Tensor};

/// The named members of the family, each a preset of [`GanConfig`] with the
/// settings of its paper (scaled to MNIST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The tutorial's MLPs, non-saturating BCE, Adam 1e-3, uniform z.
    Vanilla,
    /// DCGAN: strided convolutions, batch norm, Adam 2e-4 β₁ 0.5, N(0, I) codes.
    Dcgan,
    /// LSGAN: DCGAN's nets with the least-squares objective.
    Lsgan,
    /// WGAN: a DCGAN critic, weights clipped to ±0.01, RMSprop 5e-5, 5 critic steps per G step.
    Wgan,
    /// WGAN-GP: layer norm in the critic, λ = 10, Adam 1e-4 β = (0, 0.9), 5 critic steps.
    WganGp,
    /// SNGAN: spectral norm on every D weight, hinge loss, Adam 2e-4 β = (0.5, 0.999).
    Sngan,
    /// Conditional DCGAN with a projection discriminator.
    Cgan,
    /// AC-GAN: conditional G, D with an auxiliary classifier.
    Acgan,
}

impl Variant {
    pub const ALL: [Variant; 8] = [Variant::Vanilla, Variant::Dcgan, Variant::Lsgan, Variant::Wgan, Variant::WganGp, Variant::Sngan, Variant::Cgan, Variant::Acgan];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Vanilla => "vanilla",
            Variant::Dcgan => "dcgan",
            Variant::Lsgan => "lsgan",
            Variant::Wgan => "wgan",
            Variant::WganGp => "wgan-gp",
            Variant::Sngan => "sngan",
            Variant::Cgan => "cgan",
            Variant::Acgan => "acgan",
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Variant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let key = s.to_ascii_lowercase().replace('_', "-");
        Variant::ALL.into_iter().find(|v| v.name() == key || v.name().replace('-', "") == key).ok_or_else(|| {
            let names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
            Error::config("variant", format!("`{s}` is not a GAN variant: use one of {}", names.join(", ")))
        })
    }
}

/// Everything a family run is, serialised beside its outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GanConfig {
    /// A label for tables and file names (the preset's name by default).
    pub name: String,
    pub seed: u64,
    pub num_epochs: usize,
    /// When set, the run's length in iterations (D steps), whatever `num_epochs` says.
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    pub net: NetSpec,
    pub objective: Objective,
    /// WGAN's clipping bound c.
    pub weight_clip: f64,
    /// WGAN-GP's λ.
    pub gp_lambda: f64,
    /// Weight of AC-GAN's class loss in both players' losses.
    pub aux_weight: f64,
    pub optimizer_g: OptimizerKind,
    pub optimizer_d: OptimizerKind,
    pub lr_g: f64,
    pub lr_d: f64,
    /// D (critic) steps per G step.
    pub n_dis: usize,
    pub latent: LatentDist,
    pub tips: Tips,
    pub checks: FailureChecks,
    pub data: DataSource,
    /// Train on the first this many training images only (None: all).
    pub max_train: Option<usize>,
    pub device: Option<String>,
    pub num_fixed_samples: usize,
    /// Epochs (1-based) after which fixed-noise samples are kept; the last always is.
    pub sample_epochs: Vec<usize>,
    /// A progress line every this many epochs (0: quiet).
    pub print_every: usize,
    /// Write a checkpoint into `checkpoint_dir` every this many steps (0: only at the end).
    pub checkpoint_every: usize,
    pub checkpoint_dir: Option<PathBuf>,
}

impl Default for GanConfig {
    fn default() -> Self {
        GanConfig::variant(Variant::Dcgan)
    }
}

impl GanConfig {
    /// The preset of a named variant.
    pub fn variant(v: Variant) -> Self {
        let dcgan_net = NetSpec { arch: NetArch::Dcgan, g_width: 64, d_width: 64, d_norm: DNorm::Batch, ..Default::default() };
        let adam = |beta1, beta2| OptimizerKind::Adam { beta1, beta2 };
        let base = GanConfig {
            name: v.name().to_string(),
            seed: 0,
            num_epochs: 5,
            max_steps: None,
            batch_size: 64,
            net: dcgan_net,
            objective: Objective::NonSaturating,
            weight_clip: 0.01,
            gp_lambda: 10.0,
            aux_weight: 1.0,
            optimizer_g: adam(0.5, 0.999),
            optimizer_d: adam(0.5, 0.999),
            lr_g: 2e-4,
            lr_d: 2e-4,
            n_dis: 1,
            latent: LatentDist::Gaussian,
            tips: Tips::default(),
            checks: FailureChecks::default(),
            data: DataSource::Embedded,
            max_train: None,
            device: None,
            num_fixed_samples: 64,
            sample_epochs: vec![1],
            print_every: 1,
            checkpoint_every: 0,
            checkpoint_dir: None,
        };
        match v {
            Variant::Vanilla => GanConfig {
                net: NetSpec::default(),
                optimizer_g: adam(0.9, 0.999),
                optimizer_d: adam(0.9, 0.999),
                lr_g: 1e-3,
                lr_d: 1e-3,
                latent: LatentDist::Uniform,
                batch_size: 128,
                ..base
            },
            Variant::Dcgan => base,
            Variant::Lsgan => GanConfig { objective: Objective::LeastSquares, ..base },
            Variant::Wgan => GanConfig {
                objective: Objective::Wasserstein,
                optimizer_g: OptimizerKind::RmsProp,
                optimizer_d: OptimizerKind::RmsProp,
                lr_g: 5e-5,
                lr_d: 5e-5,
                n_dis: 5,
                ..base
            },
            Variant::WganGp => GanConfig {
                objective: Objective::WassersteinGp,
                net: NetSpec { d_norm: DNorm::Layer, ..dcgan_net },
                optimizer_g: adam(0.0, 0.9),
                optimizer_d: adam(0.0, 0.9),
                lr_g: 1e-4,
                lr_d: 1e-4,
                n_dis: 5,
                ..base
            },
            Variant::Sngan => GanConfig { objective: Objective::Hinge, net: NetSpec { d_norm: DNorm::Spectral, ..dcgan_net }, ..base },
            Variant::Cgan => GanConfig { net: NetSpec { conditioning: Conditioning::Projection, ..dcgan_net }, ..base },
            Variant::Acgan => GanConfig { net: NetSpec { conditioning: Conditioning::AuxClassifier, ..dcgan_net }, ..base },
        }
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn with_epochs(mut self, n: usize) -> Self {
        self.num_epochs = n;
        self.max_steps = None;
        self
    }
    /// Train for `steps` iterations, however many epochs that takes.
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.max_steps = Some(steps);
        self
    }
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    pub fn with_objective(mut self, o: Objective) -> Self {
        self.objective = o;
        self
    }
    pub fn with_d_norm(mut self, n: DNorm) -> Self {
        self.net.d_norm = n;
        self
    }
    pub fn with_arch(mut self, arch: NetArch) -> Self {
        self.net.arch = arch;
        self
    }
    /// G's and D's widths (MLP hidden units, DCGAN base channels).
    pub fn with_widths(mut self, g: i64, d: i64) -> Self {
        self.net.g_width = g;
        self.net.d_width = d;
        self
    }
    pub fn with_image_side(mut self, side: i64) -> Self {
        self.net.image_side = side;
        self
    }
    pub fn with_lrs(mut self, lr_g: f64, lr_d: f64) -> Self {
        self.lr_g = lr_g;
        self.lr_d = lr_d;
        self
    }
    pub fn with_n_dis(mut self, n: usize) -> Self {
        self.n_dis = n;
        self
    }
    pub fn with_latent(mut self, l: LatentDist) -> Self {
        self.latent = l;
        self
    }
    pub fn with_tips(mut self, tips: Tips) -> Self {
        self.tips = tips;
        self
    }
    pub fn with_label_smoothing(mut self, s: f64) -> Self {
        self.tips.label_smoothing = s;
        self
    }
    pub fn with_label_flip(mut self, p: f64) -> Self {
        self.tips.label_flip = p;
        self
    }
    pub fn with_instance_noise(mut self, std: f64) -> Self {
        self.tips.instance_noise = std;
        self
    }
    pub fn with_data(mut self, data: DataSource) -> Self {
        self.data = data;
        self
    }
    pub fn with_max_train(mut self, n: usize) -> Self {
        self.max_train = Some(n);
        self
    }
    pub fn with_device(mut self, d: impl Into<String>) -> Self {
        self.device = Some(d.into());
        self
    }
    pub fn with_print_every(mut self, n: usize) -> Self {
        self.print_every = n;
        self
    }
    pub fn with_fixed_samples(mut self, n: usize) -> Self {
        self.num_fixed_samples = n;
        self
    }
    /// Checkpoints into `dir` every `every` steps (0: only at the end).
    pub fn with_checkpoints(mut self, dir: impl Into<PathBuf>, every: usize) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self.checkpoint_every = every;
        self
    }

    /// In [`RunMode::Quick`] (CI): at most `quick_steps` iterations; the rest as set.
    pub fn for_mode(self, mode: RunMode, quick_steps: usize) -> Self {
        if mode.is_quick() && self.max_steps.is_none_or(|s| s > quick_steps) { self.with_steps(quick_steps) } else { self }
    }

    /// Checks every setting, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        self.net.validate()?;
        self.tips.validate(self.objective)?;
        for (name, v) in [("lr_g", self.lr_g), ("lr_d", self.lr_d), ("weight_clip", self.weight_clip), ("gp_lambda", self.gp_lambda)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(name, format!("{v} must be a positive number")));
            }
        }
        if !(self.aux_weight.is_finite() && self.aux_weight >= 0.0) {
            return Err(Error::config("aux_weight", format!("{} must be >= 0", self.aux_weight)));
        }
        if self.batch_size < 2 {
            return Err(Error::config("batch_size", format!("{}: use at least 2 (batch norm needs more than one sample)", self.batch_size)));
        }
        if self.n_dis == 0 {
            return Err(Error::config("n_dis", "take at least one D step per G step"));
        }
        if (self.num_epochs == 0 && self.max_steps.is_none()) || self.max_steps == Some(0) {
            return Err(Error::config("num_epochs / max_steps", "train for at least one step"));
        }
        if self.num_fixed_samples == 0 {
            return Err(Error::config("num_fixed_samples", "keep at least one sample image"));
        }
        if self.objective == Objective::WassersteinGp && self.net.d_norm == DNorm::Batch {
            return Err(Error::config("net.d_norm", "batch norm in a WGAN-GP critic makes the per-sample penalty invalid (Gulrajani et al. §4): use layer, none or spectral"));
        }
        if self.max_train == Some(0) {
            return Err(Error::config("max_train", "train on at least one image"));
        }
        Ok(())
    }

    pub fn resolve_device(&self) -> Result<Device> {
        match &self.device {
            Some(d) => crate::device::parse_device(d),
            None => crate::device::device(),
        }
    }

    /// Both networks, initialised from the seed.
    pub fn build_gan(&self, device: Device) -> Gan {
        tch::manual_seed(self.seed as i64);
        let g_vs = nn::VarStore::new(device);
        let d_vs = nn::VarStore::new(device);
        let generator: Box<dyn Generator> = Box::new(FamilyGenerator::new(&g_vs.root(), self.net));
        let discriminator: Box<dyn Discriminator> = Box::new(FamilyDiscriminator::new(&d_vs.root(), self.net));
        Gan { g_vs, d_vs, generator, discriminator, latent: self.latent }
    }

    /// The settings that define the training (not its length, printing or
    /// checkpointing): a checkpoint resumes only under the same ones.
    fn identity(&self) -> GanConfig {
        GanConfig {
            num_epochs: 0,
            max_steps: None,
            print_every: 0,
            sample_epochs: vec![],
            checkpoint_every: 0,
            checkpoint_dir: None,
            device: None,
            ..self.clone()
        }
    }
}

impl std::fmt::Display for GanConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = &self.net;
        writeln!(f, "name            {}", self.name)?;
        writeln!(f, "seed            {}", self.seed)?;
        match self.max_steps {
            Some(s) => writeln!(f, "length          {s} iterations")?,
            None => writeln!(f, "length          {} epochs", self.num_epochs)?,
        }
        writeln!(f, "batch size      {}", self.batch_size)?;
        let arch = match n.arch {
            NetArch::Mlp => "MLP",
            NetArch::Dcgan => "DCGAN",
        };
        writeln!(f, "networks        {arch}, widths G {} / D {}, {2}x{2} images", n.g_width, n.d_width, n.image_side)?;
        let norm = match n.d_norm {
            DNorm::None => "none",
            DNorm::Batch => "batch norm",
            DNorm::Layer => "layer norm",
            DNorm::Spectral => "spectral norm",
        };
        writeln!(f, "D normalisation {norm}")?;
        let cond = match n.conditioning {
            Conditioning::None => "none",
            Conditioning::Projection => "labels: embedding in G, projection in D",
            Conditioning::AuxClassifier => "labels: embedding in G, auxiliary classifier in D (AC-GAN)",
        };
        writeln!(f, "conditioning    {cond}")?;
        let extra = match self.objective {
            Objective::Wasserstein => format!(", weights clipped to ±{}", self.weight_clip),
            Objective::WassersteinGp => format!(", gradient penalty λ = {}", self.gp_lambda),
            _ => String::new(),
        };
        writeln!(f, "objective       {}{extra}", self.objective)?;
        writeln!(f, "optimisers      G {} lr {} / D {} lr {}", self.optimizer_g, self.lr_g, self.optimizer_d, self.lr_d)?;
        writeln!(f, "D steps per G   {}", self.n_dis)?;
        let latent = match self.latent {
            LatentDist::Uniform => "uniform on [-1, 1]",
            LatentDist::Gaussian => "standard normal",
        };
        writeln!(f, "latent z        {} dimensions, {latent}", n.latent_dim)?;
        for t in self.tips.describe() {
            writeln!(f, "tip             {t}")?;
        }
        write!(f, "data            {}{}", self.data, self.max_train.map(|m| format!(", first {m} training images")).unwrap_or_default())
    }
}

/// Per-iteration numbers beyond [`TrainHistory`]'s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepExtras {
    /// ‖∇D‖ over all of D's parameters, at the D step.
    pub d_grad_norms: Vec<f64>,
    /// ‖∇G‖ at the last G step (carried forward between G steps).
    pub g_grad_norms: Vec<f64>,
    /// WGAN-GP's penalty term (0 for other objectives).
    pub penalties: Vec<f64>,
    /// AC-GAN: D's accuracy on the real batch's classes (empty for other variants).
    pub class_accuracy: Vec<f64>,
}

/// A finished family run.
#[derive(Debug)]
pub struct GanReport {
    pub config: GanConfig,
    /// Losses, mean D outputs (probabilities for BCE, raw scores otherwise) and samples.
    pub history: TrainHistory,
    pub extras: StepExtras,
    /// The failure checks that fired (one per kind).
    pub warnings: Vec<TrainWarning>,
    /// Whether training stopped before its planned length (a non-finite loss).
    pub stopped_early: bool,
    pub gan: Gan,
}

impl AsRef<TrainHistory> for GanReport {
    fn as_ref(&self) -> &TrainHistory {
        &self.history
    }
}

impl GanReport {
    /// Means over the last `k` iterations: `(d_loss, g_loss, D(x), D(G(z)))`.
    pub fn final_means(&self, k: usize) -> (f64, f64, f64, f64) {
        let h = &self.history;
        let from = h.steps().saturating_sub(k);
        let mean = |v: &[f64]| v[from..].iter().sum::<f64>() / (v.len() - from).max(1) as f64;
        (mean(&h.d_losses), mean(&h.g_losses), mean(&h.d_real), mean(&h.d_fake))
    }

    /// `config.json`, `history.json` (numbers and warnings) and the networks
    /// (`gan.safetensors`) in `dir`, each written atomically. Returns the paths.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        crate::fsutil::create_dir(dir)?;
        let paths = vec![dir.join("config.json"), dir.join("history.json"), dir.join("gan.safetensors")];
        crate::fsutil::write_json(&paths[0], &serde_json::json!({"config": self.config, "runtime": crate::runtime_info()}))?;
        crate::fsutil::write_json(&paths[1], &serde_json::json!({"history": self.history, "extras": self.extras, "warnings": self.warnings, "stopped_early": self.stopped_early}))?;
        self.gan.save(&paths[2])?;
        Ok(paths)
    }
}

/// Trains any member of the family.
pub fn train_gan(config: &GanConfig) -> Result<GanReport> {
    run(config, None)
}

/// Continues the run checkpointed in `dir` up to `config`'s length. The
/// config must match the checkpoint's in everything but length, printing,
/// samples kept, checkpointing and device; the continued run's numbers are
/// the ones an uninterrupted run would have produced.
pub fn resume_gan(config: &GanConfig, dir: impl AsRef<Path>) -> Result<GanReport> {
    run(config, Some(dir.as_ref()))
}

/// Loads real images (`[n, side²]` in [−1, 1], padded to 32×32 if asked) and labels.
fn load_data(config: &GanConfig, device: Device) -> Result<(Tensor, Tensor)> {
    let data = MnistData::load(&config.data)?;
    let train = match config.max_train {
        Some(m) => data.train.take(m),
        None => data.train,
    };
    let (rows, cols) = (train.rows as i64, train.cols as i64);
    let mut x = train.to_tensor_pm1(device);
    let side = config.net.image_side;
    if side == rows + 4 && rows == cols {
        // 28 → 32: two background (−1) pixels on each side, as DCGAN-on-MNIST code does.
        x = ((x + 1.0).view([-1, 1, rows, cols]).constant_pad_nd([2, 2, 2, 2]) - 1.0).view([-1, side * side]);
    } else if side != rows || side != cols {
        return Err(Error::config("net.image_side", format!("{side}, but the data's images are {rows}x{cols} (use {rows}, or {} for padded DCGAN-32)", rows + 4)));
    }
    let labels = Tensor::from_slice(&train.labels).to_kind(Kind::Int64).to_device(device);
    Ok((x, labels))
}

fn step_seed(seed: u64, step: usize) -> u64 {
    let mut z = seed ^ (step as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn set_requires_grad(params: &[Tensor], on: bool) {
    for p in params {
        let _ = p.set_requires_grad(on);
    }
}

struct Trainer<'a> {
    config: &'a GanConfig,
    gan: &'a Gan,
    g_opt: Optimizer,
    d_opt: Optimizer,
    d_params: Vec<Tensor>,
    g_params: Vec<Tensor>,
    conditional: bool,
    aux: bool,
    last_g: (f64, f64),
}

impl Trainer<'_> {
    /// One iteration. Returns `[d_loss, g_loss, D(x), D(G(z)), ‖∇D‖, ‖∇G‖, penalty, class accuracy]`.
    fn step(&mut self, step: usize, total: usize, real: &Tensor, labels: &Tensor) -> Result<[f64; 8]> {
        let c = self.config;
        let gan = self.gan;
        let n = real.size()[0];
        let obj = c.objective;
        let s = step_seed(c.seed, step);
        tch::manual_seed((s >> 1) as i64);
        gan.generator.reseed(s);
        gan.discriminator.reseed(s);
        let noise = c.tips.noise_std(step, total);
        let y = self.conditional.then(|| labels.shallow_clone());
        // ---- D step: real batch and fresh fakes (with the real batch's labels).
        let z = gan.sample_latent(n);
        let fake = tch::no_grad(|| gan.generator.forward_cond_t(&z, y.as_ref(), true));
        let (real_in, fake_in) = (Tips::add_noise(real, noise), Tips::add_noise(&fake, noise));
        let d_labels = if c.net.conditioning == Conditioning::Projection { y.as_ref() } else { None };
        let out_r = gan.discriminator.forward_cond_t(&real_in, d_labels, true);
        let out_f = gan.discriminator.forward_cond_t(&fake_in, d_labels, true);
        let (t_real, t_fake) = c.tips.targets(n, real.device());
        let mut d_loss = obj.d_loss(&out_r.logits, &out_f.logits, &t_real, &t_fake);
        let mut penalty = Tensor::from(0.0f64);
        if obj == Objective::WassersteinGp {
            let d = &gan.discriminator;
            let critic = |x: &Tensor| d.forward_cond_t(x, d_labels, true).logits;
            penalty = gradient_penalty(&critic, &real_in, &fake_in, c.gp_lambda)?.0;
            d_loss = d_loss + &penalty;
        }
        let mut class_acc = Tensor::from(f64::NAN);
        if let (Some(cr), Some(cf), true) = (&out_r.class_logits, &out_f.class_logits, self.aux) {
            d_loss = d_loss + c.aux_weight * (cr.cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, -100, 0.0) + cf.cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, -100, 0.0));
            class_acc = cr.argmax(1, false).eq_tensor(labels).to_kind(Kind::Double).mean(None);
        }
        self.d_opt.zero_grad();
        d_loss.backward();
        let d_grad = grad_norm(&self.d_params);
        self.d_opt.step();
        if obj == Objective::Wasserstein {
            clip_weights(&gan.d_vs, c.weight_clip);
        }
        // ---- G step, every n_dis-th iteration.
        if step % c.n_dis == 0 {
            let z = gan.sample_latent(n);
            let y_g = self.conditional.then(|| Tensor::randint(c.net.num_classes, [n], (Kind::Int64, real.device())));
            let fake = gan.generator.forward_cond_t(&z, y_g.as_ref(), true);
            set_requires_grad(&self.d_params, false);
            let g_labels = if c.net.conditioning == Conditioning::Projection { y_g.as_ref() } else { None };
            let out = gan.discriminator.forward_cond_t(&Tips::add_noise(&fake, noise), g_labels, true);
            let mut g_loss = obj.g_loss(&out.logits);
            if let (Some(cf), Some(yg), true) = (&out.class_logits, &y_g, self.aux) {
                g_loss = g_loss + c.aux_weight * cf.cross_entropy_loss::<Tensor>(yg, None, Reduction::Mean, -100, 0.0);
            }
            self.g_opt.zero_grad();
            g_loss.backward();
            let g_grad = grad_norm(&self.g_params);
            self.g_opt.step();
            set_requires_grad(&self.d_params, true);
            let v: Vec<f64> = Vec::try_from(Tensor::stack(&[g_loss.detach().to_kind(Kind::Double), g_grad.to_kind(Kind::Double)], 0))?;
            self.last_g = (v[0], v[1]);
        }
        let stats = tch::no_grad(|| {
            Tensor::stack(
                &[
                    d_loss.detach().to_kind(Kind::Double),
                    obj.score(&out_r.logits).mean(Kind::Double),
                    obj.score(&out_f.logits).mean(Kind::Double),
                    d_grad.to_kind(Kind::Double),
                    penalty.detach().to_kind(Kind::Double).to_device(real.device()),
                    class_acc.to_kind(Kind::Double).to_device(real.device()),
                ],
                0,
            )
        });
        let v: Vec<f64> = Vec::try_from(stats)?;
        Ok([v[0], self.last_g.0, v[1], v[2], v[3], self.last_g.1, v[4], v[5]])
    }
}

fn run(config: &GanConfig, resume: Option<&Path>) -> Result<GanReport> {
    config.validate()?;
    let device = config.resolve_device()?;
    let (x, labels) = load_data(config, device)?;
    // Labels ride along as a last column, so the batches keep them paired.
    let side2 = config.net.image_dim();
    let data = Tensor::cat(&[x, labels.to_kind(Kind::Float).unsqueeze(1)], 1);
    let batches = Batcher::new(data, config.batch_size, true, config.seed)?;
    let gan = config.build_gan(device);
    let fixed_noise = gan.sample_latent(config.num_fixed_samples as i64);
    let fixed_labels = Tensor::arange(config.num_fixed_samples as i64, (Kind::Int64, device)).remainder(config.net.num_classes.max(1));
    let per_epoch = batches.batches_per_epoch();
    let total = config.max_steps.unwrap_or_else(|| per_epoch.saturating_mul(config.num_epochs));
    let mut trainer = Trainer {
        config,
        gan: &gan,
        g_opt: Optimizer::new(&gan.g_vs, config.optimizer_g, config.lr_g)?,
        d_opt: Optimizer::new(&gan.d_vs, config.optimizer_d, config.lr_d)?,
        d_params: gan.d_vs.trainable_variables(),
        g_params: gan.g_vs.trainable_variables(),
        conditional: config.net.is_conditional(),
        aux: config.net.conditioning == Conditioning::AuxClassifier,
        last_g: (f64::NAN, f64::NAN),
    };
    let mut h = TrainHistory { batches_per_epoch: per_epoch, device: crate::device::device_name(device), ..Default::default() };
    let mut extras = StepExtras::default();
    let mut monitor = FailureMonitor::new(config.checks, vec![]);
    if let Some(dir) = resume {
        let ck = checkpoint::load(dir, config, &gan, &mut trainer.g_opt, &mut trainer.d_opt)?;
        h = ck.history;
        extras = ck.extras;
        monitor = FailureMonitor::resumed(config.checks, ck.warnings, ck.low_d_run);
        trainer.last_g = ck.last_g;
        if h.steps() > total {
            return Err(Error::config("max_steps", format!("the checkpoint is at step {}, past this run's length {total}: ask for more steps", h.steps())));
        }
    }
    let started = Instant::now();
    let num_epochs = total.div_ceil(per_epoch);
    let start_epoch = h.steps() / per_epoch + 1;
    let mut stopped = false;
    'epochs: for epoch in start_epoch..=num_epochs {
        let epoch_started = Instant::now();
        let skip = h.steps() - (epoch - 1) * per_epoch;
        let from = h.steps() - skip;
        if skip == 0 {
            h.epoch_starts.push(from);
        }
        for (batch, b) in batches.epoch(epoch - 1).enumerate().skip(skip) {
            if h.steps() >= total {
                break;
            }
            let real = b.narrow(1, 0, side2);
            let y = b.select(1, side2).to_kind(Kind::Int64);
            let step = h.steps();
            let v = trainer.step(step, total, &real, &y)?;
            let log = StepLog { step, epoch, batch, d_loss: v[0], g_loss: v[1], d_real: v[2], d_fake: v[3] };
            h.push(&log);
            extras.d_grad_norms.push(v[4]);
            extras.g_grad_norms.push(v[5]);
            extras.penalties.push(v[6]);
            if trainer.aux {
                extras.class_accuracy.push(v[7]);
            }
            for w in monitor.check(step, v[0], v[1], v[4], v[5], config.objective.has_targets()) {
                if config.print_every > 0 {
                    println!("{w}");
                }
            }
            if monitor.stop() {
                stopped = true;
                break 'epochs;
            }
            if config.checkpoint_every > 0 && h.steps() % config.checkpoint_every == 0 && h.steps() < total {
                if let Some(dir) = &config.checkpoint_dir {
                    checkpoint::save(dir, config, &gan, &trainer.g_opt, &trainer.d_opt, &h, &extras, &monitor, trainer.last_g)?;
                }
            }
        }
        let stats = h.epoch_stats(epoch, from, epoch_started.elapsed().as_secs_f64());
        if h.epochs.last().is_some_and(|e| e.epoch == epoch) {
            h.epochs.pop();
        }
        h.epochs.push(stats);
        if config.print_every > 0 && (epoch % config.print_every == 0 || epoch == num_epochs || epoch == 1) {
            let from = stats.steps.max(1);
            let dg = &extras.d_grad_norms[extras.d_grad_norms.len().saturating_sub(from)..];
            let mean_dg = dg.iter().sum::<f64>() / dg.len().max(1) as f64;
            println!("[{}] {}  |grad D| {mean_dg:.2}{}", config.name, format_epoch(&stats, num_epochs), if monitor.warnings.is_empty() { String::new() } else { format!("  ({} warning(s))", monitor.warnings.len()) });
        }
        if config.sample_epochs.contains(&epoch) || epoch == num_epochs {
            let x = if trainer.conditional { gan.generate_cond_from(&fixed_noise, &fixed_labels)? } else { gan.generate_from(&fixed_noise)? };
            h.samples.retain(|s| s.epoch != epoch);
            h.samples.push(SampleSnapshot { epoch, step: h.steps(), images: gan.to_images(&x)? });
        }
    }
    h.wall_time_secs += started.elapsed().as_secs_f64();
    if let Some(dir) = &config.checkpoint_dir {
        checkpoint::save(dir, config, &gan, &trainer.g_opt, &trainer.d_opt, &h, &extras, &monitor, trainer.last_g)?;
    }
    let warnings = monitor.warnings;
    Ok(GanReport { config: config.clone(), history: h, extras, warnings, stopped_early: stopped, gan })
}

/// Checkpoints: `checkpoint.safetensors` (both networks with their buffers,
/// both optimisers' states) and `checkpoint.json` (config, step, history so
/// far), each written to a temporary file and renamed.
pub mod checkpoint {
    use super::*;

    #[derive(Serialize, Deserialize)]
    pub(super) struct Meta {
        pub step: usize,
        pub config: GanConfig,
        pub history: TrainHistory,
        pub extras: StepExtras,
        pub warnings: Vec<TrainWarning>,
        /// The D-loss check's count of low steps in a row, so that a resumed run warns at the same step.
        #[serde(default)]
        pub low_d_run: usize,
        pub last_g: (f64, f64),
    }

    pub(super) struct Loaded {
        pub history: TrainHistory,
        pub extras: StepExtras,
        pub warnings: Vec<TrainWarning>,
        pub low_d_run: usize,
        pub last_g: (f64, f64),
    }

    fn named(vs: &nn::VarStore, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        out.extend(vars.into_iter().map(|(n, t)| (format!("{prefix}.{n}"), t.detach().to_device(Device::Cpu).contiguous())));
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn save(dir: &Path, config: &GanConfig, gan: &Gan, g_opt: &Optimizer, d_opt: &Optimizer, h: &TrainHistory, extras: &StepExtras, monitor: &FailureMonitor, last_g: (f64, f64)) -> Result<()> {
        crate::fsutil::create_dir(dir)?;
        let mut tensors = Vec::new();
        named(&gan.g_vs, "generator", &mut tensors);
        named(&gan.d_vs, "discriminator", &mut tensors);
        for (prefix, opt) in [("opt_g", g_opt), ("opt_d", d_opt)] {
            tensors.extend(opt.state().into_iter().map(|(n, t)| (format!("{prefix}.{n}"), t.detach().to_device(Device::Cpu).contiguous())));
        }
        tensors.push(("meta.step".into(), Tensor::from_slice(&[h.steps() as i64])));
        let path = dir.join("checkpoint.safetensors");
        let tmp = crate::fsutil::temp_path(&path);
        let written = Tensor::write_safetensors(&tensors, &tmp).map_err(Error::from).and_then(|_| std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e)));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        let meta = Meta { step: h.steps(), config: config.clone(), history: h.clone(), extras: extras.clone(), warnings: monitor.warnings.clone(), low_d_run: monitor.low_d_run(), last_g };
        crate::fsutil::write_json(dir.join("checkpoint.json"), &meta)
    }

    pub(super) fn load(dir: &Path, config: &GanConfig, gan: &Gan, g_opt: &mut Optimizer, d_opt: &mut Optimizer) -> Result<Loaded> {
        let json_path = dir.join("checkpoint.json");
        let text = std::fs::read_to_string(&json_path).map_err(|e| Error::io(&json_path, e))?;
        let meta: Meta = serde_json::from_str(&text).map_err(|e| Error::data(&json_path, format!("not a checkpoint written by train_gan: {e}")))?;
        if meta.config.identity() != config.identity() {
            let a = serde_json::to_value(meta.config.identity())?;
            let b = serde_json::to_value(config.identity())?;
            let differs: Vec<String> = a.as_object().into_iter().flatten().filter(|(k, v)| b.get(k.as_str()) != Some(v)).map(|(k, _)| k.clone()).collect();
            return Err(Error::config(differs.join(", "), format!("differs from the checkpoint in {}: resume with the settings it was trained with", dir.display())));
        }
        let st_path = dir.join("checkpoint.safetensors");
        let tensors = Tensor::read_safetensors(&st_path).map_err(|e| Error::data(&st_path, format!("not a readable checkpoint: {e}")))?;
        let map: std::collections::HashMap<String, Tensor> = tensors.into_iter().collect();
        let step = map.get("meta.step").map(|t| t.int64_value(&[0]) as usize);
        if step != Some(meta.step) {
            return Err(Error::data(&st_path, format!("is at step {step:?} but checkpoint.json at step {}: the checkpoint was interrupted while being written; delete it or write a new one", meta.step)));
        }
        let mut pairs = Vec::new();
        for (prefix, vs) in [("generator", &gan.g_vs), ("discriminator", &gan.d_vs)] {
            for (name, var) in vs.variables() {
                let key = format!("{prefix}.{name}");
                let src = map.get(&key).ok_or_else(|| Error::data(&st_path, format!("has no tensor `{key}`")))?;
                if src.size() != var.size() {
                    return Err(Error::data(&st_path, format!("`{key}` has shape {:?}, the network expects {:?}", src.size(), var.size())));
                }
                pairs.push((var, src.shallow_clone()));
            }
        }
        for (prefix, opt) in [("opt_g", &mut *g_opt), ("opt_d", &mut *d_opt)] {
            let state: Vec<(String, Tensor)> = map.iter().filter_map(|(k, t)| k.strip_prefix(&format!("{prefix}.")).map(|n| (n.to_string(), t.to_device(gan.device())))).collect();
            opt.load_state(&state)?;
        }
        tch::no_grad(|| pairs.into_iter().for_each(|(mut v, s)| v.copy_(&s)));
        Ok(Loaded { history: meta.history, extras: meta.extras, warnings: meta.warnings, low_d_run: meta.low_d_run, last_g: meta.last_g })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(v: Variant) -> GanConfig {
        let mut c = GanConfig::variant(v).with_widths(8, 8).with_batch_size(16).with_max_train(64).with_steps(2).with_device("cpu").with_print_every(0).with_fixed_samples(4);
        c.net.latent_dim = 8;
        c.n_dis = 1;
        c
    }

    #[test]
    fn one_d_step_and_one_g_step_per_variant() {
        let _rng = crate::torch_rng_lock();
        for v in Variant::ALL {
            for side in [28, 32] {
                let c = tiny(v).with_image_side(side);
                let r = train_gan(&c).unwrap_or_else(|e| panic!("{v} {side}: {e}"));
                assert_eq!(r.history.steps(), 2, "{v}");
                for (name, xs) in [("d", &r.history.d_losses), ("g", &r.history.g_losses), ("d_grad", &r.extras.d_grad_norms), ("g_grad", &r.extras.g_grad_norms)] {
                    assert!(xs.iter().all(|x| x.is_finite()), "{v} {side}: {name} {xs:?}");
                }
                let s = &r.history.samples.last().unwrap().images;
                assert_eq!((s.n, s.height, s.width), (4, side as usize, side as usize), "{v}");
                if v == Variant::WganGp {
                    assert!(r.extras.penalties.iter().all(|p| *p > 0.0), "{:?}", r.extras.penalties);
                }
                if v == Variant::Acgan {
                    assert!(r.extras.class_accuracy.iter().all(|a| (0.0..=1.0).contains(a)));
                }
            }
        }
    }

    #[test]
    fn wgan_weights_stay_clipped_and_n_dis_spaces_g_steps() {
        let _rng = crate::torch_rng_lock();
        let mut c = tiny(Variant::Wgan).with_steps(6);
        c.n_dis = 3;
        let r = train_gan(&c).unwrap();
        for p in r.gan.d_vs.trainable_variables() {
            assert!(p.abs().max().double_value(&[]) <= 0.01 + 1e-7);
        }
        // G steps at 0 and 3: the G numbers change only there.
        let g = &r.extras.g_grad_norms;
        assert!(g[0] == g[1] && g[1] == g[2] && g[3] == g[4] && g[4] == g[5] && g[2] != g[3], "{g:?}");
    }

    #[test]
    fn bad_configs_are_named() {
        let _rng = crate::torch_rng_lock();
        let e = GanConfig::variant(Variant::WganGp).with_d_norm(DNorm::Batch).validate().unwrap_err().to_string();
        assert!(e.contains("d_norm") && e.contains("batch norm"), "{e}");
        let e = GanConfig::variant(Variant::Sngan).with_label_smoothing(0.1).validate().unwrap_err().to_string();
        assert!(e.contains("label_smoothing"), "{e}");
        let e = GanConfig::variant(Variant::Dcgan).with_n_dis(0).validate().unwrap_err().to_string();
        assert!(e.contains("n_dis"), "{e}");
        let e = "wgan_gpx".parse::<Variant>().unwrap_err().to_string();
        assert!(e.contains("wgan-gp"), "{e}");
        assert_eq!("WGAN_GP".parse::<Variant>().unwrap(), Variant::WganGp);
        let e = train_gan(&tiny(Variant::Dcgan).with_image_side(30)).unwrap_err().to_string();
        assert!(e.contains("image_side"), "{e}");
        // Config round-trips through JSON; unknown keys are refused.
        let c = GanConfig::variant(Variant::Acgan).with_instance_noise(0.1);
        let back: GanConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<GanConfig>(r#"{"lr": 1}"#).is_err());
    }

    #[test]
    fn padded_32_pixel_data_has_a_background_border() {
        let _rng = crate::torch_rng_lock();
        let c = tiny(Variant::Dcgan).with_image_side(32);
        let (x, y) = load_data(&c, Device::Cpu).unwrap();
        assert_eq!(x.size(), vec![64, 1024]);
        assert_eq!(y.size(), vec![64]);
        let img = x.get(0).view([32, 32]);
        assert_eq!(img.narrow(0, 0, 2).max().double_value(&[]), -1.0, "top border is background");
        assert_eq!(img.narrow(1, 30, 2).max().double_value(&[]), -1.0, "right border is background");
        assert!(img.max().double_value(&[]) > 0.9, "the digit is still there");
    }
}
