//! The tutorial's vanilla GAN on MNIST: the entry point a notebook calls.
//!
//! ```no_run
//! use gan_tutorial::prelude::*;
//! # fn main() -> gan_tutorial::Result<()> {
//! let config = VanillaGanConfig::default().with_epochs(5).with_seed(123);
//! let report = train_vanilla_gan(&config)?;
//! plot_losses(&report)?.save("losses.png")?;
//! image_grid(&report.history.last_samples().unwrap().images, 4)?.save("samples.png")?;
//! # Ok(())
//! # }
//! ```
use super::latent::LatentDist;
use super::loss::GanLoss;
use super::mlp::{MlpDiscriminator, MlpGenerator, MlpSpec};
use super::model::Gan;
use super::observer::{Many, PrintEpochs, TrainObserver};
use super::report::TrainHistory;
use super::train::{train_bce_gan, LoopSettings};
use crate::notebook::RunMode;
use crate::data::{Batcher, DataSource, MnistData};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tch::nn;

/// Settings of the vanilla GAN. `Default` is the tutorial's: seed 123,
/// 100 epochs, batch 128, Adam lr 0.001 for both nets, latent 100 drawn
/// uniformly from [-1, 1], hidden width 128, non-saturating G loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VanillaGanConfig {
    pub seed: u64,
    pub num_epochs: usize,
    /// Stop after this many iterations in all (overrides `num_epochs` when smaller).
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    /// Drop the last, smaller batch of each epoch (PyTorch's DataLoader keeps it by default).
    pub drop_last: bool,
    pub lr_g: f64,
    pub lr_d: f64,
    pub latent: LatentDist,
    pub loss: GanLoss,
    pub net: MlpSpec,
    pub data: DataSource,
    /// `cpu`, `cuda`, `cuda:N` or `None` for [`crate::device()`]'s choice.
    pub device: Option<String>,
    /// How many fixed-noise images each snapshot holds (the tutorial shows 16, as 4x4).
    pub num_fixed_samples: usize,
    /// Epochs (1-based) after which fixed-noise samples are kept; the last epoch always is.
    pub sample_epochs: Vec<usize>,
    /// Print a progress line every this many epochs (0: quiet).
    pub print_every: usize,
}

/// Epochs of a [`RunMode::Quick`] run.
pub const QUICK_EPOCHS: usize = 10;

impl Default for VanillaGanConfig {
    fn default() -> Self {
        Self {
            seed: 123,
            num_epochs: 100,
            max_steps: None,
            batch_size: 128,
            drop_last: false,
            lr_g: 1e-3,
            lr_d: 1e-3,
            latent: LatentDist::Uniform,
            loss: GanLoss::NonSaturating,
            net: MlpSpec::default(),
            data: DataSource::Embedded,
            device: None,
            num_fixed_samples: 16,
            sample_epochs: vec![1, 10, 25, 50, 75, 100],
            print_every: 10,
        }
    }
}

