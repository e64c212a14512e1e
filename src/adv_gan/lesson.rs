//! Notebook 06's runs: one architecture trained with each D attack beside
//! its baseline, D's Lipschitz estimate followed over training, and the
//! flip demo ("generated images act as adversarial examples for D").
use super::pad_to;
use crate::compare::Judge;
use crate::data::MnistData;
use crate::error::{Error, Result};
use crate::gan::adv_d::DAttack;
use crate::gan::{seeded_latent, GanConfig, GanReport, Training, Variant};
use crate::metrics::{flip_curve, flip_images, lipschitz_estimate, loss_steadiness, FlipCurve, LipschitzEstimate, SampleQuality};
use crate::notebook::RunMode;
use crate::plot::figure::{draw_legend, plot_err, Drawing, Figure};
use crate::plot::{captioned_grids, ImageBatch};
use crate::progress::Quiet;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// The runs notebook 06 compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmsConfig {
    pub arch: Variant,
    pub seed: u64,
    pub steps: usize,
    pub width: i64,
    pub batch_size: usize,
    pub max_train: Option<usize>,
    /// The Lipschitz estimate is taken after every `steps / segments` steps.
    pub segments: usize,
    /// Real (test) images, and as many generated ones, it is taken on.
    pub probe_samples: usize,
}

impl ArmsConfig {
    /// Full: DCGAN, 1,500 steps at width 32 on every embedded digit, 6
    /// points. Quick: 60 steps at width 8 on 2,048 digits, 3 points.
    pub fn for_mode(mode: RunMode) -> Self {
        let full = ArmsConfig { arch: Variant::Dcgan, seed: 0, steps: 1500, width: 32, batch_size: 64, max_train: None, segments: 6, probe_samples: 256 };
        match mode {
            RunMode::Full => full,
            RunMode::Quick => ArmsConfig { steps: 60, width: 8, batch_size: 32, max_train: Some(2048), segments: 3, probe_samples: 64, ..full },
        }
    }

    /// The GAN config of the run with `attack`.
    pub fn gan_config(&self, attack: DAttack) -> GanConfig {
        let mut c = GanConfig::variant(self.arch)
            .with_d_attack(attack)
            .with_seed(self.seed)
            .with_steps(self.steps)
            .with_batch_size(self.batch_size)
            .with_widths(self.width, self.width)
            .with_print_every(0)
            .with_fixed_samples(16);
        c.max_train = self.max_train;
        c
    }
}

/// A directory under the system's temporary one, removed when dropped
/// (the checkpoints that carry a run from one segment to the next).
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new(what: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("gan_tutorial-{what}-{}-{nanos}", std::process::id()));
        crate::fsutil::create_dir(&dir)?;
        Ok(Self(dir))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A run with its measures.
#[derive(Debug)]
pub struct ArmRun {
    pub report: GanReport,
    /// (step, estimate) after each segment of training.
    pub lipschitz: Vec<(usize, LipschitzEstimate)>,
    pub quality: SampleQuality,
    pub g_steadiness: f64,
    pub d_steadiness: f64,
}

/// Trains one run per attack (the first is usually [`DAttack::None`], the
/// baseline), each in `segments` pieces that resume one another exactly (the
/// numbers are an uninterrupted run's), measuring D's Lipschitz estimate
/// between the pieces, then scoring the samples with `judge`.
pub fn train_arms(config: &ArmsConfig, attacks: &[DAttack], judge: &Judge) -> Result<Vec<ArmRun>> {
    if config.segments == 0 || config.segments > config.steps {
        return Err(Error::config("segments", format!("{}: between 1 and the run's {} steps", config.segments, config.steps)));
    }
    let data = MnistData::load(&crate::data::DataSource::Embedded)?;
    attacks.iter().map(|a| train_one(config, *a, judge, &data)).collect()
}

fn train_one(config: &ArmsConfig, attack: DAttack, judge: &Judge, data: &MnistData) -> Result<ArmRun> {
    let dir = ScratchDir::new("arms")?;
    let mut lipschitz = Vec::new();
    let mut report = None;
    for k in 1..=config.segments {
        let until = config.steps * k / config.segments;
        let c = config.gan_config(attack).with_steps(until).with_checkpoints(dir.path(), 0);
        let r = Training::new(&c).resume(k > 1).progress(&mut Quiet).run()?;
        lipschitz.push((until, probe(config, &r, data)?));
        report = Some(r);
    }
    let report = report.expect("at least one segment");
    let quality = judge.evaluate(&report.gan)?;
    let window = (config.steps / 10).max(2);
    let s = loss_steadiness(&report.history, window)?;
    Ok(ArmRun { report, lipschitz, quality, g_steadiness: s.g.mean_rolling_std, d_steadiness: s.d.mean_rolling_std })
}

