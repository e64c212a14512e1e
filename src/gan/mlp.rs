//! The tutorial's fully-connected GAN for 28x28 images:
//!
//! ```text
//! G: Linear(100, 128) -> LeakyReLU(0.2) -> Dropout(0.5) -> Linear(128, 784) -> Tanh
//! D: Linear(784, 128) -> LeakyReLU(0.2) -> Dropout(0.5) -> Linear(128, 1)   -> Sigmoid
//! ```
//!
//! D's final Sigmoid is applied by the loss (`BCE-with-logits`) and by
//! [`Gan::d_prob`](crate::gan::Gan::d_prob): the same function, computed stably.
//! Layers are initialised as PyTorch's `nn.Linear` (uniform ±1/√fan_in).
use super::layers::{Dropout, LeakyRelu};
use super::model::{Discriminator, Generator};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// Sizes of the tutorial MLPs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MlpSpec {
    pub latent_dim: i64,
    pub hidden_dim: i64,
    /// Image side; images are `side x side`, one channel.
    pub image_side: i64,
    pub leaky_slope: f64,
    pub dropout: f64,
}

impl Default for MlpSpec {
    fn default() -> Self {
        Self { latent_dim: 100, hidden_dim: 128, image_side: 28, leaky_slope: 0.2, dropout: 0.5 }
    }
}

impl MlpSpec {
    pub fn image_dim(&self) -> i64 {
        self.image_side * self.image_side
    }
}

/// The tutorial's generator.
#[derive(Debug)]
pub struct MlpGenerator {
    fc1: nn::Linear,
    fc2: nn::Linear,
    act: LeakyRelu,
    dropout: Dropout,
    spec: MlpSpec,
}

impl MlpGenerator {
    pub fn new(path: &nn::Path, spec: MlpSpec) -> Self {
        let c = Default::default();
        Self {
            fc1: nn::linear(path / "fc1", spec.latent_dim, spec.hidden_dim, c),
            fc2: nn::linear(path / "fc2", spec.hidden_dim, spec.image_dim(), c),
            act: LeakyRelu::new(spec.leaky_slope, path.device()),
            dropout: Dropout::new(spec.dropout),
            spec,
        }
    }
}

impl Generator for MlpGenerator {
    fn forward_t(&self, z: &Tensor, train: bool) -> Tensor {
        use tch::nn::Module;
        let h = self.act.forward(&self.fc1.forward(z)); // [n, 100] -> [n, 128]
        let h = self.dropout.forward_t(&h, train);
        self.fc2.forward(&h).tanh() // [n, 128] -> [n, 784]
    }
    fn latent_dim(&self) -> i64 {
        self.spec.latent_dim
    }
    fn image_shape(&self) -> (i64, i64, i64) {
        (1, self.spec.image_side, self.spec.image_side)
    }
}

impl std::fmt::Display for MlpGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.spec;
        writeln!(f, "Generator(")?;
        writeln!(f, "  (fc1): Linear(in_features={}, out_features={}, bias=True)", s.latent_dim, s.hidden_dim)?;
        writeln!(f, "  (act): LeakyReLU(negative_slope={})", s.leaky_slope)?;
        writeln!(f, "  (drop): Dropout(p={})", s.dropout)?;
        writeln!(f, "  (fc2): Linear(in_features={}, out_features={}, bias=True)", s.hidden_dim, s.image_dim())?;
        writeln!(f, "  (out): Tanh()")?;
        write!(f, ")  # {} parameters", s.latent_dim * s.hidden_dim + s.hidden_dim + s.hidden_dim * s.image_dim() + s.image_dim())
    }
}

/// The tutorial's discriminator (returns logits; see the module docs).
#[derive(Debug)]
pub struct MlpDiscriminator {
    fc1: nn::Linear,
    fc2: nn::Linear,
    act: LeakyRelu,
    dropout: Dropout,
    spec: MlpSpec,
}

impl MlpDiscriminator {
    pub fn new(path: &nn::Path, spec: MlpSpec) -> Self {
        let c = Default::default();
        Self {
            fc1: nn::linear(path / "fc1", spec.image_dim(), spec.hidden_dim, c),
            fc2: nn::linear(path / "fc2", spec.hidden_dim, 1, c),
            act: LeakyRelu::new(spec.leaky_slope, path.device()),
            dropout: Dropout::new(spec.dropout),
            spec,
        }
    }
}

impl Discriminator for MlpDiscriminator {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        use tch::nn::Module;
        let h = self.act.forward(&self.fc1.forward(x)); // [n, 784] -> [n, 128]
        let h = self.dropout.forward_t(&h, train);
        self.fc2.forward(&h) // [n, 128] -> [n, 1] (logits)
    }
}

impl std::fmt::Display for MlpDiscriminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.spec;
        writeln!(f, "Discriminator(")?;
        writeln!(f, "  (fc1): Linear(in_features={}, out_features={}, bias=True)", s.image_dim(), s.hidden_dim)?;
        writeln!(f, "  (act): LeakyReLU(negative_slope={})", s.leaky_slope)?;
        writeln!(f, "  (drop): Dropout(p={})", s.dropout)?;
        writeln!(f, "  (fc2): Linear(in_features={}, out_features=1, bias=True)", s.hidden_dim)?;
        writeln!(f, "  (out): Sigmoid()  # applied in the loss, on logits")?;
        write!(f, ")  # {} parameters", s.image_dim() * s.hidden_dim + s.hidden_dim + s.hidden_dim + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn shapes_ranges_and_parameter_counts() {
        let _rng = crate::torch_rng_lock();
        let spec = MlpSpec::default();
        let gvs = nn::VarStore::new(Device::Cpu);
        let dvs = nn::VarStore::new(Device::Cpu);
        let g = MlpGenerator::new(&gvs.root(), spec);
        let d = MlpDiscriminator::new(&dvs.root(), spec);
        let z = Tensor::rand([5, 100], (Kind::Float, Device::Cpu));
        let x = g.forward_t(&z, true);
        assert_eq!(x.size(), vec![5, 784]);
        assert!(x.abs().max().double_value(&[]) <= 1.0);
        assert_eq!(d.forward_t(&x, false).size(), vec![5, 1]);
        let count = |vs: &nn::VarStore| vs.trainable_variables().iter().map(|t| t.numel()).sum::<usize>();
        assert_eq!(count(&gvs), 100 * 128 + 128 + 128 * 784 + 784);
        assert_eq!(count(&dvs), 784 * 128 + 128 + 128 + 1);
        assert!(g.to_string().contains("Linear(in_features=100, out_features=128"));
    }

    #[test]
    fn dropout_only_in_training_mode() {
        let _rng = crate::torch_rng_lock();
        let spec = MlpSpec::default();
        let vs = nn::VarStore::new(Device::Cpu);
        let g = MlpGenerator::new(&vs.root(), spec);
        let z = Tensor::rand([4, 100], (Kind::Float, Device::Cpu));
        let a = g.forward_t(&z, false);
        let b = g.forward_t(&z, false);
        assert!(a.equal(&b), "eval mode is deterministic");
        let c = g.forward_t(&z, true);
        assert!(!a.equal(&c), "train mode drops units");
    }
}
