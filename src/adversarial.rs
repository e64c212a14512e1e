//! The two calls notebook 05 and `gan-tutorial attack` make:
//!
//! - [`fgsm_example`]: train (or load) a classifier, attack a handful of test
//!   digits with FGSM, and return the before/after figure with the numbers.
//! - [`attack_study`]: every attack at every ε against every defense on the
//!   same test digits, plus targeted attacks, transfer between the two
//!   architectures and an adversarial patch, all as plain serialisable numbers;
//!   [`plot_accuracy_vs_eps`] draws them (figures: `adversarial/plot.rs`).
//!
//! ```no_run
//! use gan_tutorial::prelude::*;
//! # fn main() -> gan_tutorial::Result<()> {
//! let ex = fgsm_example(&FgsmExampleConfig::default().for_mode(RunMode::Quick))?;
//! ex.figure.save("fgsm.png")?;
//! let study = attack_study(&AttackStudyConfig::default().for_mode(RunMode::Quick))?;
//! plot_accuracy_vs_eps(&study, "PGD")?.save("pgd.png")?;
//! # Ok(())
//! # }
//! ```
pub mod plot;

pub use self::plot::{plot_accuracy_vs_eps, plot_adversarial_examples, AdversarialExamples};

use crate::attack::{
    evaluate_attack, outcome, perturb_batched, train_patch, Attack, AttackOutcome, Bim, Fgsm, PatchConfig, Pgd, Target,
};
use crate::classifier::{
    accuracy, images_and_labels, train_classifier_on, Arch, Classifier, ClassifierConfig, ClassifierHistory, Model, TrainDefense,
};
use crate::data::MnistData;
use crate::defense::{Defended, InputTransform, Tempered};
use crate::error::{Error, Result};
use crate::notebook::RunMode;
use crate::plot::Figure;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tch::Device;
#[cfg(test)]
use tch::Tensor;

// ---------------------------------------------------------------- fgsm_example

/// Settings of [`fgsm_example`]. Default: LeNet as [`ClassifierConfig::default`], ε = 0.2, 8 digits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FgsmExampleConfig {
    pub classifier: ClassifierConfig,
    /// Load the classifier from here when the file exists; otherwise train it and save it here.
    pub model_path: Option<PathBuf>,
    pub eps: f64,
    /// How many test digits to show (the first ones of the test set).
    pub num_examples: usize,
}

impl Default for FgsmExampleConfig {
    fn default() -> Self {
        Self { classifier: ClassifierConfig::default(), model_path: None, eps: 0.2, num_examples: 8 }
    }
}

impl FgsmExampleConfig {
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    pub fn with_examples(mut self, n: usize) -> Self {
        self.num_examples = n;
        self
    }
    pub fn with_model_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.model_path = Some(path.into());
        self
    }
    pub fn with_classifier(mut self, classifier: ClassifierConfig) -> Self {
        self.classifier = classifier;
        self
    }
    /// Scales the classifier's training ([`ClassifierConfig::for_mode`]).
    pub fn for_mode(mut self, mode: RunMode) -> Self {
        self.classifier = self.classifier.for_mode(mode);
        self
    }
    pub fn validate(&self) -> Result<()> {
        crate::attack::check_eps(self.eps)?;
        if !(1..=16).contains(&self.num_examples) {
            return Err(Error::config("num_examples", format!("{} must be 1..=16 (one column each)", self.num_examples)));
        }
        self.classifier.validate()
    }
}

/// One attacked digit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleRow {
    pub label: i64,
    pub pred_before: i64,
    pub conf_before: f64,
    pub pred_after: i64,
    pub conf_after: f64,
}

/// What [`fgsm_example`] returns: the figure and its numbers.
#[derive(Debug, Clone, Serialize)]
pub struct FgsmExample {
    pub config: FgsmExampleConfig,
    pub eps: f64,
    pub rows: Vec<ExampleRow>,
    /// Accuracy on all held-out test digits, clean and under FGSM at `eps`.
    pub clean_accuracy: f64,
    pub adversarial_accuracy: f64,
    /// Whether the classifier was loaded from `model_path` (false: trained now).
    pub loaded: bool,
    pub classifier_history: Option<ClassifierHistory>,
    #[serde(skip)]
    pub figure: Figure,
}

