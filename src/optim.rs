//! Adam (Kingma & Ba 2015, <https://arxiv.org/abs/1412.6980>), as PyTorch's
//! `torch.optim.Adam` computes it (no weight decay, no AMSGrad), with its
//! state in plain tensors that a checkpoint can save and restore.
//!
//! ```text
//! per parameter with a gradient:  t += 1
//! m = β1·m + (1 − β1)·g           v = β2·v + (1 − β2)·g²
//! p -= lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
//! ```
//!
//! As in PyTorch, each parameter keeps its own step count `t`: a parameter
//! without a gradient at a step (`zero_grad` leaves gradients undefined, like
//! PyTorch's `set_to_none`) is skipped, and its bias correction later uses
//! its own count. The arithmetic is torch's operation for operation
//! (`m.lerp_(g, 1 − β1)`, `v.mul_(β2).addcmul_(g, g, 1 − β2)`,
//! `p.addcdiv_(m, √v / √(1 − β2^t) + ε, −lr/(1 − β1^t))`), with every
//! constant computed in f64 first, so float64 runs follow `torch.optim.Adam`
//! to rounding (tests/adam_golden.rs).
//!
//! On the CPU, float32 parameters are updated in one fused pass (libtorch's
//! ops are about eight separate element-wise kernels per parameter, each a
//! trip through memory and a thread-pool hand-off); the pass rounds as
//! torch's kernels do (fused multiply-adds where they use them), so on an
//! AVX2 + FMA CPU it gives torch's float32 values. Elsewhere it is the same
//! formula in tensor operations.
use crate::error::{Error, Result};
use tch::{nn, COptimizer, Device, Kind, Tensor};

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
    /// Calls to [`Adam::step`]. Each parameter's own count (which bias correction uses) is in
    /// [`Adam::param_steps`].
    pub t: i64,
    names: Vec<String>,
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    /// Steps each parameter has taken (torch's `state['step']`).
    steps: Vec<i64>,
    grads: GradReset,
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
            steps: vec![0; params.len()],
            grads: GradReset::new(&params)?,
            names,
            params,
        })
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// Each tracked parameter's name and the steps it has taken (it takes none at a step where it
    /// has no gradient).
    pub fn param_steps(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.names.iter().map(String::as_str).zip(self.steps.iter().copied())
    }

    /// Leaves the tracked parameters without gradients (PyTorch's `zero_grad(set_to_none=True)`,
    /// its default): a parameter that the next backward pass does not reach is then skipped by
    /// [`Adam::step`], where a zeroed gradient would still decay its moments and move it.
    pub fn zero_grad(&mut self) {
        self.grads.clear();
    }

    /// One update from the current gradients; a parameter without a gradient is skipped and its
    /// step count stays where it was.
    pub fn step(&mut self) {
        self.t += 1;
        let c = self.config;
        tch::no_grad(|| {
            for i in 0..self.params.len() {
                let p = &self.params[i];
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                self.steps[i] += 1;
                // As torch.optim.Adam's single-tensor path, in f64 (Python floats): `beta ** step`
                // is C's pow, as is `bias_correction2 ** 0.5`.
                let step = self.steps[i] as f64;
                let bc1 = 1.0 - c.beta1.powf(step);
                let bc2 = 1.0 - c.beta2.powf(step);
                let step_size = c.lr / bc1;
                let bc2_sqrt = bc2.powf(0.5);
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
                    fused_update(ps, gs, ms, vs, &FusedConstants::new(c, step_size, bc2_sqrt));
                } else {
                    // torch's own ops, so that rounding (FMA included) is the same. tch's addcmul_ and
                    // addcdiv_ have no `value`: scaling the first factor first rounds as torch's
                    // kernels do (they compute `self + (value * t1) * t2` and `self + (value * t1) / t2`).
                    let (m, v) = (&mut self.exp_avg[i], &mut self.exp_avg_sq[i]);
                    let _ = m.lerp_(&g, 1.0 - c.beta1);
                    let _ = v.g_mul_scalar_(c.beta2).addcmul_(&(&g * (1.0 - c.beta2)), &g);
                    let denom = (v.sqrt() / bc2_sqrt).g_add_scalar_(c.eps);
                    let mut p = p.shallow_clone();
                    let _ = p.addcdiv_(&(&*m * -step_size), &denom);
                }
            }
        });
    }

    /// The optimiser's state as named tensors (`<param>.exp_avg`, `<param>.exp_avg_sq`,
    /// `<param>.step`, and `step`: the calls to [`Adam::step`]), for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("step".to_string(), Tensor::from_slice(&[self.t]))];
        for (i, name) in self.names.iter().enumerate() {
            out.push((format!("{name}.exp_avg"), self.exp_avg[i].shallow_clone()));
            out.push((format!("{name}.exp_avg_sq"), self.exp_avg_sq[i].shallow_clone()));
            out.push((format!("{name}.step"), Tensor::from_slice(&[self.steps[i]])));
        }
        out
    }

    /// Restores what [`Adam::state`] returned. A state written before parameters had their own
    /// step counts (no `<param>.step`) gives every parameter the shared `step`.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let find = |key: &str| find_state(state, key);
        let count = |key: &str, t: &Tensor| -> Result<i64> {
            let n = t.f_int64_value(&[0]).map_err(|e| Error::Shape(format!("optimiser state `{key}` is not a step count: {e}")))?;
            if n < 0 {
                return Err(Error::Shape(format!("optimiser state `{key}` is {n}, a negative step count")));
            }
            Ok(n)
        };
        let shared = state.iter().find(|(n, _)| n == "step").map(|(k, t)| count(k, t)).transpose()?;
        let mut steps = Vec::with_capacity(self.names.len());
        let mut pairs = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            for (buf, suffix) in [(&self.exp_avg[i], "exp_avg"), (&self.exp_avg_sq[i], "exp_avg_sq")] {
                let src = find(&format!("{name}.{suffix}"))?;
                if src.size() != buf.size() {
                    return Err(Error::Shape(format!("`{name}.{suffix}` has shape {:?}, expected {:?}", src.size(), buf.size())));
                }
                pairs.push((buf.shallow_clone(), src.shallow_clone()));
            }
            let key = format!("{name}.step");
            steps.push(match (state.iter().find(|(n, _)| *n == key), shared) {
                (Some((_, t)), _) => count(&key, t)?,
                (None, Some(n)) => n,
                (None, None) => return Err(Error::Shape(format!("optimiser state has neither `{key}` nor `step`: was the checkpoint written with another optimiser?"))),
            });
        }
        tch::no_grad(|| {
            for (mut dst, src) in pairs {
                dst.copy_(&src);
            }
        });
        self.t = shared.unwrap_or_else(|| steps.iter().copied().max().unwrap_or(0));
        self.steps = steps;
        Ok(())
    }
}

