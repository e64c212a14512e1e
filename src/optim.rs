//! Adam (Kingma & Ba 2015, <https://arxiv.org/abs/1412.6980>), as PyTorch's
//! `torch.optim.Adam` computes it (no weight decay, no AMSGrad), with its
//! state in plain tensors that a checkpoint can save and restore.
//!
//! ```text
//! t += 1
//! m = β1·m + (1 − β1)·g           v = β2·v + (1 − β2)·g²
//! p -= lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
//! ```
//!
//! On the CPU the update is one fused pass over each parameter (libtorch's
//! C++ Adam runs about eight separate element-wise kernels per parameter,
//! each a trip through memory and a thread-pool hand-off); elsewhere it is
//! the same formula in tensor operations.
use crate::error::{Error, Result};
use tch::{nn, Device, Kind, Tensor};

/// Adam's settings; `Default` is PyTorch's (β = (0.9, 0.999), ε = 1e-8).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Adam over the trainable variables of one [`nn::VarStore`].
#[derive(Debug)]
pub struct Adam {
    pub config: AdamConfig,
    /// Steps taken.
    pub t: i64,
    names: Vec<String>,
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
}

impl Adam {
    /// Tracks every trainable variable of `vs` (in name order).
    pub fn new(vs: &nn::VarStore, config: AdamConfig) -> Result<Self> {
        for (name, v) in [("lr", config.lr), ("eps", config.eps)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(name, format!("{v} must be a positive number")));
            }
        }
        for (name, b) in [("beta1", config.beta1), ("beta2", config.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::config(name, format!("{b} must be in [0, 1)")));
            }
        }
        let (names, params) = trainable_sorted(vs);
        let zeros = |t: &Tensor| t.zeros_like().detach();
        Ok(Self {
            config,
            t: 0,
            exp_avg: params.iter().map(zeros).collect(),
            exp_avg_sq: params.iter().map(zeros).collect(),
            names,
            params,
        })
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// Zeroes the gradients of the tracked parameters.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// One update from the current gradients (parameters without a gradient are skipped).
    pub fn step(&mut self) {
        self.t += 1;
        let c = self.config;
        let bc1 = 1.0 - c.beta1.powi(self.t as i32);
        let bc2 = 1.0 - c.beta2.powi(self.t as i32);
        let step_size = c.lr / bc1;
        let bc2_sqrt = bc2.sqrt();
        tch::no_grad(|| {
            for i in 0..self.params.len() {
                let p = &self.params[i];
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let fused = p.device() == Device::Cpu
                    && p.kind() == Kind::Float
                    && g.kind() == Kind::Float
                    && p.is_contiguous()
                    && g.is_contiguous()
                    && g.numel() == p.numel();
                if fused {
                    // SAFETY: p, g, m and v are distinct, contiguous f32 CPU tensors of
                    // p.numel() elements (m and v were made with zeros_like(p) and are
                    // only ever written here); no autograd graph reads p's old values
                    // once backward has run, and nothing else touches them during the loop.
                    let n = p.numel();
                    let (pp, gp) = (p.data_ptr() as *mut f32, g.data_ptr() as *const f32);
                    let (mp, vp) = (self.exp_avg[i].data_ptr() as *mut f32, self.exp_avg_sq[i].data_ptr() as *mut f32);
                    let (ps, gs, ms, vs) = unsafe {
                        (
                            std::slice::from_raw_parts_mut(pp, n),
                            std::slice::from_raw_parts(gp, n),
                            std::slice::from_raw_parts_mut(mp, n),
                            std::slice::from_raw_parts_mut(vp, n),
                        )
                    };
                    fused_update(ps, gs, ms, vs, c.beta1 as f32, c.beta2 as f32, step_size as f32, bc2_sqrt as f32, c.eps as f32);
                } else {
                    let (m, v) = (&mut self.exp_avg[i], &mut self.exp_avg_sq[i]);
                    let _ = m.g_mul_scalar_(c.beta1).g_add_(&(&g * (1.0 - c.beta1)));
                    let _ = v.g_mul_scalar_(c.beta2).g_add_(&(&g * &g * (1.0 - c.beta2)));
                    let denom = v.sqrt() / bc2_sqrt + c.eps;
                    let mut p = p.shallow_clone();
                    let _ = p.g_sub_(&(&*m / denom * step_size));
                }
            }
        });
    }

    /// The optimiser's state as named tensors (`<param>.exp_avg`, `<param>.exp_avg_sq`, `step`),
    /// for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("step".to_string(), Tensor::from_slice(&[self.t]))];
        for (i, name) in self.names.iter().enumerate() {
            out.push((format!("{name}.exp_avg"), self.exp_avg[i].shallow_clone()));
            out.push((format!("{name}.exp_avg_sq"), self.exp_avg_sq[i].shallow_clone()));
        }
        out
    }

    /// Restores what [`Adam::state`] returned.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let find = |key: &str| find_state(state, key);
        let t = find("step")?.int64_value(&[0]);
        let mut pairs = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            for (buf, suffix) in [(&self.exp_avg[i], "exp_avg"), (&self.exp_avg_sq[i], "exp_avg_sq")] {
                let src = find(&format!("{name}.{suffix}"))?;
                if src.size() != buf.size() {
                    return Err(Error::Shape(format!("`{name}.{suffix}` has shape {:?}, expected {:?}", src.size(), buf.size())));
                }
                pairs.push((buf.shallow_clone(), src.shallow_clone()));
            }
        }
        tch::no_grad(|| {
            for (mut dst, src) in pairs {
                dst.copy_(&src);
            }
        });
        self.t = t;
        Ok(())
    }
}