impl FgsmExample {
    /// `fgsm_example.png`, `.svg` (the before/after figure) and `fgsm_example.json` in `dir`, atomically.
    pub fn save(&self, dir: impl AsRef<std::path::Path>) -> Result<Vec<std::path::PathBuf>> {
        let dir = dir.as_ref();
        crate::fsutil::create_dir(dir)?;
        let paths: Vec<_> = ["fgsm_example.png", "fgsm_example.svg", "fgsm_example.json"].iter().map(|f| dir.join(f)).collect();
        self.figure.save_png(&paths[0])?;
        self.figure.save_svg(&paths[1])?;
        crate::fsutil::write_json(&paths[2], self)?;
        Ok(paths)
    }

    /// The before/after figure (a copy, to be a cell's last expression).
    pub fn figure(&self) -> Figure {
        self.figure.clone()
    }
}

impl std::fmt::Display for FgsmExample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "FGSM, ε = {}: test accuracy {:.1}% clean -> {:.1}% adversarial", self.eps, 100.0 * self.clean_accuracy, 100.0 * self.adversarial_accuracy)?;
        writeln!(f, "label  before        after")?;
        for r in &self.rows {
            writeln!(f, "{:>5}  {} ({:>5.1}%)   {} ({:>5.1}%)", r.label, r.pred_before, 100.0 * r.conf_before, r.pred_after, 100.0 * r.conf_after)?;
        }
        Ok(())
    }
}

/// Trains or loads the classifier, attacks the first test digits with FGSM
/// and draws image, label, prediction and confidence before and after, with
/// the perturbation amplified. With a `model_path`, a classifier saved there
/// is reused only if it was trained with the same settings (recorded beside
/// it as `<name>.settings.json`); otherwise it is trained again and the cache replaced.
pub fn fgsm_example(config: &FgsmExampleConfig) -> Result<FgsmExample> {
    config.validate()?;
    let data = MnistData::load(&config.classifier.data)?;
    let device = config.classifier.resolve_device()?;
    // A cached classifier is used only when it was trained with these very
    // settings: `<name>.settings.json` beside it records them.
    let identity = classifier_identity(&config.classifier)?;
    let sidecar = |p: &std::path::Path| p.with_extension("settings.json");
    let cached = |p: &std::path::Path| {
        p.is_file() && std::fs::read_to_string(sidecar(p)).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()).as_ref() == Some(&identity)
    };
    let (model, loaded, history) = match &config.model_path {
        Some(p) if cached(p) => (Classifier::load(p, device)?, true, None),
        other => {
            let t = train_classifier_on(&config.classifier, &data)?;
            if let Some(p) = other {
                t.model.save(p)?;
                crate::fsutil::write_json(sidecar(p), &identity)?;
            }
            (t.model, false, Some(t.history))
        }
    };
    let (x_test, y_test) = images_and_labels(&data.test, device)?;
    let attack = Fgsm::new(config.eps);
    let all = evaluate_attack(&attack, &model, &model, &x_test, &y_test, 0)?;
    let k = config.num_examples.min(data.test.len()) as i64;
    let (x, y) = (x_test.narrow(0, 0, k), y_test.narrow(0, 0, k));
    let x_adv = attack.perturb(&model, &x, &y)?;
    let rows = before_after_rows(&model, &x, &x_adv, &y)?;
    let examples = AdversarialExamples::new(&x, &x_adv, &rows, format!("FGSM, ε = {} ({})", config.eps, model.label))?;
    let figure = plot_adversarial_examples(&examples)?;
    Ok(FgsmExample {
        config: config.clone(),
        eps: config.eps,
        rows,
        clean_accuracy: all.clean_accuracy,
        adversarial_accuracy: all.robust_accuracy,
        loaded,
        classifier_history: history,
        figure,
    })
}

