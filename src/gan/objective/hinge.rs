//! The hinge loss (Lim & Ye 2017, <https://arxiv.org/abs/1705.02894>), as
//! SNGAN and BigGAN train: D stops pushing once a real scores above 1 and a
//! fake below −1. G's loss is the Wasserstein one, `−E D(G(z))`.
use tch::Tensor;

/// `E[relu(1 − D(x))] + E[relu(1 + D(G(z)))]`.
pub fn d_loss(real: &Tensor, fake: &Tensor) -> Tensor {
    let r: Tensor = 1.0 - real;
    let f: Tensor = 1.0 + fake;
    r.relu().mean(None) + f.relu().mean(None)
}