impl VanillaGanConfig {
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn with_epochs(mut self, num_epochs: usize) -> Self {
        self.num_epochs = num_epochs;
        self.max_steps = None;
        self
    }
    /// Stop after `steps` iterations in all (or at `num_epochs`, whichever comes first).
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.max_steps = Some(steps);
        self
    }
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Same learning rate for both networks.
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr_g = lr;
        self.lr_d = lr;
        self
    }
    pub fn with_lrs(mut self, lr_g: f64, lr_d: f64) -> Self {
        self.lr_g = lr_g;
        self.lr_d = lr_d;
        self
    }
    pub fn with_latent(mut self, latent: LatentDist) -> Self {
        self.latent = latent;
        self
    }
    pub fn with_loss(mut self, loss: GanLoss) -> Self {
        self.loss = loss;
        self
    }
    pub fn with_net(mut self, net: MlpSpec) -> Self {
        self.net = net;
        self
    }
    pub fn with_data(mut self, data: DataSource) -> Self {
        self.data = data;
        self
    }
    /// Train on the four IDX files in `dir` (full MNIST or Fashion-MNIST).
    pub fn with_data_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.with_data(DataSource::Dir(dir.into()))
    }
    pub fn with_device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(device.into());
        self
    }
    pub fn with_sample_epochs(mut self, epochs: Vec<usize>) -> Self {
        self.sample_epochs = epochs;
        self
    }
    pub fn with_fixed_samples(mut self, n: usize) -> Self {
        self.num_fixed_samples = n;
        self
    }
    pub fn with_print_every(mut self, every: usize) -> Self {
        self.print_every = every;
        self
    }

    /// This config as a notebook runs it: unchanged in [`RunMode::Full`]; in
    /// [`RunMode::Quick`] (CI) at most 10 epochs, with snapshots after epochs
    /// 1, 2, 5 and 10 and a progress line every epoch (unless quiet). Everything else (seed,
    /// data, networks, losses) stays as taught.
    pub fn for_mode(mut self, mode: RunMode) -> Self {
        if mode.is_quick() && self.num_epochs > QUICK_EPOCHS {
            self.num_epochs = QUICK_EPOCHS;
            self.sample_epochs = vec![1, 2, 5, 10];
            self.print_every = self.print_every.min(1);
        }
        self
    }

    /// Epochs the run will take, whether limited by epochs or steps.
    pub fn planned_epochs(&self, batches_per_epoch: usize) -> usize {
        match self.max_steps {
            Some(s) => s.div_ceil(batches_per_epoch.max(1)).min(self.num_epochs),
            None => self.num_epochs,
        }
    }

    /// Checks every setting, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { Err(Error::config(name, format!("{v} must be a positive number"))) }
        };
        pos("lr_g", self.lr_g)?;
        pos("lr_d", self.lr_d)?;
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if self.num_epochs == 0 || self.max_steps == Some(0) {
            return Err(Error::config("num_epochs / max_steps", "train for at least one step"));
        }
        if !(0.0..1.0).contains(&self.net.dropout) {
            return Err(Error::config("net.dropout", format!("{} must be in [0, 1)", self.net.dropout)));
        }
        if self.net.latent_dim < 1 || self.net.hidden_dim < 1 || self.net.image_side < 1 {
            return Err(Error::config("net", format!("sizes must be positive: {:?}", self.net)));
        }
        if self.num_fixed_samples == 0 {
            return Err(Error::config("num_fixed_samples", "keep at least one sample image"));
        }
        Ok(())
    }

    /// The device this config asks for, checked.
    pub fn resolve_device(&self) -> Result<tch::Device> {
        match &self.device {
            Some(d) => crate::device::parse_device(d),
            None => crate::device::device(),
        }
    }

    /// Builds the tutorial's two networks, initialised from `seed`.
    pub fn build_gan(&self, device: tch::Device) -> Gan {
        tch::manual_seed(self.seed as i64);
        let g_vs = nn::VarStore::new(device);
        let d_vs = nn::VarStore::new(device);
        let generator = MlpGenerator::new(&g_vs.root(), self.net);
        let discriminator = MlpDiscriminator::new(&d_vs.root(), self.net);
        Gan { g_vs, d_vs, generator: Box::new(generator), discriminator: Box::new(discriminator), latent: self.latent }
    }
}

/// The settings as a table, e.g. for a notebook:
///
/// ```text
/// seed            123
/// epochs          100 (70 batches each on the embedded subset)
/// ...
/// ```
impl std::fmt::Display for VanillaGanConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = &self.net;
        let latent = match self.latent {
            LatentDist::Uniform => "uniform on [-1, 1]",
            LatentDist::Gaussian => "standard normal",
        };
        let g_loss = match self.loss {
            GanLoss::NonSaturating => "non-saturating: minimise -log D(G(z))",
            GanLoss::Minimax => "minimax: minimise log(1 - D(G(z)))",
        };
        writeln!(f, "seed            {}", self.seed)?;
        match self.max_steps {
            Some(s) => writeln!(f, "epochs          {} (at most {s} iterations)", self.num_epochs)?,
            None => writeln!(f, "epochs          {}", self.num_epochs)?,
        }
        writeln!(f, "batch size      {}{}", self.batch_size, if self.drop_last { " (last partial batch dropped)" } else { "" })?;
        writeln!(f, "optimiser       Adam, lr G {} / D {}, betas (0.9, 0.999)", self.lr_g, self.lr_d)?;
        writeln!(f, "latent z        {} dimensions, {latent}", n.latent_dim)?;
        writeln!(f, "networks        MLPs, hidden {}, LeakyReLU({}), dropout {}", n.hidden_dim, n.leaky_slope, n.dropout)?;
        writeln!(f, "images          {0}x{0} = {1} pixels, scaled to [-1, 1]", n.image_side, n.image_dim())?;
        writeln!(f, "G loss          {g_loss}")?;
        writeln!(f, "data            {}", self.data)?;
        writeln!(f, "device          {}", self.device.as_deref().unwrap_or("auto (CUDA if available, else CPU)"))?;
        write!(f, "samples kept    {} fixed codes, after epochs {:?}", self.num_fixed_samples, self.sample_epochs)
    }
}

/// A finished run: its config, its history and the trained networks.
#[derive(Debug)]
pub struct TrainReport {
    pub config: VanillaGanConfig,
    pub history: TrainHistory,
    pub gan: Gan,
}

impl AsRef<TrainHistory> for TrainReport {
    fn as_ref(&self) -> &TrainHistory {
        &self.history
    }
}

/// Trains the tutorial's vanilla GAN, printing a line every `print_every` epochs.
pub fn train_vanilla_gan(config: &VanillaGanConfig) -> Result<TrainReport> {
    train_vanilla_gan_with(config, &mut super::observer::Silent)
}