/// Any attack's before/after figure on a given classifier, drawn as
/// [`fgsm_example`]'s: the first `n` digits of `set` (1..=16), clean, the
/// perturbation amplified, and adversarial, with the predictions. Notebook 05
/// sets BIM's and PGD's pictures beside FGSM's on the same digits.
pub fn attack_figure(model: &Classifier, attack: &dyn Attack, set: &crate::data::ImageSet, n: usize) -> Result<Figure> {
    if !(1..=16).contains(&n) || n > set.len() {
        return Err(Error::config("n", format!("{n} digits: give 1..=16, at most the {} of the set (one column each)", set.len())));
    }
    let (x, y) = images_and_labels(&set.take(n), model.device())?;
    let x_adv = attack.perturb(model, &x, &y)?;
    let rows = before_after_rows(model, &x, &x_adv, &y)?;
    let title = format!("{}, ε = {} ({})", attack.name(), attack.eps(), model.label);
    plot_adversarial_examples(&AdversarialExamples::new(&x, &x_adv, &rows, title)?)
}

/// Each digit's label with the model's prediction and confidence before and after the attack.
fn before_after_rows(model: &Classifier, x: &tch::Tensor, x_adv: &tch::Tensor, y: &tch::Tensor) -> Result<Vec<ExampleRow>> {
    let (before, after) = (model.predict(x)?, model.predict(x_adv)?);
    let labels = Vec::<i64>::try_from(y.to_device(Device::Cpu))?;
    Ok(labels
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(&label, (&(pb, cb), &(pa, ca)))| ExampleRow { label, pred_before: pb, conf_before: cb, pred_after: pa, conf_after: ca })
        .collect())
}

// ---------------------------------------------------------------- attack_study

/// Settings of [`attack_study`]. `Default` is the full study; [`AttackStudyConfig::for_mode`] scales it for CI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttackStudyConfig {
    pub seed: u64,
    /// The undefended model's training (LeNet); every defended model is trained the same way.
    pub classifier: ClassifierConfig,
    /// The first this many held-out test digits are attacked (the same digits for every row).
    pub num_test: usize,
    pub eps: Vec<f64>,
    pub bim_steps: usize,
    pub pgd_steps: usize,
    /// ε of the adversarial training (FGSM and PGD) and of the targeted attacks.
    pub train_eps: f64,
    pub train_pgd_steps: usize,
    pub distill_temperature: f64,
    pub blur_sigma: f64,
    pub resize_side: i64,
    pub patch: PatchConfig,
    /// Patch sides compared (each trained like `patch`, at its own size): how
    /// large the sticker must be. The side of `patch` itself is reused, not retrained.
    pub patch_sides: Vec<i64>,
}

impl Default for AttackStudyConfig {
    fn default() -> Self {
        Self {
            seed: 2024,
            classifier: ClassifierConfig::default(),
            num_test: 300,
            eps: vec![0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3],
            bim_steps: 10,
            pgd_steps: 40,
            train_eps: 0.2,
            train_pgd_steps: 7,
            distill_temperature: 20.0,
            blur_sigma: 1.0,
            resize_side: 14,
            patch: PatchConfig::default(),
            patch_sides: vec![6, 8, 10, 12, 14, 16],
        }
    }
}

impl AttackStudyConfig {
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn with_eps(mut self, eps: Vec<f64>) -> Self {
        self.eps = eps;
        self
    }
    pub fn with_num_test(mut self, n: usize) -> Self {
        self.num_test = n;
        self
    }
    /// Full: as [`Default`]. Quick: 100 digits, ε ∈ {0, 0.1, 0.2, 0.3}, BIM-5, PGD-10, PGD-2
    /// training, patch sides 6, 10 and 14, the classifiers' quick training.
    pub fn for_mode(mut self, mode: RunMode) -> Self {
        if mode.is_quick() {
            self.classifier = self.classifier.for_mode(mode);
            self.num_test = self.num_test.min(100);
            self.eps = vec![0.0, 0.1, 0.2, 0.3];
            self.bim_steps = self.bim_steps.min(5);
            self.pgd_steps = self.pgd_steps.min(10);
            self.train_pgd_steps = self.train_pgd_steps.min(2);
            self.patch_sides = vec![6, 10, 14];
        }
        self
    }
    pub fn validate(&self) -> Result<()> {
        self.classifier.validate()?;
        if self.num_test == 0 || self.eps.is_empty() {
            return Err(Error::config("num_test / eps", "attack at least one digit at one ε"));
        }
        for &e in self.eps.iter().chain([&self.train_eps]) {
            crate::attack::check_eps(e)?;
        }
        if self.bim_steps == 0 || self.pgd_steps == 0 || self.train_pgd_steps == 0 {
            return Err(Error::config("bim_steps / pgd_steps / train_pgd_steps", "must be at least 1"));
        }
        InputTransform::GaussianBlur { sigma: self.blur_sigma }.validate()?;
        InputTransform::Resize { side: self.resize_side }.validate()?;
        for &side in &self.patch_sides {
            PatchConfig { side, ..self.patch }.validate()?;
        }
        self.patch.validate()
    }
}

