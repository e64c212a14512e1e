//! The optimal discriminator and the value of the game at it (Goodfellow et
//! al. 2014, Proposition 1 and Theorem 1):
//!
//! ```text
//! V(G, D) = ∫ p_data(x) log D(x) + p_g(x) log(1 − D(x)) dx
//! D*_G(x) = p_data(x) / (p_data(x) + p_g(x))                  (pointwise max of a·log y + b·log(1 − y))
//! C(G)    = V(G, D*_G) = −log 4 + 2 · JSD(p_data ‖ p_g)        (minimum −log 4 exactly when p_g = p_data)
//! ```
//!
//! Each line is computed on its own here: `D*` from the densities, `V` by
//! integrating the game with any `D`, and the JSD by integrating the two KL
//! terms against the mixture, so that the identity is a check, not a
//! rewrite. [`train_discriminator`] trains a real network against samples of
//! the two densities and measures how close it gets to `D*`.
use super::density::{Density, Grid};
use crate::error::{Error, Result};
use crate::optim::{Adam, AdamConfig};
use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// `p log p` terms with the convention `0 · log(0 / q) = 0`.
fn xlogy_ratio(p: f64, q: f64) -> f64 {
    if p <= 0.0 {
        0.0
    } else {
        p * (p / q).ln()
    }
}

/// `D*(x) = p_data / (p_data + p_g)` at every grid point; where both
/// densities are 0, `D*` is undefined and reported as 0.5 (any value is
/// optimal there: the point carries no mass).
pub fn optimal_discriminator(p_data: &Density, p_g: &Density, grid: &Grid) -> Result<Vec<f64>> {
    let (a, b) = (grid.eval(p_data)?, grid.eval(p_g)?);
    Ok(a.iter().zip(&b).map(|(a, b)| if a + b > 0.0 { a / (a + b) } else { 0.5 }).collect())
}

/// `V(G, D) = ∫ p_data log D + p_g log(1 − D)` for a discriminator given by
/// its values on the grid (terms with zero density count 0).
pub fn game_value(p_data: &Density, p_g: &Density, d: &[f64], grid: &Grid) -> Result<f64> {
    let (a, b) = (grid.eval(p_data)?, grid.eval(p_g)?);
    if d.len() != a.len() {
        return Err(Error::Shape(format!("{} discriminator values for a grid of {} points", d.len(), a.len())));
    }
    let term = |p: f64, v: f64| if p > 0.0 { p * v.ln() } else { 0.0 };
    Ok(grid.integrate(&a.iter().zip(&b).zip(d).map(|((a, b), d)| term(*a, *d) + term(*b, 1.0 - d)).collect::<Vec<_>>()))
}

/// `KL(p ‖ q) = ∫ p log(p / q)` on a grid.
pub fn kl_divergence(p: &Density, q: &Density, grid: &Grid) -> Result<f64> {
    let (a, b) = (grid.eval(p)?, grid.eval(q)?);
    Ok(grid.integrate(&a.iter().zip(&b).map(|(a, b)| xlogy_ratio(*a, *b)).collect::<Vec<_>>()))
}

/// `JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m)` with `m = (p + q) / 2`, in nats
/// (between 0 and log 2).
pub fn jensen_shannon(p: &Density, q: &Density, grid: &Grid) -> Result<f64> {
    let (a, b) = (grid.eval(p)?, grid.eval(q)?);
    let terms: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(a, b)| {
            let m = 0.5 * (a + b);
            0.5 * xlogy_ratio(*a, m) + 0.5 * xlogy_ratio(*b, m)
        })
        .collect();
    Ok(grid.integrate(&terms))
}

/// `V(G, D*) = ∫ p_data log(p_data / (p_data + p_g)) + p_g log(p_g / (p_data + p_g))`:
/// [`game_value`] with `D*` substituted and `1 − D* = p_g / (p_data + p_g)`
/// written out, so that far in the tails, where `D*` rounds to 1, the value
/// stays finite.
pub fn value_at_optimum(p_data: &Density, p_g: &Density, grid: &Grid) -> Result<f64> {
    let (a, b) = (grid.eval(p_data)?, grid.eval(p_g)?);
    Ok(grid.integrate(&a.iter().zip(&b).map(|(a, b)| xlogy_ratio(*a, a + b) + xlogy_ratio(*b, a + b)).collect::<Vec<_>>()))
}

