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
use crate::data::mnist::{find_full_mnist, find_full_mnist_in, FULL_MNIST_DIR};
use crate::data::DataSource;
use crate::error::Result;
use crate::gan::{GanConfig, GanReport, Variant};
use crate::notebook::RunMode;
use std::path::PathBuf;

/// Epochs of a [`RunMode::Quick`] run.
pub const QUICK_EPOCHS: usize = 10;

/// The tutorial's settings ([`Variant::Vanilla`]: seed 123, 100 epochs,
/// batch 128, Adam 1e-3, uniform codes of 100, MLPs with LeakyReLU 0.01 and
/// dropout 0.5, G step first). In [`RunMode::Full`] the data is full MNIST
/// (60,000 training digits, the tutorial's: ~46,900 iterations) when it is in
/// [`FULL_MNIST_DIR`] under the project root (`make setup` puts it there,
/// [`find_full_mnist`] looks), else the embedded subset (9,003 digits,
/// ~7,100 iterations). In [`RunMode::Quick`] (CI): the embedded subset
/// always, 10 epochs, with snapshots after epochs 1, 2, 5 and 10 and a line
/// every epoch; everything else as taught. [`describe_data`] says which.
pub fn vanilla_config(mode: RunMode) -> GanConfig {
    config_for(mode, if mode.is_quick() { None } else { find_full_mnist() })
}

fn config_for(mode: RunMode, full_mnist: Option<PathBuf>) -> GanConfig {
    let c = GanConfig::variant(Variant::Vanilla);
    if mode.is_quick() {
        GanConfig { num_epochs: QUICK_EPOCHS, sample_epochs: vec![1, 2, 5, 10], print_every: 1, ..c }
    } else {
        match full_mnist {
            Some(dir) => c.with_data(DataSource::Dir(dir)),
            None => c,
        }
    }
}

/// One line saying which data a run trains on, e.g. `data: full MNIST,
/// 60,000 training digits (data/mnist)` or `data: the embedded MNIST subset,
/// 9,003 training digits (full MNIST is not in data/mnist: ...)`.
/// [`train_vanilla_gan`] prints it before training.
pub fn describe_data(source: &DataSource) -> String {
    match source {
        DataSource::Dir(dir) if find_full_mnist_in(dir).is_some() => {
            format!("data: full MNIST, 60,000 training digits ({})", dir.display())
        }
        DataSource::Embedded => {
            let hint = match find_full_mnist() {
                Some(dir) => format!("full MNIST is in {} for the taught run", dir.display()),
                None => format!(
                    "full MNIST is not in {FULL_MNIST_DIR}: `make setup` or `gan-tutorial data fetch mnist` puts it there"
                ),
            };
            format!("data: the embedded MNIST subset, 9,003 training digits ({hint})")
        }
        other => format!("data: {other}"),
    }
}

/// Trains the tutorial's vanilla GAN: [`train_gan`](crate::gan::train_gan) on any
/// config (start from [`vanilla_config`]). Unless the config is quiet
/// (`print_every` 0), first prints which data it trains on ([`describe_data`]).
pub fn train_vanilla_gan(config: &GanConfig) -> Result<GanReport> {
    if config.print_every > 0 {
        crate::progress::print_line(&describe_data(&config.data));
    }
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
        assert_eq!(GanConfig { num_epochs: 100, print_every: 10, sample_epochs: c.sample_epochs.clone(), data: c.data.clone(), ..q }, c);
    }

    #[test]
    fn the_taught_mode_trains_on_full_mnist_when_it_is_there_and_quick_never_does() {
        let dir = PathBuf::from("data/mnist");
        let full = config_for(RunMode::Full, Some(dir.clone()));
        assert_eq!(full.data, DataSource::Dir(dir.clone()));
        assert_eq!(GanConfig { data: DataSource::Embedded, ..full }, config_for(RunMode::Full, None));
        assert_eq!(config_for(RunMode::Full, None).data, DataSource::Embedded);
        assert_eq!(config_for(RunMode::Quick, Some(dir)).data, DataSource::Embedded);
        assert_eq!(vanilla_config(RunMode::Quick).data, DataSource::Embedded);
    }

    #[test]
    fn the_data_line_names_full_mnist_or_the_embedded_subset() {
        let e = describe_data(&DataSource::Embedded);
        assert!(e.starts_with("data: the embedded MNIST subset, 9,003 training digits ("), "{e}");
        // A directory that is not full MNIST is named as it is, not called full MNIST.
        let other = tempfile::tempdir().unwrap();
        let d = describe_data(&DataSource::Dir(other.path().to_path_buf()));
        assert_eq!(d, format!("data: {}", other.path().display()));
        // The four headers of full MNIST (the lookup reads nothing more).
        let header = |magic: u32, dims: &[u32]| -> Vec<u8> { std::iter::once(magic).chain(dims.iter().copied()).flat_map(u32::to_be_bytes).collect() };
        use crate::data::idx::{IMAGES_MAGIC, LABELS_MAGIC};
        use crate::data::mnist::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
        for (stem, bytes) in [
            (TRAIN_IMAGES, header(IMAGES_MAGIC, &[60_000, 28, 28])),
            (TRAIN_LABELS, header(LABELS_MAGIC, &[60_000])),
            (TEST_IMAGES, header(IMAGES_MAGIC, &[10_000, 28, 28])),
            (TEST_LABELS, header(LABELS_MAGIC, &[10_000])),
        ] {
            std::fs::write(other.path().join(stem), bytes).unwrap();
        }
        let d = describe_data(&DataSource::Dir(other.path().to_path_buf()));
        assert_eq!(d, format!("data: full MNIST, 60,000 training digits ({})", other.path().display()));
    }

    #[test]
    fn the_tutorial_networks_have_their_parameter_counts() {
        let _rng = crate::torch_rng_lock();
        let gan = vanilla_config(RunMode::Full).build_gan(tch::Device::Cpu);
        // G: 100*128 + 128 + 128*784 + 784; D: 784*128 + 128 + 128 + 1.
        assert_eq!(gan.parameter_counts(), (114_064, 100_609));
    }
}
