//! The one trainer: every GAN of the crate, the tutorial's vanilla GAN
//! included, is trained by this loop. Around [`update_d`] and [`update_g`]
//! (`step.rs`) it does the bookkeeping: batches, the step order, n_dis,
//! seeding, the failure checks, progress, the run's record and checkpoints.
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
//! One iteration: in [`StepOrder::DFirst`], a D (critic) step on a real
//! batch and fresh fakes, then, every `n_dis`-th iteration, a G step on fresh
//! codes; in [`StepOrder::GFirst`] (the tutorial's), a G step, then a D step
//! on the same fakes. Every iteration's randomness (codes, labels, flips,
//! noise, dropout, whether the D attack is on) is drawn after seeding from
//! `(seed, step)`, so a run resumed from a checkpoint continues exactly as
//! an uninterrupted one.
//!
//! **Recording.** With a record directory ([`GanConfig::with_checkpoints`],
//! or the CLI's `--out`), the run writes `config.json` before its first step,
//! appends one whole line per step to `metrics.jsonl`, and writes
//! `checkpoint.safetensors` every `checkpoint_every` steps and at the end.
//! A non-finite number stops the run with [`Error::Diverged`], naming the
//! step and the quantity; the last checkpoint (all finite) stays.
use super::checkpoint;
use super::config::{GanConfig, StepOrder};
use super::model::Gan;
use super::report::{config_record, step_record, GanReport, SampleSnapshot, StepExtras, StepLog, TrainHistory, TrainerState};
use super::adv_d::StepAt;
use super::step::{update_d, update_g};
use super::tips::FailureMonitor;
use crate::data::{Batcher, MnistData};
use crate::error::{Error, Result};
use crate::optim::Optimizer;
use crate::progress::{Lines, Progress};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Trains any member of the family (progress lines every `print_every` epochs).
pub fn train_gan(config: &GanConfig) -> Result<GanReport> {
    Training::new(config).run()
}

/// Continues the run recorded in `dir` (its `checkpoint.safetensors`) up to
/// `config`'s length, recording into `dir` from there. The config must match
/// the checkpoint's in everything but length, printing, samples kept,
/// checkpointing and device; the continued run's numbers are the ones an
/// uninterrupted run would have produced.
pub fn resume_gan(config: &GanConfig, dir: impl AsRef<Path>) -> Result<GanReport> {
    let mut c = config.clone();
    c.record_dir = Some(dir.as_ref().to_path_buf());
    Training::new(&c).resume(true).run()
}

/// A run about to start: the config, whether it resumes, who watches.
pub struct Training<'a> {
    config: GanConfig,
    resume: bool,
    progress: Option<&'a mut dyn Progress>,
}

impl<'a> Training<'a> {
    pub fn new(config: &GanConfig) -> Self {
        Self { config: config.clone(), resume: false, progress: None }
    }

    /// Continue from the checkpoint in the record directory.
    pub fn resume(mut self, on: bool) -> Self {
        self.resume = on;
        self
    }

    /// Who watches (default: [`Lines`], every `print_every` epochs).
    pub fn progress(mut self, p: &'a mut dyn Progress) -> Self {
        self.progress = Some(p);
        self
    }

    pub fn run(self) -> Result<GanReport> {
        let mut lines = Lines;
        let progress: &mut dyn Progress = match self.progress {
            Some(p) => p,
            None => &mut lines,
        };
        let result = run(&self.config, self.resume, progress);
        progress.finish();
        result
    }
}

