//! The Fréchet distance between two sets of features, each summarised by a
//! Gaussian (mean and covariance): the "F" of FID (Heusel et al. 2017,
//! <https://arxiv.org/abs/1706.08500>), here on the crate's own MNIST
//! classifier's features instead of Inception's.
//!
//! ```text
//! FD = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})
//! ```
//!
//! Everything is computed in `f64`. The trace of the matrix square root uses
//! `tr((Σ₁Σ₂)^{1/2}) = tr((√Σ₁ Σ₂ √Σ₁)^{1/2})`: the right-hand matrix is
//! symmetric positive semi-definite, so two symmetric eigendecompositions
//! (`linalg_eigh`) give it, with tiny negative eigenvalues (round-off)
//! clamped to 0. Unlike scipy's `sqrtm` on the non-symmetric product there
//! are no complex parts to discard.
//!
//! # Shapes
//! Features are `[n, d]` (one row per image); [`FeatureStats`] holds
//! `mean [d]` and `cov [d, d]`.
use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// Mean and covariance of a feature set, kept so that the real data's
/// statistics are computed once and reused for every model compared.
#[derive(Debug)]
pub struct FeatureStats {
    /// `[d]`, f64, on the CPU.
    pub mean: Tensor,
    /// `[d, d]`, f64, on the CPU: the unbiased sample covariance (divides by `n − 1`, as numpy's `np.cov`).
    pub cov: Tensor,
    /// Number of samples the statistics were computed from.
    pub n: usize,
}

impl Clone for FeatureStats {
    fn clone(&self) -> Self {
        Self { mean: self.mean.copy(), cov: self.cov.copy(), n: self.n }
    }
}

/// Checks a feature tensor: `[n, d]` with `n >= min_n`, finite values. Returns it as f64 on the CPU.
pub(crate) fn check_features(x: &Tensor, what: &str, min_n: i64) -> Result<Tensor> {
    let size = x.size();
    let (n, d) = match size.as_slice() {
        [n, d] => (*n, *d),
        _ => return Err(Error::Shape(format!("{what} features of shape {size:?}: give [n, d], one row per image"))),
    };
    if n < min_n {
        return Err(Error::config(
            "num_samples",
            format!("{what}: {n} feature rows, at least {min_n} are needed (use more images)"),
        ));
    }
    if d == 0 {
        return Err(Error::Shape(format!("{what} features of shape {size:?} have no columns")));
    }
    let x = x.detach().to_device(Device::Cpu).to_kind(Kind::Double);
    let finite = x.isfinite().all().int64_value(&[]) == 1;
    if !finite {
        return Err(Error::Shape(format!(
            "{what} features hold NaN or infinite values: the images (or the model that made them) are not finite"
        )));
    }
    Ok(x)
}

impl FeatureStats {
    /// Mean and covariance of `features` `[n, d]` (n >= 2, all finite).
    pub fn from_features(features: &Tensor) -> Result<Self> {
        let x = check_features(features, "the", 2)?;
        let n = x.size()[0];
        let mean = x.mean_dim(0, false, Kind::Double); // [d]
        let centred = &x - mean.unsqueeze(0); // [n, d]
        let cov = centred.tr().matmul(&centred) / (n - 1) as f64; // [d, d]
        Ok(Self { mean, cov, n: n as usize })
    }

    /// Statistics given directly (e.g. a Gaussian's), checked: `mean [d]`, `cov [d, d]` symmetric.
    pub fn new(mean: &Tensor, cov: &Tensor, n: usize) -> Result<Self> {
        let mean = mean.detach().to_device(Device::Cpu).to_kind(Kind::Double);
        let cov = cov.detach().to_device(Device::Cpu).to_kind(Kind::Double);
        let d = match mean.size().as_slice() {
            [d] => *d,
            s => return Err(Error::Shape(format!("mean of shape {s:?}: give [d]"))),
        };
        if cov.size() != [d, d] {
            return Err(Error::Shape(format!("covariance of shape {:?} for a mean of {d} values: give [{d}, {d}]", cov.size())));
        }
        let asym = (&cov - cov.tr()).abs().max().double_value(&[]);
        let scale = cov.abs().max().double_value(&[]).max(1.0);
        if !(asym <= 1e-9 * scale) {
            return Err(Error::Shape(format!("the covariance is not symmetric (max |Σ − Σᵀ| = {asym:e}) or not finite")));
        }
        Ok(Self { mean, cov, n })
    }

