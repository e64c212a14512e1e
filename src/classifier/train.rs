//! Training a classifier: plain cross-entropy, adversarial training (FGSM or
//! PGD examples mixed into every batch), or defensive distillation (a
//! student trained on a teacher's predictions softened at temperature T).
use super::{accuracy, images_and_labels, Arch, Classifier, Model};
use crate::attack::{Attack, Fgsm, Pgd};
use crate::data::{Batcher, DataSource, MnistData};
use crate::error::{Error, Result};
use crate::notebook::RunMode;
use crate::optim::{Adam, AdamConfig};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// How the classifier is trained, i.e. which training-time defense it gets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrainDefense {
    /// Plain cross-entropy on clean digits.
    #[default]
    None,
    /// Goodfellow et al. (2015): loss = (1 − w)·CE(clean) + w·CE(FGSM example at `eps`), examples
    /// made against the current weights at every step; w is the config's `adv_weight` (½ as in the paper).
    FgsmTraining { eps: f64 },
    /// Madry et al. (2018): examples from PGD with random start, `steps` steps of 2.5·eps/steps,
    /// mixed as above (Madry et al. train on adversarial examples only: `adv_weight` 1).
    PgdTraining { eps: f64, steps: usize },
    /// Papernot et al. (2016): a teacher trained with softmax at temperature T, then a student of the
    /// same architecture trained on the teacher's soft labels at T; used at T = 1.
    Distillation { temperature: f64 },
}

impl TrainDefense {
    /// A short name for tables: `none`, `FGSM training ε=0.2`, ...
    pub fn label(&self) -> String {
        match self {
            TrainDefense::None => "none".into(),
            TrainDefense::FgsmTraining { eps } => format!("FGSM training ε={eps}"),
            TrainDefense::PgdTraining { eps, steps } => format!("PGD-{steps} training ε={eps}"),
            TrainDefense::Distillation { temperature } => format!("distillation T={temperature}"),
        }
    }
}

/// Settings of [`train_classifier`]. `Default`: LeNet, 4 epochs, batch 64,
/// Adam lr 0.001, seed 7, all of the embedded training digits, no defense.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    pub seed: u64,
    pub arch: Arch,
    pub num_epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// Train on the first this many training digits only (`None`: all).
    pub max_train: Option<usize>,
    pub data: DataSource,
    /// `cpu`, `cuda`, `cuda:N`, or `None` for [`crate::device()`]'s choice.
    pub device: Option<String>,
    pub defense: TrainDefense,
    /// Adversarial training's weight w on the adversarial examples' loss, (1 − w) on the clean
    /// one: ½ (Goodfellow et al.), 1 (Madry et al.). Ignored by the other defenses.
    pub adv_weight: f64,
    /// Adversarial training's ε grows linearly from 0 to its value over this many epochs
    /// (fractions allowed; 0: the full ε from the first batch). Training on adversarial examples
    /// only (`adv_weight` 1) at full ε from random weights can fail to learn at all; a ramp lets
    /// the model first learn the digits.
    pub adv_warmup_epochs: f64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            arch: Arch::LeNet,
            num_epochs: 4,
            batch_size: 64,
            lr: 1e-3,
            max_train: None,
            data: DataSource::Embedded,
            device: None,
            defense: TrainDefense::None,
            adv_weight: 0.5,
            adv_warmup_epochs: 0.0,
        }
    }
}

