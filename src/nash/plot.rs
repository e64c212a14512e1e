//! The figures of the game-theory notebook, drawn from the numbers the other
//! files compute (on any plotters backend, through [`Drawing`]).
use super::bilinear::BilinearTrajectory;
use super::optimal::{CostCurve, OptimalDReport};
use super::toy2d::{Snapshot, Toy2dReport};
use super::vanishing::VanishingReport;
use crate::error::{Error, Result};
use crate::plot::figure::{draw_legend, plot_err, Drawing, Figure};
use crate::plot::moving_average;
use plotters::coord::Shift;
use plotters::prelude::*;

const REAL: RGBColor = RGBColor(27, 120, 55);
const FAKE: RGBColor = RGBColor(118, 42, 131);
const D_STAR: RGBColor = RGBColor(0, 0, 0);
const TRAINED: RGBColor = RGBColor(230, 120, 0);
const BLUE: RGBColor = RGBColor(31, 119, 180);
const RED: RGBColor = RGBColor(214, 39, 40);

fn mesh<'a, DB: DrawingBackend, X, Y>(chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>, x: &str, y: &str) -> Result<()>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x)
        .y_desc(y)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(plot_err)
}

fn legend_line(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
}

// ---------------------------------------------------------------- optimal D

/// The densities, `D* = p_data / (p_data + p_g)` and a trained discriminator.
pub fn plot_optimal_d(report: &OptimalDReport) -> Result<Figure> {
    if report.grid.dim() != 1 {
        return Err(Error::config("grid", "plot_optimal_d draws 1D densities; this report is 2D"));
    }
    Figure::render(800, 420, &OptimalDDrawing(report))
}

struct OptimalDDrawing<'a>(&'a OptimalDReport);

impl Drawing for OptimalDDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let r = self.0;
        root.fill(&WHITE).map_err(plot_err)?;
        let xs: Vec<f64> = r.grid.points.iter().map(|p| p[0]).collect();
        let (lo, hi, _) = r.grid.axes[0];
        let top = r.p_data_values.iter().chain(&r.p_g_values).fold(1.0f64, |m, v| m.max(*v)) * 1.08;
        let caption = format!(
            "optimal discriminator: mean |D − D*| = {:.3} where the data are, V(G, D) = {:.4} ≤ V(G, D*) = {:.4}",
            r.mean_abs_error, r.value_trained, r.nash.value_at_optimum
        );
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(plot_err)?;
        mesh(&mut chart, "x", "density / D(x)")?;
        let series: [(&str, &Vec<f64>, RGBColor, u32); 4] = [
            ("p_data(x)", &r.p_data_values, REAL, 2),
            ("p_g(x)", &r.p_g_values, FAKE, 2),
            ("D*(x) = p_data / (p_data + p_g)", &r.d_star, D_STAR, 3),
            ("D(x), trained on samples", &r.d_trained, TRAINED, 2),
        ];
        for (label, ys, color, w) in series {
            chart
                .draw_series(LineSeries::new(xs.iter().copied().zip(ys.iter().copied()), color.stroke_width(w)))
                .map_err(plot_err)?
                .label(label)
                .legend(legend_line(color, w));
        }
        chart
            .draw_series(LineSeries::new([(lo, 0.5), (hi, 0.5)], BLACK.mix(0.3).stroke_width(1)))
            .map_err(plot_err)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 12)
    }
}

/// A 2D check: `D*` and the trained discriminator as heat maps, side by side.
pub fn plot_optimal_d_2d(report: &OptimalDReport) -> Result<Figure> {
    if report.grid.dim() != 2 {
        return Err(Error::config("grid", "plot_optimal_d_2d draws 2D densities; this report is 1D"));
    }
    Figure::render(820, 430, &OptimalD2dDrawing(report))
}

struct OptimalD2dDrawing<'a>(&'a OptimalDReport);