impl std::fmt::Display for AttackStudyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.classifier;
        writeln!(f, "{:<18}{}", "seed", self.seed)?;
        writeln!(f, "{:<18}{}, {} epochs, batch {}, Adam lr {}{}", "classifier", c.arch, c.num_epochs, c.batch_size, c.lr,
            c.max_train.map(|n| format!(", first {n} training digits")).unwrap_or_default())?;
        writeln!(f, "{:<18}first {} held-out test digits", "attacked", self.num_test)?;
        writeln!(f, "{:<18}{:?}", "ε (L∞, pixels)", self.eps)?;
        writeln!(f, "{:<18}FGSM, BIM-{}, PGD-{} (step 2.5ε/steps, random start)", "attacks", self.bim_steps, self.pgd_steps)?;
        writeln!(f, "{:<18}blur σ={}, resize {}→28, FGSM and PGD-{} training at ε={}, distillation T={}", "defenses",
            self.blur_sigma, self.resize_side, self.train_pgd_steps, self.train_eps, self.distill_temperature)?;
        let p = &self.patch;
        writeln!(f, "{:<18}{side}x{side} → class {target}, {steps} Adam steps at random positions", "patch", side = p.side, target = p.target, steps = p.steps)?;
        let sides: Vec<String> = self.patch_sides.iter().map(|s| s.to_string()).collect();
        write!(f, "{:<18}{}", "patch sides", sides.join(", "))
    }
}

/// The Display text of `AttackStudyConfig::default()` (notebook 05 compares its output with this).
#[cfg(test)]
const DEFAULT_TEXT: &str = "\
seed              2024
classifier        lenet, 4 epochs, batch 64, Adam lr 0.001
attacked          first 300 held-out test digits
ε (L∞, pixels)    [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
attacks           FGSM, BIM-10, PGD-40 (step 2.5ε/steps, random start)
defenses          blur σ=1, resize 14→28, FGSM and PGD-7 training at ε=0.2, distillation T=20
patch             10x10 → class 3, 300 Adam steps at random positions
patch sides       6, 8, 10, 12, 14, 16";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_settings_print_scale_and_validate() {
        let _rng = crate::torch_rng_lock();
        assert_eq!(AttackStudyConfig::default().to_string(), DEFAULT_TEXT);
        let q = AttackStudyConfig::default().for_mode(RunMode::Quick);
        assert_eq!((q.num_test, q.pgd_steps, q.bim_steps, q.train_pgd_steps), (100, 10, 5, 2));
        assert_eq!(q.eps, vec![0.0, 0.1, 0.2, 0.3]);
        assert_eq!(q.patch_sides, vec![6, 10, 14]);
        let mut bad = AttackStudyConfig::default();
        bad.patch_sides.push(30);
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("side") && e.contains("30"), "{e}");
        assert_eq!(AttackStudyConfig::default().for_mode(RunMode::Full), AttackStudyConfig::default());
        let e = AttackStudyConfig::default().with_eps(vec![0.1, 2.0]).validate().unwrap_err().to_string();
        assert!(e.contains("eps") && e.contains('2'), "{e}");
        let e = FgsmExampleConfig::default().with_examples(0).validate().unwrap_err().to_string();
        assert!(e.contains("num_examples"), "{e}");
        let back: AttackStudyConfig = serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn attack_figure_draws_any_attack_and_checks_its_digit_count() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(0);
        let model = Classifier::new(Arch::LeNet, Device::Cpu);
        let test = crate::data::embedded().unwrap().test;
        let fig = attack_figure(&model, &Bim::new(0.1, 3), &test, 4).unwrap();
        // The same layout as fgsm_example's figure for 4 digits (plot_adversarial_examples).
        let want = plot_adversarial_examples(&AdversarialExamples::new(
            &Tensor::zeros([4, 1, 28, 28], (tch::Kind::Float, Device::Cpu)),
            &Tensor::zeros([4, 1, 28, 28], (tch::Kind::Float, Device::Cpu)),
            &vec![ExampleRow { label: 0, pred_before: 0, conf_before: 1.0, pred_after: 0, conf_after: 1.0 }; 4],
            "x",
        ).unwrap()).unwrap();
        assert_eq!((fig.width, fig.height), (want.width, want.height));
        assert!(fig.svg().contains("BIM-3"), "the title names the attack");
        for n in [0, 17] {
            let e = attack_figure(&model, &Bim::new(0.1, 3), &test, n).unwrap_err().to_string();
            assert!(e.contains("1..=16"), "{e}");
        }
    }
}

