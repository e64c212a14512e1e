//! What a training run leaves: plain numbers (never tensors with graphs), the
//! epoch structure, fixed-noise samples over time, and the report that saves
//! the whole run directory:
//!
//! ```text
//! out/
//!   config.json               every setting, and the runtime (reload it with --config to repeat the run)
//!   metrics.jsonl             one JSON object per iteration (StepRecord), streamed while training
//!   history.json              per-step vectors, epochs, warnings, timing, device
//!   losses.png, losses.svg    plot_losses
//!   samples.png               the last fixed-noise samples
//!   samples_epoch_NNN.png     each kept snapshot
//!   checkpoint.safetensors    both networks, both optimisers and the history: resumable
//! ```
use super::config::GanConfig;
use super::model::Gan;
use super::tips::TrainWarning;
use crate::error::Result;
use crate::data::ImageBatch;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// One training iteration's numbers (one line of `metrics.jsonl`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// Global iteration, 0-based.
    pub step: usize,
    /// Epoch, 1-based.
    pub epoch: usize,
    /// Batch within the epoch, 0-based.
    pub batch: usize,
    pub g_loss: f64,
    pub d_loss: f64,
    /// Mean D(x) over the real batch.
    pub d_real: f64,
    /// Mean D(G(z)) over the fake batch (as seen in the D step).
    pub d_fake: f64,
}

/// One line of `metrics.jsonl`: everything measured at one iteration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    #[serde(flatten)]
    pub log: StepLog,
    /// ‖∇D‖ at the D step.
    pub d_grad_norm: f64,
    /// ‖∇G‖ at the last G step.
    pub g_grad_norm: f64,
    /// WGAN-GP's penalty term (0 for other objectives).
    pub penalty: f64,
    /// AC-GAN: D's accuracy on the real batch's classes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub class_accuracy: Option<f64>,
    /// Whether the config's D attack was on at this step (`adv_d.rs`; false without one).
    #[serde(default)]
    pub d_attacked: bool,
}

/// Means over one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    pub steps: usize,
    pub g_loss: f64,
    pub d_loss: f64,
    pub d_real: f64,
    pub d_fake: f64,
    /// Seconds spent in this epoch.
    pub seconds: f64,
}

/// Generator output for the run's fixed noise at the end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleSnapshot {
    /// 1-based epoch after which the samples were drawn (may be partial when
    /// the run stopped on a step budget).
    pub epoch: usize,
    /// Global steps done when drawn.
    pub step: usize,
    pub images: ImageBatch,
}

/// Everything measured during training.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainHistory {
    /// Per-iteration losses and discriminator outputs.
    pub g_losses: Vec<f64>,
    pub d_losses: Vec<f64>,
    pub d_real: Vec<f64>,
    pub d_fake: Vec<f64>,
    /// Index into the per-iteration vectors where each epoch starts.
    pub epoch_starts: Vec<usize>,
    pub batches_per_epoch: usize,
    pub epochs: Vec<EpochStats>,
    pub samples: Vec<SampleSnapshot>,
    pub wall_time_secs: f64,
    pub device: String,
}

impl TrainHistory {
    pub fn steps(&self) -> usize {
        self.g_losses.len()
    }

    /// Iteration index expressed in (fractional) epochs.
    pub fn step_to_epoch(&self, step: f64) -> f64 {
        if self.batches_per_epoch == 0 { 0.0 } else { step / self.batches_per_epoch as f64 }
    }

    /// The per-iteration log of step `i`.
    pub fn step_log(&self, i: usize) -> Option<StepLog> {
        let epoch = self.epoch_starts.iter().rposition(|&s| s <= i)? + 1;
        Some(StepLog {
            step: i,
            epoch,
            batch: i - self.epoch_starts[epoch - 1],
            g_loss: *self.g_losses.get(i)?,
            d_loss: self.d_losses[i],
            d_real: self.d_real[i],
            d_fake: self.d_fake[i],
        })
    }

    /// The last fixed-noise snapshot, if any.
    pub fn last_samples(&self) -> Option<&SampleSnapshot> {
        self.samples.last()
    }

    /// The snapshot taken after `epoch`, if one was.
    pub fn samples_at(&self, epoch: usize) -> Option<&SampleSnapshot> {
        self.samples.iter().find(|s| s.epoch == epoch)
    }

    pub(crate) fn push(&mut self, s: &StepLog) {
        self.g_losses.push(s.g_loss);
        self.d_losses.push(s.d_loss);
        self.d_real.push(s.d_real);
        self.d_fake.push(s.d_fake);
    }

    /// Means of the per-iteration numbers over `from..` (the current epoch).
    pub(crate) fn epoch_stats(&self, epoch: usize, from: usize, seconds: f64) -> EpochStats {
        let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
        EpochStats {
            epoch,
            steps: self.steps() - from,
            g_loss: mean(&self.g_losses[from..]),
            d_loss: mean(&self.d_losses[from..]),
            d_real: mean(&self.d_real[from..]),
            d_fake: mean(&self.d_fake[from..]),
            seconds,
        }
    }
}

impl AsRef<TrainHistory> for TrainHistory {
    fn as_ref(&self) -> &TrainHistory {
        self
    }
}

