//! The generator's input noise `z`: its distribution, and codes drawn from
//! a seed alone (for metrics and latent-space walks that must repeat).
use super::model::Gan;
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Distribution of the latent code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LatentDist {
    /// Uniform on `[-1, 1]^d`, as the tutorial draws it (`2 * rand - 1`).
    #[default]
    Uniform,
    /// Standard normal `N(0, I)`, as DCGAN and most later work use.
    Gaussian,
}

impl LatentDist {
    /// `n` codes of dimension `dim`. `// -> [n, dim]`
    pub fn sample(self, n: i64, dim: i64, device: Device) -> Tensor {
        match self {
            LatentDist::Uniform => Tensor::rand([n, dim], (Kind::Float, device)) * 2.0 - 1.0,
            LatentDist::Gaussian => Tensor::randn([n, dim], (Kind::Float, device)),
        }
    }
}

impl std::str::FromStr for LatentDist {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "uniform" => Ok(LatentDist::Uniform),
            "gaussian" | "normal" => Ok(LatentDist::Gaussian),
            _ => Err(crate::Error::config("latent", format!("`{s}` is not a latent distribution: use uniform or gaussian"))),
        }
    }
}

/// `n` codes of width `dim` from `dist`, drawn from a SplitMix64 seeded with
/// `seed` (Box–Muller for the Gaussian), independent of `tch::manual_seed`.
/// `// -> [n, dim]` (f32)
pub fn seeded_latent(dist: LatentDist, n: usize, dim: usize, seed: u64, device: Device) -> Tensor {
    let mut rng = SplitMix64::new(seed);
    let mut unit = || ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64; // in (0, 1)
    let count = n * dim;
    let mut v = Vec::<f32>::with_capacity(count);
    match dist {
        LatentDist::Uniform => v.extend((0..count).map(|_| (2.0 * unit() - 1.0) as f32)),
        LatentDist::Gaussian => {
            while v.len() < count {
                let (u1, u2) = (unit(), unit());
                let r = (-2.0 * u1.ln()).sqrt();
                let a = 2.0 * std::f64::consts::PI * u2;
                v.push((r * a.cos()) as f32);
                if v.len() < count {
                    v.push((r * a.sin()) as f32);
                }
            }
        }
    }
    Tensor::from_slice(&v).view([n as i64, dim as i64]).to_device(device)
}

/// `n` codes for `gan` from its latent distribution, drawn with `seed`. `// -> [n, latent_dim]`
pub fn latent_codes(gan: &Gan, n: usize, seed: u64) -> Result<Tensor> {
    if n == 0 {
        return Err(Error::config("n", "ask for at least one code"));
    }
    Ok(seeded_latent(gan.latent, n, gan.latent_dim() as usize, seed, gan.device()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_in_range_and_gaussian_is_standard() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(0);
        let u = LatentDist::Uniform.sample(1000, 100, Device::Cpu);
        assert_eq!(u.size(), vec![1000, 100]);
        assert!(u.min().double_value(&[]) >= -1.0 && u.max().double_value(&[]) <= 1.0);
        assert!(u.min().double_value(&[]) < -0.99 && u.max().double_value(&[]) > 0.99);
        let g = LatentDist::Gaussian.sample(1000, 100, Device::Cpu);
        assert!(g.mean(None).double_value(&[]).abs() < 0.02);
        assert!((g.std(true).double_value(&[]) - 1.0).abs() < 0.02);
    }

    #[test]
    fn seeded_codes_repeat_and_follow_the_distribution() {
        let _rng = crate::torch_rng_lock();
        let g = seeded_latent(LatentDist::Gaussian, 2000, 50, 9, Device::Cpu);
        assert!(g.equal(&seeded_latent(LatentDist::Gaussian, 2000, 50, 9, Device::Cpu)));
        assert!(!g.equal(&seeded_latent(LatentDist::Gaussian, 2000, 50, 10, Device::Cpu)));
        assert!(g.mean(Kind::Double).double_value(&[]).abs() < 0.02);
        assert!((g.std(true).double_value(&[]) - 1.0).abs() < 0.02);
        let u = seeded_latent(LatentDist::Uniform, 1000, 10, 1, Device::Cpu);
        assert!(u.min().double_value(&[]) >= -1.0 && u.max().double_value(&[]) <= 1.0);
        assert!((u.std(true).double_value(&[]) - (1.0f64 / 3.0).sqrt()).abs() < 0.02);
    }
}
