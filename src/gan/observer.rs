//! Watching a training run as it goes: progress lines for notebooks and
//! logs, a progress bar on terminals (in the CLI), a metrics file.
use super::report::{EpochStats, StepLog};
use crate::error::Result;

/// Called by the training loop. Every method has a do-nothing default.
pub trait TrainObserver {
    /// Before the first step.
    fn on_start(&mut self, _total_steps: usize, _batches_per_epoch: usize) -> Result<()> {
        Ok(())
    }
    /// After every iteration.
    fn on_step(&mut self, _log: &StepLog) -> Result<()> {
        Ok(())
    }
    /// After every (possibly partial, at a step budget) epoch.
    fn on_epoch(&mut self, _stats: &EpochStats) -> Result<()> {
        Ok(())
    }
    /// After training, successful or not.
    fn on_end(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Observes nothing.
pub struct Silent;
impl TrainObserver for Silent {}

/// Prints one line per `every` epochs (and the last) to stdout: readable in a
/// notebook, a log file or CI output.
pub struct PrintEpochs {
    pub every: usize,
    pub total_epochs: usize,
}

impl TrainObserver for PrintEpochs {
    fn on_epoch(&mut self, e: &EpochStats) -> Result<()> {
        if self.every > 0 && (e.epoch % self.every == 0 || e.epoch == self.total_epochs || e.epoch == 1) {
            println!("{}", format_epoch(e, self.total_epochs));
        }
        Ok(())
    }
}

/// `epoch   3/100  d_loss 0.5121  g_loss 1.2340  D(x) 0.712  D(G(z)) 0.291  1.9s`
pub fn format_epoch(e: &EpochStats, total_epochs: usize) -> String {
    let w = total_epochs.to_string().len();
    format!(
        "epoch {:>w$}/{total_epochs}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  {:.1}s",
        e.epoch, e.d_loss, e.g_loss, e.d_real, e.d_fake, e.seconds
    )
}

/// Several observers as one.
pub struct Many<'a>(pub Vec<&'a mut dyn TrainObserver>);

impl TrainObserver for Many<'_> {
    fn on_start(&mut self, t: usize, b: usize) -> Result<()> {
        self.0.iter_mut().try_for_each(|o| o.on_start(t, b))
    }
    fn on_step(&mut self, l: &StepLog) -> Result<()> {
        self.0.iter_mut().try_for_each(|o| o.on_step(l))
    }
    fn on_epoch(&mut self, e: &EpochStats) -> Result<()> {
        self.0.iter_mut().try_for_each(|o| o.on_epoch(e))
    }
    fn on_end(&mut self) -> Result<()> {
        self.0.iter_mut().try_for_each(|o| o.on_end())
    }
}