/// The theorem checked on one pair of densities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NashCheck {
    /// `V(G, D*)`, integrated ([`value_at_optimum`]).
    pub value_at_optimum: f64,
    /// `JSD(p_data ‖ p_g)`, integrated on its own.
    pub jsd: f64,
    /// `−log 4 + 2·JSD`.
    pub predicted: f64,
    /// `|V(G, D*) − (−log 4 + 2·JSD)|`. The identity assumes that both
    /// densities integrate to 1; on a grid that misses mass the gap is
    /// `log 2 · (2 − mass_data − mass_g)`.
    pub gap: f64,
    /// `∫ p_data` and `∫ p_g` on the grid (1 when the grid covers them).
    pub mass_data: f64,
    pub mass_g: f64,
}

/// `V(G, D*)` against `−log 4 + 2·JSD(p_data ‖ p_g)` on `grid`.
pub fn check_nash_identity(p_data: &Density, p_g: &Density, grid: &Grid) -> Result<NashCheck> {
    let value_at_optimum = value_at_optimum(p_data, p_g, grid)?;
    let jsd = jensen_shannon(p_data, p_g, grid)?;
    let predicted = -(4f64.ln()) + 2.0 * jsd;
    let mass_data = grid.integrate(&grid.eval(p_data)?);
    let mass_g = grid.integrate(&grid.eval(p_g)?);
    Ok(NashCheck { value_at_optimum, jsd, predicted, gap: (value_at_optimum - predicted).abs(), mass_data, mass_g })
}

/// The proof's first step, done numerically: the `y` in (0, 1) that
/// maximises `a·log y + b·log(1 − y)`, found by golden-section search (the
/// function is concave), to compare with `a / (a + b)`.
pub fn pointwise_argmax(a: f64, b: f64) -> Result<f64> {
    if !(a.is_finite() && b.is_finite() && a >= 0.0 && b >= 0.0 && a + b > 0.0) {
        return Err(Error::config("densities", format!("a = {a}, b = {b}: give non-negative numbers, not both 0")));
    }
    let f = |y: f64| a * y.ln() + b * (1.0 - y).ln();
    let (mut lo, mut hi) = (1e-12, 1.0 - 1e-12);
    let r = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..200 {
        let (m1, m2) = (hi - r * (hi - lo), lo + r * (hi - lo));
        if f(m1) < f(m2) {
            lo = m1;
        } else {
            hi = m2;
        }
    }
    Ok(0.5 * (lo + hi))
}

/// `C(G)` along a family of generators: `p_g = p_data` shifted by `shift`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostCurve {
    pub shifts: Vec<f64>,
    /// `V(G, D*_G)` integrated.
    pub cost: Vec<f64>,
    /// `−log 4 + 2·JSD` integrated on its own.
    pub predicted: Vec<f64>,
}

/// `C(G)` for `p_g = N(shift, std²)` against `p_data = N(0, std²)`: its
/// minimum is `−log 4`, at `shift = 0`, and it tends to 0 (`JSD → log 2`) as
/// the supports separate.
pub fn cost_against_shift(std: f64, shifts: &[f64]) -> Result<CostCurve> {
    let p_data = Density::gaussian_1d(0.0, std);
    let reach = shifts.iter().fold(0f64, |m, s| m.max(s.abs())) + 10.0 * std;
    let grid = Grid::line(-reach, reach, 8000)?;
    let mut out = CostCurve { shifts: shifts.to_vec(), cost: vec![], predicted: vec![] };
    for &s in shifts {
        let c = check_nash_identity(&p_data, &Density::gaussian_1d(s, std), &grid)?;
        out.cost.push(c.value_at_optimum);
        out.predicted.push(c.predicted);
    }
    Ok(out)
}