/// One cell of the accuracy table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustRow {
    pub defense: String,
    /// `FGSM`, `BIM`, `PGD` (the step counts are in the config).
    pub attack: String,
    pub eps: f64,
    pub accuracy: f64,
}

/// A trained model of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub label: String,
    /// On all held-out test digits.
    pub test_accuracy: f64,
    pub train_secs: f64,
    pub history: ClassifierHistory,
}

/// A targeted attack's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetedRow {
    pub attack: String,
    pub eps: f64,
    pub target_success: f64,
    pub accuracy: f64,
}

/// Adversarial examples made on `source` and measured on `target` (black-box transfer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRow {
    pub source: String,
    pub target: String,
    pub attack: String,
    pub eps: f64,
    /// The source model's accuracy on its own adversarial examples (white box).
    pub source_accuracy: f64,
    /// The target model's accuracy on them (black box).
    pub target_accuracy: f64,
    /// The target model's accuracy on the clean digits.
    pub target_clean_accuracy: f64,
}

/// The adversarial patch's result, with a random patch of the same size as control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchResult {
    pub side: i64,
    pub target: i64,
    pub target_success: f64,
    pub accuracy: f64,
    pub random_patch_target_success: f64,
    pub random_patch_accuracy: f64,
    pub final_loss: f64,
    pub pixels: Vec<f32>,
    /// The same training at each of the config's `patch_sides`.
    #[serde(default)]
    pub by_side: Vec<PatchSideRow>,
}

/// One patch size: its share of the 784 pixels and what the trained patch does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PatchSideRow {
    pub side: i64,
    pub share_of_pixels: f64,
    pub target_success: f64,
    pub accuracy: f64,
    pub final_loss: f64,
}

/// Everything [`attack_study`] measured, as plain numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackStudy {
    pub config: AttackStudyConfig,
    pub models: Vec<ModelSummary>,
    pub table: Vec<RobustRow>,
    pub targeted: Vec<TargetedRow>,
    pub transfer: Vec<TransferRow>,
    pub patch: PatchResult,
    pub wall_time_secs: f64,
    pub device: String,
    /// How many test digits were attacked (the configured number, or all there are if fewer).
    #[serde(default)]
    pub num_attacked: usize,
}

/// The settings that make a trained classifier what it is (all but the device).
fn classifier_identity(c: &ClassifierConfig) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(c)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("device");
    }
    Ok(v)
}

/// The defense labels, in table order.
pub const DEFENSE_NONE: &str = "none";

impl AttackStudy {
    /// The study's run directory: `config.json`, `results.json` (every number, with the
    /// libtorch it ran on) and `accuracy_{fgsm,bim,pgd}.png/.svg`, each written atomically.
    pub fn save(&self, dir: impl AsRef<std::path::Path>) -> Result<Vec<std::path::PathBuf>> {
        let dir = dir.as_ref();
        crate::fsutil::create_dir(dir)?;
        let mut written = vec![dir.join("config.json"), dir.join("results.json")];
        crate::fsutil::write_json(&written[0], &self.config)?;
        crate::fsutil::write_json(&written[1], &serde_json::json!({ "study": self, "libtorch": crate::device::runtime_info() }))?;
        for attack in ["fgsm", "bim", "pgd"] {
            let fig = plot_accuracy_vs_eps(self, attack)?;
            for ext in ["png", "svg"] {
                let path = dir.join(format!("accuracy_{attack}.{ext}"));
                fig.save(&path)?;
                written.push(path);
            }
        }
        Ok(written)
    }

