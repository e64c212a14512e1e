//! The tutorial's loss figure: generator and discriminator loss per
//! iteration, with a second x-axis in epochs along the top.
use crate::error::{Error, Result};
use crate::gan::TrainHistory;
use crate::plot::figure::{draw_legend, plot_err, Drawing, Figure};
use crate::plot::moving_average;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Options of [`plot_losses_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct LossPlotOptions {
    /// Trailing moving-average window in iterations (`None` or 1: raw curves
    /// only). With smoothing, raw curves are drawn faint underneath.
    pub smoothing: Option<usize>,
    pub width: u32,
    pub height: u32,
    pub title: String,
}

impl Default for LossPlotOptions {
    fn default() -> Self {
        Self { smoothing: None, width: 800, height: 450, title: "GAN training losses".into() }
    }
}

impl LossPlotOptions {
    pub fn with_smoothing(mut self, window: usize) -> Self {
        self.smoothing = Some(window);
        self
    }
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }
}

/// G and D loss per iteration, epochs on the top axis.
pub fn plot_losses(history: impl AsRef<TrainHistory>) -> Result<Figure> {
    plot_losses_with(history, &LossPlotOptions::default())
}

/// [`plot_losses`] with options (smoothing, size, title).
pub fn plot_losses_with(history: impl AsRef<TrainHistory>, options: &LossPlotOptions) -> Result<Figure> {
    let h = history.as_ref();
    if h.steps() == 0 {
        return Err(Error::Plot("the history has no iterations to plot: train first".into()));
    }
    if options.width < 200 || options.height < 150 {
        return Err(Error::config("size", format!("{}x{} is too small: use at least 200x150", options.width, options.height)));
    }
    Figure::render(options.width, options.height, &LossDrawing { h, options })
}

pub(crate) struct LossDrawing<'a> {
    pub(crate) h: &'a TrainHistory,
    pub(crate) options: &'a LossPlotOptions,
}

impl Drawing for LossDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let h = self.h;
        root.fill(&WHITE).map_err(plot_err)?;
        let n = h.steps();
        let finite = h.g_losses.iter().chain(&h.d_losses).copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.05).max(1e-3);
        let (y0, y1) = (lo - pad, hi + pad);
        let x1 = (n.max(2) - 1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.options.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .top_x_label_area_size(40)
            .build_cartesian_2d(0f64..x1, y0..y1)
            .map_err(plot_err)?
            .set_secondary_coord(0f64..h.step_to_epoch(x1), y0..y1);
        let epochs_span = h.step_to_epoch(x1);
        let epoch_fmt = move |v: &f64| if epochs_span >= 4.0 { format!("{v:.0}") } else { format!("{v:.1}") };
        chart
            .configure_mesh()
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("iteration")
            .y_desc("loss")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(plot_err)?;
        chart
            .configure_secondary_axes()
            .x_label_formatter(&epoch_fmt)
            .x_desc("epoch")
            .y_labels(0)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(plot_err)?;
        let series = [("generator", &h.g_losses, RGBColor(31, 119, 180)), ("discriminator", &h.d_losses, RGBColor(255, 127, 14))];
        let window = self.options.smoothing.filter(|&w| w > 1);
        for (name, values, color) in series {
            let points = |v: &[f64]| -> Vec<(f64, f64)> {
                v.iter().enumerate().filter(|(_, y)| y.is_finite()).map(|(i, &y)| (i as f64, y)).collect()
            };
            let (raw_style, label) = match window {
                Some(w) => (color.mix(0.25).stroke_width(1), format!("{name} (moving average of {w})")),
                None => (color.stroke_width(2), name.to_string()),
            };
            let raw = chart.draw_series(LineSeries::new(points(values), raw_style)).map_err(plot_err)?;
            match window {
                Some(w) => {
                    chart
                        .draw_series(LineSeries::new(points(&moving_average(values, w)), color.stroke_width(2)))
                        .map_err(plot_err)?
                        .label(label)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                }
                None => {
                    raw.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                }
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_history_is_an_error_and_a_small_one_draws() {
        assert!(plot_losses(TrainHistory::default()).unwrap_err().to_string().contains("train first"));
        let h = TrainHistory {
            g_losses: vec![2.0, 1.5, 1.2, f64::NAN, 1.0],
            d_losses: vec![0.7, 0.6, 0.65, 0.6, 0.62],
            batches_per_epoch: 2,
            epoch_starts: vec![0, 2, 4],
            ..Default::default()
        };
        let fig = plot_losses_with(&h, &LossPlotOptions::default().with_smoothing(2)).unwrap();
        assert!(fig.png_bytes().starts_with(b"\x89PNG"));
        assert!(fig.svg().contains("epoch") && fig.svg().contains("iteration"));
        assert!(fig.svg().contains("moving average of 2"));
    }
}
