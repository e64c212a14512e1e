//! Comparing runs of the GAN family (notebook 03): judging them by the
//! quality of their samples, so variants (and training tips) can be compared
//! by one yardstick: FD, precision and recall in the feature space of the
//! crate's MNIST classifier ([`crate::metrics`]), each stated with its sample
//! counts; and drawing them side by side (`plot.rs`: losses, samples, a
//! per-step quantity). On the measures floor, above the models it compares.
pub mod plot;
pub mod seeds;

pub use self::seeds::{compare_over_seeds, SeedComparison, SeedRow, Spread};
pub use self::plot::{plot_runs_lipschitz, plot_runs_losses, plot_runs_metric, plot_runs_samples, RunMetric};

use crate::classifier::Classifier;
use crate::data::MnistData;
use crate::error::{Error, Result};
use crate::gan::{Gan, GanReport};
use crate::metrics::{evaluate_gan_against, lipschitz_estimate, EvalImages, FeatureExtractor, LipschitzEstimate, RealReference, SampleQuality, DEFAULT_K};
use crate::rng::permutation;
use tch::Tensor;
use serde::{Deserialize, Serialize};

/// A feature extractor and the real digits' features, computed once.
#[derive(Debug)]
pub struct Judge {
    pub extractor: FeatureExtractor,
    pub reference: RealReference,
    /// Images generated per run.
    pub num_samples: usize,
    /// Neighbours for precision and recall.
    pub k: usize,
    /// Seed of the codes every run is evaluated on.
    pub seed: u64,
}

impl Judge {
    /// The default: a LeNet trained on the embedded digits with `seed`
    /// (about 5 s on 2 CPU cores), 2,000 real training digits as the
    /// reference, 2,000 generated digits per run, k = 3. The LeNet is kept in
    /// [`Judge::cache_path`] under the project root and read back by the next
    /// judge of the same seed (notebooks 03, 04 and 06 share one), but only if
    /// the settings recorded beside it are these very ones
    /// ([`FeatureExtractor::load_or_train`]); otherwise it is trained again.
    pub fn mnist(seed: u64) -> Result<Self> {
        let config = crate::classifier::ClassifierConfig::default().with_seed(seed);
        let extractor = FeatureExtractor::load_or_train(Self::cache_path(seed), &config)?;
        let data = MnistData::load(&crate::data::DataSource::Embedded)?;
        Self::new(extractor, &data.train, 2000, seed)
    }

    /// Where [`Judge::mnist`] keeps its LeNet: `runs/cache/judge-lenet-seed<N>.safetensors`
    /// under the project root (`GAN_TUTORIAL_ROOT`, which the notebook kernel sets).
    pub fn cache_path(seed: u64) -> std::path::PathBuf {
        crate::data::mnist::under_project_root(&format!("runs/cache/judge-lenet-seed{seed}.safetensors"))
    }

    /// A judge comparing `num_samples` generated images with (at most
    /// `num_samples` of) `real`.
    pub fn new(extractor: FeatureExtractor, real: &impl EvalImages, num_samples: usize, seed: u64) -> Result<Self> {
        if num_samples <= DEFAULT_K {
            return Err(Error::config("num_samples", format!("{num_samples}: compare at least hundreds of samples (2,000 is usual here)")));
        }
        let reference = RealReference::new(&extractor, real, num_samples, seed)?;
        Ok(Self { extractor, reference, num_samples, k: DEFAULT_K, seed })
    }

    /// The classifier behind the features (also a judge of which digit an image is).
    pub fn classifier(&self) -> &Classifier {
        self.extractor.classifier()
    }

    /// FD, precision, recall (and for conditional GANs the share drawn as the asked class).
    pub fn evaluate(&self, gan: &Gan) -> Result<SampleQuality> {
        evaluate_gan_against(gan, &self.extractor, &self.reference, self.num_samples, self.k, self.seed)
    }
}

impl std::fmt::Display for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "features: {} ({} dimensions)", self.extractor.name(), self.extractor.feature_dim())?;
        if let Some(a) = self.extractor.test_accuracy() {
            write!(f, ", {:.1}% on held-out digits", 100.0 * a)?;
        }
        write!(f, "\nreference: {} real training digits; each run scored on {} generated digits (codes from seed {}), k = {}", self.reference.len(), self.num_samples, self.seed, self.k)
    }
}

/// One run's line of a [`Comparison`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub name: String,
    pub objective: String,
    pub d_norm: String,
    /// D (critic) steps.
    pub iterations: usize,
    /// G steps (iterations / n_dis, rounded up).
    pub g_steps: usize,
    pub train_seconds: f64,
    /// Means over the last 50 iterations.
    pub d_loss: f64,
    pub g_loss: f64,
    pub quality: SampleQuality,
    /// The failure checks that fired, as `kind xcount`.
    pub warnings: Vec<String>,
}

/// Runs side by side, judged the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub rows: Vec<RunRow>,
}

impl Comparison {
    pub fn row(&self, name: &str) -> Option<&RunRow> {
        self.rows.iter().find(|r| r.name == name)
    }
}

