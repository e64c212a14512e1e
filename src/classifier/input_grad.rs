//! The LeNet's input gradient written out by hand (issue 17): the same
//! forward kernels as [`Classifier::logits`](super::Classifier), then the
//! backward pass layer by layer, with no autograd graph.
//!
//! Why: an attack needs ∇ₓ of the loss and nothing else, hundreds of times
//! per image for PGD. Profiled with PyTorch's own profiler (1 thread, batch
//! 100), two thirds of an autograd input gradient is one kernel:
//! `convolution_backward` for conv1's input, 9.3 ms of a ~16 ms step. conv1
//! has one input channel, so its input gradient is a convolution with six
//! input channels and one output channel, which oneDNN handles badly on
//! the CPU (written as a forward convolution it is still 3.2 ms). Here it is
//! computed as one depthwise convolution of the batch folded into channels
//! (0.8 ms, grouped by image and channel) followed by a sum over the six
//! channels: the same sum of products, in another order, so the result
//! agrees with autograd's to float rounding, not bit for bit. Everything
//! else is the kernel autograd itself calls (`threshold_backward` for ReLU,
//! `max_pool2d_with_indices_backward`, `conv_transpose2d` for conv2, matrix
//! products for the linear layers).
//!
//! Checked against autograd in the tests below (float32 and float64,
//! untargeted and targeted) and, through the attacks, against PyTorch's
//! golden values in `tests/attack_golden.rs` (float64, to 1e-9).
use super::{normalise, Net, MNIST_STD};
use crate::error::{Error, Result};
use tch::{Device, Tensor};

const POOL: [i64; 2] = [2, 2];

