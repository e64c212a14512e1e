//! Generative Adversarial Networks (Goodfellow et al. 2014,
//! <https://arxiv.org/abs/1406.2661>).
//!
//! Layout: architectures (`mlp.rs`) implement the [`Generator`] and
//! [`Discriminator`] traits of `model.rs`; objectives are the [`GanLoss`]
//! enum (`loss.rs`); the loop (`train.rs`) only sees those; a runnable model
//! with its config is one file (`vanilla.rs`).
pub mod latent;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod model;
pub mod observer;
pub mod report;
pub mod train;
pub mod vanilla;

pub use latent::LatentDist;
pub use loss::GanLoss;
pub use mlp::{MlpDiscriminator, MlpGenerator, MlpSpec};
pub use model::{DOutput, Discriminator, Gan, Generator};
pub use observer::{PrintEpochs, Silent, TrainObserver};
pub use report::{EpochStats, SampleSnapshot, StepLog, TrainHistory};
pub use vanilla::{train_vanilla_gan, train_vanilla_gan_with, TrainReport, VanillaGanConfig};