impl ClassifierConfig {
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn with_arch(mut self, arch: Arch) -> Self {
        self.arch = arch;
        self
    }
    pub fn with_epochs(mut self, num_epochs: usize) -> Self {
        self.num_epochs = num_epochs;
        self
    }
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
    pub fn with_max_train(mut self, n: usize) -> Self {
        self.max_train = Some(n);
        self
    }
    pub fn with_data(mut self, data: DataSource) -> Self {
        self.data = data;
        self
    }
    pub fn with_device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(device.into());
        self
    }
    pub fn with_defense(mut self, defense: TrainDefense) -> Self {
        self.defense = defense;
        self
    }
    /// Epochs over which adversarial training's ε ramps up from 0 (see [`ClassifierConfig::adv_warmup_epochs`]).
    pub fn with_adv_warmup(mut self, epochs: f64) -> Self {
        self.adv_warmup_epochs = epochs;
        self
    }
    /// Adversarial training's weight on the adversarial loss (see [`ClassifierConfig::adv_weight`]).
    pub fn with_adv_weight(mut self, w: f64) -> Self {
        self.adv_weight = w;
        self
    }

    /// Unchanged in [`RunMode::Full`]; in [`RunMode::Quick`] at most 2 epochs on at most 3,000 digits.
    pub fn for_mode(mut self, mode: RunMode) -> Self {
        if mode.is_quick() {
            self.num_epochs = self.num_epochs.min(2);
            self.max_train = Some(self.max_train.unwrap_or(usize::MAX).min(3000));
        }
        self
    }

    /// Checks every setting, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::config("lr", format!("{} must be a positive number", self.lr)));
        }
        if self.batch_size == 0 || self.num_epochs == 0 || self.max_train == Some(0) {
            return Err(Error::config("batch_size / num_epochs / max_train", "must all be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.adv_weight) {
            return Err(Error::config("adv_weight", format!("{} must be in [0, 1]: the share of the loss taken on adversarial examples", self.adv_weight)));
        }
        if !(self.adv_warmup_epochs.is_finite() && self.adv_warmup_epochs >= 0.0) {
            return Err(Error::config("adv_warmup_epochs", format!("{} must be a number of epochs >= 0", self.adv_warmup_epochs)));
        }
        match self.defense {
            TrainDefense::FgsmTraining { eps } | TrainDefense::PgdTraining { eps, .. } if !(eps > 0.0 && eps <= 1.0) => {
                Err(Error::config("defense.eps", format!("{eps} must be in (0, 1] (pixels are in [0, 1])")))
            }
            TrainDefense::PgdTraining { steps: 0, .. } => Err(Error::config("defense.steps", "PGD needs at least one step")),
            TrainDefense::Distillation { temperature } if !(temperature.is_finite() && temperature >= 1.0) => {
                Err(Error::config("defense.temperature", format!("{temperature} must be >= 1")))
            }
            _ => Ok(()),
        }
    }

    pub fn resolve_device(&self) -> Result<Device> {
        crate::device::resolve(self.device.as_deref())
    }
}

/// Plain numbers from a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ClassifierHistory {
    /// Mean training loss per epoch (of the student, for distillation).
    pub epoch_loss: Vec<f64>,
    /// Accuracy on the held-out test digits after each epoch.
    pub test_accuracy: Vec<f64>,
    /// For distillation: the teacher's final test accuracy.
    pub teacher_test_accuracy: Option<f64>,
    pub train_examples: usize,
    pub test_examples: usize,
    pub wall_time_secs: f64,
    pub device: String,
}

impl ClassifierHistory {
    pub fn final_test_accuracy(&self) -> f64 {
        self.test_accuracy.last().copied().unwrap_or(f64::NAN)
    }
}

/// A trained classifier with its config and history.
#[derive(Debug)]
pub struct TrainedClassifier {
    pub model: Classifier,
    pub config: ClassifierConfig,
    pub history: ClassifierHistory,
}

/// Loads the config's data and trains, with a progress line per epoch.
pub fn train_classifier(config: &ClassifierConfig) -> Result<TrainedClassifier> {
    config.validate()?;
    let data = MnistData::load(&config.data)?;
    train_classifier_with(config, &data, &mut crate::progress::Lines)
}

/// Trains on already loaded data (the config's `data` is then only recorded), quietly.
pub fn train_classifier_on(config: &ClassifierConfig, data: &MnistData) -> Result<TrainedClassifier> {
    train_classifier_with(config, data, &mut crate::progress::Quiet)
}

