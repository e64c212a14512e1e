//! Sample quality: numbers to compare GAN variants by, each stated with the
//! sample counts and the feature extractor it was measured with.
//!
//! - [`frechet`]: the Fréchet distance between feature Gaussians (FID's
//!   formula, Heusel et al. 2017), computed stably in f64.
//! - [`precision_recall`]: improved precision and recall (Kynkäänniemi et
//!   al. 2019): realism and coverage apart, so mode collapse shows as recall
//!   falling while precision stays high.
//! - [`discriminator`]: D's empirical Lipschitz estimate (input-gradient
//!   norms on real, generated and interpolated images) and the share of its
//!   decisions one FGSM step flips, for studying adversarial training of D.
//! - [`steadiness`]: how steady a loss curve is: rolling std and spikes.
//! - [`extractor`]: the features come from the crate's own MNIST classifier
//!   (LeNet's 84 penultimate units), not Inception: "FID" here means "FD on
//!   LeNet features" and is comparable only with numbers from the same
//!   extractor and the same sample counts (FD is biased upward for small n).
//!
//! ```no_run
//! use gan_tutorial::prelude::*;
//! use gan_tutorial::metrics::{evaluate_gan, FeatureExtractor};
//! # fn main() -> gan_tutorial::Result<()> {
//! let extractor = FeatureExtractor::load_or_train("runs/lenet-features.safetensors", &ClassifierConfig::default())?;
//! let report = train_vanilla_gan(&vanilla_config(RunMode::Full).with_epochs(2))?;
//! let data = embedded()?;
//! let quality = evaluate_gan(&report.gan, &extractor, &data.train, 2000, 0)?;
//! println!("{quality}"); // FID 31.2 (2000 generated vs 2000 real, LeNet features); precision ..., recall ...
//! # Ok(())
//! # }
//! ```
pub mod discriminator;
pub mod extractor;
pub mod frechet;
pub mod precision_recall;
pub mod steadiness;

pub use discriminator::{
    d_scores, decision_threshold, flip_curve, flip_images, flip_rate, input_gradient_norms, lipschitz_estimate, FlipCurve, FlipRate, GradStats, LipschitzEstimate,
};
pub use extractor::{to_classifier_input, EvalImages, FeatureExtractor};
pub use frechet::{frechet_distance, frechet_distance_features, sqrtm_psd, trace_sqrt_product, FeatureStats};
pub use precision_recall::{knn_radii, precision_recall, PrecisionRecall, DEFAULT_K};
pub use steadiness::{loss_steadiness, rolling_std, steadiness, steadiness_with, LossSteadiness, Steadiness, DEFAULT_SPIKE_K};

use crate::classifier::Classifier;
use crate::rng::permutation;
use crate::error::{Error, Result};
use crate::gan::Gan;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// FD, precision and recall of generated images against real ones, with what
/// they were measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleQuality {
    /// Fréchet distance on the extractor's features ("FID" with LeNet instead of Inception).
    pub fid: f64,
    pub precision: f64,
    pub recall: f64,
    /// Neighbours defining each manifold for precision/recall.
    pub k: usize,
    pub num_generated: usize,
    pub num_real: usize,
    /// The extractor's name, e.g. `LeNet`.
    pub extractor: String,
    /// The extractor classifier's held-out accuracy, when known.
    pub classifier_accuracy: Option<f64>,
    /// Conditional GANs: share of generated digits the classifier labels as the class asked for.
    pub class_accuracy: Option<f64>,
    /// Wall time of the evaluation (generation, features, metrics).
    pub seconds: f64,
}

impl std::fmt::Display for SampleQuality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FID {:.2} ({} generated vs {} real, {} features); precision {:.3}, recall {:.3} (k = {})",
            self.fid, self.num_generated, self.num_real, self.extractor, self.precision, self.recall, self.k
        )?;
        if let Some(a) = self.class_accuracy {
            write!(f, "; {:.1}% labelled as the asked class", 100.0 * a)?;
        }
        if let Some(a) = self.classifier_accuracy {
            write!(f, " [extractor {:.1}% on test digits]", 100.0 * a)?;
        }
        Ok(())
    }
}