/// Scores every run with `judge`.
pub fn compare_runs(runs: &[&GanReport], judge: &Judge) -> Result<Comparison> {
    if runs.is_empty() {
        return Err(Error::config("runs", "nothing to compare: pass at least one GanReport"));
    }
    let mut rows = Vec::new();
    for r in runs {
        if r.history.steps() == 0 {
            return Err(Error::config("runs", format!("run `{}` has no iterations: train it first", r.config.name)));
        }
        let (d_loss, g_loss, _, _) = r.final_means(50);
        rows.push(RunRow {
            name: r.config.name.clone(),
            objective: r.config.objective.to_string(),
            d_norm: format!("{:?}", r.config.net.d_norm).to_lowercase(),
            iterations: r.history.steps(),
            g_steps: r.history.steps().div_ceil(r.config.n_dis),
            train_seconds: r.history.wall_time_secs,
            d_loss,
            g_loss,
            quality: judge.evaluate(&r.gan)?,
            warnings: r.warnings.iter().map(|w| format!("{:?} x{}", w.kind, w.count)).collect(),
        });
    }
    Ok(Comparison { rows })
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(3).max(3);
        let cond = self.rows.iter().any(|r| r.quality.class_accuracy.is_some());
        write!(f, "{:<w$}  {:<15} {:<8} {:>6} {:>6} {:>6}  {:>7} {:>6} {:>6}", "run", "objective", "D norm", "iters", "G", "secs", "FD", "prec", "recall")?;
        if cond {
            write!(f, " {:>7}", "class")?;
        }
        writeln!(f, "  warnings")?;
        for r in &self.rows {
            let q = &r.quality;
            write!(f, "{:<w$}  {:<15} {:<8} {:>6} {:>6} {:>6.1}  {:>7.2} {:>6.3} {:>6.3}", r.name, r.objective, r.d_norm, r.iterations, r.g_steps, r.train_seconds, q.fid, q.precision, q.recall)?;
            if cond {
                match q.class_accuracy {
                    Some(a) => write!(f, " {:>6.1}%", 100.0 * a)?,
                    None => write!(f, " {:>7}", "-")?,
                }
            }
            let warn = r.warnings.join(", ");
            writeln!(f, "  {}", if warn.is_empty() { "-" } else { &warn })?;
        }
        if let Some(q) = self.rows.first().map(|r| &r.quality) {
            write!(f, "FD, precision, recall: {} generated vs {} real digits, {} features, k = {}", q.num_generated, q.num_real, q.extractor, q.k)?;
        }
        Ok(())
    }
}

/// Each run's D measured by [`lipschitz_estimate`] (input-gradient norms,
/// not the parameter-gradient norms of [`RunMetric::DGradNorm`]) on the same
/// `n` real images (drawn from `real` with `seed`) and, per run, the codes
/// [`crate::gan::latent_codes`] draws with `seed`. Named by run, for
/// [`plot_runs_lipschitz`].
pub fn runs_lipschitz(runs: &[&GanReport], real: &impl EvalImages, n: usize, seed: u64) -> Result<Vec<(String, LipschitzEstimate)>> {
    if runs.is_empty() {
        return Err(Error::config("runs", "no runs to measure: pass at least one GanReport"));
    }
    let x = real.to_pm1()?;
    let total = x.size()[0] as usize;
    if n == 0 || n > total {
        return Err(Error::config("n", format!("{n} real images asked for, {total} given: ask for 1 to {total} (a few hundred is plenty)")));
    }
    let x = x.index_select(0, &Tensor::from_slice(&permutation(total, seed)[..n]));
    runs.iter()
        .map(|r| {
            let z = crate::gan::latent_codes(&r.gan, n, seed)?;
            Ok((r.config.name.clone(), lipschitz_estimate(&r.gan, &x, &z, seed)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::{train_gan, GanConfig, Variant};

    #[test]
    fn runs_lipschitz_measures_each_run_on_the_same_images() {
        let _rng = crate::torch_rng_lock();
        let tiny = |v: Variant| {
            let mut c = GanConfig::variant(v).with_widths(8, 8).with_batch_size(16).with_max_train(64).with_steps(2).with_device("cpu").with_print_every(0).with_fixed_samples(4);
            c.net.latent_dim = 8;
            c.n_dis = 1;
            train_gan(&c).unwrap()
        };
        let (vanilla, sngan) = (tiny(Variant::Vanilla), tiny(Variant::Sngan));
        let real = Tensor::rand([40, 784], (tch::Kind::Float, tch::Device::Cpu)) * 2.0 - 1.0;
        let rows = runs_lipschitz(&[&vanilla, &sngan], &real, 16, 3).unwrap();
        let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [vanilla.config.name.as_str(), sngan.config.name.as_str()]);
        for (name, e) in &rows {
            assert_eq!(e.n, 16);
            assert!(e.real.mean > 0.0 && e.real.max.is_finite() && e.real.max >= e.real.mean, "{name}: {e}");
        }
        // The same images and codes: measuring one run alone gives its row again.
        assert_eq!(runs_lipschitz(&[&sngan], &real, 16, 3).unwrap()[0], rows[1]);
        let e = runs_lipschitz(&[&sngan], &real, 41, 3).unwrap_err().to_string();
        assert!(e.contains("`n`") && e.contains("40 given"), "{e}");
        if let Ok(dir) = std::env::var("GAN_TUTORIAL_FIGURE_DIR") {
            plot::plot_runs_lipschitz(&rows).unwrap().save(std::path::Path::new(&dir).join("lipschitz.png")).unwrap();
        }
    }
}