    /// Accuracy for (defense, attack, ε), if measured.
    pub fn accuracy(&self, defense: &str, attack: &str, eps: f64) -> Option<f64> {
        self.table.iter().find(|r| r.defense == defense && r.attack == attack && (r.eps - eps).abs() < 1e-9).map(|r| r.accuracy)
    }
    /// The defenses, in the order measured.
    pub fn defenses(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for r in &self.table {
            if !v.contains(&r.defense) {
                v.push(r.defense.clone());
            }
        }
        v
    }
    /// The table as text: one block per attack, a row per defense, a column per ε.
    pub fn table_text(&self) -> String {
        let mut s = String::new();
        for attack in ["FGSM", "BIM", "PGD"] {
            let steps = match attack {
                "BIM" => format!("-{}", self.config.bim_steps),
                "PGD" => format!("-{}", self.config.pgd_steps),
                _ => String::new(),
            };
            s += &format!("{attack}{steps}: accuracy (%) on {} test digits\n{:<40}", self.num_attacked, "defense \\ ε");
            for e in &self.config.eps {
                s += &format!("{e:>7}");
            }
            s.push('\n');
            for d in self.defenses() {
                s += &format!("{d:<40}");
                for &e in &self.config.eps {
                    match self.accuracy(&d, attack, e) {
                        Some(a) => s += &format!("{:>7.1}", 100.0 * a),
                        None => s += &format!("{:>7}", "-"),
                    }
                }
                s.push('\n');
            }
            s.push('\n');
        }
        s
    }
}

impl std::fmt::Display for AttackStudy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "models (accuracy on all held-out test digits, training time):")?;
        for m in &self.models {
            writeln!(f, "  {:<38}{:>6.2}%  {:>6.1}s", m.label, 100.0 * m.test_accuracy, m.train_secs)?;
        }
        writeln!(f)?;
        write!(f, "{}", self.table_text())?;
        writeln!(f, "targeted (ε = {}):", self.config.train_eps)?;
        for t in &self.targeted {
            writeln!(f, "  {:<20} reaches its target on {:>5.1}% (accuracy {:>5.1}%)", t.attack, 100.0 * t.target_success, 100.0 * t.accuracy)?;
        }
        writeln!(f, "transfer (black box):")?;
        for t in &self.transfer {
            writeln!(f, "  {} ε={} made on {}: {:>5.1}% on it, {:>5.1}% on {} (clean {:>5.1}%)", t.attack, t.eps, t.source,
                100.0 * t.source_accuracy, 100.0 * t.target_accuracy, t.target, 100.0 * t.target_clean_accuracy)?;
        }
        let p = &self.patch;
        writeln!(f, "patch {0}x{0} → {1}: target reached on {2:.1}% (random patch: {3:.1}%), accuracy {4:.1}% (random patch: {5:.1}%)",
            p.side, p.target, 100.0 * p.target_success, 100.0 * p.random_patch_target_success, 100.0 * p.accuracy, 100.0 * p.random_patch_accuracy)?;
        if !p.by_side.is_empty() {
            writeln!(f, "patch size → {} (share of the 784 pixels: target reached, accuracy):", p.target)?;
            for r in &p.by_side {
                writeln!(f, "  {0:>2}x{0:<2} ({1:>4.1}%): {2:>5.1}%, {3:>5.1}%", r.side, 100.0 * r.share_of_pixels, 100.0 * r.target_success, 100.0 * r.accuracy)?;
            }
        }
        write!(f, "wall time {:.1}s on {}", self.wall_time_secs, self.device)
    }
}

fn attacks_at(config: &AttackStudyConfig, eps: f64) -> Vec<(&'static str, Box<dyn Attack>)> {
    vec![
        ("FGSM", Box::new(Fgsm::new(eps))),
        ("BIM", Box::new(Bim::new(eps, config.bim_steps))),
        ("PGD", Box::new(Pgd::new(eps, config.pgd_steps).with_seed(config.seed))),
    ]
}

/// The lines [`attack_study_with`] reports: 5 classifiers trained, 9 defense rows attacked, targeted, transfer, patch.
const STUDY_STAGES: usize = 17;