/// RMSprop as PyTorch's `torch.optim.RMSprop` computes it (no momentum, not
/// centred): `v = α·v + (1 − α)·g²; p -= lr · g / (√v + ε)`. WGAN (Arjovsky
/// et al. 2017) trains with it, lr 5e-5, because momentum-based optimisers
/// were unstable with weight clipping.
#[derive(Debug)]
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    /// Steps taken.
    pub t: i64,
    names: Vec<String>,
    params: Vec<Tensor>,
    square_avg: Vec<Tensor>,
}

impl RmsProp {
    /// PyTorch's defaults α = 0.99, ε = 1e-8.
    pub fn new(vs: &nn::VarStore, lr: f64) -> Result<Self> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::config("lr", format!("{lr} must be a positive number")));
        }
        let (names, params) = trainable_sorted(vs);
        Ok(Self { lr, alpha: 0.99, eps: 1e-8, t: 0, square_avg: params.iter().map(|t| t.zeros_like().detach()).collect(), names, params })
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    pub fn step(&mut self) {
        self.t += 1;
        tch::no_grad(|| {
            for (p, v) in self.params.iter().zip(self.square_avg.iter_mut()) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let _ = v.g_mul_scalar_(self.alpha).g_add_(&(&g * &g * (1.0 - self.alpha)));
                let mut p = p.shallow_clone();
                let _ = p.g_sub_(&(&g / (v.sqrt() + self.eps) * self.lr));
            }
        });
    }

    /// `<param>.square_avg` and `step`, for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("step".to_string(), Tensor::from_slice(&[self.t]))];
        out.extend(self.names.iter().zip(&self.square_avg).map(|(n, v)| (format!("{n}.square_avg"), v.shallow_clone())));
        out
    }

    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let t = find_state(state, "step")?.int64_value(&[0]);
        let mut pairs = Vec::new();
        for (name, buf) in self.names.iter().zip(&self.square_avg) {
            let src = find_state(state, &format!("{name}.square_avg"))?;
            if src.size() != buf.size() {
                return Err(Error::Shape(format!("`{name}.square_avg` has shape {:?}, expected {:?}", src.size(), buf.size())));
            }
            pairs.push((buf.shallow_clone(), src.shallow_clone()));
        }
        tch::no_grad(|| pairs.into_iter().for_each(|(mut d, s)| d.copy_(&s)));
        self.t = t;
        Ok(())
    }
}

fn trainable_sorted(vs: &nn::VarStore) -> (Vec<String>, Vec<Tensor>) {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter().unzip()
}

fn find_state<'a>(state: &'a [(String, Tensor)], key: &str) -> Result<&'a Tensor> {
    state.iter().find(|(n, _)| n == key).map(|(_, t)| t).ok_or_else(|| Error::Shape(format!("optimiser state has no `{key}`: was the checkpoint written with another optimiser?")))
}

