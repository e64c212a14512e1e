//! Figures of notebook 05: adversarial examples before and after, and
//! accuracy against the attack's strength ε for every defense.
use super::{AttackStudy, ExampleRow};
use crate::error::{Error, Result};
use crate::plot::figure::{draw_legend, plot_err, Drawing, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;
use tch::{Device, Kind, Tensor};

/// Digits before and after an attack, as plain numbers, with the predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct AdversarialExamples {
    /// `n * 784` clean pixels in `[0, 1]`.
    pub clean: Vec<f32>,
    /// `n * 784` adversarial pixels in `[0, 1]`.
    pub adversarial: Vec<f32>,
    pub rows: Vec<ExampleRow>,
    pub title: String,
}

impl AdversarialExamples {
    /// From `[n, 1, 28, 28]` tensors and one row of predictions per image.
    pub fn new(clean: &Tensor, adversarial: &Tensor, rows: &[ExampleRow], title: impl Into<String>) -> Result<Self> {
        let flat = |t: &Tensor| -> Result<Vec<f32>> {
            Ok(Vec::<f32>::try_from(t.detach().to_device(Device::Cpu).to_kind(Kind::Float).contiguous().view([-1]))?)
        };
        let (clean, adversarial) = (flat(clean)?, flat(adversarial)?);
        if clean.len() != rows.len() * 784 || adversarial.len() != clean.len() || rows.is_empty() {
            return Err(Error::Shape(format!(
                "{} clean and {} adversarial values for {} rows: give [n, 1, 28, 28] images and n rows",
                clean.len(),
                adversarial.len(),
                rows.len()
            )));
        }
        Ok(Self { clean, adversarial, rows: rows.to_vec(), title: title.into() })
    }
}

const CELL: i32 = 4; // screen pixels per image pixel
const IMG: i32 = 28 * CELL;

/// One column per digit: the clean image with its label and the model's
/// prediction and confidence, the perturbation (amplified to the full grey
/// range: mid-grey 0, white +max, black −max), and the adversarial image with
/// the new prediction (red when wrong).
pub fn plot_adversarial_examples(ex: &AdversarialExamples) -> Result<Figure> {
    let n = ex.rows.len() as i32;
    let width = (n * (IMG + 16) + 150).max(460) as u32;
    Figure::render(width, (3 * IMG + 3 * 44 + 40) as u32, &ExamplesDrawing(ex))
}

struct ExamplesDrawing<'a>(&'a AdversarialExamples);

fn draw_image<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, x0: i32, y0: i32, pixels: &[f32]) -> Result<()> {
    for (i, &v) in pixels.iter().enumerate() {
        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        let (r, c) = (i as i32 / 28, i as i32 % 28);
        let (x, y) = (x0 + c * CELL, y0 + r * CELL);
        root.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], RGBColor(g, g, g).filled())).map_err(plot_err)?;
    }
    Ok(())
}