/// Settings of [`train_discriminator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainDConfig {
    pub steps: usize,
    pub batch_size: usize,
    pub hidden: i64,
    pub lr: f64,
    pub seed: u64,
}

impl Default for TrainDConfig {
    fn default() -> Self {
        Self { steps: 3000, batch_size: 512, hidden: 64, lr: 2e-3, seed: 0 }
    }
}

/// A trained discriminator beside the optimal one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalDReport {
    pub p_data: Density,
    pub p_g: Density,
    pub grid: Grid,
    pub p_data_values: Vec<f64>,
    pub p_g_values: Vec<f64>,
    pub d_star: Vec<f64>,
    pub d_trained: Vec<f64>,
    /// `∫ |D − D*| · (p_data + p_g)/2`: the error where the data are.
    pub mean_abs_error: f64,
    /// `max |D − D*|` over the points where `(p_data + p_g)/2` is at least 5% of its peak.
    pub max_abs_error: f64,
    pub value_trained: f64,
    pub nash: NashCheck,
    pub config: TrainDConfig,
}

/// Trains a small MLP discriminator (BCE, Adam) on samples of `p_data`
/// (label 1) and of a fixed generator's `p_g` (label 0) and compares its
/// output with `D*` on `grid`.
pub fn train_discriminator(p_data: &Density, p_g: &Density, grid: &Grid, config: &TrainDConfig) -> Result<OptimalDReport> {
    let dim = p_data.dim()?;
    if p_g.dim()? != dim || grid.dim() != dim {
        return Err(Error::config("density", "p_data, p_g and the grid must have one dimension"));
    }
    if config.steps == 0 || config.batch_size == 0 || config.hidden < 1 {
        return Err(Error::config("train_d", format!("steps {}, batch_size {}, hidden {}: all must be at least 1", config.steps, config.batch_size, config.hidden)));
    }
    let _threads = super::SmallNetThreads::new(Device::Cpu);
    let seeded = crate::rng::seeded_section();
    tch::manual_seed(config.seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let h = config.hidden;
    let net = nn::seq()
        .add(nn::linear(&root / "fc1", dim as i64, h, Default::default()))
        .add_fn(|x| x.leaky_relu())
        .add(nn::linear(&root / "fc2", h, h, Default::default()))
        .add_fn(|x| x.leaky_relu())
        .add(nn::linear(&root / "fc3", h, 1, Default::default()));
    drop(seeded);
    let mut opt = Adam::new(&vs, AdamConfig { lr: config.lr, beta1: 0.5, ..Default::default() })?;
    let b = config.batch_size;
    let to_tensor = |pts: Vec<Vec<f64>>| Tensor::from_slice(&pts.concat()).view([pts.len() as i64, dim as i64]).to_kind(Kind::Float);
    for step in 0..config.steps {
        let seed = config.seed.wrapping_mul(1_000_003).wrapping_add(step as u64 * 2);
        let real = to_tensor(p_data.sample(b, seed)?);
        let fake = to_tensor(p_g.sample(b, seed + 1)?);
        let loss = crate::gan::objective::bce::d_loss_plain(&net.forward(&real), &net.forward(&fake));
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    let xs = to_tensor(grid.points.clone());
    let d_trained: Vec<f64> = tch::no_grad(|| net.forward(&xs).sigmoid().view([-1]).to_kind(Kind::Double)).try_into()?;
    let d_star = optimal_discriminator(p_data, p_g, grid)?;
    let (a, bv) = (grid.eval(p_data)?, grid.eval(p_g)?);
    let mass: Vec<f64> = a.iter().zip(&bv).map(|(a, b)| 0.5 * (a + b)).collect();
    let peak = mass.iter().fold(0f64, |m, v| m.max(*v));
    let errs: Vec<f64> = d_trained.iter().zip(&d_star).map(|(d, s)| (d - s).abs()).collect();
    let mean_abs_error = grid.integrate(&errs.iter().zip(&mass).map(|(e, m)| e * m).collect::<Vec<_>>());
    let max_abs_error = errs.iter().zip(&mass).filter(|(_, m)| **m >= 0.05 * peak).fold(0f64, |acc, (e, _)| acc.max(*e));
    Ok(OptimalDReport {
        p_data: p_data.clone(),
        p_g: p_g.clone(),
        grid: grid.clone(),
        value_trained: game_value(p_data, p_g, &d_trained, grid)?,
        nash: check_nash_identity(p_data, p_g, grid)?,
        p_data_values: a,
        p_g_values: bv,
        d_star,
        d_trained,
        mean_abs_error,
        max_abs_error,
        config: config.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_discriminator_on_known_densities() {
        let _rng = crate::torch_rng_lock();
        // Two uniforms overlapping on [0.5, 1]: D* = 1 on [0, 0.5), 1/2 on the overlap, 0 on (1, 1.5].
        let g = Grid::line(-1.0, 2.5, 700).unwrap();
        let d = optimal_discriminator(&Density::uniform_1d(0.0, 1.0), &Density::uniform_1d(0.5, 1.5), &g).unwrap();
        for (x, v) in g.points.iter().zip(&d) {
            let want = if x[0] < 0.5 { 1.0 } else if x[0] <= 1.0 { 0.5 } else if x[0] <= 1.5 { 0.0 } else { 0.5 };
            let want = if x[0] < 0.0 { 0.5 } else { want };
            assert!((v - want).abs() < 1e-12, "D*({}) = {v}, want {want}", x[0]);
        }
        // Gaussians N(0,1), N(1,1): D*(x) = 1 / (1 + exp(x - 1/2)).
        let g = Grid::line(-4.0, 5.0, 90).unwrap();
        let d = optimal_discriminator(&Density::gaussian_1d(0.0, 1.0), &Density::gaussian_1d(1.0, 1.0), &g).unwrap();
        for (x, v) in g.points.iter().zip(&d) {
            assert!((v - 1.0 / (1.0 + (x[0] - 0.5).exp())).abs() < 1e-12);
        }
    }

    #[test]
    fn jsd_against_closed_forms() {
        let _rng = crate::torch_rng_lock();
        let g = Grid::line(-3.0, 4.0, 7000).unwrap();
        let ln2 = 2f64.ln();
        // Disjoint supports: log 2. Equal: 0. Overlap of a fraction o of each uniform: (1 − o)·log 2.
        let disjoint = jensen_shannon(&Density::uniform_1d(0.0, 1.0), &Density::uniform_1d(2.0, 3.0), &g).unwrap();
        assert!((disjoint - ln2).abs() < 1e-9, "{disjoint}");
        let same = jensen_shannon(&Density::gaussian_1d(0.5, 0.8), &Density::gaussian_1d(0.5, 0.8), &g).unwrap();
        assert!(same.abs() < 1e-12, "{same}");
        let half = jensen_shannon(&Density::uniform_1d(0.0, 1.0), &Density::uniform_1d(0.5, 1.5), &g).unwrap();
        assert!((half - 0.5 * ln2).abs() < 2e-3, "{half}");
        // KL of two unit Gaussians one apart: 1/2.
        let kl = kl_divergence(&Density::gaussian_1d(0.0, 1.0), &Density::gaussian_1d(1.0, 1.0), &Grid::line(-12.0, 13.0, 10000).unwrap()).unwrap();
        assert!((kl - 0.5).abs() < 1e-6, "{kl}");
    }

    #[test]
    fn value_at_the_optimum_is_minus_log4_plus_2jsd() {
        let _rng = crate::torch_rng_lock();
        let g = Grid::line(-10.0, 12.0, 8000).unwrap();
        let p_data = Density::Mixture(vec![(0.4, Density::gaussian_1d(-1.0, 0.5)), (0.6, Density::gaussian_1d(2.0, 0.8))]);
        for p_g in [Density::gaussian_1d(0.0, 1.5), Density::uniform_1d(-2.0, 3.0), p_data.clone()] {
            let c = check_nash_identity(&p_data, &p_g, &g).unwrap();
            // Exact up to the mass the grid's cells miss at the uniform's edges.
            let missing = 2f64.ln() * (2.0 - c.mass_data - c.mass_g);
            assert!((c.gap - missing.abs()).abs() < 1e-9 && c.gap < 1e-3, "{c:?}");
            // Plugging D* into the game as written gives the same number.
            let d_star = optimal_discriminator(&p_data, &p_g, &g).unwrap();
            assert!((game_value(&p_data, &p_g, &d_star, &g).unwrap() - c.value_at_optimum).abs() < 1e-9);
            assert!(c.jsd >= 0.0 && c.jsd <= 2f64.ln() + 1e-12);
        }
        // At p_g = p_data exactly −log 4; any other D does worse than D* there.
        let c = check_nash_identity(&p_data, &p_data, &g).unwrap();
        assert!((c.value_at_optimum + 4f64.ln()).abs() < 1e-9, "{c:?}");
        let worse = game_value(&p_data, &Density::gaussian_1d(0.0, 1.5), &vec![0.6; g.points.len()], &g).unwrap();
        assert!(worse < check_nash_identity(&p_data, &Density::gaussian_1d(0.0, 1.5), &g).unwrap().value_at_optimum);
        // 2D: a ring against a blob.
        let sq = Grid::square(-3.0, 3.0, 300).unwrap();
        let ring = Density::gaussian_mixture(&[vec![1.5, 0.0], vec![0.0, 1.5], vec![-1.5, 0.0], vec![0.0, -1.5]], 0.2);
        let c = check_nash_identity(&ring, &Density::Gaussian { mean: vec![0.0, 0.0], std: 0.8 }, &sq).unwrap();
        assert!(c.gap < 1e-9 + 2f64.ln() * (2.0 - c.mass_data - c.mass_g) && c.gap < 1e-3 && c.jsd > 0.1, "{c:?}");
    }

    #[test]
    fn pointwise_maximum_is_a_over_a_plus_b() {
        let _rng = crate::torch_rng_lock();
        for (a, b) in [(1.0, 1.0), (0.3, 2.0), (5.0, 0.01), (2.0, 0.0)] {
            let y = pointwise_argmax(a, b).unwrap();
            assert!((y - a / (a + b)).abs() < 1e-6, "a={a} b={b}: {y}");
        }
        assert!(pointwise_argmax(0.0, 0.0).is_err());
    }

    #[test]
    fn cost_is_minimal_at_equality_and_tends_to_zero() {
        let _rng = crate::torch_rng_lock();
        let c = cost_against_shift(0.5, &[-6.0, -1.0, 0.0, 0.5, 6.0]).unwrap();
        assert!((c.cost[2] + 4f64.ln()).abs() < 1e-9);
        assert!(c.cost.iter().all(|v| *v >= c.cost[2] - 1e-12), "{c:?}");
        assert!(c.cost[0].abs() < 1e-6 && c.cost[4].abs() < 1e-6, "{:?}", c.cost);
        for (a, b) in c.cost.iter().zip(&c.predicted) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn a_trained_discriminator_approaches_d_star() {
        let _rng = crate::torch_rng_lock();
        let g = Grid::line(-4.0, 5.0, 200).unwrap();
        let r = train_discriminator(
            &Density::gaussian_1d(0.0, 1.0),
            &Density::gaussian_1d(1.5, 1.0),
            &g,
            &TrainDConfig { steps: 800, ..Default::default() },
        )
        .unwrap();
        assert!(r.mean_abs_error < 0.05, "mean |D − D*| = {}", r.mean_abs_error);
        // No discriminator beats D* at its own game.
        assert!(r.value_trained <= r.nash.value_at_optimum + 1e-9);
        assert!(r.nash.value_at_optimum - r.value_trained < 0.05, "{} vs {}", r.value_trained, r.nash.value_at_optimum);
    }
}
