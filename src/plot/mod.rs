//! Figures: loss curves and image grids as [`Figure`]s that save as PNG and
//! SVG and display inline in evcxr notebooks. Text uses the bundled DejaVu
//! Sans (no system fonts).
pub mod attacks;
pub mod family;
pub mod figure;
pub mod grid;
pub mod latent;
pub mod losses;
pub mod objectives;
pub mod samples;

pub use attacks::{plot_accuracy_vs_eps, plot_adversarial_examples, AdversarialExamples};
pub use figure::{Drawing, Figure};
pub use grid::{image_grid, image_grid_with, GridOptions};
/// The image batch type lives on the base floor ([`crate::data::images`]);
/// re-exported so that `plot::ImageBatch` and `plot::images` still work.
pub use crate::data::images::{self, ImageBatch, ToImages};
pub use latent::{plot_interpolation, plot_latent_arithmetic};
pub use losses::{moving_average, plot_losses, plot_losses_with, LossPlotOptions};
pub use objectives::{generator_objective, plot_generator_objectives, ObjectiveCurve};
pub use family::{plot_runs_losses, plot_runs_metric, plot_runs_samples, RunMetric};
pub use samples::{captioned_grids, plot_samples_over_epochs};
