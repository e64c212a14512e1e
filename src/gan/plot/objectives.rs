//! Why the generator does not minimise the game as written: the minimax loss
//! `log(1 - D(G(z)))` against the non-saturating `-log D(G(z))`, and the size
//! of each one's gradient, as functions of D(G(z)). Computed with the crate's
//! own losses ([`Objective::g_loss`]) and libtorch's autograd, not drawn by hand.
use crate::error::Result;
use crate::gan::Objective;
use crate::plot::figure::{draw_legend, plot_err, Drawing, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;
use tch::{Kind, Tensor};

/// One generator loss evaluated on a grid of discriminator outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveCurve {
    pub loss: Objective,
    /// D(G(z)) in (0, 1).
    pub d_fake: Vec<f64>,
    /// The loss of one sample with that D(G(z)).
    pub value: Vec<f64>,
    /// |∂ loss / ∂ logit|: what reaches the generator through D's last layer.
    pub grad: Vec<f64>,
}

/// Evaluates `loss` at `n` values of D(G(z)) spread evenly over [0.005, 0.995].
pub fn generator_objective(loss: Objective, n: usize) -> Result<ObjectiveCurve> {
    let n = n.max(2);
    let d_fake: Vec<f64> = (0..n).map(|i| 0.005 + 0.99 * i as f64 / (n - 1) as f64).collect();
    let mut value = Vec::with_capacity(n);
    let mut grad = Vec::with_capacity(n);
    for &d in &d_fake {
        // One sample at a time: the loss is a mean over the batch.
        let logit = Tensor::from_slice(&[(d / (1.0 - d)).ln()]).to_kind(Kind::Double).view([1, 1]).set_requires_grad(true);
        let l = loss.g_loss(&logit);
        value.push(l.double_value(&[]));
        l.backward();
        grad.push(logit.grad().abs().double_value(&[0, 0]));
    }
    Ok(ObjectiveCurve { loss, d_fake, value, grad })
}

/// Two panels: each generator loss against D(G(z)), and the size of its
/// gradient. Early in training D rejects fakes (D(G(z)) near 0), where the
/// minimax gradient vanishes and the non-saturating one is largest.
pub fn plot_generator_objectives() -> Result<Figure> {
    let curves = [generator_objective(Objective::Minimax, 199)?, generator_objective(Objective::NonSaturating, 199)?];
    Figure::render(900, 380, &ObjectivesDrawing { curves })
}

struct ObjectivesDrawing {
    curves: [ObjectiveCurve; 2],
}

fn name(loss: Objective) -> (&'static str, RGBColor) {
    match loss {
        Objective::Minimax => ("minimax: log(1 - D(G(z)))", RGBColor(214, 39, 40)),
        Objective::NonSaturating => ("non-saturating: -log D(G(z))", RGBColor(31, 119, 180)),
        other => (other.name(), RGBColor(90, 90, 90)),
    }
}

impl Drawing for ObjectivesDrawing {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let panels = root.split_evenly((1, 2));
        type Panel = (&'static str, &'static str, fn(&ObjectiveCurve) -> &Vec<f64>, std::ops::Range<f64>, SeriesLabelPosition);
        let specs: [Panel; 2] = [
            ("generator loss", "loss", |c| &c.value, -5.5..5.5, SeriesLabelPosition::UpperRight),
            // The two gradients cross at 0.5: the legend goes above the crossing.
            ("gradient reaching G", "|d loss / d logit|", |c| &c.grad, 0.0..1.05, SeriesLabelPosition::UpperMiddle),
        ];
        for (area, (title, y_desc, get, y_range, legend_at)) in panels.iter().zip(specs) {
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(38)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..1f64, y_range)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc("D(G(z))")
                .y_desc(y_desc)
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 13))
                .draw()
                .map_err(plot_err)?;
            for c in &self.curves {
                let (label, color) = name(c.loss);
                chart
                    .draw_series(LineSeries::new(c.d_fake.iter().copied().zip(get(c).iter().copied()), color.stroke_width(2)))
                    .map_err(plot_err)?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            }
            draw_legend(&mut chart, legend_at, 12)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_match_closed_forms() {
        // d/dl log(1 - sigmoid(l)) = -sigmoid(l) = -D;  d/dl -log sigmoid(l) = -(1 - D).
        let mm = generator_objective(Objective::Minimax, 11).unwrap();
        let ns = generator_objective(Objective::NonSaturating, 11).unwrap();
        for i in 0..11 {
            let d = mm.d_fake[i];
            assert!((mm.value[i] - (1.0 - d).ln()).abs() < 1e-9, "minimax value at D = {d}");
            assert!((ns.value[i] + d.ln()).abs() < 1e-9, "non-saturating value at D = {d}");
            assert!((mm.grad[i] - d).abs() < 1e-9, "minimax gradient at D = {d}");
            assert!((ns.grad[i] - (1.0 - d)).abs() < 1e-9, "non-saturating gradient at D = {d}");
        }
        // Where D rejects fakes, the minimax gradient vanishes.
        assert!(mm.grad[0] < 0.01 && ns.grad[0] > 0.99);
        let fig = plot_generator_objectives().unwrap();
        assert_eq!((fig.width, fig.height), (900, 380));
    }
}
