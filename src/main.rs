//! `gan-tutorial`: the command line of the gan_tutorial crate.
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use gan_tutorial::data::fetch::{fetch_dataset, FetchOutcome, RemoteDataset};
use gan_tutorial::data::{DataSource, MnistData};
use gan_tutorial::gan::observer::format_epoch;
use gan_tutorial::gan::{EpochStats, GanLoss, LatentDist, StepLog, TrainObserver};
use gan_tutorial::run::{save_run, MetricsWriter};
use gan_tutorial::VanillaGanConfig;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "gan-tutorial", version, about = "Train and study GANs on libtorch (CUDA when present, else CPU)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN and write config, metrics, plots, samples and a checkpoint.
    Train {
        #[command(subcommand)]
        model: TrainModel,
    },
    /// Inspect or download data sets.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// The GAN game: optimal discriminator, -log 4 + 2 JSD, the x*y game, the 2D
    /// demo, mode collapse and vanishing gradients (figures + nash.json).
    Nash(NashArgs),
    /// Print the libtorch build, threads and CUDA devices this program sees (JSON).
    Info,
    /// Adversarial attacks on MNIST classifiers: the FGSM before/after figure, accuracy
    /// against ε for every attack and defense, and a JSON of all results.
    Attack(AttackArgs),
}

#[derive(Args)]
struct AttackArgs {
    /// Output directory.
    #[arg(long, default_value = "runs/attack")]
    out: PathBuf,
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// The short CI-sized study (as notebook 05 in quick mode).
    #[arg(long)]
    quick: bool,
    /// cpu, cuda, cuda:N or auto (default: GAN_TUTORIAL_DEVICE, else CUDA if available).
    #[arg(long)]
    device: Option<String>,
    /// Training epochs of every classifier.
    #[arg(long)]
    epochs: Option<usize>,
    /// How many held-out test digits to attack.
    #[arg(long)]
    num_test: Option<usize>,
    /// Attack strengths, comma-separated (e.g. 0,0.1,0.2,0.3).
    #[arg(long, value_delimiter = ',')]
    eps: Option<Vec<f64>>,
    /// Steps of PGD.
    #[arg(long)]
    pgd_steps: Option<usize>,
    /// Adversarial training's weight on the adversarial loss: 0.5 (Goodfellow et al.), 1 (Madry et al.).
    #[arg(long)]
    adv_weight: Option<f64>,
    /// Epochs over which adversarial training's ε ramps up from 0 (use ~1 with --adv-weight 1).
    #[arg(long)]
    adv_warmup: Option<f64>,
    /// Patch sides to compare, comma-separated (e.g. 6,10,14).
    #[arg(long, value_delimiter = ',')]
    patch_sides: Option<Vec<i64>>,
}

#[derive(Args)]
struct NashArgs {
    /// Output directory.
    #[arg(long, default_value = "runs/nash")]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Shorter trainings (the notebooks' CI mode).
    #[arg(long)]
    quick: bool,
    /// Generator steps of the 2D runs (default: 3000, quick: 1000).
    #[arg(long)]
    steps: Option<usize>,
    /// The remedy compared with the vanilla GAN on the ring: pack=M (PacGAN), k=N (D steps per G step) or minimax.
    #[arg(long)]
    remedy: Option<String>,
}

#[derive(Subcommand)]
enum TrainModel {
    /// The tutorial's vanilla GAN (MLPs, BCE, Adam 0.001, batch 128, latent 100).
    Vanilla(VanillaArgs),
    /// DCGAN: strided convolutions, batch norm, non-saturating BCE, Adam 2e-4 (0.5, 0.999).
    Dcgan(FamilyArgs),
    /// LSGAN: DCGAN's nets, least-squares objective.
    Lsgan(FamilyArgs),
    /// WGAN: weight clipping 0.01, RMSprop 5e-5, 5 critic steps per G step.
    Wgan(FamilyArgs),
    /// WGAN-GP: gradient penalty (lambda 10), layer norm in the critic, Adam 1e-4 (0, 0.9), 5 critic steps.
    #[command(name = "wgan-gp")]
    WganGp(FamilyArgs),
    /// SNGAN: spectral normalisation of every D weight, hinge loss.
    Sngan(FamilyArgs),
    /// Conditional DCGAN (label embedding in G, projection discriminator).
    Cgan(FamilyArgs),
    /// AC-GAN: conditional G, D with an auxiliary classifier.
    Acgan(FamilyArgs),
}