/// Loads real images (`[n, C·side²]` in [−1, 1]; grey 28×28 digits padded
/// to 32×32 if asked, RGB images as they are) and labels.
pub(crate) fn load_data(config: &GanConfig, device: Device) -> Result<(Tensor, Tensor)> {
    let data = MnistData::load(&config.data)?;
    let train = match config.max_train {
        Some(m) => data.train.take(m),
        None => data.train,
    };
    let (rows, cols, channels) = (train.rows as i64, train.cols as i64, train.channels as i64);
    if channels != config.net.channels {
        return Err(Error::config(
            "net.channels",
            format!("{}, but the data ({}) have {channels}-channel images: set net.channels to {channels} (the CLI fits the nets to CIFAR-10 itself)", config.net.channels, config.data),
        ));
    }
    let mut x = train.to_tensor_pm1(device);
    let side = config.net.image_side;
    if side == rows + 4 && rows == cols && channels == 1 {
        // 28 → 32: two background (−1) pixels on each side, as DCGAN-on-MNIST code does.
        x = ((x + 1.0).view([-1, 1, rows, cols]).constant_pad_nd([2, 2, 2, 2]) - 1.0).view([-1, side * side]);
    } else if side != rows || side != cols {
        return Err(Error::config("net.image_side", image_side_hint(side, rows, cols, config.net.arch)));
    }
    let labels = Tensor::from_slice(&train.labels).to_kind(Kind::Int64).to_device(device);
    Ok((x, labels))
}

/// Why `side` does not fit `rows`×`cols` images, and only the sides that would.
fn image_side_hint(side: i64, rows: i64, cols: i64, arch: super::nets::NetArch) -> String {
    let data = format!("{side}, but the data's images are {rows}x{cols}");
    if rows != cols {
        return format!("{data}: the nets here take square images; crop or pad the data set to a square");
    }
    let dcgan = arch != super::nets::NetArch::Mlp;
    match (dcgan, rows) {
        (false, _) => format!("{data}: use {rows}"),
        (true, 28) => format!("{data}: use 28, or 32 (MNIST padded, DCGAN-32)"),
        (true, 32) => format!("{data}: use 32"),
        (true, _) => format!("{data}: the DCGAN nets take 28x28 or 32x32 images; use the MLP nets (net.arch mlp) with {rows}"),
    }
}

fn step_seed(seed: u64, step: usize) -> u64 {
    let mut z = seed ^ (step as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One iteration's numbers, as plain `f64`s.
struct Numbers {
    d_loss: f64,
    g_loss: f64,
    d_real: f64,
    d_fake: f64,
    d_grad: f64,
    g_grad: f64,
    penalty: f64,
    class_accuracy: f64,
    d_attacked: bool,
}

struct Players<'a> {
    config: &'a GanConfig,
    gan: &'a Gan,
    g_opt: Optimizer,
    d_opt: Optimizer,
    conditional: bool,
    last_g: (f64, f64),
}

impl Players<'_> {
    /// What a checkpoint needs besides the weights and the history.
    fn state(&self, monitor: &FailureMonitor) -> TrainerState {
        TrainerState { opt_g: self.g_opt.state(), opt_d: self.d_opt.state(), low_d_run: monitor.low_d_run(), last_g: self.last_g }
    }

    /// One iteration in the config's step order.
    fn iteration(&mut self, step: usize, total: usize, real: &Tensor, labels: &Tensor) -> Result<Numbers> {
        let c = self.config;
        let gan = self.gan;
        let n = real.size()[0];
        let s = step_seed(c.seed, step);
        tch::manual_seed((s >> 1) as i64);
        gan.generator.reseed(s);
        gan.discriminator.reseed(s);
        let at = StepAt::new(step, total);
        // The schedule from the step's index alone: a resumed run follows it exactly.
        let f = c.lr_decay.factor(step, total);
        self.g_opt.set_lr(c.lr_g * f);
        self.d_opt.set_lr(c.lr_d * f);
        let mut g_out = None;
        let d = match c.step_order {
            StepOrder::DFirst => {
                // D on the real batch and fresh fakes (made with the real batch's labels).
                let y = self.conditional.then(|| labels.shallow_clone());
                let z = gan.sample_latent(n);
                let fake = tch::no_grad(|| gan.generator.forward_cond_t(&z, y.as_ref(), true));
                let d = update_d(gan, &mut self.d_opt, c, real, &fake, y.as_ref(), at)?;
                if step % c.n_dis == 0 {
                    let z = gan.sample_latent(n);
                    let y_g = self.conditional.then(|| Tensor::randint(c.net.num_classes, [n], (Kind::Int64, real.device())));
                    let mut g = update_g(gan, &mut self.g_opt, c, &z, y_g.as_ref(), at)?;
                    if c.tricks.balance.is_on() {
                        // The anti-pattern of ganhacks #7, on request (tricks.rs): more G steps while D's loss is low.
                        g = super::tricks::extra_g_steps(gan, &mut self.g_opt, c, (real, y.as_ref()), y_g.as_ref(), g, at)?.0;
                    }
                    g_out = Some(g);
                }
                d
            }
            StepOrder::GFirst => {
                // The tutorial's order: G, then D on the same (detached) fakes.
                let z = gan.sample_latent(n);
                let g = update_g(gan, &mut self.g_opt, c, &z, None, at)?;
                let d = update_d(gan, &mut self.d_opt, c, real, &g.fake, None, at)?;
                g_out = Some(g);
                d
            }
        };
        if let Some(g) = g_out {
            let v: Vec<f64> = Vec::try_from(Tensor::stack(&[g.loss.detach().to_kind(Kind::Double), g.grad_norm.to_kind(Kind::Double)], 0))?;
            self.last_g = (v[0], v[1]);
        }
        let dev = real.device();
        let stats = tch::no_grad(|| {
            Tensor::stack(
                &[
                    d.loss.detach().to_kind(Kind::Double),
                    d.real_score.to_kind(Kind::Double),
                    d.fake_score.to_kind(Kind::Double),
                    d.grad_norm.to_kind(Kind::Double),
                    d.penalty.detach().to_kind(Kind::Double).to_device(dev),
                    d.class_accuracy.to_kind(Kind::Double).to_device(dev),
                ],
                0,
            )
        });
        let v: Vec<f64> = Vec::try_from(stats)?;
        Ok(Numbers { d_loss: v[0], g_loss: self.last_g.0, d_real: v[1], d_fake: v[2], d_grad: v[3], g_grad: self.last_g.1, penalty: v[4], class_accuracy: v[5], d_attacked: d.attacked })
    }
}

