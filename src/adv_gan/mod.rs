//! Notebook 06: adversarial training of the GANs themselves, and the study
//! that tests what the sources claim about it.
//!
//! A study is a grid of runs: architectures (WGAN, WGAN-GP, DCGAN, SNGAN) ×
//! arms (no attack, FGSM on D at several ε, DAT) × seeds. Every run is its
//! own directory under the study's (`dcgan-fgsm0.02-s3/`: config.json,
//! metrics.jsonl, checkpoint, and `final.json` with its measures once it is
//! finished), so a finished run is never redone, a killed study resumes
//! where it stopped, and any number of processes can share one grid:
//! [`StudyConfig::plan`] lists the runs, [`shard`] takes one slice of them,
//! [`run_study`] runs a slice, and [`report::report`] merges whatever
//! finished run directories it is given.
pub mod lesson;
pub mod plot;
pub mod report;

use crate::classifier::ClassifierConfig;
use crate::compare::Judge;
use crate::data::{DataSource, MnistData};
use crate::error::{Error, Result};
use crate::gan::adv_d::{DAttack, DatSettings, FgsmSettings};
use crate::gan::{checkpoint, seeded_latent, GanConfig, GanReport, Training, Variant};
use crate::metrics::{flip_rate, lipschitz_estimate, loss_steadiness, FeatureExtractor, LipschitzEstimate, SampleQuality};
use crate::notebook::RunMode;
use crate::progress::{Progress, Quiet};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use lesson::{arms_table, flip_demo, plot_lipschitz_over_training, train_arms, ArmRun, ArmsConfig, FlipDemo};
pub use report::{report, ClaimCheck, StudyReport, Verdict};

/// One arm of the study: how D is attacked while it trains.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// The baseline: D trained as the variant says.
    None,
    /// FGSM on D's inputs with this ε (the SNGAN-FGSM recipe's other settings).
    Fgsm(f64),
    /// Direct adversarial training (Li 2020), t = 1, the authors' clamp order.
    Dat,
}

impl Arm {
    /// The grid's default arms: none, FGSM ε ∈ {0.01, 0.02, 0.05}, DAT.
    pub const DEFAULT: [Arm; 5] = [Arm::None, Arm::Fgsm(0.01), Arm::Fgsm(0.02), Arm::Fgsm(0.05), Arm::Dat];

    /// `none`, `fgsm0.02`, `dat`: the label in run names and tables.
    pub fn label(&self) -> String {
        match self {
            Arm::None => "none".into(),
            Arm::Fgsm(eps) => format!("fgsm{eps}"),
            Arm::Dat => "dat".into(),
        }
    }

    /// The GAN config's setting for this arm.
    pub fn d_attack(&self) -> DAttack {
        match *self {
            Arm::None => DAttack::None,
            Arm::Fgsm(eps) => DAttack::Fgsm(FgsmSettings { eps, ..Default::default() }),
            Arm::Dat => DAttack::Dat(DatSettings::default()),
        }
    }
}

impl std::fmt::Display for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl std::str::FromStr for Arm {
    type Err = Error;
    /// `none`, `dat`, `fgsm` (ε 0.02), `fgsm:0.05` or `fgsm0.05`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        let arm = match s.as_str() {
            "none" | "baseline" => Arm::None,
            "dat" => Arm::Dat,
            "fgsm" => Arm::Fgsm(0.02),
            _ => {
                let eps = s.strip_prefix("fgsm:").or_else(|| s.strip_prefix("fgsm")).and_then(|e| e.parse::<f64>().ok());
                match eps {
                    Some(eps) => Arm::Fgsm(eps),
                    None => return Err(Error::config("arm", format!("`{s}` is not an arm: use none, dat, fgsm or fgsm:EPS (e.g. fgsm:0.05)"))),
                }
            }
        };
        arm.d_attack().validate()?;
        Ok(arm)
    }
}

/// The architectures the coursework compared.
pub const ARCHITECTURES: [Variant; 4] = [Variant::Wgan, Variant::WganGp, Variant::Dcgan, Variant::Sngan];

