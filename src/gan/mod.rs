//! Generative Adversarial Networks (Goodfellow et al. 2014,
//! <https://arxiv.org/abs/1406.2661>), on one trainer.
//!
//! Layout: networks (`nets.rs`, with `layers.rs` and `spectral.rs`)
//! implement the [`Generator`] and [`Discriminator`] traits of `model.rs`;
//! objectives are one small file each under `objective/`; a run's settings
//! and the family's presets are `config.rs`; the two updates are `step.rs`;
//! the one loop with its progress, record and checkpoint plug-ins is
//! `trainer.rs` (`checkpoint.rs`); what a run leaves is `report.rs`; the
//! tutorial's vanilla GAN (lesson 01) is a preset, `vanilla.rs`.
pub mod checkpoint;
pub mod compare;
pub mod config;
pub mod latent;
pub mod layers;
pub mod model;
pub mod nets;
pub mod objective;
pub mod report;
pub mod spectral;
pub mod step;
pub mod tips;
pub mod trainer;
pub mod vanilla;

pub use compare::{compare_runs, Comparison, Judge, RunRow};
pub use config::{GanConfig, StepOrder, Variant};
pub use latent::LatentDist;
pub use model::{DOutput, Discriminator, Gan, Generator};
pub use nets::{Conditioning, DNorm, NetArch, NetSpec};
pub use objective::Objective;
pub use report::{EpochStats, GanReport, SampleSnapshot, StepExtras, StepLog, StepRecord, TrainHistory};
pub use step::{update_d, update_g, DStep, GStep};
pub use tips::{FailureChecks, Tips, TrainWarning};
pub use trainer::{resume_gan, train_gan, Training};
pub use vanilla::{train_vanilla_gan, vanilla_config};
