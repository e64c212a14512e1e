//! The canvas: what every figure is drawn on, and nothing that knows a model.
//! [`Figure`]s save as PNG and SVG and display inline in evcxr notebooks;
//! text uses the bundled DejaVu Sans (no system fonts). Image grids
//! ([`image_grid`]), captioned grids ([`captioned_grids`]) and the shared
//! helpers (legend, smoothing) live here; a figure of a model's or a
//! lesson's type lives with that type (`gan/plot/`, `nash/plot.rs`,
//! `compare/plot.rs`, `latent_space/plot.rs`, `adversarial/plot.rs`).
pub mod captioned;
pub mod figure;
pub mod grid;
pub mod smooth;

pub use captioned::{captioned_grids, labelled_images};
pub use figure::{Drawing, Figure};
pub use grid::{image_grid, image_grid_with, GridOptions};
/// The image batch type lives on the base floor ([`crate::data::images`]);
/// re-exported so that `plot::ImageBatch` and `plot::images` still work.
pub use crate::data::images::{self, ImageBatch, ToImages};
pub use smooth::moving_average;
