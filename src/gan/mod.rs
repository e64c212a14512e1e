//! Generative Adversarial Networks (Goodfellow et al. 2014,
//! <https://arxiv.org/abs/1406.2661>), on one trainer.
//!
//! Layout: networks (`nets.rs`, with `layers.rs` and `spectral.rs`)
//! implement the [`Generator`] and [`Discriminator`] traits of `model.rs`;
//! objectives are one small file each under `objective/`; a run's settings
//! and the family's presets are `config.rs`; the two updates are `step.rs`, with
//! the attack on D's inputs of adversarial D training in `adv_d.rs`, Salimans et
//! al.'s training tricks in `tricks.rs`;
//! the one loop with its progress, record and checkpoint plug-ins is
//! `trainer.rs` (`checkpoint.rs`); what a run leaves is `report.rs`.
//! Figures of a run's history (losses, samples over epochs, the generator
//! objectives) are in `plot/`, drawn on the canvas floor ([`crate::plot`]).
pub mod adv_d;
pub mod cache;
pub mod checkpoint;
pub mod config;
pub mod latent;
pub mod layers;
pub mod model;
pub mod nets;
pub mod objective;
pub mod plot;
pub mod report;
pub mod spectral;
pub mod step;
pub mod tips;
pub mod trainer;
pub mod tricks;

pub use adv_d::{DAttack, DatSettings, FgsmSettings, StepAt};
pub use cache::{gan_cache_dir, train_gan_cached, train_gan_cached_in};
pub use config::{GanConfig, StepOrder, Variant};
pub use latent::{latent_codes, seeded_latent, LatentDist};
pub use model::{DOutput, Discriminator, Gan, Generator};
pub use nets::{Conditioning, DNorm, Downsample, GActivation, GNorm, MinibatchDisc, NetArch, NetSpec, Upsample};
pub use objective::Objective;
pub use plot::{
    generator_objective, plot_generator_objectives, plot_losses, plot_losses_with, plot_samples_over_epochs, LossPlotOptions, ObjectiveCurve,
};
pub use report::{EpochStats, GanReport, SampleSnapshot, StepExtras, StepLog, StepRecord, TrainHistory};
pub use step::{update_d, update_g, DStep, GStep};
pub use tips::{FailureChecks, Tips, TrainWarning};
pub use tricks::{LossBalance, Tricks};
pub use trainer::{resume_gan, train_gan, Training};
