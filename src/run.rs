//! A run directory: everything a training run leaves, beside its config.
//!
//! ```text
//! out/
//!   config.json               the settings (reload with serde_json to repeat the run)
//!   metrics.jsonl             one JSON object per iteration (StepLog)
//!   history.json              epochs, sample snapshots and timing (TrainHistory minus per-step vectors)
//!   losses.png / losses.svg   plot_losses
//!   samples.png               the last fixed-noise samples, 4 per row
//!   samples_epoch_NNN.png     each kept snapshot
//!   checkpoint.safetensors    generator.* and discriminator.* weights
//! ```
use crate::error::{Error, Result};
use crate::gan::{EpochStats, StepLog, TrainObserver, TrainReport};
use crate::gan::{plot_losses_with, LossPlotOptions};
use crate::plot::image_grid;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Streams `metrics.jsonl` while training: written to a temporary file and
/// renamed into place when training ends, so the file is never half there.
pub struct MetricsWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
}

impl MetricsWriter {
    /// Nothing is created until training starts, so a run that fails its
    /// checks leaves no directory behind.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let tmp = crate::fsutil::temp_path(&path);
        Self { path, tmp, out: None }
    }
}

impl TrainObserver for MetricsWriter {
    fn on_start(&mut self, _: usize, _: usize) -> Result<()> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fsutil::create_dir(parent)?;
        }
        let file = std::fs::File::create(&self.tmp).map_err(|e| Error::io(&self.tmp, e))?;
        self.out = Some(std::io::BufWriter::new(file));
        Ok(())
    }
    fn on_step(&mut self, log: &StepLog) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            serde_json::to_writer(&mut *out, log)?;
            out.write_all(b"\n").map_err(|e| Error::io(&self.tmp, e))?;
        }
        Ok(())
    }
    fn on_epoch(&mut self, _: &EpochStats) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            out.flush().map_err(|e| Error::io(&self.tmp, e))?;
        }
        Ok(())
    }
    fn on_end(&mut self) -> Result<()> {
        if let Some(out) = self.out.take() {
            let file = out.into_inner().map_err(|e| Error::io(&self.tmp, e.into_error()))?;
            file.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
            std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }
}

impl Drop for MetricsWriter {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a finished run's config, history, figures and checkpoint into `dir`
/// (metrics.jsonl comes from [`MetricsWriter`] during training).
pub fn save_run(report: &TrainReport, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    crate::fsutil::create_dir(dir)?;
    let mut written = Vec::new();
    let mut put = |name: &str| {
        let p = dir.join(name);
        written.push(p.clone());
        p
    };
    crate::fsutil::write_json(put("config.json"), &report.config)?;
    let summary = serde_json::json!({
        "device": report.history.device,
        "wall_time_secs": report.history.wall_time_secs,
        "steps": report.history.steps(),
        "batches_per_epoch": report.history.batches_per_epoch,
        "epoch_starts": report.history.epoch_starts,
        "epochs": report.history.epochs,
        "samples": report.history.samples.iter().map(|s| serde_json::json!({"epoch": s.epoch, "step": s.step})).collect::<Vec<_>>(),
        "libtorch": crate::runtime_info(),
    });
    crate::fsutil::write_json(put("history.json"), &summary)?;
    let smoothing = (report.history.batches_per_epoch / 2).max(1);
    let fig = plot_losses_with(&report.history, &LossPlotOptions::default().with_smoothing(smoothing))?;
    fig.save_png(put("losses.png"))?;
    fig.save_svg(put("losses.svg"))?;
    for snap in &report.history.samples {
        image_grid(&snap.images, 4)?.save_png(put(&format!("samples_epoch_{:03}.png", snap.epoch)))?;
    }
    if let Some(last) = report.history.last_samples() {
        image_grid(&last.images, 4)?.save_png(put("samples.png"))?;
    }
    report.gan.save(put("checkpoint.safetensors"))?;
    Ok(written)
}