/// Trains the study's models and measures every attack against every defense
/// on the same test digits. `progress` hears of each of the study's seventeen
/// stages (five classifiers trained, nine defense rows attacked, targeted
/// attacks, transfer, the patch) with a line each; a closure `|line| ...`
/// is a [`Progress`](crate::progress::Progress) too.
pub fn attack_study_with(config: &AttackStudyConfig, data: &MnistData, progress: &mut dyn crate::progress::Progress) -> Result<AttackStudy> {
    progress.start("attack study", STUDY_STAGES);
    let mut stages_done = 0;
    let mut log = |line: &str| {
        stages_done += 1;
        progress.line(line);
        progress.advance(stages_done);
    };
    let log: &mut dyn FnMut(&str) = &mut log;
    config.validate()?;
    let start = std::time::Instant::now();
    let device = config.classifier.resolve_device()?;
    let test = data.test.take(config.num_test);
    let num_attacked = test.len();
    let (x, y) = images_and_labels(&test, device)?;
    let (x_all, y_all) = images_and_labels(&data.test, device)?;
    let mut models = Vec::new();
    let mut train = |c: ClassifierConfig, log: &mut dyn FnMut(&str)| -> Result<Classifier> {
        let t = train_classifier_on(&c, data)?;
        let acc = accuracy(&t.model, &x_all, &y_all);
        log(&format!("trained {}: {:.2}% test accuracy in {:.1}s", t.model.label, 100.0 * acc, t.history.wall_time_secs));
        models.push(ModelSummary { label: t.model.label.clone(), test_accuracy: acc, train_secs: t.history.wall_time_secs, history: t.history });
        Ok(t.model)
    };
    let base = config.classifier.clone().with_arch(Arch::LeNet).with_defense(TrainDefense::None);
    let lenet = train(base.clone(), log)?;
    let mlp = train(base.clone().with_arch(Arch::Mlp), log)?;
    let fgsm_trained = train(base.clone().with_defense(TrainDefense::FgsmTraining { eps: config.train_eps }), log)?;
    let pgd_trained =
        train(base.clone().with_defense(TrainDefense::PgdTraining { eps: config.train_eps, steps: config.train_pgd_steps }), log)?;
    let distilled = train(base.clone().with_defense(TrainDefense::Distillation { temperature: config.distill_temperature }), log)?;

    let blur = InputTransform::GaussianBlur { sigma: config.blur_sigma };
    let resize = InputTransform::Resize { side: config.resize_side };
    let blurred = Defended { model: &lenet, transform: blur };
    let resized = Defended { model: &lenet, transform: resize };
    let tempered = Tempered { model: &distilled, temperature: config.distill_temperature };
    // (label, model whose gradients the attacker uses, model evaluated)
    let rows: Vec<(String, &dyn Model, &dyn Model)> = vec![
        (DEFENSE_NONE.to_string(), &lenet, &lenet),
        (format!("{} (attacker unaware)", blur.label()), &lenet, &blurred),
        (format!("{} (adaptive attacker)", blur.label()), &blurred, &blurred),
        (format!("{} (attacker unaware)", resize.label()), &lenet, &resized),
        (format!("{} (adaptive attacker)", resize.label()), &resized, &resized),
        (TrainDefense::FgsmTraining { eps: config.train_eps }.label(), &fgsm_trained, &fgsm_trained),
        (TrainDefense::PgdTraining { eps: config.train_eps, steps: config.train_pgd_steps }.label(), &pgd_trained, &pgd_trained),
        (TrainDefense::Distillation { temperature: config.distill_temperature }.label(), &distilled, &distilled),
        (format!("distillation T={} (attacker divides logits by T)", config.distill_temperature), &tempered, &distilled),
    ];
    let mut table = Vec::new();
    for (defense, attacker, evaluated) in &rows {
        for &eps in &config.eps {
            for (name, attack) in attacks_at(config, eps) {
                let o = evaluate_attack(attack.as_ref(), *attacker, *evaluated, &x, &y, config.seed)?;
                table.push(RobustRow { defense: defense.clone(), attack: name.into(), eps, accuracy: o.robust_accuracy });
            }
        }
        log(&format!("attacked {defense}"));
    }

    let e = config.train_eps;
    let mut targeted = Vec::new();
    let targeted_attacks: Vec<Box<dyn Attack>> = vec![
        Box::new(Fgsm::new(e).targeted(Target::Next)),
        Box::new(Bim::new(e, config.bim_steps).targeted(Target::Next)),
        Box::new(Pgd::new(e, config.pgd_steps).with_seed(config.seed).targeted(Target::Next)),
        Box::new(Pgd::new(e, config.pgd_steps).with_seed(config.seed).targeted(Target::Class(config.patch.target))),
    ];
    for a in &targeted_attacks {
        let o = evaluate_attack(a.as_ref(), &lenet, &lenet, &x, &y, config.seed)?;
        targeted.push(TargetedRow { attack: a.name(), eps: e, target_success: o.target_success.unwrap_or(f64::NAN), accuracy: o.robust_accuracy });
    }
    log("targeted attacks done");

    let mut transfer = Vec::new();
    for (src, dst) in [(&lenet, &mlp), (&mlp, &lenet)] {
        for (name, attack) in attacks_at(config, e) {
            if name == "BIM" {
                continue;
            }
            let x_adv = perturb_batched(attack.as_ref(), src, &x, &y, 500, config.seed)?;
            let on_src: AttackOutcome = outcome(attack.as_ref(), src, &x, &x_adv, &y)?;
            let on_dst = outcome(attack.as_ref(), dst, &x, &x_adv, &y)?;
            transfer.push(TransferRow {
                source: src.label.clone(),
                target: dst.label.clone(),
                attack: attack.name(),
                eps: e,
                source_accuracy: on_src.robust_accuracy,
                target_accuracy: on_dst.robust_accuracy,
                target_clean_accuracy: on_dst.clean_accuracy,
            });
        }
    }
    log("transfer done");

    // The patch is trained on training digits and measured on the test digits.
    let patch_train = data.train.take(2000);
    let (xp, _) = images_and_labels(&patch_train, device)?;
    let patch = train_patch(&lenet, &xp, &PatchConfig { seed: config.patch.seed ^ config.seed, ..config.patch })?;
    let o = evaluate_attack(&patch, &lenet, &lenet, &x, &y, config.seed)?;
    let mut random = patch.clone();
    let mut rng = crate::rng::SplitMix64::new(config.seed ^ 0x5EED);
    random.pixels.iter_mut().for_each(|p| *p = (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32);
    let r = evaluate_attack(&random, &lenet, &lenet, &x, &y, config.seed)?;
    let mut by_side = Vec::new();
    for &side in &config.patch_sides {
        let (success, accuracy, final_loss) = if side == patch.side {
            (o.target_success, o.robust_accuracy, patch.final_loss)
        } else {
            let sized = train_patch(&lenet, &xp, &PatchConfig { side, seed: config.patch.seed ^ config.seed, ..config.patch })?;
            let os = evaluate_attack(&sized, &lenet, &lenet, &x, &y, config.seed)?;
            (os.target_success, os.robust_accuracy, sized.final_loss)
        };
        by_side.push(PatchSideRow {
            side,
            share_of_pixels: (side * side) as f64 / 784.0,
            target_success: success.unwrap_or(f64::NAN),
            accuracy,
            final_loss,
        });
    }
    let patch = PatchResult {
        side: patch.side,
        target: patch.target,
        target_success: o.target_success.unwrap_or(f64::NAN),
        accuracy: o.robust_accuracy,
        random_patch_target_success: r.target_success.unwrap_or(f64::NAN),
        random_patch_accuracy: r.robust_accuracy,
        final_loss: patch.final_loss,
        pixels: patch.pixels,
        by_side,
    };
    log("patch done");
    Ok(AttackStudy {
        config: config.clone(),
        models,
        table,
        targeted,
        transfer,
        patch,
        wall_time_secs: start.elapsed().as_secs_f64(),
        device: crate::device::device_name(device),
        num_attacked,
    })
}

/// [`attack_study_with`] on the config's data, printing one line per stage.
pub fn attack_study(config: &AttackStudyConfig) -> Result<AttackStudy> {
    let data = MnistData::load(&config.classifier.data)?;
    attack_study_with(config, &data, &mut crate::progress::Lines)
}

