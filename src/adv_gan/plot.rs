//! The study's figure: per architecture (a column each), the Fréchet
//! distance and the G loss's rolling std of every arm, as bars with their
//! 95% intervals over seeds.
use super::report::{Cell, Stat, StudyReport};
use crate::error::{Error, Result};
use crate::gan::Variant;
use crate::plot::figure::{plot_err, Drawing, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;

/// See the module docs.
pub fn plot_study(report: &StudyReport) -> Result<Figure> {
    let mut archs: Vec<Variant> = Vec::new();
    for c in &report.cells {
        if !archs.contains(&c.arch) {
            archs.push(c.arch);
        }
    }
    if archs.is_empty() {
        return Err(Error::Plot("the study has no finished runs to draw".into()));
    }
    Figure::render(archs.len() as u32 * 330, 620, &StudyDrawing { report, archs })
}

struct StudyDrawing<'a> {
    report: &'a StudyReport,
    archs: Vec<Variant>,
}

type Measure = (&'static str, fn(&Cell) -> Stat);

const MEASURES: [Measure; 2] = [("Fréchet distance (lower is better)", |c| c.fid), ("G-loss rolling std (lower is steadier)", |c| c.g_steadiness)];

const ARM_COLORS: [RGBColor; 5] = [RGBColor(127, 127, 127), RGBColor(158, 202, 225), RGBColor(66, 146, 198), RGBColor(8, 69, 148), RGBColor(214, 39, 40)];

impl Drawing for StudyDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let areas = root.split_evenly((MEASURES.len(), self.archs.len()));
        for (m, (title, get)) in MEASURES.iter().enumerate() {
            for (a, arch) in self.archs.iter().enumerate() {
                let cells: Vec<&Cell> = self.report.cells.iter().filter(|c| c.arch == *arch).collect();
                panel(&areas[m * self.archs.len() + a], &format!("{arch}: {title}"), &cells, *get)?;
            }
        }
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str, cells: &[&Cell], get: fn(&Cell) -> Stat) -> Result<()> {
    let stats: Vec<Stat> = cells.iter().map(|c| get(c)).collect();
    let top = stats.iter().map(|s| s.mean + if s.half_width.is_finite() { s.half_width } else { 0.0 }).fold(0.0f64, f64::max).max(1e-9) * 1.15;
    let n = cells.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(52)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..top)
        .map_err(plot_err)?;
    let labels: Vec<String> = cells.iter().map(|c| c.arm.label()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| labels.get(x.round().max(0.0) as usize).filter(|_| (x - x.round()).abs() < 1e-6).cloned().unwrap_or_default())
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(plot_err)?;
    for (i, (c, s)) in cells.iter().zip(&stats).enumerate() {
        let color = match c.arm {
            super::Arm::None => ARM_COLORS[0],
            super::Arm::Fgsm(e) if e < 0.015 => ARM_COLORS[1],
            super::Arm::Fgsm(e) if e < 0.03 => ARM_COLORS[2],
            super::Arm::Fgsm(_) => ARM_COLORS[3],
            super::Arm::Dat => ARM_COLORS[4],
        };
        let x = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new([(x - 0.35, 0.0), (x + 0.35, s.mean)], color.filled()))).map_err(plot_err)?;
        if s.half_width.is_finite() {
            let (lo, hi) = ((s.mean - s.half_width).max(0.0), s.mean + s.half_width);
            let whisker = [vec![(x, lo), (x, hi)], vec![(x - 0.12, lo), (x + 0.12, lo)], vec![(x - 0.12, hi), (x + 0.12, hi)]];
            chart.draw_series(whisker.into_iter().map(|p| PathElement::new(p, BLACK.stroke_width(1)))).map_err(plot_err)?;
        }
    }
    Ok(())
}