fn probe(config: &ArmsConfig, report: &GanReport, data: &MnistData) -> Result<LipschitzEstimate> {
    let (real, z) = probe_inputs(report, data, config.probe_samples)?;
    lipschitz_estimate(&report.gan, &real, &z, 11)
}

/// `n` held-out digits (padded for DCGAN-32 nets) and `n` fixed codes.
fn probe_inputs(report: &GanReport, data: &MnistData, n: usize) -> Result<(tch::Tensor, tch::Tensor)> {
    let gan = &report.gan;
    let n = n.min(data.test.len());
    let real = pad_to(&data.test.take(n).to_tensor_pm1(gan.device()), report.config.net.image_side)?;
    let z = seeded_latent(report.config.latent, n, gan.latent_dim() as usize, 7, gan.device());
    Ok((real, z))
}

/// The runs' numbers side by side: FD, precision, recall, steadiness, the
/// final Lipschitz estimate and the time per step.
pub fn arms_table(runs: &[ArmRun]) -> String {
    let mut s = format!("{:<22} {:>8} {:>9} {:>7} {:>10} {:>10} {:>10} {:>8}\n", "run", "FD", "precision", "recall", "G roll.std", "D roll.std", "|grad D|", "ms/step");
    for r in runs {
        let lip = r.lipschitz.last().map_or(f64::NAN, |(_, l)| l.interpolated.mean);
        let ms = 1e3 * r.report.history.wall_time_secs / r.report.history.steps().max(1) as f64;
        s += &format!(
            "{:<22} {:>8.2} {:>9.3} {:>7.3} {:>10.4} {:>10.4} {:>10.3} {:>8.1}\n",
            r.report.config.name, r.quality.fid, r.quality.precision, r.quality.recall, r.g_steadiness, r.d_steadiness, lip, ms
        );
    }
    s + "|grad D|: mean ‖∇ₓD(x)‖₂ on real/generated interpolates at the end; roll.std: mean rolling std of the loss"
}

/// Mean ‖∇ₓD‖₂ on interpolates against the training step, one line per run.
pub fn plot_lipschitz_over_training(runs: &[ArmRun]) -> Result<Figure> {
    if runs.iter().any(|r| r.lipschitz.is_empty()) || runs.is_empty() {
        return Err(Error::Plot("no Lipschitz estimates to draw: train the runs with train_arms first".into()));
    }
    Figure::render(760, 420, &LipDrawing { runs })
}

struct LipDrawing<'a> {
    runs: &'a [ArmRun],
}

const COLORS: [RGBColor; 5] = [RGBColor(127, 127, 127), RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(255, 127, 14)];

impl Drawing for LipDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let pts: Vec<Vec<(f64, f64)>> = self.runs.iter().map(|r| r.lipschitz.iter().map(|(s, l)| (*s as f64, l.interpolated.mean)).collect()).collect();
        let x_max = pts.iter().flatten().map(|p| p.0).fold(1.0, f64::max);
        let y_max = pts.iter().flatten().map(|p| p.1).filter(|v| v.is_finite()).fold(1e-6, f64::max) * 1.15;
        let mut chart = ChartBuilder::on(root)
            .caption("D's steepness over training: mean ‖∇ₓD(x)‖₂ on interpolates", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(plot_err)?;
        chart.configure_mesh().x_desc("training step").y_desc("mean ‖∇ₓD‖₂").label_style(("sans-serif", 13)).draw().map_err(plot_err)?;
        for (i, (r, p)) in self.runs.iter().zip(pts).enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(p.clone(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(r.report.config.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(p.into_iter().map(|q| Circle::new(q, 3, color.filled()))).map_err(plot_err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 13)
    }
}

/// D's decisions on a trained GAN's real and generated images, flipped by
/// one FGSM step: the rate against ε, and the images before and after.
#[derive(Debug)]
pub struct FlipDemo {
    pub curve: FlipCurve,
    /// The generated images, before and after a step of `picture_eps`.
    pub before: ImageBatch,
    pub after: ImageBatch,
    pub picture_eps: f64,
    /// The largest pixel change in the pictures (= `picture_eps`, up to clamping).
    pub max_change: f64,
}

/// See [`FlipDemo`]: `n` held-out digits and `n` generated ones, the pictures
/// of the first 8 generated ones moved by `picture_eps`.
pub fn flip_demo(report: &GanReport, eps_list: &[f64], picture_eps: f64, n: usize) -> Result<FlipDemo> {
    let data = MnistData::load(&report.config.data)?;
    let (real, z) = probe_inputs(report, &data, n)?;
    let gan = &report.gan;
    let fake = gan.generate_from(&z)?;
    let curve = flip_curve(gan, report.config.objective, &real, &fake, eps_list)?;
    let few = fake.narrow(0, 0, 8.min(fake.size()[0]));
    let moved = flip_images(gan, &few, false, picture_eps)?;
    let max_change = (&moved - &few).abs().max().double_value(&[]);
    Ok(FlipDemo { curve, before: gan.to_images(&few)?, after: gan.to_images(&moved)?, picture_eps, max_change })
}

impl FlipDemo {
    /// Generated digits above, the same digits after the FGSM step below.
    pub fn pictures(&self) -> Result<Figure> {
        let after = format!("after one FGSM step of ε = {} towards \"real\"", self.picture_eps);
        captioned_grids(&[("generated, as G made them".to_string(), &self.before), (after, &self.after)], 8, 1)
    }

    /// Flip rate against ε, on real and on generated images.
    pub fn figure(&self) -> Result<Figure> {
        Figure::render(700, 400, &FlipDrawing { curve: &self.curve })
    }
}

impl std::fmt::Display for FlipDemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}largest pixel change in the pictures: {:.4}", self.curve, self.max_change)
    }
}