/// Settings of `train <variant>`; unset flags keep the variant's preset.
#[derive(Args)]
struct FamilyArgs {
    /// Iterations (D steps) in all.
    #[arg(long, conflicts_with = "epochs")]
    steps: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    /// Output directory (default: runs/<variant>).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long)]
    device: Option<String>,
    /// A directory with the four IDX files, `embedded` (default) or `fashion-mnist`.
    #[arg(long)]
    data: Option<String>,
    /// Train on the first N training images only.
    #[arg(long)]
    max_train: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr_g: Option<f64>,
    #[arg(long)]
    lr_d: Option<f64>,
    /// D (critic) steps per G step.
    #[arg(long)]
    n_dis: Option<usize>,
    /// minimax, non-saturating, least-squares, wasserstein, wasserstein-gp or hinge.
    #[arg(long)]
    objective: Option<gan_tutorial::gan::Objective>,
    /// Normalisation in D: none, batch, layer or spectral.
    #[arg(long)]
    d_norm: Option<gan_tutorial::gan::DNorm>,
    /// Width of G (DCGAN: base channels).
    #[arg(long)]
    g_width: Option<i64>,
    /// Width of D (DCGAN: base channels).
    #[arg(long)]
    d_width: Option<i64>,
    /// 28, or 32 (MNIST padded, DCGAN-32).
    #[arg(long)]
    image_side: Option<i64>,
    /// uniform or gaussian.
    #[arg(long)]
    latent: Option<LatentDist>,
    /// One-sided label smoothing s (real target 1 - s).
    #[arg(long)]
    label_smoothing: Option<f64>,
    /// Probability of flipping each of D's targets.
    #[arg(long)]
    label_flip: Option<f64>,
    /// Instance noise sigma, annealed to 0.
    #[arg(long)]
    instance_noise: Option<f64>,
    /// Checkpoint every N steps into OUT/checkpoint (one is always written at the end).
    #[arg(long, default_value_t = 0)]
    checkpoint_every: usize,
    /// Continue the run checkpointed in OUT/checkpoint up to --steps / --epochs.
    #[arg(long)]
    resume: bool,
    /// Start from a config.json (flags given here override it).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct VanillaArgs {
    /// Epochs to train (the tutorial: 100).
    #[arg(long, conflicts_with = "steps")]
    epochs: Option<usize>,
    /// Iterations to train in all, instead of whole epochs.
    #[arg(long)]
    steps: Option<usize>,
    /// Output directory.
    #[arg(long, default_value = "runs/vanilla")]
    out: PathBuf,
    #[arg(long, default_value_t = 123)]
    seed: u64,
    /// cpu, cuda, cuda:N or auto (default: GAN_TUTORIAL_DEVICE, else CUDA if available).
    #[arg(long)]
    device: Option<String>,
    /// A directory with the four MNIST-format IDX files, `embedded` (default), or
    /// `fashion-mnist` (Debian's dataset-fashion-mnist package).
    #[arg(long)]
    data: Option<String>,
    #[arg(long)]
    batch_size: Option<usize>,
    /// Learning rate of both networks.
    #[arg(long)]
    lr: Option<f64>,
    /// Generator loss: non-saturating (default) or minimax.
    #[arg(long)]
    loss: Option<GanLoss>,
    /// Latent distribution: uniform (default, on [-1, 1]) or gaussian.
    #[arg(long)]
    latent: Option<LatentDist>,
    /// Start from a config.json (flags given here override it).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DataAction {
    /// Download a full data set, checking each file's MD5; atomic writes.
    Fetch {
        /// mnist or fashion-mnist
        dataset: String,
        #[arg(long)]
        dir: PathBuf,
        /// Base URL to download from instead of the public mirrors (repeatable; tried in order).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
    },
    /// Describe a data set: sizes and images per class.
    Info {
        /// A directory, `embedded` (default) or `fashion-mnist`.
        #[arg(long)]
        data: Option<String>,
    },
}