impl Drawing for ExamplesDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let ex = self.0;
        root.fill(&WHITE).map_err(plot_err)?;
        let font = ("sans-serif", 13).into_font();
        let text = |s: &str, x: i32, y: i32, color: RGBColor| root.draw(&Text::new(s.to_string(), (x, y), font.clone().color(&color))).map_err(plot_err);
        root.draw(&Text::new(ex.title.clone(), (10, 8), ("sans-serif", 17).into_font())).map_err(plot_err)?;
        let max_delta = ex.clean.iter().zip(&ex.adversarial).map(|(a, b)| (b - a).abs()).fold(1e-6f32, f32::max);
        let row_y = [36, 36 + IMG + 44, 36 + 2 * (IMG + 44)];
        text("clean", 10, row_y[0] + IMG / 2, BLACK)?;
        text("perturbation", 10, row_y[1] + IMG / 2 - 8, BLACK)?;
        text("(amplified:", 10, row_y[1] + IMG / 2 + 8, RGBColor(90, 90, 90))?;
        text(&format!(" ±{max_delta:.2} = white/black)"), 10, row_y[1] + IMG / 2 + 24, RGBColor(90, 90, 90))?;
        text("adversarial", 10, row_y[2] + IMG / 2, BLACK)?;
        for (k, row) in ex.rows.iter().enumerate() {
            let x0 = 150 + k as i32 * (IMG + 16);
            let clean = &ex.clean[k * 784..(k + 1) * 784];
            let adv = &ex.adversarial[k * 784..(k + 1) * 784];
            let delta: Vec<f32> = clean.iter().zip(adv).map(|(a, b)| 0.5 + 0.5 * (b - a) / max_delta).collect();
            draw_image(root, x0, row_y[0], clean)?;
            draw_image(root, x0, row_y[1], &delta)?;
            draw_image(root, x0, row_y[2], adv)?;
            let color = |p: i64| if p == row.label { RGBColor(0, 110, 0) } else { RGBColor(200, 0, 0) };
            text(&format!("label {}", row.label), x0, row_y[0] + IMG + 4, BLACK)?;
            text(&format!("pred {} ({:.0}%)", row.pred_before, 100.0 * row.conf_before), x0, row_y[0] + IMG + 20, color(row.pred_before))?;
            text(&format!("pred {} ({:.0}%)", row.pred_after, 100.0 * row.conf_after), x0, row_y[2] + IMG + 4, color(row.pred_after))?;
        }
        Ok(())
    }
}

/// Accuracy against ε for one attack (`FGSM`, `BIM` or `PGD`), one line per defense.
pub fn plot_accuracy_vs_eps(study: &AttackStudy, attack: &str) -> Result<Figure> {
    let attack = attack.trim().to_ascii_uppercase();
    if !study.table.iter().any(|r| r.attack == attack) {
        return Err(Error::config("attack", format!("`{attack}` was not measured: use FGSM, BIM or PGD")));
    }
    Figure::render(900, 520, &EpsDrawing { study, attack })
}

struct EpsDrawing<'a> {
    study: &'a AttackStudy,
    attack: String,
}

impl Drawing for EpsDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let s = self.study;
        let eps_max = s.config.eps.iter().copied().fold(0.0, f64::max).max(0.01);
        let steps = match self.attack.as_str() {
            "BIM" => format!("-{}", s.config.bim_steps),
            "PGD" => format!("-{}", s.config.pgd_steps),
            _ => String::new(),
        };
        let title = format!("{}{steps}: accuracy against ε ({} test digits)", self.attack, s.config.num_test);
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 19))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..eps_max * 1.02, 0f64..100.0)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("ε (L∞ budget, pixels in [0, 1])")
            .y_desc("accuracy (%)")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(plot_err)?;
        for (i, d) in s.defenses().iter().enumerate() {
            // One colour per defense; a thin line where the attacker ignores it (or attacks naively).
            let color = if d == "none" {
                RGBColor(0, 0, 0)
            } else if d.starts_with("blur") {
                RGBColor(44, 160, 44)
            } else if d.starts_with("resize") {
                RGBColor(31, 119, 180)
            } else if d.starts_with("FGSM") {
                RGBColor(148, 103, 189)
            } else if d.starts_with("PGD") {
                RGBColor(255, 127, 14)
            } else if d.starts_with("distillation") {
                RGBColor(214, 39, 40)
            } else {
                let (r, g, b) = Palette99::pick(i).to_rgba().rgb();
                RGBColor(r, g, b)
            };
            let dashed = d.contains("unaware") || d.starts_with("distillation") && !d.contains("divides");
            let pts: Vec<(f64, f64)> = s.table.iter().filter(|r| &r.defense == d && r.attack == self.attack).map(|r| (r.eps, 100.0 * r.accuracy)).collect();
            let width = if dashed { 1 } else { 2 };
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))
                .map_err(plot_err)?
                .label(d.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(plot_err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 11)?;
        Ok(())
    }
}