impl Drawing for OptimalD2dDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let r = self.0;
        root.fill(&WHITE).map_err(plot_err)?;
        let (title, body) = root.split_vertically(28);
        title
            .titled(
                &format!("2D: D* (left) and a trained D (right); mean |D − D*| = {:.3} where the data are", r.mean_abs_error),
                ("sans-serif", 14),
            )
            .map_err(plot_err)?;
        let (lo, hi, n) = r.grid.axes[0];
        let (ylo, yhi, m) = r.grid.axes[1];
        let (w, h) = ((hi - lo) / n as f64, (yhi - ylo) / m as f64);
        for (area, (name, values)) in body.split_evenly((1, 2)).iter().zip([("D*(x)", &r.d_star), ("trained D(x)", &r.d_trained)]) {
            let mut chart = ChartBuilder::on(area)
                .caption(name, ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(22)
                .y_label_area_size(28)
                .build_cartesian_2d(lo..hi, ylo..yhi)
                .map_err(plot_err)?;
            chart.configure_mesh().disable_mesh().label_style(("sans-serif", 10)).draw().map_err(plot_err)?;
            chart
                .draw_series(r.grid.points.iter().zip(values.iter()).map(|(p, d)| {
                    Rectangle::new([(p[0] - w / 2.0, p[1] - h / 2.0), (p[0] + w / 2.0, p[1] + h / 2.0)], heat_color(*d).filled())
                }))
                .map_err(plot_err)?;
            // Contours of the densities: where each holds at least 10% of its peak.
            for (vals, color) in [(&r.p_data_values, REAL), (&r.p_g_values, FAKE)] {
                let peak = vals.iter().copied().fold(0.0, f64::max);
                chart
                    .draw_series(
                        r.grid.points.iter().zip(vals.iter()).filter(|(_, v)| (**v - 0.1 * peak).abs() < 0.015 * peak).map(|(p, _)| Circle::new((p[0], p[1]), 1, color.filled())),
                    )
                    .map_err(plot_err)?;
            }
        }
        Ok(())
    }
}

/// `C(G) = V(G, D*_G)` as `p_g` slides past `p_data`, with `−log 4 + 2·JSD`
/// computed separately as markers.
pub fn plot_cost_curve(curve: &CostCurve) -> Result<Figure> {
    if curve.shifts.len() < 2 {
        return Err(Error::config("shifts", "give at least two shifts to draw a curve"));
    }
    Figure::render(720, 400, &CostDrawing(curve))
}

struct CostDrawing<'a>(&'a CostCurve);

impl Drawing for CostDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let c = self.0;
        root.fill(&WHITE).map_err(plot_err)?;
        let (lo, hi) = (c.shifts[0], c.shifts[c.shifts.len() - 1]);
        let log4 = 4f64.ln();
        let mut chart = ChartBuilder::on(root)
            .caption("C(G) = V(G, D*) as p_g = p_data shifted by s", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(lo..hi, -1.5..0.1)
            .map_err(plot_err)?;
        mesh(&mut chart, "shift s", "value")?;
        chart
            .draw_series(LineSeries::new(c.shifts.iter().copied().zip(c.cost.iter().copied()), BLUE.stroke_width(3)))
            .map_err(plot_err)?
            .label("V(G, D*), integrated")
            .legend(legend_line(BLUE, 3));
        let every = (c.shifts.len() / 25).max(1);
        chart
            .draw_series(
                c.shifts.iter().zip(&c.predicted).step_by(every).map(|(s, p)| Circle::new((*s, *p), 4, RED.stroke_width(2))),
            )
            .map_err(plot_err)?
            .label("−log 4 + 2·JSD(p_data ‖ p_g), integrated apart")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, RED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new([(lo, -log4), (hi, -log4)], BLACK.mix(0.5).stroke_width(1)))
            .map_err(plot_err)?
            .label("−log 4 (p_g = p_data)")
            .legend(legend_line(RGBColor(128, 128, 128), 1));
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 12)
    }
}

// ---------------------------------------------------------------- bilinear

/// Gradient descent–ascent on `V = x·y`: the paths, and the distance from
/// the equilibrium per step.
pub fn plot_bilinear(runs: &[BilinearTrajectory]) -> Result<Figure> {
    if runs.is_empty() || runs.iter().any(|r| r.x.is_empty()) {
        return Err(Error::config("runs", "give at least one non-empty trajectory"));
    }
    Figure::render(960, 430, &BilinearDrawing(runs))
}

struct BilinearDrawing<'a>(&'a [BilinearTrajectory]);

