//! What a GAN run is: the family's named presets ([`Variant`]) and every
//! setting of the one trainer ([`GanConfig`]), serialised as `config.json`
//! beside a run's outputs.
//!
//! The tutorial's vanilla GAN (notebook 01) is the [`Variant::Vanilla`]
//! preset: its MLPs (LeakyReLU 0.01, PyTorch's default slope), Adam 1e-3,
//! batch 128, uniform codes, and its step order ([`StepOrder::GFirst`]: a G
//! step, then a D step on the same fakes, keeping the last partial batch).
use super::adv_d::DAttack;
use super::latent::LatentDist;
use super::model::{Discriminator, Gan, Generator};
use super::nets::{Conditioning, DNorm, Downsample, FamilyDiscriminator, FamilyGenerator, GActivation, MinibatchDisc, NetArch, NetSpec, Upsample};
use super::objective::Objective;
use super::tips::{FailureChecks, Tips};
use super::tricks::{LossBalance, Tricks};
use crate::data::DataSource;
use crate::error::{Error, Result};
use crate::notebook::RunMode;
use crate::optim::{LrDecay, OptimizerKind};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tch::{nn, Device};

/// The named members of the family, each a preset of [`GanConfig`] with the
/// settings of its paper (scaled to MNIST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The tutorial's MLPs (LeakyReLU 0.01, dropout 0.5), non-saturating BCE,
    /// Adam 1e-3, batch 128, uniform z, seed 123, 100 epochs, G step first.
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

/// The order of the two players' updates within one iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOrder {
    /// D (critic) first, on the real batch and fresh fakes; then, every
    /// `n_dis`-th iteration, G on fresh codes (DCGAN's and WGAN's papers).
    DFirst,
    /// The tutorial's loop: G first on fresh codes, then D on the real batch
    /// and the *same* fakes, detached (one generator pass per iteration).
    GFirst,
}

