//! What a training run leaves: plain numbers (never tensors with graphs), the
//! epoch structure, and fixed-noise samples over time.
use crate::data::ImageBatch;
use serde::{Deserialize, Serialize};

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