/// Sets parameters' gradients to undefined. tch has no `p.grad = None`; libtorch's own optimisers
/// do it in `zero_grad` (`set_to_none` is its default), so one (an SGD that never steps) holds the
/// parameters for that alone.
struct GradReset(Option<COptimizer>);

impl GradReset {
    fn new(params: &[Tensor]) -> Result<Self> {
        if params.is_empty() {
            return Ok(Self(None));
        }
        let mut opt = COptimizer::sgd(0.0, 0.0, 0.0, 0.0, false)?;
        for p in params {
            opt.add_parameters(p, 0)?;
        }
        Ok(Self(Some(opt)))
    }

    fn clear(&self) {
        if let Some(opt) = &self.0 {
            // libtorch's zero_grad only detaches and resets gradients; tch's own
            // `nn::Optimizer::zero_grad` unwraps the same call.
            opt.zero_grad().expect("libtorch failed to reset gradients");
        }
    }
}

impl std::fmt::Debug for GradReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GradReset")
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
    grads: GradReset,
}

impl RmsProp {
    /// PyTorch's defaults α = 0.99, ε = 1e-8.
    pub fn new(vs: &nn::VarStore, lr: f64) -> Result<Self> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::config("lr", format!("{lr} must be a positive number")));
        }
        let (names, params) = trainable_sorted(vs);
        let grads = GradReset::new(&params)?;
        Ok(Self { lr, alpha: 0.99, eps: 1e-8, t: 0, square_avg: params.iter().map(|t| t.zeros_like().detach()).collect(), names, params, grads })
    }

    /// Leaves the tracked parameters without gradients, as [`Adam::zero_grad`].
    pub fn zero_grad(&mut self) {
        self.grads.clear();
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

/// How a run's learning rates change with the iteration: derived from the
/// iteration's index and the run's length alone (no state), so a run
/// resumed from a checkpoint follows the same schedule as an uninterrupted
/// one of the same length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrDecay {
    /// Constant learning rates (the default).
    #[default]
    None,
    /// Linearly to 0 over the run: at iteration `t` of `T`, `lr · (1 − t/T)`
    /// (the linear decay of SNGAN's and mimicry's CIFAR-10 setups). The last
    /// iteration trains with `lr / T`.
    Linear,
}