/// A grid of runs and how each is trained and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudyConfig {
    pub archs: Vec<Variant>,
    pub arms: Vec<Arm>,
    pub seeds: Vec<u64>,
    /// Iterations (D steps) of every run.
    pub steps: usize,
    pub batch_size: usize,
    /// G's and D's widths (DCGAN base channels).
    pub width: i64,
    pub data: DataSource,
    /// Train on the first this many training images (None: all).
    pub max_train: Option<usize>,
    /// Generated images scored against as many real ones (FD, precision, recall).
    pub eval_samples: usize,
    /// Images (real, and as many generated) for the Lipschitz estimate and the flip rates.
    pub probe_samples: usize,
    /// ε of the FGSM that measures D's decision flips after training.
    pub flip_eps: f64,
    /// Window (steps) of the losses' rolling standard deviation.
    pub window: usize,
    /// A checkpoint every this many steps (a killed run loses at most these).
    pub checkpoint_every: usize,
    pub device: Option<String>,
}

impl Default for StudyConfig {
    fn default() -> Self {
        Self::for_mode(RunMode::Full)
    }
}

impl StudyConfig {
    /// Full: the four architectures × five arms × 5 seeds, 1,500 steps at
    /// width 32 on the embedded digits. Quick (notebook CI): DCGAN and
    /// SNGAN × none, FGSM 0.02, DAT × 2 seeds, 60 steps at width 8.
    pub fn for_mode(mode: RunMode) -> Self {
        let full = StudyConfig {
            archs: ARCHITECTURES.to_vec(),
            arms: Arm::DEFAULT.to_vec(),
            seeds: (0..5).collect(),
            steps: 1500,
            batch_size: 64,
            width: 32,
            data: DataSource::Embedded,
            max_train: None,
            eval_samples: 1000,
            probe_samples: 256,
            flip_eps: 0.02,
            window: 50,
            checkpoint_every: 250,
            device: None,
        };
        match mode {
            RunMode::Full => full,
            RunMode::Quick => StudyConfig {
                archs: vec![Variant::Dcgan, Variant::Sngan],
                arms: vec![Arm::None, Arm::Fgsm(0.02), Arm::Dat],
                seeds: vec![0, 1],
                steps: 60,
                width: 8,
                batch_size: 32,
                max_train: Some(2048),
                eval_samples: 300,
                probe_samples: 64,
                window: 10,
                checkpoint_every: 30,
                ..full
            },
        }
    }

    /// Notebook 06's grid. Quick: [`StudyConfig::for_mode`]'s. Full: the four
    /// architectures × none, FGSM 0.02, DAT × 3 seeds, 400 steps at width 16
    /// (36 runs; 18 of them took 30 minutes on 2 CPU cores shared with
    /// builds): the grid of the study
    /// the README reports, small enough for a lecture; the whole grid is the
    /// command line's (`study adv-d`, shardable).
    pub fn lesson(mode: RunMode) -> Self {
        match mode {
            RunMode::Quick => Self::for_mode(RunMode::Quick),
            RunMode::Full => StudyConfig { arms: vec![Arm::None, Arm::Fgsm(0.02), Arm::Dat], seeds: vec![0, 1, 2], steps: 400, width: 16, ..Self::for_mode(RunMode::Full) },
        }
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(v) = self.archs.iter().find(|v| !ARCHITECTURES.contains(v)) {
            return Err(Error::config("archs", format!("`{v}` is not one of the study's architectures: use wgan, wgan-gp, dcgan or sngan")));
        }
        for (name, empty) in [("archs", self.archs.is_empty()), ("arms", self.arms.is_empty()), ("seeds", self.seeds.is_empty())] {
            if empty {
                return Err(Error::config(name, "name at least one"));
            }
        }
        for arm in &self.arms {
            arm.d_attack().validate()?;
        }
        if self.steps == 0 || self.window < 2 || self.window > self.steps {
            return Err(Error::config("steps / window", format!("{} steps, window {}: train at least one window of at least 2 steps", self.steps, self.window)));
        }
        if self.eval_samples < 10 || self.probe_samples < 2 {
            return Err(Error::config("eval_samples / probe_samples", "score at least 10 generated images and probe at least 2"));
        }
        if self.data.channels() != 1 {
            return Err(Error::config(
                "data",
                format!(
                    "{}: the study's judge (FD, precision and recall of every run) is a LeNet trained on MNIST-format digits, \
                     which takes 1x28x28 grey images and cannot judge CIFAR-10's 3x32x32 colour images. Missing: a feature \
                     extractor for CIFAR-10 (an Inception network, or a classifier trained on it; the classifier module takes \
                     1x28x28 images only). Meanwhile train single CIFAR-10 runs: `gan-tutorial train sngan --data cifar10:DIR`",
                    self.data
                ),
            ));
        }
        if !(self.flip_eps > 0.0 && self.flip_eps <= 1.0) {
            return Err(Error::config("flip_eps", format!("{}: ε must be in (0, 1]", self.flip_eps)));
        }
        Ok(())
    }

