//! Spectral normalisation (Miyato et al. 2018, <https://arxiv.org/abs/1802.05957>)
//! as a wrapper for any weight: the layer uses `W / σ(W)`, with `σ(W)` (the
//! largest singular value) estimated by power iteration on `W` reshaped to
//! `[out, in·k·k]`.
//!
//! As in PyTorch's `torch.nn.utils.spectral_norm`: the vectors `u` and `v`
//! persist between calls (one iteration per training forward pass is enough
//! because `W` changes slowly), they are updated only in training mode, and
//! `σ = uᵀ W v` is computed with `u`, `v` held constant, so the gradient
//! flows through `W` in both the numerator and `σ`. `u` and `v` live in the
//! network's [`nn::VarStore`] as non-trainable variables, so checkpoints keep
//! them and a resumed run continues the same iteration.
use tch::{nn, Kind, Tensor};

/// A weight with its spectral normaliser.
#[derive(Debug)]
pub struct SpectralNorm {
    weight: Tensor,
    u: Tensor,
    v: Tensor,
    /// Power iterations per training forward pass (PyTorch's default: 1).
    pub n_power_iterations: usize,
}

const EPS: f64 = 1e-12;

fn normalize(x: &Tensor) -> Tensor {
    x / (x.norm().double_value(&[]).max(EPS))
}

impl SpectralNorm {
    /// Wraps `weight` (`[out, ...]`), which stays a trainable variable of its
    /// store; `u` and `v` are added under `path` as `sn_u`, `sn_v`, drawn
    /// from N(0, 1) and normalised.
    pub fn new(path: &nn::Path, weight: Tensor) -> Self {
        let out = weight.size()[0];
        let inp = weight.numel() as i64 / out;
        let mut u = path.zeros_no_train("sn_u", &[out]);
        let mut v = path.zeros_no_train("sn_v", &[inp]);
        tch::no_grad(|| {
            u.copy_(&normalize(&Tensor::randn([out], (Kind::Float, u.device()))));
            v.copy_(&normalize(&Tensor::randn([inp], (Kind::Float, v.device()))));
        });
        Self { weight, u, v, n_power_iterations: 1 }
    }

    /// The raw, unnormalised weight.
    pub fn raw_weight(&self) -> &Tensor {
        &self.weight
    }

    fn matrix(&self) -> Tensor {
        self.weight.view([self.weight.size()[0], -1])
    }

    /// Runs `n` power iterations, updating the persistent `u`, `v`.
    pub fn power_iterate(&self, n: usize) {
        tch::no_grad(|| {
            let w = self.matrix();
            let (mut u, mut v) = (self.u.shallow_clone(), self.v.shallow_clone());
            for _ in 0..n {
                let v_new = normalize(&w.tr().mv(&u)); // [in]
                v.copy_(&v_new);
                let u_new = normalize(&w.mv(&v)); // [out]
                u.copy_(&u_new);
            }
        });
    }

    /// The current estimate `σ = uᵀ W v` (differentiable in `W`). `// -> []`
    pub fn sigma(&self) -> Tensor {
        // Copies, so that the next forward pass's in-place update of u, v
        // does not invalidate this pass's saved tensors.
        let (u, v) = tch::no_grad(|| (self.u.copy(), self.v.copy()));
        u.dot(&self.matrix().mv(&v))
    }

    /// `W / σ(W)`: in training, after `n_power_iterations` updates of `u`, `v`.
    pub fn weight(&self, train: bool) -> Tensor {
        if train {
            self.power_iterate(self.n_power_iterations);
        }
        &self.weight / self.sigma()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// The exact σ_max: `torch.linalg.norm(W, ord=2)` (computed by ATen from
    /// `linalg_svdvals`; tch's `linalg_svdvals` wrapper always passes a
    /// cuSOLVER driver name, which CPU tensors refuse), checked against
    /// √λ_max(WᵀW) in f64.
    fn largest_singular_value(w: &Tensor) -> f64 {
        let m = w.view([w.size()[0], -1]).to_kind(Kind::Double);
        let s = m.linalg_norm(2, [-2i64, -1].as_slice(), false, None::<Kind>).double_value(&[]);
        let eig = m.tr().matmul(&m).linalg_eigvalsh("L").max().double_value(&[]).sqrt();
        assert!((s - eig).abs() < 1e-9 * s.max(1.0), "svd {s} vs eig {eig}");
        s
    }

    #[test]
    fn power_iteration_finds_the_largest_singular_value() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        for (name, shape) in [("lin", vec![64i64, 100]), ("conv", vec![32, 16, 4, 4])] {
            let w = vs.root().var(name, &shape, nn::Init::Randn { mean: 0.0, stdev: 0.1 });
            let sn = SpectralNorm::new(&(vs.root() / name), w.shallow_clone());
            let exact = largest_singular_value(&w);
            sn.power_iterate(200);
            let est = sn.sigma().double_value(&[]);
            assert!(((est - exact) / exact).abs() < 1e-4, "{name}: estimate {est}, exact {exact}");
            // The normalised weight has spectral norm 1.
            let s = largest_singular_value(&sn.weight(false).detach());
            assert!((s - 1.0).abs() < 1e-4, "{name}: ||W/sigma||_2 = {s}");
            // The estimate never exceeds the exact value (u, v are unit vectors).
            assert!(est <= exact * (1.0 + 1e-5));
        }
    }

    #[test]
    fn one_iteration_per_training_pass_converges_and_eval_does_not_iterate() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(4);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[20, 30], nn::Init::Randn { mean: 0.0, stdev: 1.0 });
        let sn = SpectralNorm::new(&vs.root(), w.shallow_clone());
        let exact = largest_singular_value(&w);
        let first = sn.sigma().double_value(&[]);
        let _ = sn.weight(false);
        assert_eq!(sn.sigma().double_value(&[]), first, "evaluation leaves u, v alone");
        for _ in 0..100 {
            let _ = sn.weight(true);
        }
        let est = sn.sigma().double_value(&[]);
        assert!(((est - exact) / exact).abs() < 1e-3, "after 100 passes: {est} vs {exact}");
        // u and v are stored (non-trainable) in the var store, so checkpoints keep them.
        let names: Vec<String> = vs.variables().into_keys().collect();
        assert!(names.contains(&"sn_u".to_string()) && names.contains(&"sn_v".to_string()), "{names:?}");
        assert_eq!(vs.trainable_variables().len(), 1);
    }

    #[test]
    fn gradient_flows_through_sigma() {
        let _rng = crate::torch_rng_lock();
        // d/dW of sum(W/σ) differs from d/dW sum(W)/σ held constant: σ is in the graph.
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[3, 2], nn::Init::Randn { mean: 0.0, stdev: 1.0 });
        let sn = SpectralNorm::new(&vs.root(), w.shallow_clone());
        sn.power_iterate(50);
        let sigma = sn.sigma().double_value(&[]);
        sn.weight(false).sum(None).backward();
        let g = w.grad();
        let naive = 1.0 / sigma;
        let diff = (&g - naive).abs().max().double_value(&[]);
        assert!(diff > 1e-3, "the gradient must include the term through sigma");
    }
}