impl LrDecay {
    /// The factor on the base learning rate at iteration `step` (0-based) of `total`.
    pub fn factor(self, step: usize, total: usize) -> f64 {
        match self {
            LrDecay::None => 1.0,
            LrDecay::Linear => 1.0 - step.min(total) as f64 / total.max(1) as f64,
        }
    }
}

impl std::fmt::Display for LrDecay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LrDecay::None => "none",
            LrDecay::Linear => "linear",
        })
    }
}

impl std::str::FromStr for LrDecay {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "constant" => Ok(LrDecay::None),
            "linear" => Ok(LrDecay::Linear),
            _ => Err(Error::config("lr_decay", format!("`{s}` is not a learning-rate schedule: use none or linear"))),
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
    /// Sets the learning rate of the next steps (the moments are kept).
    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Optimizer::Adam(o) => o.set_lr(lr),
            Optimizer::RmsProp(o) => o.lr = lr,
        }
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

/// One parameter's float32 constants for [`fused_update`], each computed in f64 and rounded once,
/// as torch rounds its Python-float scalars (`1 − β2` taken in f32 from `β2 as f32` would come out
/// 1.3e-5 too small for β2 = 0.999, a bias in every step).
#[derive(Debug, Clone, Copy)]
struct FusedConstants {
    /// ATen's `lerp(m, g, w)` is `m + w·(g − m)` for |w| < ½ and `g + (w − 1)·(g − m)` otherwise
    /// (`w − 1` in f32, exact); `lerp_coef` is that `w` or `w − 1`.
    lerp_coef: f32,
    lerp_from_m: bool,
    beta2: f32,
    one_minus_beta2: f32,
    neg_step_size: f32,
    bc2_sqrt: f32,
    eps: f32,
}

impl FusedConstants {
    fn new(c: AdamConfig, step_size: f64, bc2_sqrt: f64) -> Self {
        let w = (1.0 - c.beta1) as f32;
        let from_m = w.abs() < 0.5;
        Self {
            lerp_coef: if from_m { w } else { w - 1.0 },
            lerp_from_m: from_m,
            beta2: c.beta2 as f32,
            one_minus_beta2: (1.0 - c.beta2) as f32,
            neg_step_size: (-step_size) as f32,
            bc2_sqrt: bc2_sqrt as f32,
            eps: c.eps as f32,
        }
    }
}

/// Whether [`fused_update`] fuses its multiply-adds on this CPU (as ATen's vectorised kernels do).
#[cfg_attr(not(any(target_arch = "x86_64", test)), allow(dead_code))]
fn fused_multiply_add() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    return cfg!(target_arch = "aarch64");
}

fn fused_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &FusedConstants) {
    #[cfg(target_arch = "x86_64")]
    if fused_multiply_add() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { fused_update_avx2(p, g, m, v, k) };
    }
    // aarch64 always has fused multiply-add (ATen's NEON kernels use it); other CPUs round twice.
    fused_update_portable::<{ cfg!(target_arch = "aarch64") }>(p, g, m, v, k)
}

/// The same loop compiled for AVX2 + FMA, so that it runs 8 lanes wide and fuses the multiply-adds
/// that ATen's AVX2 kernels fuse.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fused_update_avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &FusedConstants) {
    fused_update_portable::<true>(p, g, m, v, k)
}

