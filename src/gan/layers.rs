//! Small layers shared by the architectures.
use crate::rng::SplitMix64;
use std::cell::RefCell;
use tch::{Device, Kind, Tensor};

/// `max(x, slope * x)`, LeakyReLU for `0 <= slope < 1`.
pub fn leaky_relu(x: &Tensor, slope: f64) -> Tensor {
    x.maximum(&(x * slope))
}

/// LeakyReLU with a fixed slope as one libtorch kernel (PReLU with a constant,
/// untrained weight): one op forward and one backward, where
/// [`leaky_relu`]'s `maximum` takes two forward and three backward.
#[derive(Debug)]
pub struct LeakyRelu {
    slope: f64,
    weight: Tensor,
}

impl LeakyRelu {
    pub fn new(slope: f64, device: Device) -> Self {
        Self { slope, weight: Tensor::from_slice(&[slope as f32]).to_device(device) }
    }

    pub fn slope(&self) -> f64 {
        self.slope
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        if x.kind() == Kind::Float && x.device() == self.weight.device() {
            x.prelu(&self.weight)
        } else {
            leaky_relu(x, self.slope)
        }
    }
}

/// Inverted dropout (Srivastava et al. 2014): in training, each unit is
/// zeroed with probability `p` and the survivors scaled by `1 / (1 - p)`;
/// in evaluation, the identity.
///
/// On the CPU the keep-mask comes from the layer's own seeded SplitMix64
/// stream: libtorch's CPU Bernoulli sampler takes ~200 µs for a 128x128
/// mask, as long as the matrix product it follows, and this takes ~15 µs.
/// The distribution is the same (each unit kept independently with
/// probability `1 - p`); only the random stream differs. On CUDA,
/// libtorch's own dropout is used.
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    rng: RefCell<SplitMix64>,
}

impl Dropout {
    /// The stream is seeded from libtorch's generator, so `tch::manual_seed`
    /// before building a network makes its dropout masks reproducible too.
    pub fn new(p: f64) -> Self {
        let seed = Tensor::randint(i64::MAX, [1], (Kind::Int64, Device::Cpu)).int64_value(&[0]) as u64;
        Self::with_seed(p, seed)
    }

    /// A dropout layer whose CPU masks come from `seed`.
    pub fn with_seed(p: f64, seed: u64) -> Self {
        Self { p, rng: RefCell::new(SplitMix64::new(seed)) }
    }

    pub fn p(&self) -> f64 {
        self.p
    }

    /// Restarts the CPU mask stream from `seed`.
    pub fn reseed(&self, seed: u64) {
        *self.rng.borrow_mut() = SplitMix64::new(seed);
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        if !train || self.p == 0.0 {
            return x.shallow_clone();
        }
        if x.device() != Device::Cpu || x.kind() != Kind::Float {
            return x.dropout(self.p, train);
        }
        let n = x.numel();
        let threshold = (self.p * 4294967296.0).min(4294967295.0) as u64;
        let scale = (1.0 / (1.0 - self.p)) as f32;
        let mut mask = Vec::with_capacity(n + 1);
        let mut rng = self.rng.borrow_mut();
        while mask.len() < n {
            let r = rng.next_u64();
            for half in [r & 0xFFFF_FFFF, r >> 32] {
                mask.push(if half >= threshold { scale } else { 0.0 });
            }
        }
        mask.truncate(n);
        x * Tensor::from_slice(&mask).view(x.size().as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_keeps_the_expected_share_and_scales() {
        let d = Dropout::with_seed(0.5, 1);
        let x = Tensor::ones([200, 500], (Kind::Float, Device::Cpu));
        let y = d.forward_t(&x, true);
        let kept = y.gt(0.0).to_kind(Kind::Float).mean(None).double_value(&[]);
        assert!((kept - 0.5).abs() < 0.01, "kept {kept}");
        // Survivors are scaled by 1 / (1 - p): the mean is preserved.
        assert!((y.mean(None).double_value(&[]) - 1.0).abs() < 0.02);
        assert!(y.max().double_value(&[]) == 2.0);
        assert!(d.forward_t(&x, false).equal(&x));
        // Two calls draw different masks; the same seed gives the same masks.
        assert!(!d.forward_t(&x, true).equal(&y));
        assert!(Dropout::with_seed(0.5, 1).forward_t(&x, true).equal(&y));
        let d3 = Dropout::with_seed(0.3, 9);
        let kept = d3.forward_t(&x, true).gt(0.0).to_kind(Kind::Float).mean(None).double_value(&[]);
        assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
    }

    #[test]
    fn masks_are_the_streams_draws_low_half_first() {
        // The masks a run draws are part of its reproducibility: each u64 of the stream gives
        // two elements, low 32 bits first, kept where the draw is >= p·2³² (an odd count drops
        // the last half). Written out here the plain way, against the layer's loop.
        for (p, seed, shape) in [(0.5, 4u64, [3i64, 7]), (0.3, 9, [2, 8]), (0.9, 1, [1, 1])] {
            let d = Dropout::with_seed(p, seed);
            let got = Vec::<f32>::try_from(d.forward_t(&Tensor::ones(shape, (Kind::Float, Device::Cpu)), true).view([-1])).unwrap();
            let mut rng = SplitMix64::new(seed);
            let threshold = (p * 4294967296.0) as u64;
            let mut want = Vec::new();
            while want.len() < got.len() {
                let r = rng.next_u64();
                for half in [r & 0xFFFF_FFFF, r >> 32] {
                    want.push(if half >= threshold { (1.0 / (1.0 - p)) as f32 } else { 0.0 });
                }
            }
            want.truncate(got.len());
            assert_eq!(got, want, "p {p}, seed {seed}");
        }
    }

    #[test]
    fn gradient_flows_through_kept_units_only() {
        let d = Dropout::with_seed(0.5, 2);
        let x = Tensor::ones([4, 8], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let y = d.forward_t(&x, true);
        y.sum(None).backward();
        assert!(x.grad().equal(&y.detach()), "d(sum y)/dx equals the scaled mask");
    }

    #[test]
    fn leaky_relu_slope_and_gradient() {
        let x = Tensor::from_slice(&[-2.0f32, 0.0, 3.0]);
        let y: Vec<f32> = leaky_relu(&x, 0.2).try_into().unwrap();
        assert_eq!(y, vec![-0.4, 0.0, 3.0]);
        let layer = LeakyRelu::new(0.2, Device::Cpu);
        let xs = Tensor::from_slice(&[-2.0f32, -0.5, 1.0, 3.0]).view([2, 2]).set_requires_grad(true);
        let ys = layer.forward(&xs);
        assert_eq!(Vec::<f32>::try_from(ys.view([-1])).unwrap(), vec![-0.4, -0.1, 1.0, 3.0]);
        ys.sum(None).backward();
        assert_eq!(Vec::<f32>::try_from(xs.grad().view([-1])).unwrap(), vec![0.2, 0.2, 1.0, 1.0]);
    }
}