/// Per-iteration numbers beyond [`TrainHistory`]'s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepExtras {
    /// ‖∇D‖ over all of D's parameters, at the D step.
    pub d_grad_norms: Vec<f64>,
    /// ‖∇G‖ at the last G step (carried forward between G steps).
    pub g_grad_norms: Vec<f64>,
    /// WGAN-GP's penalty term (0 for other objectives).
    pub penalties: Vec<f64>,
    /// AC-GAN: D's accuracy on the real batch's classes (empty for other variants).
    pub class_accuracy: Vec<f64>,
    /// Whether the config's D attack was on at each step (absent from older checkpoints: none was).
    #[serde(default)]
    pub d_attacked: Vec<bool>,
}

/// The `metrics.jsonl` row of step `i`.
pub fn step_record(h: &TrainHistory, extras: &StepExtras, i: usize) -> Option<StepRecord> {
    Some(StepRecord {
        log: h.step_log(i)?,
        d_grad_norm: *extras.d_grad_norms.get(i)?,
        g_grad_norm: *extras.g_grad_norms.get(i)?,
        penalty: *extras.penalties.get(i)?,
        class_accuracy: extras.class_accuracy.get(i).copied(),
        d_attacked: extras.d_attacked.get(i).copied().unwrap_or(false),
    })
}

/// `metrics.jsonl`'s text for steps `0..h.steps()`: one whole line per step.
pub fn metrics_lines(h: &TrainHistory, extras: &StepExtras) -> Result<String> {
    let mut out = String::new();
    for i in 0..h.steps() {
        if let Some(r) = step_record(h, extras, i) {
            out.push_str(&serde_json::to_string(&r)?);
            out.push('\n');
        }
    }
    Ok(out)
}

/// What the optimisers and the failure checks hold at the end of a run, so
/// that a saved report is a checkpoint that resumes.
#[derive(Debug, Default)]
pub struct TrainerState {
    pub opt_g: Vec<(String, Tensor)>,
    pub opt_d: Vec<(String, Tensor)>,
    /// The D-loss check's count of low steps in a row.
    pub low_d_run: usize,
    /// The last G step's (loss, gradient norm), carried into D-only iterations.
    pub last_g: (f64, f64),
}

/// A finished run: its config, its numbers, the failure checks that fired,
/// and the trained networks.
#[derive(Debug)]
pub struct GanReport {
    pub config: GanConfig,
    /// Losses, mean D outputs (probabilities for BCE, raw scores otherwise) and samples.
    pub history: TrainHistory,
    pub extras: StepExtras,
    /// The failure checks that fired (one per kind).
    pub warnings: Vec<TrainWarning>,
    pub gan: Gan,
    /// The optimisers' state and the checks' counters, for the checkpoint.
    pub state: TrainerState,
}

impl AsRef<TrainHistory> for GanReport {
    fn as_ref(&self) -> &TrainHistory {
        &self.history
    }
}

impl GanReport {
    /// Means over the last `k` iterations: `(d_loss, g_loss, D(x), D(G(z)))`.
    pub fn final_means(&self, k: usize) -> (f64, f64, f64, f64) {
        let h = &self.history;
        let from = h.steps().saturating_sub(k);
        let mean = |v: &[f64]| v[from..].iter().sum::<f64>() / (v.len() - from).max(1) as f64;
        (mean(&h.d_losses), mean(&h.g_losses), mean(&h.d_real), mean(&h.d_fake))
    }

    /// The run directory (see the module docs): config.json, metrics.jsonl,
    /// history.json, the loss figure, the sample grids and a checkpoint that
    /// resumes, each written atomically. Returns the paths written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        crate::fsutil::create_dir(dir)?;
        let mut written = Vec::new();
        let mut put = |name: &str| {
            let p = dir.join(name);
            written.push(p.clone());
            p
        };
        crate::fsutil::write_json(put("config.json"), &config_record(&self.config))?;
        crate::fsutil::write_atomic(put("metrics.jsonl"), metrics_lines(&self.history, &self.extras)?.as_bytes())?;
        crate::fsutil::write_json(
            put("history.json"),
            &serde_json::json!({"history": self.history, "extras": self.extras, "warnings": self.warnings, "runtime": crate::runtime_info()}),
        )?;
        let smoothing = (self.history.batches_per_epoch / 2).clamp(1, 50);
        let fig = super::plot::plot_losses_with(&self.history, &super::plot::LossPlotOptions::default().with_smoothing(smoothing))?;
        fig.save_png(put("losses.png"))?;
        fig.save_svg(put("losses.svg"))?;
        let per_row = |n: usize| ((n as f64).sqrt().ceil() as usize).max(1);
        for snap in &self.history.samples {
            crate::plot::image_grid(&snap.images, per_row(snap.images.n))?.save_png(put(&format!("samples_epoch_{:03}.png", snap.epoch)))?;
        }
        if let Some(last) = self.history.last_samples() {
            crate::plot::image_grid(&last.images, per_row(last.images.n))?.save_png(put("samples.png"))?;
        }
        super::checkpoint::save(&put(super::checkpoint::FILE), &self.config, &self.gan, &self.state, &self.history, &self.extras, &self.warnings)?;
        Ok(written)
    }
}

/// What `config.json` holds: the config and the runtime it ran on, with the
/// device the run's tensors live on (`cpu`, `cuda:0`; the config's `device`
/// is what was asked, often `null` for "CUDA if present").
pub fn config_record(config: &GanConfig) -> serde_json::Value {
    let mut runtime = crate::runtime_info();
    runtime["device"] = match config.resolve_device() {
        Ok(d) => crate::device_name(d).into(),
        Err(e) => format!("unresolved: {e}").into(),
    };
    serde_json::json!({"config": config, "runtime": runtime})
}