impl Drawing for BilinearDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let panels = root.split_evenly((1, 2));
        let colors = [RED, BLUE, TRAINED, REAL];
        let reach = self.0.iter().flat_map(|r| r.x.iter().chain(&r.y)).fold(0f64, |m, v| m.max(v.abs())) * 1.1;
        let mut chart = ChartBuilder::on(&panels[0])
            .caption("paths of (x, y); equilibrium at (0, 0)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(-reach..reach, -reach..reach)
            .map_err(plot_err)?;
        mesh(&mut chart, "x (minimises x·y)", "y (maximises x·y)")?;
        for (r, color) in self.0.iter().zip(colors) {
            chart
                .draw_series(LineSeries::new(r.x.iter().copied().zip(r.y.iter().copied()), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(r.rule.to_string())
                .legend(legend_line(color, 2));
        }
        let start = (self.0[0].x[0], self.0[0].y[0]);
        chart.draw_series([Circle::new(start, 5, BLACK.filled()), Circle::new((0.0, 0.0), 5, RED.mix(0.0).stroke_width(2))]).map_err(plot_err)?;
        chart.draw_series([Cross::new((0.0, 0.0), 6, BLACK.stroke_width(2))]).map_err(plot_err)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 12)?;

        let steps = self.0.iter().map(|r| r.distance.len()).max().unwrap_or(1) as f64;
        let top = self.0.iter().flat_map(|r| &r.distance).fold(0f64, |m, v| m.max(*v)) * 1.1;
        let mut chart = ChartBuilder::on(&panels[1])
            .caption("distance from the equilibrium", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..steps, 0.0..top)
            .map_err(plot_err)?;
        mesh(&mut chart, "step", "√(x² + y²)")?;
        for (r, color) in self.0.iter().zip(colors) {
            chart
                .draw_series(LineSeries::new(r.distance.iter().enumerate().map(|(i, d)| (i as f64, *d)), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(r.rule.to_string())
                .legend(legend_line(color, 2));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft, 12)
    }
}

// ---------------------------------------------------------------- 2D demo

/// GAN Lab's views at each snapshot of a 2D run: D(x) as a heat map (green:
/// "real", purple: "fake"), real points (green), generated points (purple)
/// and the generator's gradient at some of them (black arrows).
pub fn plot_toy_snapshots(report: &Toy2dReport) -> Result<Figure> {
    let n = report.snapshots.len();
    if n == 0 {
        return Err(Error::config("snapshots", "this run took no snapshots: list some steps in Toy2dConfig::snapshots"));
    }
    let cols = n.min(4);
    let rows = n.div_ceil(cols);
    Figure::render(300 * cols as u32, 330 * rows as u32 + 30, &SnapshotsDrawing(report, rows, cols))
}

struct SnapshotsDrawing<'a>(&'a Toy2dReport, usize, usize);

fn heat_color(d: f64) -> RGBColor {
    let d = if d.is_finite() { d.clamp(0.0, 1.0) } else { 0.5 };
    let (target, t) = if d >= 0.5 { (REAL, (d - 0.5) * 2.0) } else { (FAKE, (0.5 - d) * 2.0) };
    let mix = |c: u8| (255.0 + (c as f64 - 255.0) * 0.55 * t).round() as u8;
    RGBColor(mix(target.0), mix(target.1), mix(target.2))
}

fn draw_snapshot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &Snapshot, e: f64, cells: usize, modes: Option<usize>) -> Result<()> {
    let caption = match (&s.stats, modes) {
        (Some(st), Some(m)) => format!("step {}: {}/{m} modes", s.step, st.modes_covered),
        _ => format!("step {}", s.step),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(28)
        .build_cartesian_2d(-e..e, -e..e)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(("sans-serif", 10))
        .x_labels(5)
        .y_labels(5)
        .draw()
        .map_err(plot_err)?;
    if !s.heat.is_empty() {
        let w = 2.0 * e / cells as f64;
        chart
            .draw_series(s.heat.iter().enumerate().map(|(i, d)| {
                let (x0, y0) = (-e + w * (i / cells) as f64, -e + w * (i % cells) as f64);
                Rectangle::new([(x0, y0), (x0 + w, y0 + w)], heat_color(*d).filled())
            }))
            .map_err(plot_err)?;
    }
    chart.draw_series(s.real.iter().map(|p| Circle::new((p[0], p[1]), 2, REAL.mix(0.7).filled()))).map_err(plot_err)?;
    let fake = s.fake.iter().take(1000).filter(|p| p[0].abs() < e && p[1].abs() < e);
    chart.draw_series(fake.map(|p| Circle::new((p[0], p[1]), 2, FAKE.mix(0.7).filled()))).map_err(plot_err)?;
    // Arrows share one scale: the longest is 15% of the plot's width.
    let longest = s.arrow.iter().map(|a| a[0].hypot(a[1])).fold(0f64, f64::max);
    if longest > 0.0 {
        let k = 0.3 * e / longest;
        let mut paths = vec![];
        for (p, a) in s.arrow_from.iter().zip(&s.arrow) {
            let (dx, dy) = (a[0] * k, a[1] * k);
            let tip = (p[0] + dx, p[1] + dy);
            let (hx, hy) = (-dx * 0.3, -dy * 0.3);
            let (c, sn) = (0.5f64.cos(), 0.5f64.sin());
            paths.push(vec![(p[0], p[1]), tip]);
            paths.push(vec![tip, (tip.0 + hx * c - hy * sn, tip.1 + hx * sn + hy * c)]);
            paths.push(vec![tip, (tip.0 + hx * c + hy * sn, tip.1 - hx * sn + hy * c)]);
        }
        chart.draw_series(paths.into_iter().map(|p| PathElement::new(p, BLACK.mix(0.75).stroke_width(1)))).map_err(plot_err)?;
    }
    Ok(())
}

impl Drawing for SnapshotsDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (r, rows, cols) = (self.0, self.1, self.2);
        root.fill(&WHITE).map_err(plot_err)?;
        let (title, body) = root.split_vertically(30);
        let c = &r.config;
        title
            .titled(
                &format!(
                    "{} on the {} (k = {}, {} loss); green: real / D says real, purple: generated / D says fake",
                    c.label(),
                    c.dist,
                    c.d_steps,
                    c.loss.name()
                ),
                ("sans-serif", 14),
            )
            .map_err(plot_err)?;
        let modes = c.dist.modes().map(|m| m.0.len());
        for (area, s) in body.split_evenly((rows, cols)).iter().zip(&r.snapshots) {
            draw_snapshot(area, s, c.dist.extent(), c.heat_cells, modes)?;
        }
        Ok(())
    }
}