/// Which optimiser a GAN's network trains with (see [`Optimizer`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum OptimizerKind {
    /// Adam with these betas (DCGAN: (0.5, 0.999); WGAN-GP: (0.0, 0.9)).
    Adam { beta1: f64, beta2: f64 },
    /// RMSprop (WGAN with weight clipping).
    RmsProp,
}

impl Default for OptimizerKind {
    fn default() -> Self {
        OptimizerKind::Adam { beta1: 0.9, beta2: 0.999 }
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptimizerKind::Adam { beta1, beta2 } => write!(f, "Adam, betas ({beta1}, {beta2})"),
            OptimizerKind::RmsProp => write!(f, "RMSprop, alpha 0.99"),
        }
    }
}

/// Adam or RMSprop behind one interface, so a trainer can hold either.
#[derive(Debug)]
pub enum Optimizer {
    Adam(Adam),
    RmsProp(RmsProp),
}

impl Optimizer {
    pub fn new(vs: &nn::VarStore, kind: OptimizerKind, lr: f64) -> Result<Self> {
        Ok(match kind {
            OptimizerKind::Adam { beta1, beta2 } => Optimizer::Adam(Adam::new(vs, AdamConfig { lr, beta1, beta2, eps: 1e-8 })?),
            OptimizerKind::RmsProp => Optimizer::RmsProp(RmsProp::new(vs, lr)?),
        })
    }
    pub fn zero_grad(&mut self) {
        match self {
            Optimizer::Adam(o) => o.zero_grad(),
            Optimizer::RmsProp(o) => o.zero_grad(),
        }
    }
    pub fn step(&mut self) {
        match self {
            Optimizer::Adam(o) => o.step(),
            Optimizer::RmsProp(o) => o.step(),
        }
    }
    pub fn state(&self) -> Vec<(String, Tensor)> {
        match self {
            Optimizer::Adam(o) => o.state(),
            Optimizer::RmsProp(o) => o.state(),
        }
    }
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        match self {
            Optimizer::Adam(o) => o.load_state(state),
            Optimizer::RmsProp(o) => o.load_state(state),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn fused_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], b1: f32, b2: f32, step_size: f32, bc2_sqrt: f32, eps: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { fused_update_avx2(p, g, m, v, b1, b2, step_size, bc2_sqrt, eps) };
    }
    fused_update_portable(p, g, m, v, b1, b2, step_size, bc2_sqrt, eps)
}