    /// Every run of the grid, in a fixed order (architecture, arm, seed).
    pub fn plan(&self) -> Vec<PlannedRun> {
        let mut runs = Vec::new();
        for &arch in &self.archs {
            for &arm in &self.arms {
                for &seed in &self.seeds {
                    let name = format!("{}-{}-s{seed}", arch.name(), arm.label());
                    runs.push(PlannedRun { index: runs.len(), arch, arm, seed, name });
                }
            }
        }
        runs
    }

    /// The GAN config of one planned run.
    pub fn run_config(&self, run: &PlannedRun) -> GanConfig {
        let mut c = GanConfig::variant(run.arch)
            .with_d_attack(run.arm.d_attack())
            .with_seed(run.seed)
            .with_steps(self.steps)
            .with_batch_size(self.batch_size)
            .with_widths(self.width, self.width)
            .with_data(self.data.clone())
            .fit_nets_to_data()
            .with_print_every(0)
            .with_fixed_samples(16);
        c.name = run.name.clone();
        c.max_train = self.max_train;
        c.device = self.device.clone();
        c
    }
}

/// One run of a study's grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// Its place in [`StudyConfig::plan`].
    pub index: usize,
    pub arch: Variant,
    pub arm: Arm,
    pub seed: u64,
    /// Its directory's name: `dcgan-fgsm0.02-s3`.
    pub name: String,
}

/// Slice `k` of `n` (0-based) of a plan: runs `k`, `k + n`, `k + 2n`, … so
/// that every slice gets some of each architecture.
pub fn shard(plan: &[PlannedRun], k: usize, n: usize) -> Result<Vec<PlannedRun>> {
    if n == 0 || k >= n {
        return Err(Error::config("shard", format!("{k}/{n}: K/N needs 0 <= K < N (e.g. --shard 0/4 … 3/4)")));
    }
    Ok(plan.iter().filter(|r| r.index % n == k).cloned().collect())
}

/// Parses `K/N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || Error::config("shard", format!("`{s}`: write K/N, e.g. 0/4 (slice 0 of 4)"));
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || k >= n {
        return Err(Error::config("shard", format!("{k}/{n}: K/N needs 0 <= K < N (e.g. --shard 0/4 … 3/4)")));
    }
    Ok((k, n))
}

/// A finished run's measures: `final.json` in its directory, written last
/// (atomically), so its presence marks the run as finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub run: PlannedRun,
    /// The data set's description (runs of different data are never merged).
    pub data: String,
    pub steps: usize,
    pub quality: SampleQuality,
    pub lipschitz: LipschitzEstimate,
    /// Mean rolling std of G's and D's losses over the study's window, and their spikes.
    pub g_steadiness: f64,
    pub d_steadiness: f64,
    pub g_spikes: usize,
    pub d_spikes: usize,
    /// Share of D's decisions an FGSM of `flip_eps` flips, on real and on generated images.
    pub flip_eps: f64,
    pub flip_real: f64,
    pub flip_fake: f64,
    /// Share of D steps whose inputs were attacked.
    pub attacked_share: f64,
    /// Training wall time per iteration (the arm's cost), seconds.
    pub seconds_per_step: f64,
}