    /// Feature dimension `d`.
    pub fn dim(&self) -> i64 {
        self.mean.size()[0]
    }
}

/// The symmetric square root of a symmetric positive semi-definite matrix
/// `[d, d]`: `V diag(√max(λ, 0)) Vᵀ` from `linalg_eigh`. Computed in f64.
pub fn sqrtm_psd(a: &Tensor) -> Result<Tensor> {
    let a = symmetric_f64(a)?;
    let (eigenvalues, v) = a.linalg_eigh("L");
    let root = eigenvalues.clamp_min(0.0).sqrt(); // [d]
    Ok((&v * root.unsqueeze(0)).matmul(&v.tr()))
}

/// `tr((A B)^{1/2})` for symmetric positive semi-definite `A` and `B`,
/// as `tr((√A B √A)^{1/2})` (see the module docs).
pub fn trace_sqrt_product(a: &Tensor, b: &Tensor) -> Result<f64> {
    let b = symmetric_f64(b)?;
    let root_a = sqrtm_psd(a)?;
    if root_a.size() != b.size() {
        return Err(Error::Shape(format!("matrices of shapes {:?} and {:?}: give two [d, d]", root_a.size(), b.size())));
    }
    let m = root_a.matmul(&b).matmul(&root_a);
    let m = (&m + m.tr()) / 2.0; // symmetric up to round-off; make it exactly so
    Ok(m.linalg_eigvalsh("L").clamp_min(0.0).sqrt().sum(Kind::Double).double_value(&[]))
}

fn symmetric_f64(a: &Tensor) -> Result<Tensor> {
    let size = a.size();
    match size.as_slice() {
        [r, c] if r == c && *r > 0 => {}
        _ => return Err(Error::Shape(format!("a matrix of shape {size:?}: give a square [d, d]"))),
    }
    let a = a.detach().to_device(Device::Cpu).to_kind(Kind::Double);
    if a.isfinite().all().int64_value(&[]) != 1 {
        return Err(Error::Shape("the matrix holds NaN or infinite values".into()));
    }
    Ok(a)
}

/// The Fréchet distance between two Gaussians given by their statistics.
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> Result<f64> {
    if a.dim() != b.dim() {
        return Err(Error::Shape(format!(
            "feature dimensions differ ({} and {}): compute both statistics with the same extractor",
            a.dim(),
            b.dim()
        )));
    }
    let diff = (&a.mean - &b.mean).square().sum(Kind::Double).double_value(&[]);
    let traces = a.cov.trace().double_value(&[]) + b.cov.trace().double_value(&[]);
    let cross = trace_sqrt_product(&a.cov, &b.cov)?;
    let fd = diff + traces - 2.0 * cross;
    if !fd.is_finite() {
        return Err(Error::Shape(format!("the Fréchet distance came out as {fd}: the statistics are not finite")));
    }
    // Round-off can make a distance of identical sets a hair below 0.
    Ok(fd.max(0.0))
}