/// Real images' features and statistics, computed once and reused for every model compared.
#[derive(Debug)]
pub struct RealReference {
    /// `[n, d]` (f32, CPU).
    pub features: Tensor,
    pub stats: FeatureStats,
    pub extractor: String,
}

impl RealReference {
    /// Features of (at most `max_n` of) `real`: all of them if there are no
    /// more than `max_n`, else a random subset drawn with `seed`.
    pub fn new(extractor: &FeatureExtractor, real: &impl EvalImages, max_n: usize, seed: u64) -> Result<Self> {
        let x = real.to_pm1()?;
        let n = x.size()[0] as usize;
        let x = if n > max_n {
            let idx = Tensor::from_slice(&permutation(n, seed)[..max_n]);
            x.index_select(0, &idx)
        } else {
            x
        };
        let features = extractor.features_pm1(&x)?;
        let stats = FeatureStats::from_features(&features)?;
        Ok(Self { features, stats, extractor: extractor.name() })
    }

    pub fn len(&self) -> usize {
        self.stats.n
    }

    pub fn is_empty(&self) -> bool {
        self.stats.n == 0
    }
}

fn check_counts(num_samples: usize, k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::config("k", "must be at least 1 (the paper uses 3)"));
    }
    if num_samples <= k {
        return Err(Error::config(
            "num_samples",
            format!("{num_samples} samples with k = {k}: use more than k (FD is only meaningful with hundreds; 2,000 is usual here)"),
        ));
    }
    Ok(())
}

/// FD, precision and recall of images `fake` against images `real` (both in
/// any form [`EvalImages`] takes; all of each set is used), with `k` neighbours.
pub fn evaluate_images(fake: &impl EvalImages, real: &impl EvalImages, extractor: &FeatureExtractor, k: usize) -> Result<SampleQuality> {
    let start = std::time::Instant::now();
    let real = RealReference::new(extractor, real, usize::MAX, 0)?;
    let fake = fake.to_pm1()?;
    check_counts(fake.size()[0] as usize, k)?;
    let mut q = quality_of(&extractor.features_pm1(&fake)?, &real, extractor, k)?;
    q.seconds = start.elapsed().as_secs_f64();
    Ok(q)
}

fn quality_of(fake_features: &Tensor, real: &RealReference, extractor: &FeatureExtractor, k: usize) -> Result<SampleQuality> {
    if real.extractor != extractor.name() {
        return Err(Error::config(
            "extractor",
            format!("the real reference was computed with {}, the samples with {}: use one extractor", real.extractor, extractor.name()),
        ));
    }
    let stats = FeatureStats::from_features(fake_features)?;
    let fid = frechet_distance(&stats, &real.stats)?;
    let pr = precision_recall(&real.features, fake_features, k)?;
    Ok(SampleQuality {
        fid,
        precision: pr.precision,
        recall: pr.recall,
        k,
        num_generated: pr.num_generated,
        num_real: pr.num_real,
        extractor: extractor.name(),
        classifier_accuracy: extractor.test_accuracy(),
        class_accuracy: None,
        seconds: 0.0,
    })
}

/// Generates `num_samples` images (codes drawn with `seed`; for a conditional
/// GAN the classes in turn, 0, 1, …, 9, 0, …) and measures them against
/// (a seeded subset of at most `num_samples` of) `real`, with k = 3.
/// For conditional GANs `class_accuracy` is filled from the same images.
pub fn evaluate_gan(gan: &Gan, extractor: &FeatureExtractor, real: &impl EvalImages, num_samples: usize, seed: u64) -> Result<SampleQuality> {
    let start = std::time::Instant::now();
    check_counts(num_samples, DEFAULT_K)?;
    let reference = RealReference::new(extractor, real, num_samples, seed ^ 0x5EED_0F_4EA1)?;
    let mut q = evaluate_gan_against(gan, extractor, &reference, num_samples, DEFAULT_K, seed)?;
    q.seconds = start.elapsed().as_secs_f64();
    Ok(q)
}