/// What [`run_study`] did with each run of its slice.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Trained (or resumed) and measured now.
    Done(Box<RunResult>),
    /// Already finished: its `final.json` was read, nothing trained.
    AlreadyDone(Box<RunResult>),
}

impl Outcome {
    pub fn result(&self) -> &RunResult {
        match self {
            Outcome::Done(r) | Outcome::AlreadyDone(r) => r,
        }
    }
}

/// The file that marks a run as finished.
pub const FINAL: &str = "final.json";
/// The study's settings, at the top of its directory.
pub const STUDY_FILE: &str = "study.json";

/// Runs `runs` (a plan or a shard of it) into `dir`, one directory each,
/// skipping finished runs and resuming interrupted ones. The study's
/// settings are kept in `dir/study.json`; a directory holding another
/// study's settings is refused (its runs would not be comparable).
pub fn run_study(config: &StudyConfig, dir: impl AsRef<Path>, runs: &[PlannedRun], progress: &mut dyn Progress) -> Result<Vec<Outcome>> {
    let dir = dir.as_ref();
    config.validate()?;
    claim_dir(config, dir)?;
    let judge = judge(config, dir)?;
    let data = MnistData::load(&config.data)?;
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let run_dir = dir.join(&run.name);
        let outcome = match read_final(&run_dir)? {
            Some(r) => Outcome::AlreadyDone(Box::new(r)),
            None => Outcome::Done(Box::new(train_and_measure(config, run, &run_dir, &judge, &data)?)),
        };
        let r = outcome.result();
        let how = if matches!(outcome, Outcome::AlreadyDone(_)) { "already done" } else { "done" };
        progress.line(&format!("[{}/{}] {} {how}: FD {:.2}, G steadiness {:.4}, Lipschitz (interp.) {:.3}", i + 1, runs.len(), run.name, r.quality.fid, r.g_steadiness, r.lipschitz.interpolated.mean));
        out.push(outcome);
    }
    Ok(out)
}

