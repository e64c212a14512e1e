//! Generative Adversarial Networks (Goodfellow et al. 2014,
//! <https://arxiv.org/abs/1406.2661>).
//!
//! Layout: architectures (`mlp.rs`) implement the [`Generator`] and
//! [`Discriminator`] traits of `model.rs`; objectives are the [`GanLoss`]
//! enum (`loss.rs`); the loop (`train.rs`) only sees those; a runnable model
//! with its config is one file (`vanilla.rs`). Figures of a run's history
//! (losses, samples over epochs, the generator objectives) are in `plot/`,
//! drawn on the canvas floor ([`crate::plot`]).
pub mod family;
pub mod latent;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod model;
pub mod nets;
pub mod objective;
pub mod observer;
pub mod plot;
pub mod report;
pub mod spectral;
pub mod tips;
pub mod train;
pub mod vanilla;

pub use family::{resume_gan, train_gan, GanConfig, GanReport, StepExtras, Variant};
pub use latent::{latent_codes, seeded_latent, LatentDist};
pub use nets::{NetArch, Conditioning, DNorm, NetSpec};
pub use objective::Objective;
pub use tips::{FailureChecks, Tips, TrainWarning};
pub use loss::GanLoss;
pub use mlp::{MlpDiscriminator, MlpGenerator, MlpSpec};
pub use model::{DOutput, Discriminator, Gan, Generator};
pub use plot::{
    generator_objective, plot_generator_objectives, plot_losses, plot_losses_with, plot_samples_over_epochs, LossPlotOptions, ObjectiveCurve,
};
pub use observer::{PrintEpochs, Silent, TrainObserver};
pub use report::{EpochStats, SampleSnapshot, StepLog, TrainHistory};
pub use vanilla::{train_vanilla_gan, train_vanilla_gan_with, TrainReport, VanillaGanConfig};