/// Mean cross-entropy towards `y` (negated, towards `targets`) for the
/// LeNet, on the CPU, and its gradient ∇ₓ: `(objective [], gradient
/// [n,1,28,28])`. `None` where the hand-written pass does not apply (the
/// MLP, a GPU, a batch that is not `[n, 1, 28, 28]`): the caller uses autograd.
pub(super) fn lenet_input_grad(net: &Net, x: &Tensor, y: &Tensor, targets: Option<&Tensor>) -> Option<Result<(Tensor, Tensor)>> {
    let Net::LeNet { conv1, conv2, fc1, fc2, fc3 } = net else { return None };
    let size = x.size();
    if x.device() != Device::Cpu || size.len() != 4 || size[1..] != [1, 28, 28] || size[0] == 0 {
        return None;
    }
    let n = size[0];
    tch::no_grad(|| {
        // Forward, keeping what the backward pass reads. Same ops and order as features_raw.
        let a1 = normalise(&x.detach()).conv2d(&conv1.ws, conv1.bs.as_ref(), [1, 1], [2, 2], [1, 1], 1).relu(); // [n,6,28,28]
        let (p1, i1) = a1.max_pool2d_with_indices(POOL, POOL, [0, 0], [1, 1], false); // [n,6,14,14]
        let a2 = p1.conv2d(&conv2.ws, conv2.bs.as_ref(), [1, 1], [0, 0], [1, 1], 1).relu(); // [n,16,10,10]
        let (p2, i2) = a2.max_pool2d_with_indices(POOL, POOL, [0, 0], [1, 1], false); // [n,16,5,5]
        let h1 = p2.flatten(1, -1).linear(&fc1.ws, fc1.bs.as_ref()).relu(); // [n,120]
        let h2 = h1.linear(&fc2.ws, fc2.bs.as_ref()).relu(); // [n,84]
        let logits = h2.linear(&fc3.ws, fc3.bs.as_ref()); // [n,10]

        // d mean CE / d logits = (softmax − onehot) / n; towards a target, minus that.
        let (labels, sign) = match targets {
            None => (y, 1.0),
            Some(t) => (t, -1.0),
        };
        // A label outside 0..=9 is the caller's error, said as such, not a panic in one_hot.
        let (lo, hi) = labels.aminmax(None, false);
        let (lo, hi) = (lo.int64_value(&[]), hi.int64_value(&[]));
        if lo < 0 || hi > 9 {
            return Some(Err(Error::Shape(format!("labels span {lo}..={hi}: the classifiers' labels are digits 0..=9"))));
        }
        let onehot = labels.one_hot(10).to_kind(logits.kind());
        let log_p = logits.log_softmax(-1, logits.kind());
        let objective = (&log_p * &onehot).sum(logits.kind()) * (-sign / n as f64); // []
        let g = (log_p.exp() - onehot) * (sign / n as f64); // [n,10]

        let g = h2.threshold_backward(&g.mm(&fc3.ws), 0.0); // [n,84]
        let g = h1.threshold_backward(&g.mm(&fc2.ws), 0.0); // [n,120]
        let g = g.mm(&fc1.ws).view([n, 16, 5, 5]);
        let g = a2.max_pool2d_with_indices_backward(&g, POOL, POOL, [0, 0], [1, 1], false, &i2); // [n,16,10,10]
        let g = a2.threshold_backward(&g, 0.0);
        let g = g.conv_transpose2d(&conv2.ws, None::<Tensor>, [1, 1], [0, 0], [0, 0], 1, [1, 1]); // [n,6,14,14]
        let g = a1.max_pool2d_with_indices_backward(&g, POOL, POOL, [0, 0], [1, 1], false, &i1); // [n,6,28,28]
        let g = a1.threshold_backward(&g, 0.0);
        // conv1's input gradient: each (image, channel) plane convolved with its
        // channel's flipped kernel (pad 2 keeps 28×28), then summed over the channels.
        let flipped = conv1.ws.flip([2, 3]).repeat([n, 1, 1, 1]); // [n·6,1,5,5]
        let g = g.reshape([1, n * 6, 28, 28]).conv2d(&flipped, None::<Tensor>, [1, 1], [2, 2], [1, 1], n * 6);
        let g = g.view([n, 6, 28, 28]).sum_dim_intlist(1, true, g.kind()); // [n,1,28,28]
        Some(Ok((objective, g / MNIST_STD)))
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Arch, Classifier, Model};
    use crate::attack::objective_grad;
    use tch::{Device, Kind, Tensor};

    /// The classifier's logits without its own gradient: objective_grad then uses autograd.
    struct ThroughAutograd<'a>(&'a Classifier);
    impl Model for ThroughAutograd<'_> {
        fn logits(&self, x: &Tensor) -> Tensor {
            self.0.logits(x)
        }
        fn name(&self) -> String {
            "autograd".into()
        }
    }

    #[test]
    fn the_hand_written_gradient_is_autograds() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(11);
        for (kind, tol) in [(Kind::Double, 1e-12), (Kind::Float, 2e-5)] {
            let mut model = Classifier::new(Arch::LeNet, Device::Cpu);
            if kind == Kind::Double {
                model.to_double();
            }
            // Pixels at 0 and 1 too, and a constant image: ReLUs at exactly zero, ties in the pools.
            let mut x = (Tensor::rand([17, 1, 28, 28], (kind, Device::Cpu)) * 1.4 - 0.2).clamp(0.0, 1.0);
            let _ = x.get(0).fill_(0.0);
            let y = Tensor::randint(10, [17], (Kind::Int64, Device::Cpu));
            let t = (&y + 3).remainder(10);
            for targets in [None, Some(&t)] {
                let (objective, fast) = model.input_gradient(&x, &y, targets).expect("LeNet on the CPU has a hand-written gradient").unwrap();
                let ce = model.logits(&x).f_cross_entropy_loss::<Tensor>(targets.unwrap_or(&y), None, tch::Reduction::Mean, -100, 0.0).unwrap();
                let want = if targets.is_some() { -ce } else { ce };
                let d = (&objective - &want).abs().double_value(&[]);
                assert!(d <= tol * want.abs().double_value(&[]).max(1.0), "{kind:?}: objective {objective} against cross-entropy {want}");
                let slow = objective_grad(&ThroughAutograd(&model), &x, &y, targets).unwrap();
                assert_eq!(fast.size(), slow.size());
                assert_eq!(fast.kind(), kind);
                let scale = slow.abs().max().double_value(&[]);
                let d = (&fast - &slow).abs().max().double_value(&[]);
                assert!(scale > 1e-6, "a zero gradient proves nothing");
                assert!(d <= tol * scale, "{kind:?} targeted={}: differs from autograd by {d} (scale {scale})", targets.is_some());
                // Sign agreement is what FGSM and PGD use.
                let flips = fast.sign().ne_tensor(&slow.sign()).logical_and(&slow.abs().gt(tol * scale * 10.0)).sum(Kind::Int64).int64_value(&[]);
                assert_eq!(flips, 0, "{kind:?}: signs differ where the gradient is not ~0");
            }
        }
    }

    #[test]
    fn the_mlp_and_odd_shapes_fall_back_to_autograd() {
        let _rng = crate::torch_rng_lock();
        let y = Tensor::zeros([2], (Kind::Int64, Device::Cpu));
        let mlp = Classifier::new(Arch::Mlp, Device::Cpu);
        assert!(mlp.input_gradient(&Tensor::rand([2, 1, 28, 28], (Kind::Float, Device::Cpu)), &y, None).is_none());
        let lenet = Classifier::new(Arch::LeNet, Device::Cpu);
        assert!(lenet.input_gradient(&Tensor::rand([2, 784], (Kind::Float, Device::Cpu)), &y, None).is_none());
        // A label that is not a digit: an error that says so, not a panic.
        let bad = Tensor::from_slice(&[3i64, 12]);
        let e = lenet.input_gradient(&Tensor::rand([2, 1, 28, 28], (Kind::Float, Device::Cpu)), &bad, None).unwrap().unwrap_err().to_string();
        assert!(e.contains("3..=12") && e.contains("0..=9"), "{e}");
    }
}