/// Everything a run is, serialised beside its outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GanConfig {
    /// The preset this config started from.
    pub variant: Variant,
    /// A label for tables and file names (the preset's name by default).
    pub name: String,
    pub seed: u64,
    pub num_epochs: usize,
    /// When set, the run's length in iterations (D steps), whatever `num_epochs` says.
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    /// Drop each epoch's last, smaller batch (PyTorch's DataLoader keeps it by default).
    pub drop_last: bool,
    pub step_order: StepOrder,
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
    /// Both learning rates' schedule, applied before every iteration from
    /// its index: [`LrDecay::Linear`] takes them linearly to 0 over the run
    /// (`max_steps`, or the epochs' iterations). Absent from older config
    /// files: none (constant). A resumed run follows an uninterrupted run's
    /// schedule when it is given the same length.
    pub lr_decay: LrDecay,
    /// D (critic) steps per G step.
    pub n_dis: usize,
    pub latent: LatentDist,
    pub tips: Tips,
    /// Adversarial training of D: its inputs moved against it before its
    /// update (`adv_d.rs`; FGSM or DAT). Absent from older config files: none.
    pub d_attack: DAttack,
    /// Salimans et al.'s training tricks and the loss balance (`tricks.rs`).
    /// Absent from older config files: all off.
    pub tricks: Tricks,
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
    /// When the run records into a directory: a checkpoint every this many
    /// steps (0: only at the end).
    pub checkpoint_every: usize,
    /// Where the run records as it trains (config.json first, metrics.jsonl
    /// a line per step, checkpoints); `None`: nowhere. Not part of
    /// `config.json`: a run's record does not name the machine's paths.
    #[serde(skip)]
    pub record_dir: Option<PathBuf>,
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
            variant: v,
            name: v.name().to_string(),
            seed: 0,
            num_epochs: 5,
            max_steps: None,
            batch_size: 64,
            drop_last: true,
            step_order: StepOrder::DFirst,
            net: dcgan_net,
            objective: Objective::NonSaturating,
            weight_clip: 0.01,
            gp_lambda: 10.0,
            aux_weight: 1.0,
            optimizer_g: adam(0.5, 0.999),
            optimizer_d: adam(0.5, 0.999),
            lr_g: 2e-4,
            lr_d: 2e-4,
            lr_decay: LrDecay::None,
            n_dis: 1,
            latent: LatentDist::Gaussian,
            tips: Tips::default(),
            d_attack: DAttack::None,
            tricks: Tricks::default(),
            checks: FailureChecks::default(),
            data: DataSource::Embedded,
            max_train: None,
            device: None,
            num_fixed_samples: 64,
            sample_epochs: vec![1],
            print_every: 1,
            checkpoint_every: 0,
            record_dir: None,
        };
        match v {
            Variant::Vanilla => GanConfig {
                seed: 123,
                num_epochs: 100,
                net: NetSpec { leaky_slope: 0.01, ..NetSpec::default() },
                optimizer_g: adam(0.9, 0.999),
                optimizer_d: adam(0.9, 0.999),
                lr_g: 1e-3,
                lr_d: 1e-3,
                latent: LatentDist::Uniform,
                batch_size: 128,
                drop_last: false,
                step_order: StepOrder::GFirst,
                num_fixed_samples: 16,
                sample_epochs: vec![1, 10, 25, 50, 75, 100],
                print_every: 10,
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

    /// A config from JSON (a bare config, or a run's `config.json` holding
    /// `{"config": ..., "runtime": ...}`): its fields over `variant`'s preset,
    /// nested objects field by field, so a partial file means "the preset,
    /// except these". A file made from another variant is refused.
    pub fn from_json_over_preset(variant: Variant, text: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::config("config", format!("not JSON: {e}")))?;
        let v = match v.get("config") {
            Some(inner) if v.get("runtime").is_some() => inner.clone(),
            _ => v,
        };
        if !v.is_object() {
            return Err(Error::config("config", "must be a JSON object of settings (field names as in config.json)"));
        }
        if let Some(file_variant) = v.get("variant") {
            let file_variant: Variant = serde_json::from_value(file_variant.clone()).map_err(|e| Error::config("variant", e.to_string()))?;
            if file_variant != variant {
                return Err(Error::config("variant", format!("the file is a {file_variant} config but {variant} was asked for: run `train {file_variant}` with it, or drop its \"variant\" field")));
            }
        }
        let mut merged = serde_json::to_value(GanConfig::variant(variant))?;
        merge_json(&mut merged, &v);
        let mut c: GanConfig = serde_json::from_value(merged).map_err(|e| Error::config("config", e.to_string()))?;
        if v.get("name").is_none() {
            c.name = c.default_name();
        }
        Ok(c)
    }

    /// The preset's name with the D attack's label: `dcgan`, `dcgan+fgsm0.02`, `dcgan+dat`.
    pub fn default_name(&self) -> String {
        match self.d_attack.label() {
            Some(attack) => format!("{}+{attack}", self.variant.name()),
            None => self.variant.name().to_string(),
        }
    }

    /// Trains D against `attack` (see [`DAttack`]); a name left at its
    /// default follows the attack (`dcgan+fgsm0.02`).
    pub fn with_d_attack(mut self, attack: DAttack) -> Self {
        let default_named = self.name == self.default_name();
        self.d_attack = attack;
        if default_named {
            self.name = self.default_name();
        }
        self
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
    /// Decay both learning rates over the run ([`LrDecay::Linear`]: linearly to 0).
    pub fn with_lr_decay(mut self, decay: LrDecay) -> Self {
        self.lr_decay = decay;
        self
    }
    /// CIFAR-10 from `dir` (its binary batches), with nets fitted to it
    /// ([`GanConfig::fit_nets_to_data`]).
    pub fn with_cifar10(self, dir: impl Into<PathBuf>) -> Self {
        self.with_data(DataSource::Cifar10(dir.into())).fit_nets_to_data()
    }
    /// Fits the nets to the config's data: for RGB data (CIFAR-10), 3
    /// channels at 32×32, and SNGAN's D becomes the paper's SN-CNN
    /// (LeakyReLU 0.1) where it was the DCGAN one. Grey data: unchanged.
    pub fn fit_nets_to_data(mut self) -> Self {
        if self.data.channels() == 3 {
            self.net.channels = 3;
            self.net.image_side = 32;
            if self.variant == Variant::Sngan && self.net.arch == NetArch::Dcgan {
                self.net.arch = NetArch::SnCnn;
                self.net.leaky_slope = 0.1;
            }
        }
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
    /// Two-sided soft labels: real targets from U(0.7, 1.2), fake from U(0, 0.3) ([`Tips::soft_labels`]).
    pub fn with_soft_labels(mut self) -> Self {
        self.tips.soft_labels = true;
        self
    }
    /// G's activation in the DCGAN generator: ReLU (DCGAN's) or LeakyReLU(slope).
    pub fn with_g_activation(mut self, act: GActivation) -> Self {
        self.net.g_activation = act;
        self
    }
    /// D's downsampling: strided 4×4 convolutions (DCGAN's) or 3×3 convolutions and 2×2 average pooling.
    pub fn with_d_downsample(mut self, d: Downsample) -> Self {
        self.net.d_downsample = d;
        self
    }
    /// G's upsampling: 4×4 transposed convolutions (DCGAN's) or 3×3 convolutions and pixel shuffle.
    pub fn with_g_upsample(mut self, u: Upsample) -> Self {
        self.net.g_upsample = u;
        self
    }
    /// Virtual batch norm in G with a reference batch of `reference` codes drawn once from the seed.
    pub fn with_virtual_batch_norm(mut self, reference: i64) -> Self {
        self.net.g_norm = super::nets::GNorm::Virtual(reference);
        self
    }
    /// Minibatch discrimination before D's head: `kernels` (B) of dimension `kernel_dim` (C).
    pub fn with_minibatch_discrimination(mut self, kernels: i64, kernel_dim: i64) -> Self {
        self.net.minibatch = MinibatchDisc { kernels, kernel_dim };
        self
    }
    /// Feature matching: G's loss is ‖mean φ(x_real) − mean φ(G(z))‖² on D's features.
    pub fn with_feature_matching(mut self) -> Self {
        self.tricks.feature_matching = true;
        self
    }
    /// Historical averaging with weight `lambda` on both players (0: off).
    pub fn with_historical_averaging(mut self, lambda: f64) -> Self {
        self.tricks.historical_averaging = lambda;
        self
    }
    /// Up to `max_extra` extra G steps while D's loss is below `d_loss_below`:
    /// the balancing by loss statistics that ganhacks #7 advises against.
    pub fn with_loss_balance(mut self, d_loss_below: f64, max_extra: usize) -> Self {
        self.tricks.balance = LossBalance { g_steps_while_d_loss_below: d_loss_below, max_extra_g_steps: max_extra };
        self
    }
    /// The D-loss variance check: a warning when D's loss varies more than
    /// `max` over the checks' window (0: off).
    pub fn with_d_loss_variance_check(mut self, max: f64) -> Self {
        self.checks.d_loss_var_max = max;
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
    /// Records the run into `dir` as it trains (config.json, metrics.jsonl,
    /// checkpoints), with a checkpoint every `every` steps (0: only at the end).
    pub fn with_checkpoints(mut self, dir: impl Into<PathBuf>, every: usize) -> Self {
        self.record_dir = Some(dir.into());
        self.checkpoint_every = every;
        self
    }
    pub fn with_step_order(mut self, order: StepOrder) -> Self {
        self.step_order = order;
        self
    }
    pub fn with_drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }
    pub fn with_sample_epochs(mut self, epochs: Vec<usize>) -> Self {
        self.sample_epochs = epochs;
        self
    }
    /// The same learning rate for both networks.
    pub fn with_lr(self, lr: f64) -> Self {
        self.with_lrs(lr, lr)
    }
    pub fn with_data_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.with_data(DataSource::Dir(dir.into()))
    }

    /// In [`RunMode::Quick`] (CI): at most `quick_steps` iterations; the rest as set.
    pub fn for_mode(self, mode: RunMode, quick_steps: usize) -> Self {
        if mode.is_quick() && self.max_steps.is_none_or(|s| s > quick_steps) { self.with_steps(quick_steps) } else { self }
    }

    /// Checks every setting, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        self.net.validate()?;
        self.tips.validate(self.objective)?;
        self.d_attack.validate()?;
        self.tricks.validate(self)?;
        self.checks.validate()?;
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
        if self.step_order == StepOrder::GFirst && self.n_dis != 1 {
            return Err(Error::config("step_order", format!("g-first shares one batch of fakes between the G and the D step, so n_dis must be 1 (it is {}): use d-first for several D steps per G step", self.n_dis)));
        }
        if self.step_order == StepOrder::GFirst && self.net.is_conditional() {
            return Err(Error::config("step_order", "g-first is the tutorial's unconditional loop: use d-first for conditional GANs"));
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
        crate::device::resolve(self.device.as_deref())
    }

    /// Both networks, initialised from the seed.
    pub fn build_gan(&self, device: Device) -> Gan {
        let _seeded = crate::rng::seeded_section();
        tch::manual_seed(self.seed as i64);
        let g_vs = nn::VarStore::new(device);
        let d_vs = nn::VarStore::new(device);
        let generator: Box<dyn Generator> = Box::new(FamilyGenerator::new(&g_vs.root(), self.net));
        if let super::nets::GNorm::Virtual(m) = self.net.g_norm {
            // Virtual batch norm's reference codes, drawn once from the seed (not from libtorch's generator).
            if let Some(mut r) = g_vs.variables().remove(super::nets::VBN_REFERENCE) {
                let codes = super::latent::seeded_latent(self.latent, m as usize, self.net.latent_dim as usize, self.seed ^ 0x5642_4E5F_5245_4621, device);
                tch::no_grad(|| r.copy_(&codes));
            }
        }
        let d = FamilyDiscriminator::new(&d_vs.root(), self.net);
        // The tricks' buffers (tricks.rs), after the weights: none when they are off.
        super::tricks::add_buffers(self, &g_vs, &d_vs, d.feature_dim());
        let discriminator: Box<dyn Discriminator> = Box::new(d);
        Gan { g_vs, d_vs, generator, discriminator, latent: self.latent }
    }

    /// The settings that define the training (not its length, printing or
    /// checkpointing): a checkpoint resumes only under the same ones.
    pub(crate) fn identity(&self) -> GanConfig {
        GanConfig {
            num_epochs: 0,
            max_steps: None,
            print_every: 0,
            sample_epochs: vec![],
            checkpoint_every: 0,
            record_dir: None,
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
        writeln!(f, "batch size      {}{}", self.batch_size, if self.drop_last { " (last partial batch dropped)" } else { " (last partial batch kept)" })?;
        let order = match self.step_order {
            StepOrder::DFirst => "D first on fresh fakes, then G",
            StepOrder::GFirst => "G first, then D on the same fakes (the tutorial's)",
        };
        writeln!(f, "step order      {order}")?;
        // Grey MNIST-sized images read as before; colour is named.
        let colour = if n.channels == 3 { " RGB" } else { "" };
        match n.arch {
            NetArch::Mlp => writeln!(f, "networks        MLP, hidden G {} / D {}, LeakyReLU({}), dropout {}, {4}x{4}{colour} images", n.g_width, n.d_width, n.leaky_slope, n.dropout, n.image_side)?,
            NetArch::Dcgan => writeln!(f, "networks        DCGAN, widths G {} / D {}, {2}x{2}{colour} images", n.g_width, n.d_width, n.image_side)?,
            NetArch::SnCnn => writeln!(f, "networks        DCGAN G {} / SN-CNN D {}, LeakyReLU({}), {3}x{3}{colour} images", n.g_width, n.d_width, n.leaky_slope, n.image_side)?,
        }
        let norm = match n.d_norm {
            DNorm::None => "none",
            DNorm::Batch => "batch norm",
            DNorm::Layer => "layer norm",
            DNorm::Spectral => "spectral norm",
            DNorm::Instance => "instance norm",
        };
        writeln!(f, "D normalisation {norm}")?;
        if n.arch != NetArch::Mlp {
            if let GActivation::LeakyRelu(s) = n.g_activation {
                writeln!(f, "G activation    LeakyReLU({s}) instead of ReLU")?;
            }
            if let super::nets::GNorm::Virtual(m) = n.g_norm {
                writeln!(f, "G normalisation virtual batch norm, reference batch of {m} codes from the seed")?;
            }
            if n.g_upsample == Upsample::PixelShuffle {
                writeln!(f, "G upsampling    3x3 convolutions + pixel shuffle instead of transposed convolutions")?;
            }
            if n.d_downsample == Downsample::AvgPool {
                writeln!(f, "D downsampling  3x3 convolutions + 2x2 average pooling instead of strided convolutions")?;
            }
        }
        if n.minibatch.is_on() {
            writeln!(f, "D minibatch     minibatch discrimination, {} kernels of dimension {}", n.minibatch.kernels, n.minibatch.kernel_dim)?;
        }
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
        if self.lr_decay == LrDecay::Linear {
            writeln!(f, "lr schedule     linear decay to 0 over the run, every iteration")?;
        }
        writeln!(f, "D steps per G   {}", self.n_dis)?;
        let latent = match self.latent {
            LatentDist::Uniform => "uniform on [-1, 1]",
            LatentDist::Gaussian => "standard normal",
        };
        writeln!(f, "latent z        {} dimensions, {latent}", n.latent_dim)?;
        for t in self.tips.describe() {
            writeln!(f, "tip             {t}")?;
        }
        for t in self.tricks.describe() {
            writeln!(f, "trick           {t}")?;
        }
        if self.checks.d_loss_var_max > 0.0 {
            writeln!(f, "check           D-loss variance over {} steps above {}", self.checks.window, self.checks.d_loss_var_max)?;
        }
        if self.d_attack != DAttack::None {
            writeln!(f, "D attack        {}", self.d_attack)?;
        }
        write!(f, "data            {}{}", self.data, self.max_train.map(|m| format!(", first {m} training images")).unwrap_or_default())
    }
}

/// `over`'s fields written into `base`, objects merged key by key.
fn merge_json(base: &mut serde_json::Value, over: &serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_json(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_over_the_named_variants_preset() {
        // A partial file keeps the named preset's other settings, nested objects included.
        let c = GanConfig::from_json_over_preset(Variant::Wgan, r#"{"lr_d": 0.001, "net": {"g_width": 16}}"#).unwrap();
        let want = GanConfig { lr_d: 0.001, net: NetSpec { g_width: 16, ..GanConfig::variant(Variant::Wgan).net }, ..GanConfig::variant(Variant::Wgan) };
        assert_eq!(c, want);
        assert_eq!((c.objective, c.n_dis, c.net.arch), (Objective::Wasserstein, 5, NetArch::Dcgan));
        // A run's config.json ({"config", "runtime"}) repeats the run, seed included.
        let saved = GanConfig::variant(Variant::Vanilla).with_seed(9).with_steps(20);
        let record = serde_json::json!({"config": saved, "runtime": {"threads": 2}}).to_string();
        assert_eq!(GanConfig::from_json_over_preset(Variant::Vanilla, &record).unwrap(), saved);
        // Another variant's file is refused, naming both.
        let e = GanConfig::from_json_over_preset(Variant::Dcgan, &record).unwrap_err().to_string();
        assert!(e.contains("vanilla config") && e.contains("dcgan was asked"), "{e}");
        // Arrays, unknown fields and non-JSON are refused.
        assert!(GanConfig::from_json_over_preset(Variant::Dcgan, "[1, 2]").unwrap_err().to_string().contains("JSON object"));
        assert!(GanConfig::from_json_over_preset(Variant::Dcgan, r#"{"lr": 1}"#).unwrap_err().to_string().contains("lr"));
        assert!(GanConfig::from_json_over_preset(Variant::Dcgan, "{").unwrap_err().to_string().contains("not JSON"));
    }

    #[test]
    fn the_d_attack_is_a_setting_like_the_others() {
        use crate::gan::adv_d::{DatSettings, FgsmSettings};
        // A config.json from before the setting still loads, with no attack.
        let old = r#"{"config": {"variant": "dcgan", "name": "dcgan", "seed": 3, "lr_d": 0.001}, "runtime": {}}"#;
        let c = GanConfig::from_json_over_preset(Variant::Dcgan, old).unwrap();
        assert_eq!((c.d_attack, c.seed, c.name.as_str()), (DAttack::None, 3, "dcgan"));
        let c: GanConfig = serde_json::from_str(r#"{"seed": 3}"#).unwrap();
        assert_eq!(c.d_attack, DAttack::None);
        // It is recorded, named in the run's label, and read back.
        let fgsm = GanConfig::variant(Variant::Dcgan).with_d_attack(DAttack::Fgsm(FgsmSettings::default()));
        assert_eq!(fgsm.name, "dcgan+fgsm0.02");
        let json = serde_json::to_string(&fgsm).unwrap();
        assert!(json.contains(r#""d_attack":{"fgsm":{"eps":0.02"#), "{json}");
        assert_eq!(GanConfig::from_json_over_preset(Variant::Dcgan, &json).unwrap(), fgsm);
        let dat = GanConfig::from_json_over_preset(Variant::Sngan, r#"{"d_attack": {"dat": {}}}"#).unwrap();
        assert_eq!((dat.d_attack, dat.name.as_str()), (DAttack::Dat(DatSettings::default()), "sngan+dat"));
        assert!(dat.to_string().contains("D attack        dat:1"), "{dat}");
        // A name of one's own is kept; bad settings are named by validate.
        let named = GanConfig::variant(Variant::Dcgan).with_name("mine").with_d_attack(DAttack::Dat(DatSettings::default()));
        assert_eq!(named.name, "mine");
        let bad = GanConfig::variant(Variant::Dcgan).with_d_attack(DAttack::Fgsm(FgsmSettings { probability: 2.0, ..Default::default() }));
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("d_attack.fgsm.probability") && e.contains("[0, 1]"), "{e}");
    }

    #[test]
    fn configs_from_before_channels_and_lr_decay_still_load() {
        // A config.json as written before RGB nets and the lr schedule existed.
        let old = r#"{"config": {"variant": "sngan", "name": "sngan", "seed": 4,
            "net": {"arch": "dcgan", "image_side": 32, "latent_dim": 100, "g_width": 64, "d_width": 64,
                    "d_norm": "spectral", "conditioning": "none", "num_classes": 10, "dropout": 0.5, "leaky_slope": 0.2}},
            "runtime": {}}"#;
        let c = GanConfig::from_json_over_preset(Variant::Sngan, old).unwrap();
        assert_eq!((c.net.channels, c.net.image_dim(), c.lr_decay, c.seed), (1, 1024, LrDecay::None, 4));
        let bare: GanConfig = serde_json::from_str(r#"{"net": {"arch": "dcgan"}}"#).unwrap();
        assert_eq!((bare.net.channels, bare.lr_decay), (1, LrDecay::None));
        // The new settings round-trip and are shown.
        let cifar = GanConfig::variant(Variant::Sngan).with_cifar10("/data/cifar").with_lr_decay(LrDecay::Linear);
        assert_eq!((cifar.net.arch, cifar.net.channels, cifar.net.image_side, cifar.net.leaky_slope), (NetArch::SnCnn, 3, 32, 0.1));
        let json = serde_json::to_string(&cifar).unwrap();
        assert!(json.contains(r#""lr_decay":"linear""#) && json.contains(r#""kind":"cifar10""#), "{json}");
        assert_eq!(GanConfig::from_json_over_preset(Variant::Sngan, &json).unwrap(), cifar);
        let text = cifar.to_string();
        assert!(text.contains("SN-CNN D 64") && text.contains("RGB") && text.contains("linear decay") && text.contains("CIFAR-10 at /data/cifar"), "{text}");
        // DCGAN keeps its nets, in colour.
        let d = GanConfig::variant(Variant::Dcgan).with_cifar10("/x");
        assert_eq!((d.net.arch, d.net.channels), (NetArch::Dcgan, 3));
    }

    #[test]
    fn g_first_needs_one_d_step_and_no_labels() {
        let e = GanConfig::variant(Variant::Vanilla).with_n_dis(2).validate().unwrap_err().to_string();
        assert!(e.contains("step_order") && e.contains("n_dis"), "{e}");
        let e = GanConfig::variant(Variant::Cgan).with_step_order(StepOrder::GFirst).validate().unwrap_err().to_string();
        assert!(e.contains("conditional"), "{e}");
        let table = GanConfig::variant(Variant::Vanilla).to_string();
        assert!(table.contains("LeakyReLU(0.01)") && table.contains("G first") && table.contains("kept"), "{table}");
    }
}