/// Trains on already loaded data, telling `progress` of every epoch.
pub fn train_classifier_with(config: &ClassifierConfig, data: &MnistData, progress: &mut dyn crate::progress::Progress) -> Result<TrainedClassifier> {
    config.validate()?;
    let device = config.resolve_device()?;
    let start = std::time::Instant::now();
    let train = match config.max_train {
        Some(n) => data.train.take(n),
        None => data.train.clone(),
    };
    let (x_train, y_train) = images_and_labels(&train, device)?;
    let (x_test, y_test) = images_and_labels(&data.test, device)?;
    let mut history = ClassifierHistory {
        train_examples: train.len(),
        test_examples: data.test.len(),
        device: crate::device::device_name(device),
        ..Default::default()
    };
    let label = match config.defense {
        TrainDefense::None => config.arch.to_string(),
        d @ (TrainDefense::FgsmTraining { .. } | TrainDefense::PgdTraining { .. }) if config.adv_weight != 0.5 => {
            format!("{} + {} (adversarial weight {})", config.arch, d.label(), config.adv_weight)
        }
        d => format!("{} + {}", config.arch, d.label()),
    };
    let model = match config.defense {
        TrainDefense::Distillation { temperature } => {
            let mut teacher_hist = ClassifierHistory::default();
            let teacher = fit(config, &x_train, &y_train, &x_test, &y_test, Objective::Temperature(temperature), &mut teacher_hist, progress)?;
            history.teacher_test_accuracy = Some(teacher_hist.final_test_accuracy());
            let soft = tch::no_grad(|| {
                let n = x_train.size()[0];
                let parts: Vec<Tensor> = (0..n)
                    .step_by(500)
                    .map(|s| (teacher.logits(&x_train.narrow(0, s, 500.min(n - s))) / temperature).softmax(-1, Kind::Float))
                    .collect();
                Tensor::cat(&parts, 0)
            });
            let student_config = config.clone().with_seed(config.seed.wrapping_add(1));
            fit(&student_config, &x_train, &soft, &x_test, &y_test, Objective::Soft(temperature), &mut history, progress)?
        }
        _ => fit(config, &x_train, &y_train, &x_test, &y_test, Objective::Hard, &mut history, progress)?,
    };
    history.wall_time_secs = start.elapsed().as_secs_f64();
    Ok(TrainedClassifier { model: model.with_label(label), config: config.clone(), history })
}

enum Objective {
    /// CE on labels (with the config's adversarial training, if any).
    Hard,
    /// CE of softmax(logits / T) on labels (distillation's teacher).
    Temperature(f64),
    /// Cross-entropy of softmax(logits / T) against soft targets (distillation's student).
    Soft(f64),
}