struct FlipDrawing<'a> {
    curve: &'a FlipCurve,
}

impl Drawing for FlipDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let x_max = self.curve.eps.iter().copied().fold(1e-6, f64::max);
        let mut chart = ChartBuilder::on(root)
            .caption("D's decisions flipped by one FGSM step", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max * 1.05, 0f64..100.0)
            .map_err(plot_err)?;
        chart.configure_mesh().x_desc("ε (pixels in [-1, 1])").y_desc("% of D's correct decisions flipped").label_style(("sans-serif", 13)).draw().map_err(plot_err)?;
        for (name, rates, color) in [("real → judged fake", &self.curve.real, COLORS[1]), ("generated → judged real", &self.curve.fake, COLORS[2])] {
            let pts: Vec<(f64, f64)> = self.curve.eps.iter().zip(rates).map(|(e, r)| (*e, 100.0 * r.rate)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(pts.into_iter().map(|q| Circle::new(q, 3, color.filled()))).map_err(plot_err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 13)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::adv_d::DatSettings;

    #[test]
    fn arms_are_trained_in_segments_that_add_up_to_one_run() {
        let _rng = crate::torch_rng_lock();
        let config = ArmsConfig { steps: 6, width: 4, batch_size: 8, max_train: Some(64), segments: 3, probe_samples: 8, ..ArmsConfig::for_mode(RunMode::Quick) };
        let extractor = crate::metrics::FeatureExtractor::from_classifier(crate::classifier::Classifier::new(crate::classifier::Arch::LeNet, tch::Device::Cpu));
        let data = MnistData::load(&crate::data::DataSource::Embedded).unwrap();
        let judge = Judge::new(extractor, &data.train.take(40), 20, 0).unwrap();
        let runs = train_arms(&config, &[DAttack::None, DAttack::Dat(DatSettings::default())], &judge).unwrap();
        assert_eq!(runs[0].lipschitz.iter().map(|l| l.0).collect::<Vec<_>>(), vec![2, 4, 6]);
        // Three resumed segments are the uninterrupted run.
        let whole = Training::new(&config.gan_config(DAttack::None)).progress(&mut Quiet).run().unwrap();
        assert_eq!(runs[0].report.history.g_losses, whole.history.g_losses);
        assert_eq!(runs[1].report.config.name, "dcgan+dat");
        assert!(runs.iter().all(|r| r.lipschitz.iter().all(|(_, l)| l.interpolated.mean.is_finite() && l.interpolated.mean > 0.0)));
        let table = arms_table(&runs);
        assert!(table.contains("dcgan+dat") && table.lines().count() == 4, "{table}");
        plot_lipschitz_over_training(&runs).unwrap();
        let demo = flip_demo(&runs[0].report, &[0.01, 0.1, 0.5], 0.1, 16).unwrap();
        assert!(demo.max_change <= 0.1 + 1e-6 && demo.max_change > 0.0, "{demo}");
        let rates: Vec<f64> = demo.curve.fake.iter().map(|r| r.rate).collect();
        assert!(rates.windows(2).all(|w| w[0] <= w[1] + 0.25), "{rates:?}");
        demo.pictures().unwrap();
        demo.figure().unwrap();
    }
}