/// Mean D(x) and D(G(z)) per generator step (moving average over `window`
/// steps): where the game settles, both approach 1/2; where it does not,
/// they swing.
pub fn plot_toy_history(report: &Toy2dReport, window: usize) -> Result<Figure> {
    if report.history.d_real.is_empty() {
        return Err(Error::config("history", "the run has no steps"));
    }
    Figure::render(800, 360, &HistoryDrawing(report, window.max(1)))
}

struct HistoryDrawing<'a>(&'a Toy2dReport, usize);

impl Drawing for HistoryDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (r, w) = (self.0, self.1);
        root.fill(&WHITE).map_err(plot_err)?;
        let n = r.history.d_real.len() as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{} on the {}: D's outputs (mean over {w} steps)", r.config.label(), r.config.dist), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..n, 0.0..1.0)
            .map_err(plot_err)?;
        mesh(&mut chart, "generator step", "mean D")?;
        for (label, v, color) in [("D(x), real", &r.history.d_real, REAL), ("D(G(z)), generated", &r.history.d_fake, FAKE)] {
            chart
                .draw_series(LineSeries::new(moving_average(v, w).into_iter().enumerate().map(|(i, m)| ((i + 1) as f64, m)), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(label)
                .legend(legend_line(color, 2));
        }
        chart.draw_series(LineSeries::new([(0.0, 0.5), (n, 0.5)], BLACK.mix(0.4).stroke_width(1))).map_err(plot_err)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 12)
    }
}

// ---------------------------------------------------------------- mode collapse

/// Each run's final samples with the modes' 3σ circles, and its histogram of
/// high-quality samples over the modes.
pub fn plot_mode_collapse(runs: &[Toy2dReport]) -> Result<Figure> {
    if runs.is_empty() {
        return Err(Error::config("runs", "give at least one run"));
    }
    for r in runs {
        if r.config.dist.modes().is_none() || r.snapshots.is_empty() {
            return Err(Error::config("runs", format!("{} on the {}: mode collapse is measured on ring8 or grid25 runs with a snapshot", r.config.label(), r.config.dist)));
        }
    }
    Figure::render(330 * runs.len() as u32, 620, &ModesDrawing(runs))
}

struct ModesDrawing<'a>(&'a [Toy2dReport]);