fn data_source(arg: Option<&str>) -> DataSource {
    match arg {
        None | Some("embedded") => DataSource::Embedded,
        Some("fashion-mnist") => DataSource::DebianFashionMnist,
        Some(dir) => DataSource::Dir(PathBuf::from(dir)),
    }
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { model: TrainModel::Vanilla(a) } => train_vanilla(a),
        Command::Train { model } => {
            use gan_tutorial::gan::Variant;
            let (variant, a) = match model {
                TrainModel::Vanilla(_) => unreachable!("handled above"),
                TrainModel::Dcgan(a) => (Variant::Dcgan, a),
                TrainModel::Lsgan(a) => (Variant::Lsgan, a),
                TrainModel::Wgan(a) => (Variant::Wgan, a),
                TrainModel::WganGp(a) => (Variant::WganGp, a),
                TrainModel::Sngan(a) => (Variant::Sngan, a),
                TrainModel::Cgan(a) => (Variant::Cgan, a),
                TrainModel::Acgan(a) => (Variant::Acgan, a),
            };
            train_family(variant, a)
        }
        Command::Data { action } => match action {
            DataAction::Fetch { dataset, dir, mirrors } => fetch(&dataset, dir, mirrors),
            DataAction::Info { data } => data_info(data.as_deref()),
        },
        Command::Nash(a) => nash(a),
        Command::Attack(a) => attack(a),
        Command::Info => {
            println!("{}", serde_json::to_string_pretty(&gan_tutorial::runtime_info())?);
            Ok(())
        }
    }
}

fn train_vanilla(a: VanillaArgs) -> Result<()> {
    let mut c = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str::<VanillaGanConfig>(&text).with_context(|| format!("{} is not a vanilla GAN config", p.display()))?
        }
        None => VanillaGanConfig::default(),
    };
    c = c.with_seed(a.seed);
    if let Some(e) = a.epochs {
        c = c.with_epochs(e);
    }
    if let Some(s) = a.steps {
        c = c.with_steps(s);
    }
    if let Some(d) = a.device {
        c = c.with_device(d);
    }
    if a.data.is_some() {
        c = c.with_data(data_source(a.data.as_deref()));
    }
    if let Some(b) = a.batch_size {
        c = c.with_batch_size(b);
    }
    if let Some(lr) = a.lr {
        c = c.with_lr(lr);
    }
    if let Some(l) = a.loss {
        c = c.with_loss(l);
    }
    if let Some(l) = a.latent {
        c = c.with_latent(l);
    }
    let tty = std::io::stderr().is_terminal();
    if tty {
        c = c.with_print_every(0);
    } else if c.max_steps.is_some() || c.num_epochs <= 20 {
        c = c.with_print_every(1);
    }
    c.validate()?;
    let length = match c.max_steps {
        Some(s) => format!("{s} steps"),
        None => format!("{} epochs", c.num_epochs),
    };
    eprintln!("training the vanilla GAN on {} ({length}, seed {}) -> {}", c.data, c.seed, a.out.display());
    let mut metrics = MetricsWriter::new(a.out.join("metrics.jsonl"));
    let report = if tty {
        let mut bar = Bar { bar: None, total_epochs: 0 };
        gan_tutorial::train_vanilla_gan_with(&c, &mut gan_tutorial::gan::observer::Many(vec![&mut metrics, &mut bar]))?
    } else {
        gan_tutorial::train_vanilla_gan_with(&c, &mut metrics)?
    };
    let files = save_run(&report, &a.out)?;
    let h = &report.history;
    eprintln!(
        "done: {} steps in {:.1}s on {} ({:.1} it/s); wrote metrics.jsonl and {} files to {}",
        h.steps(),
        h.wall_time_secs,
        h.device,
        h.steps() as f64 / h.wall_time_secs.max(1e-9),
        files.len(),
        a.out.display()
    );
    Ok(())
}

/// A terminal progress bar over iterations, with the last epoch's means.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
    total_epochs: usize,
}

impl TrainObserver for Bar {
    fn on_start(&mut self, total: usize, per_epoch: usize) -> gan_tutorial::Result<()> {
        self.total_epochs = total.div_ceil(per_epoch.max(1));
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} it  {per_sec}  eta {eta}  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        self.bar = Some(bar);
        Ok(())
    }
    fn on_step(&mut self, log: &StepLog) -> gan_tutorial::Result<()> {
        if let Some(b) = &self.bar {
            b.inc(1);
            if log.step % 10 == 0 {
                b.set_message(format!("d {:.3} g {:.3}", log.d_loss, log.g_loss));
            }
        }
        Ok(())
    }
    fn on_epoch(&mut self, e: &EpochStats) -> gan_tutorial::Result<()> {
        if let Some(b) = &self.bar {
            b.println(format_epoch(e, self.total_epochs));
        }
        Ok(())
    }
    fn on_end(&mut self) -> gan_tutorial::Result<()> {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        Ok(())
    }
}

