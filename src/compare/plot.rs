//! Comparing runs of the GAN family: their losses in panels side by side,
//! their samples as captioned grids, and a per-step quantity (gradient
//! norms, D's outputs) of several runs on one chart; D's input-gradient
//! norms (its empirical Lipschitz estimate) per run as bars.
use crate::error::{Error, Result};
use crate::gan::plot::losses::{LossDrawing, LossPlotOptions};
use crate::gan::GanReport;
use crate::metrics::LipschitzEstimate;
use crate::plot::figure::{draw_legend, plot_err, Drawing, Figure};
use crate::plot::{captioned_grids, moving_average};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

fn check_runs(runs: &[&GanReport]) -> Result<()> {
    if runs.is_empty() {
        return Err(Error::Plot("no runs to compare: pass at least one GanReport".into()));
    }
    if let Some(r) = runs.iter().find(|r| r.history.steps() == 0) {
        return Err(Error::Plot(format!("run `{}` has no iterations: train it first", r.config.name)));
    }
    Ok(())
}

/// One loss panel per run (3 per row), each titled with the run's name and
/// objective, curves smoothed over `smoothing` steps.
pub fn plot_runs_losses(runs: &[&GanReport], smoothing: usize) -> Result<Figure> {
    check_runs(runs)?;
    let cols = runs.len().min(3);
    let rows = runs.len().div_ceil(cols);
    let panels: Vec<LossPlotOptions> = runs
        .iter()
        .map(|r| LossPlotOptions::default().with_smoothing(smoothing).with_title(format!("{} ({})", r.config.name, r.config.objective)))
        .collect();
    Figure::render(cols as u32 * 420, rows as u32 * 300, &Panels { runs, panels, rows, cols })
}

struct Panels<'a> {
    runs: &'a [&'a GanReport],
    panels: Vec<LossPlotOptions>,
    rows: usize,
    cols: usize,
}

impl Drawing for Panels<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        for ((area, run), options) in root.split_evenly((self.rows, self.cols)).iter().zip(self.runs).zip(&self.panels) {
            LossDrawing { h: &run.history, options }.draw(area)?;
        }
        Ok(())
    }
}

/// The last fixed-noise samples of each run, captioned with its name (3 runs per row).
pub fn plot_runs_samples(runs: &[&GanReport], nrow: usize) -> Result<Figure> {
    check_runs(runs)?;
    let mut items = Vec::new();
    for r in runs {
        let s = r.history.last_samples().ok_or_else(|| Error::Plot(format!("run `{}` kept no samples", r.config.name)))?;
        items.push((r.config.name.clone(), &s.images));
    }
    captioned_grids(&items, nrow, 3)
}

/// Which per-step number [`plot_runs_metric`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMetric {
    /// ‖∇D‖ at each D step (log scale).
    DGradNorm,
    /// ‖∇G‖ at each G step (log scale).
    GGradNorm,
    /// Mean D(G(z)) (a probability for BCE runs, a score otherwise).
    DFake,
    /// Mean D(x).
    DReal,
}

/// One per-step number of several runs on one chart, smoothed.
pub fn plot_runs_metric(runs: &[&GanReport], metric: RunMetric, smoothing: usize) -> Result<Figure> {
    check_runs(runs)?;
    Figure::render(760, 420, &MetricDrawing { runs, metric, smoothing })
}

struct MetricDrawing<'a> {
    runs: &'a [&'a GanReport],
    metric: RunMetric,
    smoothing: usize,
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

impl Drawing for MetricDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let series: Vec<Vec<f64>> = self
            .runs
            .iter()
            .map(|r| {
                let v = match self.metric {
                    RunMetric::DGradNorm => &r.extras.d_grad_norms,
                    RunMetric::GGradNorm => &r.extras.g_grad_norms,
                    RunMetric::DFake => &r.history.d_fake,
                    RunMetric::DReal => &r.history.d_real,
                };
                moving_average(v, self.smoothing)
            })
            .collect();
        let log = matches!(self.metric, RunMetric::DGradNorm | RunMetric::GGradNorm);
        let finite = series.iter().flatten().copied().filter(|v| v.is_finite() && (!log || *v > 0.0));
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo.is_finite() { (lo, hi.max(lo * 1.0001 + 1e-9)) } else { (0.1, 1.0) };
        let n = series.iter().map(Vec::len).max().unwrap_or(2).max(2) as f64;
        let name = match self.metric {
            RunMetric::DGradNorm => "||grad D||",
            RunMetric::GGradNorm => "||grad G||",
            RunMetric::DFake => "mean D(G(z))",
            RunMetric::DReal => "mean D(x)",
        };
        let caption = format!("{name}, moving average of {}", self.smoothing.max(1));
        let mut builder = ChartBuilder::on(root);
        builder.caption(caption, ("sans-serif", 20)).margin(12).x_label_area_size(40).y_label_area_size(60);
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart.configure_mesh().x_desc("iteration").y_desc(name).label_style(("sans-serif", 13)).draw().map_err(plot_err)?;
                for (i, (r, s)) in self.runs.iter().zip(&series).enumerate() {
                    let color = COLORS[i % COLORS.len()];
                    let pts: Vec<(f64, f64)> = s.iter().enumerate().filter(|(_, v)| v.is_finite() && (!log || **v > 0.0)).map(|(i, v)| (i as f64, *v)).collect();
                    chart
                        .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                        .map_err(plot_err)?
                        .label(r.config.name.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                }
                draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
            }};
        }
        if log {
            finish!(builder.build_cartesian_2d(0f64..n, (lo * 0.8..hi * 1.25).log_scale()).map_err(plot_err)?);
        } else {
            let pad = ((hi - lo) * 0.05).max(1e-3);
            finish!(builder.build_cartesian_2d(0f64..n, lo - pad..hi + pad).map_err(plot_err)?);
        }
        Ok(())
    }
}