fn fit(
    config: &ClassifierConfig,
    x_train: &Tensor,
    targets: &Tensor,
    x_test: &Tensor,
    y_test: &Tensor,
    objective: Objective,
    history: &mut ClassifierHistory,
    progress: &mut dyn crate::progress::Progress,
) -> Result<Classifier> {
    progress.start(&format!("train {}", config.arch), config.num_epochs);
    let device = x_train.device();
    let model = {
        let _seeded = crate::rng::seeded_section();
        tch::manual_seed(config.seed as i64);
        Classifier::new(config.arch, device)
    };
    let mut opt = Adam::new(&model.vs, AdamConfig { lr: config.lr, ..Default::default() })?;
    let n = x_train.size()[0];
    let index = Tensor::arange(n, (Kind::Int64, device));
    let batches = Batcher::new(index, config.batch_size, false, config.seed)?;
    // The attack used at ε: FGSM, or PGD with steps of 2.5·ε/steps.
    let adversary = |eps: f64| -> Option<Box<dyn Attack>> {
        match (&objective, config.defense) {
            (Objective::Hard, TrainDefense::FgsmTraining { .. }) => Some(Box::new(Fgsm::new(eps))),
            (Objective::Hard, TrainDefense::PgdTraining { steps, .. }) => {
                Some(Box::new(Pgd::new(eps, steps).with_step_size(2.5 * eps / steps as f64).with_seed(config.seed)))
            }
            _ => None,
        }
    };
    let full_eps = match config.defense {
        TrainDefense::FgsmTraining { eps } | TrainDefense::PgdTraining { eps, .. } => eps,
        _ => 0.0,
    };
    let batches_per_epoch = batches.batches_per_epoch().max(1);
    let warmup_batches = config.adv_warmup_epochs * batches_per_epoch as f64;
    for epoch in 0..config.num_epochs {
        let (mut sum, mut count) = (0.0, 0usize);
        for (b, idx) in batches.epoch(epoch).enumerate() {
            let x = x_train.index_select(0, &idx);
            let t = targets.index_select(0, &idx);
            let loss = match &objective {
                Objective::Hard => {
                    let clean = model.logits(&x).cross_entropy_for_logits(&t);
                    let done = (epoch * batches_per_epoch + b + 1) as f64;
                    let eps = if done >= warmup_batches { full_eps } else { full_eps * done / warmup_batches };
                    match adversary(eps) {
                        Some(a) => {
                            let x_adv = a.perturb_seeded(&model, &x, &t, (epoch * 100_003 + b) as u64)?;
                            let w = config.adv_weight;
                            clean * (1.0 - w) + model.logits(&x_adv).cross_entropy_for_logits(&t) * w
                        }
                        None => clean,
                    }
                }
                Objective::Temperature(temp) => (model.logits(&x) / *temp).cross_entropy_for_logits(&t),
                Objective::Soft(temp) => {
                    -(t * (model.logits(&x) / *temp).log_softmax(-1, Kind::Float)).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float)
                }
            };
            opt.zero_grad();
            loss.backward();
            opt.step();
            sum += loss.double_value(&[]);
            count += 1;
        }
        let mean = sum / count.max(1) as f64;
        if !mean.is_finite() {
            return Err(Error::Diverged { step: (epoch + 1) * batches_per_epoch, quantity: format!("epoch {}'s mean training loss", epoch + 1), value: mean, kept: String::new() });
        }
        history.epoch_loss.push(mean);
        history.test_accuracy.push(accuracy(&model, x_test, y_test));
        progress.line(&format!("[{}] epoch {}/{}  loss {mean:.4}  test accuracy {:.2}%", config.arch, epoch + 1, config.num_epochs, 100.0 * history.final_test_accuracy()));
        progress.advance(epoch + 1);
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_named() {
        let c = ClassifierConfig::default().with_lr(-1.0);
        assert!(c.validate().unwrap_err().to_string().contains("lr"));
        let c = ClassifierConfig::default().with_defense(TrainDefense::FgsmTraining { eps: 2.0 });
        assert!(c.validate().unwrap_err().to_string().contains("defense.eps"));
        let c = ClassifierConfig::default().with_defense(TrainDefense::Distillation { temperature: 0.5 });
        assert!(c.validate().unwrap_err().to_string().contains("temperature"));
        let q = ClassifierConfig::default().for_mode(RunMode::Quick);
        assert_eq!((q.num_epochs, q.max_train), (2, Some(3000)));
        assert_eq!(ClassifierConfig::default().for_mode(RunMode::Full), ClassifierConfig::default());
        let json = serde_json::to_string(&ClassifierConfig::default().with_defense(TrainDefense::PgdTraining { eps: 0.2, steps: 7 })).unwrap();
        let back: ClassifierConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.defense, TrainDefense::PgdTraining { eps: 0.2, steps: 7 });
        let e = ClassifierConfig::default().with_adv_weight(1.5).validate().unwrap_err().to_string();
        assert!(e.contains("adv_weight") && e.contains("1.5"), "{e}");
    }

    #[test]
    fn the_adversarial_weight_mixes_the_two_losses() {
        let _rng = crate::torch_rng_lock();
        let data = MnistData::load(&DataSource::Embedded).unwrap();
        let base = ClassifierConfig::default().with_max_train(256).with_epochs(1).with_device("cpu");
        let fgsm = TrainDefense::FgsmTraining { eps: 0.2 };
        let run = |c: ClassifierConfig| train_classifier_on(&c, &data).unwrap();
        let plain = run(base.clone());
        // Weight 0: the adversarial examples are made but do not count: plain training, exactly.
        let none = run(base.clone().with_defense(fgsm).with_adv_weight(0.0));
        assert_eq!(none.history.epoch_loss, plain.history.epoch_loss);
        let half = run(base.clone().with_defense(fgsm));
        let all = run(base.clone().with_defense(fgsm).with_adv_weight(1.0));
        assert_eq!(half.model.label, "lenet + FGSM training ε=0.2");
        assert_eq!(all.model.label, "lenet + FGSM training ε=0.2 (adversarial weight 1)");
        // The adversarial loss is the larger one, so more weight on it gives a larger training loss.
        let (p, h, a) = (plain.history.epoch_loss[0], half.history.epoch_loss[0], all.history.epoch_loss[0]);
        assert!(p < h && h < a, "mean training loss: plain {p}, half {h}, all adversarial {a}");
        // An ε ramp over the whole epoch attacks with smaller ε on average: a smaller loss.
        let ramped = run(base.clone().with_defense(fgsm).with_adv_weight(1.0).with_adv_warmup(1.0));
        let r = ramped.history.epoch_loss[0];
        assert!(r < a, "ramped ε {r} against full ε {a}");
        let e = base.clone().with_adv_warmup(-1.0).validate().unwrap_err().to_string();
        assert!(e.contains("adv_warmup_epochs"), "{e}");
    }
}