impl Drawing for ModesDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let cols = root.split_evenly((1, self.0.len()));
        for (area, r) in cols.iter().zip(self.0) {
            let (top, bottom) = area.split_vertically(360);
            let (centres, _sigma) = r.config.dist.modes().expect("checked above");
            let e = r.config.dist.extent();
            let last = &r.snapshots[r.snapshots.len() - 1];
            let stats = r.final_stats.as_ref().or(last.stats.as_ref());
            let mut chart = ChartBuilder::on(&top)
                .caption(format!("{} (step {})", r.config.label(), last.step), ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(22)
                .y_label_area_size(28)
                .build_cartesian_2d(-e..e, -e..e)
                .map_err(plot_err)?;
            chart.configure_mesh().disable_mesh().label_style(("sans-serif", 10)).draw().map_err(plot_err)?;
            chart.draw_series(last.fake.iter().filter(|p| p[0].abs() < e && p[1].abs() < e).map(|p| Circle::new((p[0], p[1]), 2, FAKE.mix(0.5).filled()))).map_err(plot_err)?;
            // The true 3σ discs are a few pixels wide; rings of fixed size mark the modes.
            chart.draw_series(centres.iter().map(|c| Circle::new((c[0], c[1]), 8, REAL.stroke_width(2)))).map_err(plot_err)?;
            let counts = stats.map(|s| s.counts.clone()).unwrap_or_default();
            let top_count = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.15;
            let caption = match stats {
                Some(s) => format!(
                    "{}/{} modes, {:.0}% good, KL {}",
                    s.modes_covered,
                    s.modes,
                    100.0 * s.high_quality,
                    s.kl_to_uniform.map_or("n/a".into(), |k| format!("{k:.2}"))
                ),
                None => "no statistics".into(),
            };
            let k = centres.len();
            let mut bars = ChartBuilder::on(&bottom)
                .caption(caption, ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0.0..k as f64, 0.0..top_count)
                .map_err(plot_err)?;
            bars.configure_mesh()
                .disable_x_mesh()
                .x_desc("mode")
                .y_desc("samples within 3σ")
                .x_labels(k.min(10))
                .x_label_formatter(&|x| format!("{}", x.floor() as usize))
                .label_style(("sans-serif", 10))
                .axis_desc_style(("sans-serif", 12))
                .draw()
                .map_err(plot_err)?;
            let min = stats.map_or(1, |s| s.min_count);
            bars.draw_series(counts.iter().enumerate().map(|(i, c)| {
                let color = if *c >= min { REAL } else { RED };
                Rectangle::new([(i as f64 + 0.1, 0.0), (i as f64 + 0.9, *c as f64)], color.mix(0.8).filled())
            }))
            .map_err(plot_err)?;
            let uniform = stats.map_or(0.0, |s| s.counts.iter().sum::<usize>() as f64 / k as f64);
            bars.draw_series(LineSeries::new([(0.0, uniform), (k as f64, uniform)], BLACK.mix(0.5).stroke_width(1))).map_err(plot_err)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- vanishing gradients

/// D's outputs as it trains against a fixed generator, and the size of each
/// generator loss's gradient (log scale).
pub fn plot_vanishing(report: &VanishingReport) -> Result<Figure> {
    if report.d_step.len() < 2 {
        return Err(Error::config("measure_every", "the experiment measured fewer than 2 points: lower measure_every"));
    }
    Figure::render(960, 400, &VanishingDrawing(report))
}

struct VanishingDrawing<'a>(&'a VanishingReport);

impl Drawing for VanishingDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let r = self.0;
        root.fill(&WHITE).map_err(plot_err)?;
        let panels = root.split_evenly((1, 2));
        let steps: Vec<f64> = r.d_step.iter().map(|s| *s as f64).collect();
        let xmax = steps[steps.len() - 1].max(1.0);
        let mut chart = ChartBuilder::on(&panels[0])
            .caption("D gets stronger (G fixed)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..xmax, 0.0..1.0)
            .map_err(plot_err)?;
        mesh(&mut chart, "discriminator steps", "mean D")?;
        for (label, v, color) in [("D(x), real", &r.d_real, REAL), ("D(G(z)), generated", &r.d_fake, FAKE)] {
            chart
                .draw_series(LineSeries::new(steps.iter().copied().zip(v.iter().copied()), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(label)
                .legend(legend_line(color, 2));
        }
        draw_legend(&mut chart, SeriesLabelPosition::Coordinate(150, 150), 12)?;

        let all = r.grad_minimax.iter().chain(&r.grad_non_saturating).filter(|g| **g > 0.0);
        let (lo, hi) = all.fold((f64::MAX, 0f64), |(lo, hi), g| (lo.min(*g), hi.max(*g)));
        let (lo, hi) = if lo < hi { (lo / 2.0, hi * 2.0) } else { (1e-3, 1.0) };
        let mut chart = ChartBuilder::on(&panels[1])
            .caption("gradient reaching G: ‖∇θ L_G‖", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(54)
            .build_cartesian_2d(0.0..xmax, (lo..hi).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("discriminator steps")
            .y_desc("gradient norm (log scale)")
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .light_line_style(WHITE.mix(0.0))
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.2}"))
            .draw()
            .map_err(plot_err)?;
        for (label, v, color) in [("minimax: log(1 − D(G(z)))", &r.grad_minimax, RED), ("non-saturating: −log D(G(z))", &r.grad_non_saturating, BLUE)] {
            chart
                .draw_series(LineSeries::new(steps.iter().copied().zip(v.iter().map(|g| g.max(lo))), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(label)
                .legend(legend_line(color, 2));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 12)
    }
}