/// D's input-gradient norms `‖∇ₓD‖₂` per run (from [`super::runs_lipschitz`]):
/// for each run, bars of the mean on real, generated and interpolated images,
/// each with a tick at the max (log scale). Spectral normalisation should
/// keep these low; WGAN-GP pulls the interpolated ones towards 1.
pub fn plot_runs_lipschitz(rows: &[(String, LipschitzEstimate)]) -> Result<Figure> {
    if rows.is_empty() {
        return Err(Error::Plot("no estimates to draw: pass at least one (name, LipschitzEstimate), e.g. from runs_lipschitz".into()));
    }
    let values = rows.iter().flat_map(|(_, e)| [e.real, e.fake, e.interpolated]).flat_map(|s| [s.mean, s.max]);
    let (lo, hi) = values.filter(|v| v.is_finite() && *v > 0.0).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return Err(Error::Plot("every gradient norm is 0 or not finite: nothing to draw on a log scale".into()));
    }
    Figure::render((160 * rows.len() as u32).max(420) + 120, 420, &LipschitzBars { rows, lo: lo * 0.5, hi: hi * 4.0 })
}

/// `0.30000000000000004` as `0.3`: three significant decimals, no trailing zeros.
fn short_number(v: f64) -> String {
    let s = format!("{v:.3}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

struct LipschitzBars<'a> {
    rows: &'a [(String, LipschitzEstimate)],
    lo: f64,
    hi: f64,
}

impl Drawing for LipschitzBars<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let k = self.rows.len() as f64;
        let mut chart = ChartBuilder::on(root)
            .caption("D's input-gradient norm ||grad_x D(x)||: mean (bar), max (tick)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..k, (self.lo..self.hi).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("||grad_x D||")
            .y_label_formatter(&|v| short_number(*v))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(plot_err)?;
        let sets = ["real", "generated", "interpolated"];
        for (j, set) in sets.iter().enumerate() {
            let color = COLORS[j];
            let x0 = |i: usize| i as f64 + 0.15 + 0.23 * j as f64;
            let stats: Vec<_> = self.rows.iter().map(|(_, e)| [e.real, e.fake, e.interpolated][j]).collect();
            let bars = stats.iter().enumerate().map(|(i, s)| Rectangle::new([(x0(i), self.lo), (x0(i) + 0.2, s.mean.max(self.lo))], color.filled()));
            chart.draw_series(bars).map_err(plot_err)?.label(*set).legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
            let ticks = stats.iter().enumerate().map(|(i, s)| PathElement::new(vec![(x0(i), s.max.max(self.lo)), (x0(i) + 0.2, s.max.max(self.lo))], BLACK.stroke_width(2)));
            chart.draw_series(ticks).map_err(plot_err)?;
        }
        // Run names under the axis, centred on their bars.
        let style = ("sans-serif", 14).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, (name, _)) in self.rows.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, self.lo));
            root.draw(&Text::new(name.clone(), (px, py + 8), style.clone())).map_err(plot_err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 13)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::GradStats;

    fn estimate(scale: f64) -> LipschitzEstimate {
        let s = |m: f64| GradStats { mean: m * scale, max: 2.0 * m * scale };
        LipschitzEstimate { real: s(1.0), fake: s(0.5), interpolated: s(0.8), n: 10, seed: 0 }
    }

    #[test]
    fn lipschitz_bars_draw_every_run() {
        let rows = vec![("dcgan".to_string(), estimate(20.0)), ("dcgan + SN".to_string(), estimate(0.2))];
        let fig = plot_runs_lipschitz(&rows).unwrap();
        assert!(fig.png_bytes().len() > 1000);
        assert!(fig.svg().contains("dcgan + SN") && fig.svg().contains("interpolated"), "run names and the legend are drawn");
        let e = plot_runs_lipschitz(&[]).unwrap_err().to_string();
        assert!(e.contains("runs_lipschitz"), "{e}");
        let zero = GradStats { mean: 0.0, max: 0.0 };
        let flat = LipschitzEstimate { real: zero, fake: zero, interpolated: zero, n: 1, seed: 0 };
        assert!(plot_runs_lipschitz(&[("flat".into(), flat)]).unwrap_err().to_string().contains("log scale"));
    }
}
