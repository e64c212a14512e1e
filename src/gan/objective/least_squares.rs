//! LSGAN (Mao et al. 2017, <https://arxiv.org/abs/1611.04076>), the a-b-c
//! coding with a = 0 (fake), b = c = 1 (real): D's raw output is regressed
//! onto the labels. Fakes far on the right side of the boundary still get a
//! gradient proportional to their distance, where the sigmoid saturates.
use tch::Tensor;

fn half_mse(x: &Tensor, target: &Tensor) -> Tensor {
    0.5 * (x - target).square().mean(None)
}

/// `½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²]`.
pub fn d_loss(real: &Tensor, fake: &Tensor, real_target: &Tensor, fake_target: &Tensor) -> Tensor {
    half_mse(real, real_target) + half_mse(fake, fake_target)
}

/// `½E[(D(G(z)) − c)²]` with c = 1.
pub fn g_loss(fake: &Tensor) -> Tensor {
    half_mse(fake, &fake.ones_like())
}
