//! Lesson 01 (notebook 01) on the lessons floor: the tutorial's vanilla GAN on MNIST, as a preset of the
//! one trainer ([`Variant::Vanilla`]) scaled for the notebook's run mode.
//!
//! ```no_run
//! use gan_tutorial::prelude::*;
//! # fn main() -> gan_tutorial::Result<()> {
//! let config = vanilla_config(RunMode::Full).with_epochs(5);
//! let report = train_vanilla_gan(&config)?;
//! plot_losses(&report)?.save("losses.png")?;
//! report.save("runs/vanilla")?;
//! # Ok(())
//! # }
//! ```
use crate::error::Result;
use crate::gan::{GanConfig, GanReport, Variant};
use crate::notebook::RunMode;

/// Epochs of a [`RunMode::Quick`] run.
pub const QUICK_EPOCHS: usize = 10;

/// The tutorial's settings ([`Variant::Vanilla`]: seed 123, 100 epochs,
/// batch 128, Adam 1e-3, uniform codes of 100, MLPs with LeakyReLU 0.01 and
/// dropout 0.5, G step first). In [`RunMode::Quick`] (CI): 10 epochs, with
/// snapshots after epochs 1, 2, 5 and 10 and a line every epoch; everything
/// else as taught.
pub fn vanilla_config(mode: RunMode) -> GanConfig {
    let c = GanConfig::variant(Variant::Vanilla);
    if mode.is_quick() {
        GanConfig { num_epochs: QUICK_EPOCHS, sample_epochs: vec![1, 2, 5, 10], print_every: 1, ..c }
    } else {
        c
    }
}

/// Trains the tutorial's vanilla GAN: [`train_gan`](crate::gan::train_gan) on any
/// config (start from [`vanilla_config`]).
pub fn train_vanilla_gan(config: &GanConfig) -> Result<GanReport> {
    crate::gan::train_gan(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::{LatentDist, NetArch, Objective, StepOrder};
    use crate::optim::OptimizerKind;

    #[test]
    fn the_preset_is_the_tutorial() {
        let c = vanilla_config(RunMode::Full);
        assert_eq!((c.seed, c.num_epochs, c.batch_size, c.drop_last), (123, 100, 128, false));
        assert_eq!((c.lr_g, c.lr_d, c.net.latent_dim, c.net.g_width, c.net.d_width), (1e-3, 1e-3, 100, 128, 128));
        assert_eq!((c.net.arch, c.net.leaky_slope, c.net.dropout), (NetArch::Mlp, 0.01, 0.5));
        assert_eq!((c.latent, c.objective, c.step_order), (LatentDist::Uniform, Objective::NonSaturating, StepOrder::GFirst));
        assert_eq!(c.optimizer_g, OptimizerKind::Adam { beta1: 0.9, beta2: 0.999 });
        let q = vanilla_config(RunMode::Quick);
        assert_eq!((q.num_epochs, q.print_every, q.sample_epochs.clone()), (10, 1, vec![1, 2, 5, 10]));
        assert_eq!(GanConfig { num_epochs: 100, print_every: 10, sample_epochs: c.sample_epochs.clone(), ..q }, c);
    }

    #[test]
    fn the_tutorial_networks_have_their_parameter_counts() {
        let _rng = crate::torch_rng_lock();
        let gan = vanilla_config(RunMode::Full).build_gan(tch::Device::Cpu);
        // G: 100*128 + 128 + 128*784 + 784; D: 784*128 + 128 + 128 + 1.
        assert_eq!(gan.parameter_counts(), (114_064, 100_609));
    }
}