fn train_family(variant: gan_tutorial::gan::Variant, a: FamilyArgs) -> Result<()> {
    use gan_tutorial::gan::{resume_gan, train_gan, GanConfig};
    let mut c = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))?;
            // Either a bare GanConfig or a run's config.json ({"config": ..., "runtime": ...}).
            serde_json::from_value::<GanConfig>(v.get("config").cloned().unwrap_or(v)).with_context(|| format!("{} is not a GAN config", p.display()))?
        }
        None => GanConfig::variant(variant),
    };
    c.seed = a.seed;
    if let Some(s) = a.steps {
        c = c.with_steps(s);
    }
    if let Some(e) = a.epochs {
        c = c.with_epochs(e);
    }
    if a.data.is_some() {
        c.data = data_source(a.data.as_deref());
    }
    c.max_train = a.max_train.or(c.max_train);
    c.device = a.device.or(c.device);
    c.batch_size = a.batch_size.unwrap_or(c.batch_size);
    c.lr_g = a.lr_g.unwrap_or(c.lr_g);
    c.lr_d = a.lr_d.unwrap_or(c.lr_d);
    c.n_dis = a.n_dis.unwrap_or(c.n_dis);
    c.objective = a.objective.unwrap_or(c.objective);
    c.net.d_norm = a.d_norm.unwrap_or(c.net.d_norm);
    c.net.g_width = a.g_width.unwrap_or(c.net.g_width);
    c.net.d_width = a.d_width.unwrap_or(c.net.d_width);
    c.net.image_side = a.image_side.unwrap_or(c.net.image_side);
    c.latent = a.latent.unwrap_or(c.latent);
    c.tips.label_smoothing = a.label_smoothing.unwrap_or(c.tips.label_smoothing);
    c.tips.label_flip = a.label_flip.unwrap_or(c.tips.label_flip);
    c.tips.instance_noise = a.instance_noise.unwrap_or(c.tips.instance_noise);
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(variant.name()));
    c = c.with_checkpoints(out.join("checkpoint"), a.checkpoint_every);
    c.validate()?;
    println!("{c}");
    let report = if a.resume { resume_gan(&c, out.join("checkpoint"))? } else { train_gan(&c)? };
    for w in &report.warnings {
        println!("{w}");
    }
    let mut written = report.save(&out)?;
    let losses = out.join("losses.png");
    gan_tutorial::plot_losses(&report)?.save(&losses)?;
    written.push(losses);
    if let Some(s) = report.history.last_samples() {
        let samples = out.join("samples.png");
        gan_tutorial::image_grid(&s.images, 8)?.save(&samples)?;
        written.push(samples);
    }
    let (d, g, dx, dgz) = report.final_means(50);
    println!("trained {} steps in {:.1}s on {}: last-50 means d_loss {d:.4} g_loss {g:.4} D(x) {dx:.3} D(G(z)) {dgz:.3}", report.history.steps(), report.history.wall_time_secs, report.history.device);
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

fn nash(a: NashArgs) -> Result<()> {
    use gan_tutorial::nash::{nash_demo, NashConfig};
    use gan_tutorial::notebook::RunMode;
    let mode = if a.quick { RunMode::Quick } else { RunMode::Full };
    let mut c = NashConfig::default().for_mode(mode).with_seed(a.seed);
    if let Some(s) = a.steps {
        c.vanilla = c.vanilla.with_steps(s);
        c.remedy = c.remedy.with_steps(s);
    }
    if let Some(r) = &a.remedy {
        let base = c.vanilla.clone().with_pack(1).with_d_steps(1).with_loss(GanLoss::NonSaturating);
        c.remedy = match r.split_once('=') {
            Some(("pack", m)) => base.with_pack(m.parse().with_context(|| format!("--remedy {r}: pack=M needs a number"))?),
            Some(("k", k)) => base.with_d_steps(k.parse().with_context(|| format!("--remedy {r}: k=N needs a number"))?),
            None if r == "minimax" => base.with_loss(GanLoss::Minimax),
            _ => bail!("--remedy {r}: use pack=M, k=N or minimax"),
        };
    }
    eprintln!("running the game-theory experiments ({mode:?} mode, seed {}) -> {}", a.seed, a.out.display());
    let report = nash_demo(&c)?;
    println!("{}", report.summary());
    let files = report.save(&a.out)?;
    eprintln!("wrote {} files to {}", files.len(), a.out.display());
    Ok(())
}

