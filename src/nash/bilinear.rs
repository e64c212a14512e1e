//! Non-convergence on the simplest game: `min_x max_y V(x, y) = x·y`.
//!
//! Its only Nash equilibrium is `(0, 0)`: there `V(x, 0) = V(0, y) = 0`, so
//! neither player gains by moving alone. Gradient descent–ascent still does
//! not reach it. With step size η,
//!
//! ```text
//! simultaneous:  x' = x − η·y,   y' = y + η·x      radius grows by √(1 + η²) every step (spirals out)
//! alternating:   x' = x − η·y,   y' = y + η·x'     x² − η·x·y + y² is conserved (orbits, never arrives)
//! ```
//!
//! The gradients here come from libtorch's autograd on `V = x·y`, as a GAN's
//! do, and the closed forms above are what the tests check them against.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Whether the two players update from the same point or one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateRule {
    Simultaneous,
    /// x moves first; y then sees the new x (as a GAN's D step after G step).
    Alternating,
}

impl std::fmt::Display for UpdateRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpdateRule::Simultaneous => "simultaneous",
            UpdateRule::Alternating => "alternating",
        })
    }
}

/// Settings of the bilinear game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BilinearConfig {
    pub lr: f64,
    pub steps: usize,
    pub start: (f64, f64),
}

impl Default for BilinearConfig {
    fn default() -> Self {
        Self { lr: 0.1, steps: 200, start: (1.0, 1.0) }
    }
}

/// One run of gradient descent–ascent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BilinearTrajectory {
    pub rule: UpdateRule,
    /// Positions, `steps + 1` of them, the start first.
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// Distance from the equilibrium (0, 0) at each position.
    pub distance: Vec<f64>,
}

/// `(∂V/∂x, ∂V/∂y)` of `V = x·y` at a point, by autograd.
fn grad(x: f64, y: f64) -> Result<(f64, f64)> {
    let xt = Tensor::from_slice(&[x]).to_kind(Kind::Double).set_requires_grad(true);
    let yt = Tensor::from_slice(&[y]).to_kind(Kind::Double).set_requires_grad(true);
    let v = (&xt * &yt).sum(Kind::Double);
    let g = Tensor::f_run_backward(&[v], &[&xt, &yt], false, false)?;
    Ok((g[0].double_value(&[0]), g[1].double_value(&[0])))
}

/// Runs `config.steps` steps of `rule` from `config.start`.
pub fn bilinear_game(rule: UpdateRule, config: &BilinearConfig) -> Result<BilinearTrajectory> {
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(Error::config("lr", format!("{} must be a positive number", config.lr)));
    }
    let (mut x, mut y) = config.start;
    if !(x.is_finite() && y.is_finite()) {
        return Err(Error::config("start", format!("({x}, {y}) must be finite")));
    }
    let mut t = BilinearTrajectory { rule, x: vec![x], y: vec![y], distance: vec![x.hypot(y)] };
    for _ in 0..config.steps {
        let (gx, gy) = grad(x, y)?;
        match rule {
            UpdateRule::Simultaneous => {
                x -= config.lr * gx;
                y += config.lr * gy;
            }
            UpdateRule::Alternating => {
                x -= config.lr * gx;
                y += config.lr * grad(x, y)?.1;
            }
        }
        t.x.push(x);
        t.y.push(y);
        t.distance.push(x.hypot(y));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simultaneous_spirals_out_and_alternating_orbits() {
        let c = BilinearConfig { lr: 0.1, steps: 300, start: (1.0, 0.5) };
        let sim = bilinear_game(UpdateRule::Simultaneous, &c).unwrap();
        let alt = bilinear_game(UpdateRule::Alternating, &c).unwrap();
        let r0 = sim.distance[0];
        for (t, d) in sim.distance.iter().enumerate() {
            let want = r0 * (1.0 + c.lr * c.lr).powf(t as f64 / 2.0);
            assert!((d - want).abs() < 1e-9 * want, "step {t}: {d} vs {want}");
        }
        assert!(sim.distance[300] > 4.0 * r0, "grows: {}", sim.distance[300]);
        let q = |x: f64, y: f64| x * x - c.lr * x * y + y * y;
        let q0 = q(1.0, 0.5);
        for i in 0..alt.x.len() {
            assert!((q(alt.x[i], alt.y[i]) - q0).abs() < 1e-9, "invariant at step {i}");
        }
        let max = alt.distance.iter().fold(0f64, |m, d| m.max(*d));
        let min = alt.distance.iter().fold(f64::MAX, |m, d| m.min(*d));
        assert!(max < 1.2 * r0 && min > 0.8 * r0, "bounded, away from 0: {min}..{max}");
        assert!(bilinear_game(UpdateRule::Alternating, &BilinearConfig { lr: -1.0, ..c }).is_err());
    }
}
