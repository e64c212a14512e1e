//! The generator's input noise `z`.
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
}