/// The Fréchet distance between two feature sets `[n₁, d]` and `[n₂, d]` (each n >= 2).
pub fn frechet_distance_features(a: &Tensor, b: &Tensor) -> Result<f64> {
    frechet_distance(&FeatureStats::from_features(a)?, &FeatureStats::from_features(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], shape: &[i64]) -> Tensor {
        Tensor::from_slice(v).view(shape)
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn matrix_square_root_by_hand() {
        let _rng = crate::torch_rng_lock();
        // diag(4, 9) -> diag(2, 3).
        let r = sqrtm_psd(&t(&[4.0, 0.0, 0.0, 9.0], &[2, 2])).unwrap();
        assert!(max_abs_diff(&r, &t(&[2.0, 0.0, 0.0, 3.0], &[2, 2])) < 1e-12);
        // [[2,1],[1,2]] has eigenvalues 3 (vector (1,1)/√2) and 1 (vector (1,-1)/√2), so its root
        // is ½[[√3+1, √3−1], [√3−1, √3+1]].
        let s3 = 3f64.sqrt();
        let r = sqrtm_psd(&t(&[2.0, 1.0, 1.0, 2.0], &[2, 2])).unwrap();
        let want = t(&[(s3 + 1.0) / 2.0, (s3 - 1.0) / 2.0, (s3 - 1.0) / 2.0, (s3 + 1.0) / 2.0], &[2, 2]);
        assert!(max_abs_diff(&r, &want) < 1e-12, "{r}");
        // A singular matrix with a round-off negative eigenvalue: no NaN.
        let r = sqrtm_psd(&t(&[1.0, 1.0, 1.0, 1.0 - 1e-17], &[2, 2])).unwrap();
        assert!(max_abs_diff(&r.matmul(&r), &t(&[1.0, 1.0, 1.0, 1.0], &[2, 2])) < 1e-7, "{r}");
        assert!(sqrtm_psd(&t(&[1.0, 2.0, 3.0], &[3])).is_err());
    }

    #[test]
    fn trace_sqrt_of_a_non_commuting_product_matches_numpy() {
        let _rng = crate::torch_rng_lock();
        // import numpy as np
        // A = np.array([[2., .5, 0], [.5, 1., .3], [0, .3, 1.5]])
        // B = np.array([[1., -.4, .2], [-.4, 2., 0], [.2, 0, .7]])
        // print(np.sqrt(np.linalg.eigvals(A @ B).real).sum())  # the product's eigenvalues are real, >= 0
        let a = t(&[2.0, 0.5, 0.0, 0.5, 1.0, 0.3, 0.0, 0.3, 1.5], &[3, 3]);
        let b = t(&[1.0, -0.4, 0.2, -0.4, 2.0, 0.0, 0.2, 0.0, 0.7], &[3, 3]);
        let got = trace_sqrt_product(&a, &b).unwrap();
        let want = 3.6665780790248546; // eigenvalues of AB: 2.2069, 1.6138, 0.8293
        assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        // Symmetric in its arguments (the eigenvalues of AB and BA agree).
        assert!((trace_sqrt_product(&b, &a).unwrap() - got).abs() < 1e-10);
    }

    #[test]
    fn distance_of_a_set_with_itself_is_zero() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(1);
        let x = Tensor::randn([500, 16], (Kind::Float, Device::Cpu)) * 3.0 + 1.0;
        let stats = FeatureStats::from_features(&x).unwrap();
        let fd = frechet_distance(&stats, &stats).unwrap();
        let scale = stats.cov.trace().double_value(&[]);
        assert!(fd.abs() < 1e-6 * scale, "FD(x, x) = {fd} (trace Σ = {scale})");
    }

    #[test]
    fn two_gaussians_match_the_closed_form() {
        let _rng = crate::torch_rng_lock();
        // Exact statistics, diagonal covariances: FD = ‖μ₁−μ₂‖² + Σ(σ₁ − σ₂)².
        let (m1, m2) = ([0.0, 1.0, -2.0], [0.5, -1.0, 0.0]);
        let (s1, s2) = ([1.0, 2.0, 0.5], [3.0, 1.0, 0.5]);
        let diag = |s: &[f64; 3]| Tensor::from_slice(&s.map(|v| v * v)).diag(0);
        let a = FeatureStats::new(&Tensor::from_slice(&m1), &diag(&s1), 0).unwrap();
        let b = FeatureStats::new(&Tensor::from_slice(&m2), &diag(&s2), 0).unwrap();
        let closed = |m1: &[f64; 3], m2: &[f64; 3], s1: &[f64; 3], s2: &[f64; 3]| -> f64 {
            (0..3).map(|i| (m1[i] - m2[i]).powi(2) + (s1[i] - s2[i]).powi(2)).sum()
        };
        let want = closed(&m1, &m2, &s1, &s2); // 0.25 + 4 + 4 + 4 + 1 + 0 = 13.25
        assert!((want - 13.25).abs() < 1e-12);
        let got = frechet_distance(&a, &b).unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // Same, rotated: commuting covariances R D Rᵀ keep the closed form.
        let r = Tensor::from_slice(&[0.6, -0.8, 0.0, 0.8, 0.6, 0.0, 0.0, 0.0, 1.0]).view([3, 3]);
        let rot = |d: Tensor| r.matmul(&d).matmul(&r.tr());
        let a = FeatureStats::new(&r.matmul(&Tensor::from_slice(&m1)), &rot(diag(&s1)), 0).unwrap();
        let b = FeatureStats::new(&r.matmul(&Tensor::from_slice(&m2)), &rot(diag(&s2)), 0).unwrap();
        let got = frechet_distance(&a, &b).unwrap();
        assert!((got - want).abs() < 1e-9, "rotated: {got} vs {want}");
        // Sampled: 20,000 points per set, within sampling error of the closed form.
        tch::manual_seed(3);
        let sample = |m: &[f64; 3], s: &[f64; 3]| {
            Tensor::randn([20_000, 3], (Kind::Double, Device::Cpu)) * Tensor::from_slice(s) + Tensor::from_slice(m)
        };
        let got = frechet_distance_features(&sample(&m1, &s1), &sample(&m2, &s2)).unwrap();
        assert!((got - want).abs() < 0.25, "sampled: {got} vs {want}");
    }

    #[test]
    fn distance_grows_with_the_shift() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(2);
        let x = Tensor::randn([400, 8], (Kind::Double, Device::Cpu));
        let base = FeatureStats::from_features(&x).unwrap();
        let mut last = -1.0;
        for offset in [0.0, 0.1, 0.3, 1.0, 3.0] {
            let fd = frechet_distance(&base, &FeatureStats::from_features(&(&x + offset)).unwrap()).unwrap();
            assert!(fd > last, "offset {offset}: FD {fd} not above {last}");
            // A pure shift by c in every one of 8 coordinates: FD = 8c².
            assert!((fd - 8.0 * offset * offset).abs() < 1e-6, "offset {offset}: {fd}");
            last = fd;
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let _rng = crate::torch_rng_lock();
        let one = Tensor::zeros([1, 4], (Kind::Float, Device::Cpu));
        let e = FeatureStats::from_features(&one).unwrap_err().to_string();
        assert!(e.contains("at least 2"), "{e}");
        let a = Tensor::randn([10, 4], (Kind::Float, Device::Cpu));
        let b = Tensor::randn([10, 5], (Kind::Float, Device::Cpu));
        let e = frechet_distance_features(&a, &b).unwrap_err().to_string();
        assert!(e.contains("dimensions differ"), "{e}");
        let nan = Tensor::from_slice(&[1.0f32, f32::NAN, 0.0, 2.0]).view([2, 2]);
        let e = FeatureStats::from_features(&nan).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
        let flat = Tensor::zeros([10], (Kind::Float, Device::Cpu));
        assert!(FeatureStats::from_features(&flat).unwrap_err().to_string().contains("[n, d]"));
        let asym = Tensor::from_slice(&[1.0, 0.5, 0.0, 1.0]).view([2, 2]);
        assert!(FeatureStats::new(&Tensor::zeros([2], (Kind::Double, Device::Cpu)), &asym, 2).is_err());
    }
}