/// Writes `study.json`, or checks that the one there is this study's.
fn claim_dir(config: &StudyConfig, dir: &Path) -> Result<()> {
    let path = dir.join(STUDY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let theirs: StudyConfig = serde_json::from_str(&text).map_err(|e| Error::data(&path, format!("not a study's settings ({e})")))?;
            if theirs.identity() != config.identity() {
                return Err(Error::config(
                    "study",
                    format!("{} holds a study with other settings (steps, widths, data or probes differ): use another directory, or the same settings", dir.display()),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => crate::fsutil::write_json(&path, config),
        Err(e) => Err(Error::io(&path, e)),
    }
}

impl StudyConfig {
    /// What makes two studies' runs comparable: everything but the grid's
    /// extent (archs, arms, seeds: shards and later extensions may differ)
    /// and the device.
    fn identity(&self) -> StudyConfig {
        StudyConfig { archs: vec![], arms: vec![], seeds: vec![], device: None, ..self.clone() }
    }
}

/// The judge of every run: LeNet features (trained once, cached in the
/// study's directory; concurrent shards take turns through a lock file) and
/// the real training digits as the reference.
fn judge(config: &StudyConfig, dir: &Path) -> Result<Judge> {
    let cc = ClassifierConfig::default().with_seed(0).with_data(config.data.clone());
    let cc = match &config.device {
        Some(d) => cc.with_device(d.clone()),
        None => cc,
    };
    let path = dir.join("judge").join("lenet.safetensors");
    crate::fsutil::create_dir(dir.join("judge"))?;
    let extractor = crate::fsutil::with_file_lock(&dir.join("judge").join(".lock"), || FeatureExtractor::load_or_train(&path, &cc))?;
    let data = MnistData::load(&config.data)?;
    Judge::new(extractor, &data.train, config.eval_samples, 0)
}

/// A run's `final.json`, if it finished; a torn or foreign one is an error naming it.
pub fn read_final(run_dir: &Path) -> Result<Option<RunResult>> {
    let path = run_dir.join(FINAL);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| Error::data(&path, format!("not a finished run's measures ({e}): delete it to redo the run"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn train_and_measure(config: &StudyConfig, run: &PlannedRun, run_dir: &Path, judge: &Judge, data: &MnistData) -> Result<RunResult> {
    let c = config.run_config(run).with_checkpoints(run_dir, config.checkpoint_every);
    let resume = run_dir.join(checkpoint::FILE).is_file();
    if !resume {
        // A run killed before its first checkpoint starts again from nothing.
        for f in ["config.json", "metrics.jsonl"] {
            let _ = std::fs::remove_file(run_dir.join(f));
        }
    }
    let report = Training::new(&c).resume(resume).progress(&mut Quiet).run()?;
    let result = measure(config, run, &report, judge, data)?;
    crate::fsutil::write_json(run_dir.join(FINAL), &result)?;
    Ok(result)
}

/// The measures of a trained run (see [`RunResult`]).
pub fn measure(config: &StudyConfig, run: &PlannedRun, report: &GanReport, judge: &Judge, data: &MnistData) -> Result<RunResult> {
    let gan = &report.gan;
    let quality = judge.evaluate(gan)?;
    let device = gan.device();
    let n = config.probe_samples.min(data.test.len()) as i64;
    let real = data.test.take(n as usize).to_tensor_pm1(device);
    let real = pad_to(&real, config.run_config(run).net.image_side)?;
    let z = seeded_latent(report.config.latent, n as usize, gan.latent_dim() as usize, 7, device);
    let lipschitz = lipschitz_estimate(gan, &real, &z, 11)?;
    let fake = gan.generate_from(&z)?;
    let threshold = crate::metrics::decision_threshold(gan, report.config.objective, &real, &fake)?;
    let flip_real = flip_rate(gan, &real, true, config.flip_eps, threshold)?.rate;
    let flip_fake = flip_rate(gan, &fake, false, config.flip_eps, threshold)?.rate;
    let s = loss_steadiness(&report.history, config.window)?;
    let attacked = &report.extras.d_attacked;
    let steps = report.history.steps();
    Ok(RunResult {
        run: run.clone(),
        data: config.data.to_string(),
        steps,
        quality,
        lipschitz,
        g_steadiness: s.g.mean_rolling_std,
        d_steadiness: s.d.mean_rolling_std,
        g_spikes: s.g.spikes,
        d_spikes: s.d.spikes,
        flip_eps: config.flip_eps,
        flip_real,
        flip_fake,
        attacked_share: attacked.iter().filter(|&&a| a).count() as f64 / attacked.len().max(1) as f64,
        seconds_per_step: report.history.wall_time_secs / steps.max(1) as f64,
    })
}

/// MNIST's 28×28 digits padded to 32×32 with background, for DCGAN-32 nets.
pub(crate) fn pad_to(x: &tch::Tensor, side: i64) -> Result<tch::Tensor> {
    let have = ((x.size()[1] as f64).sqrt()) as i64;
    if have == side {
        return Ok(x.shallow_clone());
    }
    if side != have + 4 {
        return Err(Error::config("net.image_side", format!("{side}: the study's data are {have}x{have}")));
    }
    Ok(((x + 1.0).view([-1, 1, have, have]).constant_pad_nd([2, 2, 2, 2]) - 1.0).view([-1, side * side]))
}

/// The study's directory names, for `--plan`: one line a run.
pub fn plan_lines(plan: &[PlannedRun]) -> String {
    plan.iter().map(|r| format!("{:>4}  {}\n", r.index, r.name)).collect()
}

pub(crate) fn runs_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten().map(|e| e.path()).filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "judge")).collect();
    dirs.sort();
    Ok(dirs)
}