/// torch.optim.Adam's float32 arithmetic, element by element and rounded as ATen's CPU kernels
/// round (PyTorch 2.13, AVX2, checked against it bit for bit):
/// `m.lerp_(g, w)`: `fma(w, g − m, m)`; `v.mul_(β2).addcmul_(g, g, value=1 − β2)`:
/// `fma((1 − β2)·g, g, v·β2)`; `denom = v.sqrt() / √bc2 + ε`; `p.addcdiv_(m, denom, value=−s)`:
/// `p + (−s·m) / denom`. With `FMA` false each multiply-add rounds twice.
#[inline(always)]
fn fused_update_portable<const FMA: bool>(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &FusedConstants) {
    let k = *k;
    let madd = |a: f32, b: f32, c: f32| if FMA { a.mul_add(b, c) } else { a * b + c };
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = madd(k.lerp_coef, g - *m, if k.lerp_from_m { *m } else { g });
        *v = madd(k.one_minus_beta2 * g, g, *v * k.beta2);
        *p += k.neg_step_size * *m / (v.sqrt() / k.bc2_sqrt + k.eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_decay_goes_from_the_base_rate_towards_zero() {
        assert_eq!(LrDecay::None.factor(7, 10), 1.0);
        assert_eq!(LrDecay::Linear.factor(0, 10), 1.0);
        assert_eq!(LrDecay::Linear.factor(5, 10), 0.5);
        assert!((LrDecay::Linear.factor(9, 10) - 0.1).abs() < 1e-12);
        assert_eq!(LrDecay::Linear.factor(12, 10), 0.0);
        assert_eq!("linear".parse::<LrDecay>().unwrap(), LrDecay::Linear);
        assert!("cosine".parse::<LrDecay>().unwrap_err().to_string().contains("none or linear"));
    }
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
            let mut vs = nn::VarStore::new(Device::Cpu);
            vs.set_kind(kind);
            let w = vs.root().f_var_copy("w", &Tensor::from_slice(&[0.3f32, -0.2, 0.9])).unwrap();
            assert_eq!(w.kind(), kind);
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

    /// The fused pass against torch.optim.Adam's own ATen calls on the same float32 data (1037
    /// entries: the vectorised body and the scalar tail): m and v bit for bit where the CPU has FMA.
    /// p may differ by an ulp: ATen's float32 sqrt is not correctly rounded (about 1 value in 6 is
    /// one ulp off), Rust's is.
    #[test]
    fn fused_pass_rounds_as_libtorch_ops() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(3);
        let n = 1037;
        let fma = fused_multiply_add();
        for beta1 in [0.9, 0.5, 0.0] {
            let c = AdamConfig { beta1, ..Default::default() };
            let p = Tensor::randn([n], (Kind::Float, Device::Cpu));
            let g = Tensor::randn([n], (Kind::Float, Device::Cpu)) * 1e-2;
            let m = Tensor::randn([n], (Kind::Float, Device::Cpu)) * 1e-2;
            let v = Tensor::rand([n], (Kind::Float, Device::Cpu)) * 1e-4;
            let (step_size, bc2_sqrt) = (c.lr / (1.0 - beta1.powf(7.0)), (1.0 - c.beta2.powf(7.0)).powf(0.5));
            // torch/optim/adam.py, _single_tensor_adam, with Python-float scalars.
            let (mut pt, mut mt, mut vt) = (p.copy(), m.copy(), v.copy());
            let _ = mt.lerp_(&g, 1.0 - beta1);
            let _ = vt.g_mul_scalar_(c.beta2).addcmul_(&(&g * (1.0 - c.beta2)), &g);
            let denom = (vt.sqrt() / bc2_sqrt).g_add_scalar_(c.eps);
            let _ = pt.addcdiv_(&(&mt * -step_size), &denom);
            let vec = |t: &Tensor| Vec::<f32>::try_from(t).unwrap();
            let (mut ps, gs, mut ms, mut vs) = (vec(&p), vec(&g), vec(&m), vec(&v));
            fused_update(&mut ps, &gs, &mut ms, &mut vs, &FusedConstants::new(c, step_size, bc2_sqrt));
            for (what, ours, torch) in [("m", &ms, vec(&mt)), ("v", &vs, vec(&vt)), ("p", &ps, vec(&pt))] {
                let mut differ = 0;
                for (i, (a, b)) in ours.iter().zip(&torch).enumerate() {
                    let ulps = if fma && what != "p" { 0.0 } else { 1.0 };
                    assert!((a - b).abs() <= ulps * f32::EPSILON * b.abs(), "beta1 {beta1}, {what}[{i}]: fused {a:e}, libtorch {b:e}");
                    differ += usize::from(a != b);
                }
                // Not a trivial match: p moved, and mostly to the same float32 as torch's.
                assert!(differ * 20 < n as usize, "beta1 {beta1}: {differ} of {n} {what} differ");
            }
            let moved = ps.iter().zip(vec(&p)).filter(|(a, b)| *a != b).count();
            assert!(moved * 10 > 9 * n as usize, "beta1 {beta1}: only {moved} of {n} p moved");
        }
    }

    /// A parameter without a gradient is skipped, keeps its step count, and later corrects its
    /// bias with its own count, as torch.optim.Adam does.
    #[test]
    fn a_parameter_without_gradient_keeps_its_own_step_count() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let a = vs.root().f_var_copy("a", &Tensor::from_slice(&[1.0f32, -2.0])).unwrap();
        let b = vs.root().f_var_copy("b", &Tensor::from_slice(&[0.5f32, 3.0])).unwrap();
        let mut opt = Adam::new(&vs, AdamConfig { lr: 0.1, ..Default::default() }).unwrap();
        for k in 0..5 {
            opt.zero_grad();
            let mut loss = (&a * &a).sum(None);
            if k >= 3 {
                loss = loss + (&b * &b).sum(None);
            }
            loss.backward();
            if k == 2 {
                assert!(!b.grad().defined(), "zero_grad leaves no gradient behind");
            }
            opt.step();
        }
        assert_eq!(opt.param_steps().collect::<Vec<_>>(), vec![("a", 5), ("b", 2)]);
        assert_eq!(opt.t, 5);
        // b took two steps, the first one fully bias-corrected: each moved it by about lr.
        let fresh = nn::VarStore::new(Device::Cpu);
        let b2 = fresh.root().f_var_copy("b", &Tensor::from_slice(&[0.5f32, 3.0])).unwrap();
        let mut opt2 = Adam::new(&fresh, AdamConfig { lr: 0.1, ..Default::default() }).unwrap();
        for _ in 0..2 {
            opt2.zero_grad();
            (&b2 * &b2).sum(None).backward();
            opt2.step();
        }
        assert!(b.equal(&b2), "{b} vs {b2}");
        assert!((b.double_value(&[0]) - 0.3).abs() < 2e-3, "two steps of about lr each: {b}");
    }

    #[test]
    fn an_old_state_with_one_shared_step_loads_for_every_parameter() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let _a = vs.root().f_var_copy("a", &Tensor::from_slice(&[1.0f32, -2.0])).unwrap();
        let _b = vs.root().f_var_copy("b", &Tensor::from_slice(&[0.5f32])).unwrap();
        let mut opt = Adam::new(&vs, AdamConfig::default()).unwrap();
        let names: Vec<String> = opt.state().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["step", "a.exp_avg", "a.exp_avg_sq", "a.step", "b.exp_avg", "b.exp_avg_sq", "b.step"]);
        let old: Vec<(String, Tensor)> = opt.state().into_iter().filter(|(n, _)| !n.ends_with(".step")).map(|(n, t)| if n == "step" { (n, Tensor::from_slice(&[7i64])) } else { (n, t.copy()) }).collect();
        opt.load_state(&old).unwrap();
        assert_eq!(opt.param_steps().collect::<Vec<_>>(), vec![("a", 7), ("b", 7)]);
        assert_eq!(opt.t, 7);
        // Per-parameter counts win over the shared one; without either, a clear error.
        let mut new = old.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect::<Vec<_>>();
        new.push(("b.step".into(), Tensor::from_slice(&[4i64])));
        opt.load_state(&new).unwrap();
        assert_eq!(opt.param_steps().collect::<Vec<_>>(), vec![("a", 7), ("b", 4)]);
        let none: Vec<(String, Tensor)> = old.into_iter().filter(|(n, _)| n != "step").collect();
        let e = opt.load_state(&none).unwrap_err().to_string();
        assert!(e.contains("a.step") && e.contains("`step`"), "{e}");
        let negative = vec![("step".to_string(), Tensor::from_slice(&[-1i64]))];
        let e = opt.load_state(&negative).unwrap_err().to_string();
        assert!(e.contains("negative"), "{e}");
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
        assert_eq!(opt2.param_steps().collect::<Vec<_>>(), vec![("w", 2)]);
        grad_step(&mut opt2, &w2);
        assert!(w2.equal(&w), "resumed step differs");
        assert!(Adam::new(&vs, AdamConfig { beta1: 1.0, ..Default::default() }).is_err());
    }
}
