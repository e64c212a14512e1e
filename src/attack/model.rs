//! What an attack attacks: a differentiable model from images in `[0, 1]`
//! to logits. [`crate::classifier::Classifier`] implements it, and so does a
//! classifier behind a defense ([`crate::defense::Defended`]); the attacks
//! see only this trait.
use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// Something attacks can differentiate through: images in `[0, 1]`
/// `[n, 1, 28, 28]` to logits `[n, 10]`. A [`Classifier`](crate::classifier::Classifier), or a classifier
/// behind an input transformation ([`crate::defense::Defended`]).
pub trait Model {
    fn logits(&self, x: &Tensor) -> Tensor;
    /// The attacker's objective (mean cross-entropy towards `y`, or its
    /// negative towards `targets`, a scalar) and its gradient ∇ₓ, for a
    /// model that has a faster way than autograd through [`Model::logits`];
    /// `None` (the default) means [`crate::attack::objective_grad`] uses
    /// autograd. An override must give autograd's values up to float rounding.
    fn input_gradient(&self, _x: &Tensor, _y: &Tensor, _targets: Option<&Tensor>) -> Option<Result<(Tensor, Tensor)>> {
        None
    }
    /// A short name for tables and legends.
    fn name(&self) -> String;
}

/// `[n, 784]`, `[n, 28, 28]` or `[n, 1, 28, 28]` as `[n, 1, 28, 28]` float.
pub fn as_images(x: &Tensor) -> Result<Tensor> {
    let size = x.size();
    let n = match size.as_slice() {
        [n, 784] | [n, 28, 28] | [n, 1, 28, 28] => *n,
        _ => return Err(Error::Shape(format!("images of shape {size:?}: give [n, 784], [n, 28, 28] or [n, 1, 28, 28] in [0, 1]"))),
    };
    let kind = match x.kind() {
        Kind::Double => Kind::Double,
        _ => Kind::Float,
    };
    Ok(x.to_kind(kind).reshape([n, 1, 28, 28]))
}

/// Logits in batches of 500 without gradients.
pub fn logits_batched(model: &dyn Model, x: &Tensor) -> Tensor {
    let n = x.size()[0];
    tch::no_grad(|| {
        let parts: Vec<Tensor> = (0..n).step_by(500).map(|s| model.logits(&x.narrow(0, s, 500.min(n - s)))).collect();
        Tensor::cat(&parts, 0)
    })
}