/// The run's record on disk: config.json, metrics.jsonl (whole lines) and
/// checkpoints, under a lock (`.lock`, holding the process id) so that two
/// runs never record into one directory at once.
struct Record {
    dir: PathBuf,
    metrics: std::fs::File,
    _lock: DirLock,
}

/// `.lock` in a run directory while a run records into it; removed on drop.
/// A lock whose process is gone (killed) is stale and taken over.
struct DirLock(PathBuf);

impl DirLock {
    fn take(dir: &Path) -> Result<Self> {
        let path = dir.join(".lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(DirLock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid: Option<u32> = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse().ok());
                    match pid {
                        Some(pid) if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() => {
                            return Err(Error::Busy { dir: dir.to_path_buf(), pid });
                        }
                        // Stale (its process is gone) or unreadable: take it over.
                        _ => std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?,
                    }
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::data(&path, "could not take the run directory's lock: remove .lock if no run is using it"))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Record {
    /// Writes config.json and starts metrics.jsonl: empty for a new run, the
    /// checkpoint's rows for a resumed one (rows after the checkpoint, from an
    /// interrupted run, are dropped, so the file always matches the checkpoint).
    fn open(dir: &Path, config: &GanConfig, h: &TrainHistory, extras: &StepExtras) -> Result<Self> {
        crate::fsutil::create_dir(dir)?;
        let lock = DirLock::take(dir)?;
        crate::fsutil::write_json(dir.join("config.json"), &config_record(config))?;
        let path = dir.join("metrics.jsonl");
        crate::fsutil::write_atomic(&path, super::report::metrics_lines(h, extras)?.as_bytes())?;
        let metrics = std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Self { dir: dir.to_path_buf(), metrics, _lock: lock })
    }

    /// One whole line in one write: a kill leaves whole lines only.
    fn row(&mut self, h: &TrainHistory, extras: &StepExtras, i: usize) -> Result<()> {
        if let Some(r) = step_record(h, extras, i) {
            let mut line = serde_json::to_string(&r)?;
            line.push('\n');
            self.metrics.write_all(line.as_bytes()).map_err(|e| Error::io(self.dir.join("metrics.jsonl"), e))?;
        }
        Ok(())
    }
}

fn first_non_finite(v: &Numbers) -> Option<(&'static str, f64)> {
    [("d_loss", v.d_loss), ("g_loss", v.g_loss), ("d_real", v.d_real), ("d_fake", v.d_fake), ("d_grad_norm", v.d_grad), ("g_grad_norm", v.g_grad), ("penalty", v.penalty)]
        .into_iter()
        .find(|(_, x)| !x.is_finite())
}

fn run(config: &GanConfig, resume: bool, progress: &mut dyn Progress) -> Result<GanReport> {
    config.validate()?;
    let device = config.resolve_device()?;
    config.net.check_fits(crate::device::available_memory(device))?;
    let (x, labels) = load_data(config, device)?;
    // Labels ride along as a last column, so the batches keep them paired.
    let side2 = config.net.image_dim();
    let data = Tensor::cat(&[x, labels.to_kind(Kind::Float).unsqueeze(1)], 1);
    let batches = Batcher::new(data, config.batch_size, config.drop_last, config.seed)?;
    let gan = config.build_gan(device);
    let fixed_noise = gan.sample_latent(config.num_fixed_samples as i64);
    let fixed_labels = Tensor::arange(config.num_fixed_samples as i64, (Kind::Int64, device)).remainder(config.net.num_classes.max(1));
    let per_epoch = batches.batches_per_epoch();
    let total = config.max_steps.unwrap_or_else(|| per_epoch.saturating_mul(config.num_epochs));
    let mut players = Players {
        config,
        gan: &gan,
        g_opt: Optimizer::new(&gan.g_vs, config.optimizer_g, config.lr_g)?,
        d_opt: Optimizer::new(&gan.d_vs, config.optimizer_d, config.lr_d)?,
        conditional: config.net.is_conditional(),
        last_g: (f64::NAN, f64::NAN),
    };
    let aux = config.net.conditioning == super::nets::Conditioning::AuxClassifier;
    let mut h = TrainHistory { batches_per_epoch: per_epoch, device: crate::device::device_name(device), ..Default::default() };
    let mut extras = StepExtras::default();
    let mut monitor = FailureMonitor::new(config.checks, vec![]);
    if resume {
        let dir = config.record_dir.as_ref().ok_or_else(|| Error::config("record_dir", "resuming needs the run directory that holds the checkpoint"))?;
        let ck = checkpoint::load(&dir.join(checkpoint::FILE), config, &gan)?;
        players.g_opt.load_state(&ck.state.opt_g)?;
        players.d_opt.load_state(&ck.state.opt_d)?;
        players.last_g = ck.state.last_g;
        monitor = FailureMonitor::resumed(config.checks, ck.warnings, ck.state.low_d_run).with_past_d_losses(&ck.history.d_losses);
        h = ck.history;
        h.device = crate::device::device_name(device);
        extras = ck.extras;
        if h.steps() > total {
            return Err(Error::config("max_steps", format!("the checkpoint is at step {}, past this run's length {total}: ask for more steps", h.steps())));
        }
    }
    let mut record = match &config.record_dir {
        Some(dir) => Some(Record::open(dir, config, &h, &extras)?),
        None => None,
    };
    let checkpoint_now = |players: &Players, h: &TrainHistory, extras: &StepExtras, monitor: &FailureMonitor| -> Result<()> {
        if let Some(dir) = &config.record_dir {
            checkpoint::save(&dir.join(checkpoint::FILE), config, &gan, &players.state(monitor), h, extras, &monitor.warnings)?;
        }
        Ok(())
    };
    progress.start(&format!("train {}", config.name), total);
    progress.advance(h.steps());
    let started = Instant::now();
    let num_epochs = total.div_ceil(per_epoch);
    let start_epoch = h.steps() / per_epoch + 1;
    for epoch in start_epoch..=num_epochs {
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
            let v = players.iteration(step, total, &real, &y)?;
            if let Some((quantity, value)) = first_non_finite(&v) {
                let kept = match &config.record_dir {
                    Some(dir) if dir.join(checkpoint::FILE).exists() => format!(" (the last checkpoint, all finite, is kept in {})", dir.display()),
                    Some(_) => " (no checkpoint had been written yet)".to_string(),
                    None => String::new(),
                };
                return Err(Error::Diverged { step, quantity: quantity.into(), value, kept });
            }
            h.push(&StepLog { step, epoch, batch, d_loss: v.d_loss, g_loss: v.g_loss, d_real: v.d_real, d_fake: v.d_fake });
            extras.d_grad_norms.push(v.d_grad);
            extras.g_grad_norms.push(v.g_grad);
            extras.penalties.push(v.penalty);
            extras.d_attacked.push(v.d_attacked);
            if aux {
                extras.class_accuracy.push(v.class_accuracy);
            }
            if let Some(r) = record.as_mut() {
                r.row(&h, &extras, step)?;
            }
            for w in monitor.check(step, v.d_loss, v.g_loss, v.d_grad, v.g_grad, config.objective.has_targets()) {
                if config.print_every > 0 {
                    progress.line(&w.to_string());
                }
            }
            progress.advance(h.steps());
            if crate::interrupt::requested() {
                checkpoint_now(&players, &h, &extras, &monitor)?;
                let kept = match &config.record_dir {
                    Some(dir) => format!(": the checkpoint in {} holds the {} steps done; add --resume to continue", dir.display(), h.steps()),
                    None => String::new(),
                };
                return Err(Error::Interrupted { step: h.steps(), kept });
            }
            if config.checkpoint_every > 0 && h.steps() % config.checkpoint_every == 0 && h.steps() < total {
                checkpoint_now(&players, &h, &extras, &monitor)?;
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
            let warned = if monitor.warnings.is_empty() { String::new() } else { format!("  ({} warning(s))", monitor.warnings.len()) };
            progress.line(&format!("[{}] {}  |grad D| {mean_dg:.2}{warned}", config.name, format_epoch(&stats, num_epochs)));
        }
        if config.sample_epochs.contains(&epoch) || epoch == num_epochs {
            let x = if players.conditional { gan.generate_cond_from(&fixed_noise, &fixed_labels)? } else { gan.generate_from(&fixed_noise)? };
            h.samples.retain(|s| s.epoch != epoch);
            h.samples.push(SampleSnapshot { epoch, step: h.steps(), images: gan.to_images(&x)? });
        }
    }
    h.wall_time_secs += started.elapsed().as_secs_f64();
    checkpoint_now(&players, &h, &extras, &monitor)?;
    let state = players.state(&monitor);
    drop(players);
    let warnings = monitor.warnings;
    Ok(GanReport { config: config.clone(), history: h, extras, warnings, gan, state })
}

/// `epoch   3/100  d_loss 0.5121  g_loss 1.2340  D(x) 0.712  D(G(z)) 0.291  1.9s`
pub fn format_epoch(e: &super::report::EpochStats, total_epochs: usize) -> String {
    let w = total_epochs.to_string().len();
    format!(
        "epoch {:>w$}/{total_epochs}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  {:.1}s",
        e.epoch, e.d_loss, e.g_loss, e.d_real, e.d_fake, e.seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::{DNorm, Variant};

    fn tiny(v: Variant) -> GanConfig {
        let mut c = GanConfig::variant(v).with_widths(8, 8).with_batch_size(16).with_max_train(64).with_steps(2).with_device("cpu").with_print_every(0).with_fixed_samples(4);
        c.net.latent_dim = 8;
        c.n_dis = 1;
        c
    }

    #[test]
    fn the_image_side_hint_offers_only_sides_that_work() {
        use crate::gan::nets::NetArch::{Dcgan, Mlp};
        assert!(image_side_hint(28, 28, 14, Dcgan).contains("square images"));
        assert!(!image_side_hint(28, 28, 14, Mlp).contains("use 28"));
        assert!(image_side_hint(28, 32, 32, Dcgan).ends_with("use 32"), "never 36, which DCGAN refuses");
        assert!(image_side_hint(32, 28, 28, Mlp).ends_with("use 28"));
        assert!(image_side_hint(28, 64, 64, Dcgan).contains("MLP nets"));
        let h = image_side_hint(32, 20, 20, Dcgan);
        assert!(h.contains("20x20") && !h.contains("use 24"), "{h}");
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

    /// Copies the run directory (its checkpoint at step `at`, config and
    /// metrics) as the run passes step `at`: a run interrupted there.
    struct CopyAt {
        from: PathBuf,
        to: PathBuf,
        at: usize,
    }

    impl Progress for CopyAt {
        fn advance(&mut self, done: usize) {
            if done == self.at + 1 {
                std::fs::create_dir_all(&self.to).unwrap();
                for f in [checkpoint::FILE, "config.json", "metrics.jsonl"] {
                    std::fs::copy(self.from.join(f), self.to.join(f)).unwrap();
                }
            }
        }
        fn line(&mut self, _text: &str) {}
    }

    #[test]
    fn attacked_runs_resume_exactly() {
        let _rng = crate::torch_rng_lock();
        let tmp = tempfile::tempdir().unwrap();
        let plain = train_gan(&tiny(Variant::Dcgan).with_steps(8)).unwrap();
        for attack in ["fgsm:0.05,p=0.5,start=0.25,g-step", "dat"] {
            let a: crate::gan::DAttack = attack.parse().unwrap();
            let c = tiny(Variant::Dcgan).with_steps(8).with_d_attack(a);
            let (full, part) = (tmp.path().join(format!("{attack}-full")), tmp.path().join(format!("{attack}-part")));
            let mut copy = CopyAt { from: full.clone(), to: part.clone(), at: 4 };
            let whole = Training::new(&c.clone().with_checkpoints(&full, 4)).progress(&mut copy).run().unwrap();
            let resumed = resume_gan(&c.clone().with_checkpoints(&part, 4), &part).unwrap();
            assert_eq!((&resumed.history.d_losses, &resumed.history.g_losses), (&whole.history.d_losses, &whole.history.g_losses), "{attack}");
            assert_eq!(resumed.extras, whole.extras, "{attack}");
            let metrics = |d: &Path| std::fs::read_to_string(d.join("metrics.jsonl")).unwrap();
            assert_eq!(metrics(&part), metrics(&full), "{attack}");
            // The attacked steps are the draws of (seed, step); before the first, the run is the plain one.
            let want: Vec<bool> = (0..8).map(|s| a.attacks(c.seed, StepAt::new(s, 8))).collect();
            assert_eq!(whole.extras.d_attacked, want, "{attack}");
            assert!(metrics(&full).contains("\"d_attacked\":true"), "{attack}");
            let first = want.iter().position(|b| *b).unwrap();
            assert_eq!(whole.history.d_losses[..first], plain.history.d_losses[..first], "{attack}");
            assert_ne!(whole.history.d_losses[first], plain.history.d_losses[first], "{attack}: the attack changed nothing");
        }
    }

    #[test]
    fn rgb_runs_on_generated_cifar10_train_and_resume_exactly() {
        use crate::gan::NetArch;
        use crate::optim::LrDecay;
        let _rng = crate::torch_rng_lock();
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("cifar");
        crate::data::cifar::write_generated(&data, 20, 3).unwrap();
        for (v, arch) in [(Variant::Dcgan, NetArch::Dcgan), (Variant::Sngan, NetArch::SnCnn)] {
            let c = tiny(v).with_cifar10(&data).with_lr_decay(LrDecay::Linear).with_steps(4);
            assert_eq!((c.net.arch, c.net.channels, c.net.image_side), (arch, 3, 32), "{v}");
            let (x, _) = load_data(&c, Device::Cpu).unwrap();
            assert_eq!(x.size(), vec![64, 3 * 32 * 32], "{v}: no padding, three planes");
            let (full, part) = (tmp.path().join(format!("{v}-full")), tmp.path().join(format!("{v}-part")));
            let mut copy = CopyAt { from: full.clone(), to: part.clone(), at: 2 };
            let whole = Training::new(&c.clone().with_checkpoints(&full, 2)).progress(&mut copy).run().unwrap();
            for xs in [&whole.history.d_losses, &whole.history.g_losses, &whole.extras.d_grad_norms] {
                assert!(xs.len() == 4 && xs.iter().all(|x| x.is_finite()), "{v}: {xs:?}");
            }
            let s = &whole.history.samples.last().unwrap().images;
            assert_eq!((s.n, s.channels, s.height, s.width), (4, 3, 32, 32), "{v}");
            let resumed = resume_gan(&c.clone().with_checkpoints(&part, 2), &part).unwrap();
            assert_eq!((&resumed.history.d_losses, &resumed.history.g_losses), (&whole.history.d_losses, &whole.history.g_losses), "{v}");
            assert_eq!(resumed.extras, whole.extras, "{v}");
            // The decay: step 1 trains at 3/4 of the rate, so from step 2 on the numbers differ from a constant rate's.
            let constant = train_gan(&c.clone().with_lr_decay(LrDecay::None)).unwrap();
            assert_eq!(constant.history.d_losses[..2], whole.history.d_losses[..2], "{v}");
            assert_ne!(constant.history.d_losses[2], whole.history.d_losses[2], "{v}: the decay changed nothing");
        }
        // Grey nets on colour data are refused, naming the setting.
        let e = train_gan(&tiny(Variant::Dcgan).with_data(crate::data::DataSource::Cifar10(data)).with_image_side(32)).unwrap_err().to_string();
        assert!(e.contains("net.channels") && e.contains("3-channel"), "{e}");
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

    #[test]
    fn g_first_is_a_g_step_then_a_d_step_on_the_same_fakes() {
        let _rng = crate::torch_rng_lock();
        let c = GanConfig::variant(crate::gan::Variant::Vanilla).with_device("cpu").with_print_every(0).with_steps(3).with_widths(16, 16).with_max_train(48).with_batch_size(16).with_fixed_samples(4);
        let r = train_gan(&c).unwrap();
        // The same three iterations written out by hand with the library's two steps.
        let (x, labels) = load_data(&c, Device::Cpu).unwrap();
        let data = Tensor::cat(&[x, labels.to_kind(Kind::Float).unsqueeze(1)], 1);
        let batches = Batcher::new(data, c.batch_size, c.drop_last, c.seed).unwrap();
        let gan = c.build_gan(Device::Cpu);
        let _fixed = gan.sample_latent(4);
        let mut g_opt = Optimizer::new(&gan.g_vs, c.optimizer_g, c.lr_g).unwrap();
        let mut d_opt = Optimizer::new(&gan.d_vs, c.optimizer_d, c.lr_d).unwrap();
        for (step, b) in batches.epoch(0).enumerate().take(3) {
            let s = step_seed(c.seed, step);
            tch::manual_seed((s >> 1) as i64);
            gan.generator.reseed(s);
            gan.discriminator.reseed(s);
            let real = b.narrow(1, 0, 784);
            let z = gan.sample_latent(real.size()[0]);
            let g = update_g(&gan, &mut g_opt, &c, &z, None, StepAt::new(step, 3)).unwrap();
            let d = update_d(&gan, &mut d_opt, &c, &real, &g.fake, None, StepAt::new(step, 3)).unwrap();
            assert_eq!(g.loss.double_value(&[]), r.history.g_losses[step], "G loss at {step}");
            assert_eq!(d.loss.double_value(&[]), r.history.d_losses[step], "D loss at {step}");
            assert_eq!(d.fake_score.double_value(&[]), r.history.d_fake[step], "D(G(z)) at {step}");
        }
        // The other order is another algorithm, with other numbers.
        let other = train_gan(&c.clone().with_step_order(StepOrder::DFirst)).unwrap();
        assert_ne!(other.history.d_losses, r.history.d_losses);
    }
}
