//! # gan_tutorial
//!
//! Generative Adversarial Networks and adversarial attacks, taught the way a
//! university course does and run for real on libtorch (through `tch`): on
//! CUDA when a GPU is present, on the CPU otherwise.
//!
//! The notebooks under `notebooks/` call the high-level helpers here:
//! [`train_vanilla_gan`], [`plot_losses`], [`image_grid`], and [`nash_demo`]
//! (the game: optimal discriminator, JSD, non-convergence, the 2D demo, mode
//! collapse, vanishing gradients; module [`nash`]). Every run takes a
//! seed, records its config, and keeps its history as plain numbers.
//!
//! ```no_run
//! use gan_tutorial::prelude::*;
//! # fn main() -> gan_tutorial::Result<()> {
//! let report = train_vanilla_gan(&vanilla_config(RunMode::Full).with_epochs(2))?;
//! println!("{}", report.gan.generator);
//! let fig = plot_losses(&report)?; // shows inline as a cell's last expression
//! # Ok(())
//! # }
//! ```
pub mod adv_gan;
pub mod adversarial;
pub mod attack;
pub mod classifier;
pub mod compare;
pub mod data;
pub mod defense;
pub mod device;
pub mod error;
pub mod exercises;
pub mod fsutil;
pub mod gan;
pub mod interrupt;
pub mod latent_space;
pub mod metrics;
pub mod nash;
pub mod notebook;
pub mod optim;
pub mod plot;
pub mod progress;
pub mod rng;
pub mod vanilla;

pub use device::{device, device_name, parse_device, runtime_info, DEVICE_ENV};
/// The tch this crate is built on, so that notebook cells (which depend on
/// `gan_tutorial` only) can name `tch::nn`, `tch::Cuda`, ...
pub use tch;
pub use error::{Error, Result};
pub use gan::{resume_gan, train_gan, train_gan_cached, GanConfig, GanReport, Variant};
pub use vanilla::{train_vanilla_gan, vanilla_config};
pub use nash::{nash_demo, NashConfig, NashReport};
pub use adversarial::{attack_study, fgsm_example, AttackStudyConfig, FgsmExampleConfig};
pub use gan::plot_losses;
pub use plot::{image_grid, Figure};

/// What a notebook needs, in one `use gan_tutorial::prelude::*;`.
pub mod prelude {
    // Every notebook: data, device, run mode, errors, figures, tensors, progress.
    pub use crate::data::{embedded, load_dir, DataSource, ImageSet, MnistData};
    pub use crate::device::device;
    pub use crate::error::{Error, Result};
    pub use crate::notebook::RunMode;
    pub use crate::plot::{captioned_grids, image_grid, image_grid_with, labelled_images, Figure, GridOptions, ImageBatch};
    pub use crate::progress::{Lines, Progress, Quiet};
    pub use tch::{self, Device, Kind, Tensor};

    // 01 · the vanilla GAN: the preset, the one trainer, its two steps, its figures.
    pub use crate::gan::{plot_generator_objectives, plot_losses, plot_losses_with, plot_samples_over_epochs, LossPlotOptions};
    pub use crate::gan::{update_d, update_g, Gan, GanConfig, GanReport, LatentDist, NetSpec, TrainHistory};
    pub use crate::vanilla::{train_vanilla_gan, vanilla_config};

    // 02 · the game and the 2D demo.
    pub use crate::nash::{nash_demo, NashConfig, NashReport};

    // 03 · the GAN family: presets, objectives, tips, resume, comparison.
    pub use crate::compare::{compare_over_seeds, compare_runs, plot_runs_losses, plot_runs_metric, plot_runs_samples, Comparison, Judge, RunMetric, SeedComparison, Spread};
    pub use crate::gan::{resume_gan, train_gan, train_gan_cached, Conditioning, DNorm, NetArch, Objective, StepOrder, Tips, Variant};
    // The training tricks (issue 15): Salimans et al.'s, ganhacks', as settings of the one trainer.
    pub use crate::gan::{Downsample, FailureChecks, GActivation, GNorm, LossBalance, MinibatchDisc, Tricks, Upsample};
    pub use crate::metrics::{conditional_accuracy, evaluate_gan, evaluate_images, FeatureExtractor, FeatureStats, RealReference, SampleQuality};
    // Measures for studying D's adversarial training (issue 16): steepness, FGSM flips, steady losses.
    pub use crate::metrics::{d_scores, decision_threshold, flip_curve, flip_images, flip_rate, input_gradient_norms, lipschitz_estimate};
    pub use crate::metrics::{loss_steadiness, steadiness, FlipCurve, FlipRate, GradStats, LipschitzEstimate, LossSteadiness, Steadiness};
    pub use crate::compare::{plot_runs_lipschitz, runs_lipschitz};

    // 04 · conditional GANs and the latent space.
    pub use crate::latent_space::{class_sweep, interpolate, interpolate_in_class, latent_arithmetic, latent_codes, CodePool, Interp, Stroke};
    pub use crate::latent_space::{plot_interpolation, plot_latent_arithmetic};

    // 05 · adversarial attacks and defenses.
    pub use crate::adversarial::{attack_figure, attack_study, fgsm_example, plot_accuracy_vs_eps, plot_adversarial_examples};
    pub use crate::adversarial::{AttackStudy, AttackStudyConfig, FgsmExample, FgsmExampleConfig};
    pub use crate::attack::{Attack, Bim, Fgsm, Pgd, Target};
    pub use crate::classifier::{train_classifier, Arch, Classifier, ClassifierConfig, Model, TrainDefense};
    pub use crate::defense::InputTransform;

    // 06 · adversarial training of the GANs themselves.
    pub use crate::adv_gan::{arms_table, flip_demo, plot_lipschitz_over_training, train_arms, ArmRun, ArmsConfig, FlipDemo};
    pub use crate::adv_gan::{report as study_report, run_study, shard, Arm, ClaimCheck, PlannedRun, RunResult, StudyConfig, StudyReport};
    pub use crate::gan::adv_d::{DAttack, DatSettings, FgsmSettings};

    // The code exercises of notebooks 01, 03 and 05: what a student's function uses, and its check.
    pub use crate::exercises::{check_d_step, check_fgsm, check_gradient_penalty, Verdict};
    pub use crate::gan::objective::bce::bce_with_logits;
    pub use crate::optim::Optimizer;
}

/// See [`rng::torch_rng_lock`]: kept here so that tests may call `crate::torch_rng_lock()`.
#[cfg(test)]
pub(crate) use rng::torch_rng_lock;
