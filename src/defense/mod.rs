//! Defenses against adversarial examples.
//!
//! - Input transformations ([`InputTransform`]: Gaussian blur, down- and
//!   up-resizing), applied in front of a model by [`Defended`]. They are
//!   differentiable, so an attacker who knows about them attacks `Defended`
//!   itself (the adaptive attack) and the defense's gain mostly disappears:
//!   they hide the gradient of the bare model rather than remove the
//!   adversarial directions (Athalye, Carlini & Wagner 2018, arXiv:1802.00420).
//! - Adversarial training and defensive distillation change the weights; they
//!   are training options ([`crate::classifier::TrainDefense`]).
//! - [`Tempered`] divides a model's logits by T: how an attacker undoes the
//!   saturated softmax of a distilled network (Carlini & Wagner 2016, arXiv:1607.04311).
use crate::attack::Model;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// A transformation of the input images, before the model sees them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputTransform {
    /// Convolution with a normalised Gaussian of standard deviation `sigma` pixels
    /// (kernel 2·⌈2σ⌉+1 wide, zero padding: MNIST's background is 0).
    GaussianBlur { sigma: f64 },
    /// Average down to `side × side`, then bilinear back up to 28×28.
    Resize { side: i64 },
}

impl InputTransform {
    pub fn validate(&self) -> Result<()> {
        match *self {
            InputTransform::GaussianBlur { sigma } if !(sigma.is_finite() && sigma > 0.0 && sigma <= 5.0) => {
                Err(Error::config("sigma", format!("{sigma} must be in (0, 5] pixels")))
            }
            InputTransform::Resize { side } if !(2..=28).contains(&side) => {
                Err(Error::config("side", format!("{side} must be 2..=28 pixels")))
            }
            _ => Ok(()),
        }
    }

    /// A short name: `blur σ=1`, `resize 14`.
    pub fn label(&self) -> String {
        match self {
            InputTransform::GaussianBlur { sigma } => format!("blur σ={sigma}"),
            InputTransform::Resize { side } => format!("resize {side}→28"),
        }
    }

    /// Applies the transform (differentiably). `// [n,1,28,28] -> [n,1,28,28]`
    pub fn apply(&self, x: &Tensor) -> Tensor {
        match *self {
            InputTransform::GaussianBlur { sigma } => {
                let k = gaussian_kernel(sigma).to_device(x.device()).to_kind(x.kind());
                let r = k.size()[2] / 2;
                x.conv2d::<Tensor>(&k, None, [1, 1], [r, r], [1, 1], 1)
            }
            InputTransform::Resize { side } => x.adaptive_avg_pool2d([side, side]).upsample_bilinear2d([28, 28], false, None, None),
        }
    }

    /// The transform's vector-Jacobian product at `x`: given `g`, the
    /// gradient of some objective at `apply(x)`, the objective's gradient at
    /// `x`. The blur is linear, so this is the blur with its kernel flipped
    /// (libtorch's `convolution_backward` for a one-channel input is ~16x
    /// slower on the CPU than this forward convolution); the resize goes
    /// through autograd (its ops are cheap). `// [n,1,28,28] -> [n,1,28,28]`
    pub fn pull_back(&self, x: &Tensor, g: &Tensor) -> Result<Tensor> {
        match *self {
            InputTransform::GaussianBlur { sigma } => {
                let k = gaussian_kernel(sigma).to_device(g.device()).to_kind(g.kind()).flip([2, 3]);
                let r = k.size()[2] / 2;
                Ok(g.f_conv2d::<Tensor>(&k, None, [1, 1], [r, r], [1, 1], 1)?)
            }
            InputTransform::Resize { .. } => {
                let xg = x.detach().set_requires_grad(true);
                let vjp = (self.apply(&xg) * g.detach()).f_sum(xg.kind())?;
                let mut v = Tensor::f_run_backward(&[&vjp], &[&xg], false, false)?;
                v.pop().ok_or_else(|| Error::Shape("no gradient came back through the resize".into()))
            }
        }
    }
}

/// The blur's kernel `[1, 1, k, k]`, summing to 1.
pub fn gaussian_kernel(sigma: f64) -> Tensor {
    let r = (2.0 * sigma).ceil() as i64;
    let w: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f64 = w.iter().sum();
    let w: Vec<f32> = w.iter().map(|v| (v / sum) as f32).collect();
    let k = Tensor::from_slice(&w);
    let n = w.len() as i64;
    (k.view([n, 1]) * k.view([1, n])).view([1, 1, n, n])
}

/// A model behind an input transformation.
pub struct Defended<'a> {
    pub model: &'a dyn Model,
    pub transform: InputTransform,
}

impl Model for Defended<'_> {
    fn logits(&self, x: &Tensor) -> Tensor {
        self.model.logits(&self.transform.apply(x))
    }
    /// The inner model's own input gradient (where it has one) at the
    /// transformed images, pulled back through the transform: the adaptive
    /// attacker's gradient without autograd through the model.
    fn input_gradient(&self, x: &Tensor, y: &Tensor, targets: Option<&Tensor>) -> Option<Result<(Tensor, Tensor)>> {
        let transformed = tch::no_grad(|| self.transform.apply(x));
        let inner = self.model.input_gradient(&transformed, y, targets)?;
        Some(inner.and_then(|(objective, g)| Ok((objective, self.transform.pull_back(x, &g)?))))
    }
    fn name(&self) -> String {
        format!("{} + {}", self.model.name(), self.transform.label())
    }
}

/// A model whose logits are divided by `temperature`: same predictions,
/// softer probabilities, gradients that no longer vanish in a saturated softmax.
pub struct Tempered<'a> {
    pub model: &'a dyn Model,
    pub temperature: f64,
}

impl Model for Tempered<'_> {
    fn logits(&self, x: &Tensor) -> Tensor {
        self.model.logits(x) / self.temperature
    }
    fn name(&self) -> String {
        format!("{} / T={}", self.model.name(), self.temperature)
    }
}

/// Mean absolute pixel change a transform makes on `x` (how much it destroys).
pub fn transform_change(transform: &InputTransform, x: &Tensor) -> f64 {
    tch::no_grad(|| (transform.apply(x) - x).abs().mean(Kind::Double).double_value(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn blur_kernel_sums_to_one_and_transforms_keep_shape_and_range() {
        let _rng = crate::torch_rng_lock();
        let k = gaussian_kernel(1.0);
        assert_eq!(k.size(), vec![1, 1, 5, 5]);
        assert!((k.sum(Kind::Double).double_value(&[]) - 1.0).abs() < 1e-6);
        let x = Tensor::rand([2, 1, 28, 28], (Kind::Float, Device::Cpu));
        for t in [InputTransform::GaussianBlur { sigma: 1.0 }, InputTransform::Resize { side: 14 }] {
            let y = t.apply(&x);
            assert_eq!(y.size(), x.size());
            assert!(y.min().double_value(&[]) >= -1e-6 && y.max().double_value(&[]) <= 1.0 + 1e-6);
            // A constant image stays constant away from the border.
            let c = t.apply(&Tensor::full([1, 1, 28, 28], 0.5, (Kind::Float, Device::Cpu)));
            assert!((c.double_value(&[0, 0, 14, 14]) - 0.5).abs() < 1e-5);
            assert!(transform_change(&t, &x) > 0.01);
        }
        assert!(InputTransform::Resize { side: 40 }.validate().unwrap_err().to_string().contains("side"));
        assert!(InputTransform::GaussianBlur { sigma: 0.0 }.validate().is_err());
    }
}
