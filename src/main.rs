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
        let fig = gan_tutorial::plot::plot_accuracy_vs_eps(&study, attack)?;
        fig.save_png(a.out.join(format!("accuracy_{attack}.png")))?;
        fig.save_svg(a.out.join(format!("accuracy_{attack}.svg")))?;
    }
    let results = serde_json::json!({ "study": study, "fgsm_example": ex, "libtorch": gan_tutorial::runtime_info() });
    gan_tutorial::fsutil::write_json(a.out.join("results.json"), &results)?;
    println!("{study}");
    eprintln!("wrote config.json, results.json, fgsm_example.png, accuracy_{{fgsm,bim,pgd}}.png and lenet.safetensors to {}", a.out.display());
    Ok(())
}
