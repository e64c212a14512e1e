//! WGAN-GP's gradient penalty (Gulrajani et al. 2017, <https://arxiv.org/abs/1704.00028>):
//!
//! ```text
//! x̂ = ε·x + (1 − ε)·G(z),   ε ~ U[0, 1], one ε per sample
//! penalty = λ · E[(‖∇_x̂ C(x̂)‖₂ − 1)²],   λ = 10
//! ```
//!
//! Two mistakes that other implementations have shipped, and that the tests
//! here guard against: drawing ε per pixel instead of per sample (then x̂ is
//! not on the line between a real and a fake sample; PyTorch-GAN #5), and
//! taking the norm over one dimension of an image-shaped gradient instead of
//! all non-batch dimensions (PyTorch-GAN #20). The gradient is taken with
//! `create_graph`, so the penalty's own gradient (a double backprop) reaches
//! the critic's weights.
use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// One weight per sample, shaped `[n, 1, 1, ...]` to broadcast over every
/// other dimension of `like`.
pub fn interpolation_weights(like: &Tensor) -> Tensor {
    let mut shape = vec![1i64; like.dim()];
    shape[0] = like.size()[0];
    Tensor::rand(&shape, (Kind::Float, like.device())).to_kind(like.kind())
}

/// The penalty and each sample's gradient norm `[n]`, at given weights `eps`
/// (`[n, 1, ...]`). `critic` maps a batch to scores `[n, 1]` or `[n]`.
pub fn gradient_penalty_at(critic: &dyn Fn(&Tensor) -> Tensor, real: &Tensor, fake: &Tensor, eps: &Tensor, lambda: f64) -> Result<(Tensor, Tensor)> {
    if real.size() != fake.size() {
        return Err(Error::Shape(format!("real batch {:?} and fake batch {:?} must have the same shape", real.size(), fake.size())));
    }
    let n = real.size()[0];
    let mut want = vec![1i64; real.dim()];
    want[0] = n;
    if eps.size() != want {
        return Err(Error::Shape(format!("interpolation weights of shape {:?}: one per sample, shaped {want:?}", eps.size())));
    }
    let mix: Tensor = eps * real.detach() + (1.0 - eps) * fake.detach();
    let x_hat = mix.set_requires_grad(true);
    let scores = critic(&x_hat);
    let grads = Tensor::run_backward(&[scores.sum(scores.kind())], &[&x_hat], true, true);
    // The L2 norm over every non-batch dimension, one number per sample.
    let g = &grads[0];
    let norms = (g.view([n, -1]).square().sum_dim_intlist([1i64].as_slice(), false, g.kind()) + 1e-12).sqrt(); // [n]
    let penalty = lambda * (&norms - 1.0).square().mean(None);
    Ok((penalty, norms.detach()))
}

