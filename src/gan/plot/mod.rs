//! Figures of a GAN's training, drawn on the canvas floor ([`crate::plot`]):
//! the loss curves of a [`TrainHistory`](crate::gan::TrainHistory), the
//! samples it kept over epochs, and the generator objectives of the
//! tutorial (minimax against non-saturating).
pub mod losses;
pub mod objectives;
pub mod samples;

pub use losses::{plot_losses, plot_losses_with, LossPlotOptions};
pub use objectives::{generator_objective, plot_generator_objectives, ObjectiveCurve};
pub use samples::plot_samples_over_epochs;