/// The same loop compiled for AVX2 + FMA, so that it runs 8 lanes wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn fused_update_avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], b1: f32, b2: f32, step_size: f32, bc2_sqrt: f32, eps: f32) {
    fused_update_portable(p, g, m, v, b1, b2, step_size, bc2_sqrt, eps)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fused_update_portable(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], b1: f32, b2: f32, step_size: f32, bc2_sqrt: f32, eps: f32) {
    let (c1, c2, inv_bc2_sqrt) = (1.0 - b1, 1.0 - b2, 1.0 / bc2_sqrt);
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = b1 * *m + c1 * g;
        *v = b2 * *v + c2 * g * g;
        *p -= step_size * *m / (v.sqrt() * inv_bc2_sqrt + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::OptimizerConfig;

    /// Same trajectory as libtorch's own Adam on a small least-squares problem.
    #[test]
    fn matches_libtorch_adam() {
        let _rng = crate::torch_rng_lock();
        let run = |ours: bool| {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().f_var_copy("w", &Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.1, -0.3, 0.7]).view([2, 3])).unwrap();
            let x = Tensor::from_slice(&[1.0f32, 2.0, -1.0, 0.5, 0.0, 3.0, -2.0, 1.0, 1.5]).view([3, 3]);
            let y = Tensor::from_slice(&[1.0f32, -1.0, 0.5, 2.0, 0.0, 1.0]).view([3, 2]);
            let loss = || (x.matmul(&w.tr()) - &y).pow_tensor_scalar(2).mean(None);
            let mut trace = Vec::new();
            if ours {
                let mut opt = Adam::new(&vs, AdamConfig { lr: 0.05, ..Default::default() }).unwrap();
                for _ in 0..50 {
                    opt.zero_grad();
                    loss().backward();
                    opt.step();
                    trace.push(Vec::<f32>::try_from(w.view([-1])).unwrap());
                }
            } else {
                let mut opt = nn::Adam::default().build(&vs, 0.05).unwrap();
                for _ in 0..50 {
                    opt.zero_grad();
                    loss().backward();
                    opt.step();
                    trace.push(Vec::<f32>::try_from(w.view([-1])).unwrap());
                }
            }
            trace
        };
        let (a, b) = (run(true), run(false));
        for (step, (ra, rb)) in a.iter().zip(&b).enumerate() {
            for (x, y) in ra.iter().zip(rb) {
                assert!((x - y).abs() < 1e-5, "step {step}: ours {x}, libtorch {y}");
            }
        }
        assert!((a[0][0] - 0.5).abs() > 0.04, "the first step moves each weight by about lr");
    }

    /// Same trajectory as libtorch's RMSprop (α 0.99, ε 1e-8, no momentum).
    #[test]
    fn rmsprop_matches_libtorch() {
        let _rng = crate::torch_rng_lock();
        let run = |ours: bool| {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().f_var_copy("w", &Tensor::from_slice(&[0.5f32, -1.0, 2.0])).unwrap();
            let loss = || (&w * &w * Tensor::from_slice(&[1.0f32, 3.0, 0.5])).sum(None);
            let mut trace = Vec::new();
            let mut opt: Box<dyn FnMut()> = if ours {
                let mut o = RmsProp::new(&vs, 0.01).unwrap();
                Box::new(move || { o.zero_grad(); loss().backward(); o.step(); })
            } else {
                let mut o = nn::RmsProp { alpha: 0.99, eps: 1e-8, wd: 0.0, momentum: 0.0, centered: false }.build(&vs, 0.01).unwrap();
                Box::new(move || { o.zero_grad(); loss().backward(); o.step(); })
            };
            for _ in 0..30 {
                opt();
                trace.push(Vec::<f32>::try_from(&w).unwrap());
            }
            trace
        };
        let (a, b) = (run(true), run(false));
        for (step, (ra, rb)) in a.iter().zip(&b).enumerate() {
            for (x, y) in ra.iter().zip(rb) {
                assert!((x - y).abs() < 1e-5, "step {step}: ours {x}, libtorch {y}");
            }
        }
        assert!((a[0][0] - 0.5).abs() > 0.05, "RMSprop's first step is lr/sqrt(1 - alpha) = 0.1");
    }

    #[test]
    fn tensor_path_matches_fused_path() {
        let _rng = crate::torch_rng_lock();
        // Double parameters take the tensor-op path; compare with the fused f32 path.
        let run = |kind: Kind| {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().f_var_copy("w", &Tensor::from_slice(&[0.3f32, -0.2, 0.9]).to_kind(kind)).unwrap();
            let mut opt = Adam::new(&vs, AdamConfig::default()).unwrap();
            for k in 0..5 {
                opt.zero_grad();
                (&w * &w * (k as f64 + 1.0)).sum(None).backward();
                opt.step();
            }
            Vec::<f64>::try_from(w.to_kind(Kind::Double)).unwrap()
        };
        for (x, y) in run(Kind::Float).iter().zip(run(Kind::Double)) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }

    #[test]
    fn state_round_trip_resumes_exactly() {
        let _rng = crate::torch_rng_lock();
        let make = || {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().f_var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0])).unwrap();
            (vs, w)
        };
        let grad_step = |opt: &mut Adam, w: &Tensor| {
            opt.zero_grad();
            (w * w).sum(None).backward();
            opt.step();
        };
        let (vs, w) = make();
        let mut opt = Adam::new(&vs, AdamConfig::default()).unwrap();
        grad_step(&mut opt, &w);
        grad_step(&mut opt, &w);
        let saved: Vec<(String, Tensor)> = opt.state().into_iter().map(|(n, t)| (n, t.copy())).collect();
        let w_saved = w.copy();
        grad_step(&mut opt, &w);
        let (vs2, mut w2) = make();
        tch::no_grad(|| w2.copy_(&w_saved));
        let mut opt2 = Adam::new(&vs2, AdamConfig::default()).unwrap();
        opt2.load_state(&saved).unwrap();
        assert_eq!(opt2.t, 2);
        grad_step(&mut opt2, &w2);
        assert!(w2.equal(&w), "resumed step differs");
        assert!(Adam::new(&vs, AdamConfig { beta1: 1.0, ..Default::default() }).is_err());
    }
}