fn fetch(dataset: &str, dir: PathBuf, mirrors: Vec<String>) -> Result<()> {
    let mut spec = RemoteDataset::by_name(dataset)?;
    if !mirrors.is_empty() {
        spec = spec.with_mirrors(mirrors);
    }
    let mut last_print = std::time::Instant::now();
    let outcomes = fetch_dataset(&spec, &dir, &mut |file, n, total| {
        if last_print.elapsed().as_secs_f64() > 2.0 {
            last_print = std::time::Instant::now();
            match total {
                Some(t) => eprintln!("  {file}: {:.1} / {:.1} MB", n as f64 / 1e6, t as f64 / 1e6),
                None => eprintln!("  {file}: {:.1} MB", n as f64 / 1e6),
            }
        }
    })?;
    for o in &outcomes {
        match o {
            FetchOutcome::AlreadyPresent(p) => println!("ok (already present) {}", p.display()),
            FetchOutcome::Downloaded { path, url, bytes } => println!("ok {} ({bytes} bytes from {url})", path.display()),
        }
    }
    let data = gan_tutorial::data::load_dir(&dir).context("the downloaded files do not parse as IDX")?;
    println!("{}: {} train and {} test images of {}x{}", spec.name, data.train.len(), data.test.len(), data.train.rows, data.train.cols);
    Ok(())
}

fn data_info(arg: Option<&str>) -> Result<()> {
    let source = data_source(arg);
    let d = MnistData::load(&source)?;
    if d.train.is_empty() {
        bail!("{source}: the training set is empty");
    }
    let info = serde_json::json!({
        "source": source.to_string(),
        "image_size": [d.train.rows, d.train.cols],
        "train": { "images": d.train.len(), "per_class": d.train.label_counts() },
        "test": { "images": d.test.len(), "per_class": d.test.label_counts() },
    });
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

fn attack(a: AttackArgs) -> Result<()> {
    use gan_tutorial::adversarial::{attack_study_with, fgsm_example, AttackStudyConfig, FgsmExampleConfig};
    use gan_tutorial::notebook::RunMode;
    let mode = if a.quick { RunMode::Quick } else { RunMode::Full };
    let mut c = AttackStudyConfig::default().with_seed(a.seed).for_mode(mode);
    if let Some(d) = &a.device {
        c.classifier = c.classifier.with_device(d.clone());
    }
    if let Some(e) = a.epochs {
        c.classifier = c.classifier.with_epochs(e);
    }
    if let Some(n) = a.num_test {
        c.num_test = n;
    }
    if let Some(e) = a.eps {
        c.eps = e;
    }
    if let Some(s) = a.pgd_steps {
        c.pgd_steps = s;
    }
    if let Some(w) = a.adv_weight {
        c.classifier = c.classifier.with_adv_weight(w);
    }
    if let Some(e) = a.adv_warmup {
        c.classifier = c.classifier.with_adv_warmup(e);
    }
    if let Some(sides) = a.patch_sides {
        c.patch_sides = sides;
    }
    c.validate()?;
    gan_tutorial::fsutil::create_dir(&a.out)?;
    gan_tutorial::fsutil::write_json(a.out.join("config.json"), &c)?;
    eprintln!("adversarial attacks on MNIST ({mode} mode, seed {}) -> {}", c.seed, a.out.display());
    let ex_config = FgsmExampleConfig::default().with_classifier(c.classifier.clone()).with_model_path(a.out.join("lenet.safetensors"));
    let ex = fgsm_example(&ex_config)?;
    ex.figure.save_png(a.out.join("fgsm_example.png"))?;
    ex.figure.save_svg(a.out.join("fgsm_example.svg"))?;
    gan_tutorial::fsutil::write_json(a.out.join("fgsm_example.json"), &ex)?;
    eprint!("{ex}");
    let data = MnistData::load(&c.classifier.data)?;
    let study = attack_study_with(&c, &data, &mut |line| eprintln!("  {line}"))?;
    for attack in ["fgsm", "bim", "pgd"] {
        let fig = gan_tutorial::adversarial::plot_accuracy_vs_eps(&study, attack)?;
        fig.save_png(a.out.join(format!("accuracy_{attack}.png")))?;
        fig.save_svg(a.out.join(format!("accuracy_{attack}.svg")))?;
    }
    let results = serde_json::json!({ "study": study, "fgsm_example": ex, "libtorch": gan_tutorial::runtime_info() });
    gan_tutorial::fsutil::write_json(a.out.join("results.json"), &results)?;
    println!("{study}");
    eprintln!("wrote config.json, results.json, fgsm_example.png, accuracy_{{fgsm,bim,pgd}}.png and lenet.safetensors to {}", a.out.display());
    Ok(())
}