/// [`evaluate_gan`] against a precomputed [`RealReference`], with `k` neighbours.
pub fn evaluate_gan_against(
    gan: &Gan,
    extractor: &FeatureExtractor,
    real: &RealReference,
    num_samples: usize,
    k: usize,
    seed: u64,
) -> Result<SampleQuality> {
    let start = std::time::Instant::now();
    check_counts(num_samples, k)?;
    let (images, labels) = generate_balanced(gan, num_samples, seed)?;
    let mut q = quality_of(&extractor.features_pm1(&images)?, real, extractor, k)?;
    if let Some(labels) = labels {
        let pred = extractor.predict_pm1(&images)?;
        q.class_accuracy = Some(pred.eq_tensor(&labels).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]));
    }
    q.seconds = start.elapsed().as_secs_f64();
    Ok(q)
}

/// `n` generated images `[n, c, h, w]` in `[-1, 1]` on the CPU, codes drawn
/// with `seed`, in batches of 500; for a conditional GAN also the labels
/// asked for (`i mod num_classes`).
pub fn generate_balanced(gan: &Gan, n: usize, seed: u64) -> Result<(Tensor, Option<Tensor>)> {
    if n == 0 {
        return Err(Error::config("num_samples", "ask for at least one image"));
    }
    let z = crate::gan::latent_codes(gan, n, seed)?;
    let classes = gan.num_classes();
    let labels = (classes > 0).then(|| Tensor::arange(n as i64, (Kind::Int64, Device::Cpu)).remainder(classes));
    let (c, h, w) = gan.generator.image_shape();
    let mut parts = Vec::new();
    for s in (0..n as i64).step_by(500) {
        let len = 500.min(n as i64 - s);
        let zb = z.narrow(0, s, len);
        let x = match &labels {
            Some(l) => gan.generate_cond_from(&zb, &l.narrow(0, s, len))?,
            None => gan.generate_from(&zb)?,
        };
        parts.push(x.to_device(Device::Cpu).view([len, c, h, w]));
    }
    Ok((Tensor::cat(&parts, 0), labels))
}

/// How often a conditional generator draws the class it is asked for, as
/// judged by a classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassAccuracy {
    /// Over all generated images.
    pub overall: f64,
    /// For each class `0..num_classes`.
    pub per_class: Vec<f64>,
    /// Images generated per class.
    pub per_class_n: usize,
    /// The judging classifier's label.
    pub classifier: String,
}

impl std::fmt::Display for ClassAccuracy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1}% of {} generated digits labelled as the asked class by {} ({} per class)",
            100.0 * self.overall,
            self.per_class_n * self.per_class.len(),
            self.classifier,
            self.per_class_n
        )
    }
}

/// Generates `per_class` images of every class with codes drawn from `seed`
/// and measures the share `classifier` labels as the class asked for.
pub fn conditional_accuracy(gan: &Gan, classifier: &Classifier, per_class: usize, seed: u64) -> Result<ClassAccuracy> {
    let k = gan.num_classes();
    if k == 0 {
        return Err(Error::config("gan", "this GAN is unconditional: class accuracy needs a conditional variant (cgan, acgan)"));
    }
    if per_class == 0 {
        return Err(Error::config("per_class", "ask for at least one image per class"));
    }
    let (images, labels) = generate_balanced(gan, per_class * k as usize, seed)?;
    let labels = labels.ok_or_else(|| Error::config("gan", "the generator drew no class labels"))?;
    let hit = extractor::predict_pm1(classifier, &images, 500)?.eq_tensor(&labels).to_kind(Kind::Double); // [n]
    let per = hit.view([per_class as i64, k]).mean_dim(0, false, Kind::Double); // labels are i mod k
    Ok(ClassAccuracy {
        overall: hit.mean(Kind::Double).double_value(&[]),
        per_class: Vec::<f64>::try_from(per)?,
        per_class_n: per_class,
        classifier: classifier.label.clone(),
    })
}