/// [`train_vanilla_gan`] with an extra observer (progress bar, metrics file, ...).
pub fn train_vanilla_gan_with(config: &VanillaGanConfig, observer: &mut dyn TrainObserver) -> Result<TrainReport> {
    config.validate()?;
    let device = config.resolve_device()?;
    let data = MnistData::load(&config.data)?;
    let side = config.net.image_side as usize;
    if data.train.rows != side || data.train.cols != side {
        return Err(Error::config(
            "net.image_side",
            format!("{side}, but the data's images are {}x{}", data.train.rows, data.train.cols),
        ));
    }
    let mut gan = config.build_gan(device);
    let fixed_noise = gan.sample_latent(config.num_fixed_samples as i64);
    let batches = Batcher::new(data.train.to_tensor_pm1(device), config.batch_size, config.drop_last, config.seed)?;
    let settings = LoopSettings {
        num_epochs: config.num_epochs,
        max_steps: config.max_steps,
        lr_g: config.lr_g,
        lr_d: config.lr_d,
        loss: config.loss,
        sample_epochs: config.sample_epochs.clone(),
    };
    let mut printer = PrintEpochs { every: config.print_every, total_epochs: config.planned_epochs(batches.batches_per_epoch()) };
    let mut both = Many(vec![&mut printer, observer]);
    let history = train_bce_gan(&mut gan, &batches, &settings, &fixed_noise, &mut both)?;
    Ok(TrainReport { config: config.clone(), history, gan })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_tutorial_and_round_trips_through_json() {
        let _rng = crate::torch_rng_lock();
        let c = VanillaGanConfig::default();
        assert_eq!((c.seed, c.num_epochs, c.batch_size), (123, 100, 128));
        assert_eq!((c.lr_g, c.lr_d, c.net.latent_dim, c.net.hidden_dim), (1e-3, 1e-3, 100, 128));
        assert_eq!((c.latent, c.loss), (LatentDist::Uniform, GanLoss::NonSaturating));
        let c2 = c.clone().with_steps(50).with_loss(GanLoss::Minimax).with_data_dir("/tmp/mnist").with_device("cpu");
        let json = serde_json::to_string(&c2).unwrap();
        let back: VanillaGanConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c2);
        // Partial JSON fills in the tutorial's values; unknown keys are refused.
        let partial: VanillaGanConfig = serde_json::from_str(r#"{"num_epochs": 3}"#).unwrap();
        assert_eq!(partial, VanillaGanConfig::default().with_epochs(3));
        assert!(serde_json::from_str::<VanillaGanConfig>(r#"{"epochs": 3}"#).is_err());
    }

    #[test]
    fn quick_mode_scales_epochs_only() {
        let _rng = crate::torch_rng_lock();
        let full = VanillaGanConfig::default().for_mode(RunMode::Full);
        assert_eq!((full.num_epochs, full.print_every), (100, 10));
        assert_eq!(full.sample_epochs, VanillaGanConfig::default().sample_epochs);
        let quick = VanillaGanConfig::default().for_mode(RunMode::Quick);
        assert_eq!((quick.num_epochs, quick.print_every, quick.sample_epochs.clone()), (10, 1, vec![1, 2, 5, 10]));
        assert_eq!(quick.clone().with_epochs(100), VanillaGanConfig { print_every: 1, sample_epochs: vec![1, 2, 5, 10], ..full.clone() });
        // A short config is already quick.
        let short = VanillaGanConfig::default().with_epochs(3).for_mode(RunMode::Quick);
        assert_eq!(short.num_epochs, 3);
        let table = full.to_string();
        assert!(table.contains("seed            123") && table.contains("non-saturating") && table.contains("[1, 10, 25, 50, 75, 100]"), "{table}");
    }

    #[test]
    fn the_tutorial_networks_have_their_parameter_counts() {
        let _rng = crate::torch_rng_lock();
        let gan = VanillaGanConfig::default().build_gan(tch::Device::Cpu);
        // G: 100*128 + 128 + 128*784 + 784; D: 784*128 + 128 + 128 + 1.
        assert_eq!(gan.parameter_counts(), (114_064, 100_609));
    }

    #[test]
    fn bad_settings_are_named() {
        let _rng = crate::torch_rng_lock();
        let e = VanillaGanConfig::default().with_lr(-1.0).validate().unwrap_err().to_string();
        assert!(e.contains("lr_g"), "{e}");
        let e = VanillaGanConfig::default().with_batch_size(0).validate().unwrap_err().to_string();
        assert!(e.contains("batch_size"), "{e}");
        let e = VanillaGanConfig::default().with_steps(0).validate().unwrap_err().to_string();
        assert!(e.contains("step"), "{e}");
        let e = train_vanilla_gan(&VanillaGanConfig::default().with_device("tpu")).unwrap_err().to_string();
        assert!(e.contains("tpu"), "{e}");
    }
}