/// [`gradient_penalty_at`] with fresh per-sample weights.
pub fn gradient_penalty(critic: &dyn Fn(&Tensor) -> Tensor, real: &Tensor, fake: &Tensor, lambda: f64) -> Result<(Tensor, Tensor)> {
    gradient_penalty_at(critic, real, fake, &interpolation_weights(real), lambda)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn matches_a_hand_computed_value_on_image_shaped_input() {
        let _rng = crate::torch_rng_lock();
        // C(x) = Σ w·x over [C, H, W] = [2, 2, 2]: ∇ = w for every sample, so the
        // penalty is λ(‖w‖_F − 1)², the norm over all 8 entries, not over one axis.
        let w = Tensor::from_slice(&[0.1f64, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8]).view([1, 2, 2, 2]);
        let critic = |x: &Tensor| (x * &w).sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Double);
        let real = Tensor::randn([3, 2, 2, 2], (Kind::Double, Device::Cpu));
        let fake = Tensor::randn([3, 2, 2, 2], (Kind::Double, Device::Cpu));
        let (p, norms) = gradient_penalty(&critic, &real, &fake, 10.0).unwrap();
        let wn = (0.01f64 + 0.04 + 0.09 + 0.16 + 0.25 + 0.36 + 0.49 + 0.64).sqrt();
        assert!((p.double_value(&[]) - 10.0 * (wn - 1.0).powi(2)).abs() < 1e-9, "{}", p.double_value(&[]));
        assert_eq!(norms.size(), vec![3]);
        // A norm over dim 1 only (the bug) would give per-pixel norms instead.
        assert!((norms.double_value(&[0]) - wn).abs() < 1e-9);
    }

    #[test]
    fn nonlinear_critic_and_double_backprop() {
        let _rng = crate::torch_rng_lock();
        // C(x) = a·Σx², ∇ = 2a·x̂, ‖∇‖ = 2|a|·‖x̂‖. With ε fixed we know x̂.
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let a = vs.root().var("a", &[1], tch::nn::Init::Const(0.5)).to_kind(Kind::Double);
        let critic = |x: &Tensor| (x.square() * &a).sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        let real = Tensor::from_slice(&[1.0f64, 2.0, 0.0, 0.0]).view([2, 2]);
        let fake = Tensor::from_slice(&[0.0f64, 0.0, 3.0, 4.0]).view([2, 2]);
        let eps = Tensor::from_slice(&[0.5f64, 0.2]).view([2, 1]);
        let (p, norms) = gradient_penalty_at(&critic, &real, &fake, &eps, 10.0).unwrap();
        // x̂₀ = (0.5, 1.0): ‖∇‖ = ‖x̂₀‖ = √1.25; x̂₁ = (2.4, 3.2): ‖x̂₁‖ = 4.
        let (n0, n1) = (1.25f64.sqrt(), 4.0);
        assert!((norms.double_value(&[0]) - n0).abs() < 1e-9 && (norms.double_value(&[1]) - n1).abs() < 1e-9);
        let expected = 10.0 * ((n0 - 1.0).powi(2) + (n1 - 1.0).powi(2)) / 2.0;
        assert!((p.double_value(&[]) - expected).abs() < 1e-9);
        // The penalty reaches the critic's parameter: d/da of 10·mean((2a‖x̂‖ − 1)²).
        p.backward();
        let g = vs.root().get("a").unwrap().grad().double_value(&[0]);
        let expected_g = 10.0 * (2.0 * (n0 - 1.0) * 2.0 * 1.25f64.sqrt() + 2.0 * (n1 - 1.0) * 2.0 * 4.0) / 2.0;
        assert!((g - expected_g).abs() < 1e-6 * expected_g.abs(), "{g} vs {expected_g} (f32 parameter)");
    }

    #[test]
    fn weights_are_drawn_per_sample_not_per_pixel() {
        let _rng = crate::torch_rng_lock();
        let x = Tensor::zeros([64, 1, 28, 28], (Kind::Float, Device::Cpu));
        let eps = interpolation_weights(&x);
        assert_eq!(eps.size(), vec![64, 1, 1, 1]);
        assert!(eps.min().double_value(&[]) >= 0.0 && eps.max().double_value(&[]) <= 1.0);
        assert!(eps.std(true).double_value(&[]) > 0.1, "weights differ between samples");
        // Every interpolate lies on the segment between its real and its fake.
        let real = Tensor::rand([4, 784], (Kind::Float, Device::Cpu));
        let fake = Tensor::rand([4, 784], (Kind::Float, Device::Cpu));
        let e = interpolation_weights(&real);
        let x_hat = &e * &real + (1.0 - &e) * &fake;
        let ratio = (&x_hat - &fake) / (&real - &fake);
        let spread = (ratio.max_dim(1, false).0 - ratio.min_dim(1, false).0).abs().max().double_value(&[]);
        assert!(spread < 1e-3, "one weight per row, spread {spread}");
        let bad = gradient_penalty_at(&|x: &Tensor| x.sum_dim_intlist([1i64].as_slice(), false, Kind::Float), &real, &fake, &Tensor::rand([4, 784], (Kind::Float, Device::Cpu)), 10.0);
        assert!(bad.unwrap_err().to_string().contains("one per sample"));
    }
}
