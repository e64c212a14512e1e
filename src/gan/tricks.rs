//! The training tricks of Salimans et al. 2016, "Improved Techniques for
//! Training GANs" (<https://arxiv.org/abs/1606.03498>), and one piece of
//! advice from soumith/ganhacks shown by doing the opposite, as settings of
//! the one trainer ([`Tricks`], `tricks` in `config.json`). Every one is off
//! by default, and off it draws nothing and computes nothing: the run is the
//! same, bit for bit, as without this file. [`update_d`](super::update_d)
//! calls [`d_loss_terms`]; [`update_g`](super::update_g) calls [`g_loss`].
//!
//! - **Feature matching** (§3.1): G's loss becomes
//!   `‖mean φ(x_real) − mean φ(G(z))‖²` over the batch, φ being D's
//!   features below its head ([`DOutput::features`]). The real side is the
//!   one D scored in this iteration's D step, kept in D's buffer
//!   `feature_target` (so it needs D first: [`StepOrder::DFirst`]).
//! - **Minibatch discrimination** (§3.2): [`minibatch_features`], a layer
//!   of D's (`net.minibatch`, in `nets.rs`).
//! - **Historical averaging** (§3.3): `λ‖θ − θ̄‖²` added to each player's
//!   loss, θ̄ the mean of the player's parameters before each of its updates
//!   so far, this one included (so the penalty is 0 at the first update).
//!   θ̄ is kept as non-trainable buffers `hist_avg.*` beside the weights,
//!   so a checkpoint holds it and a resumed run goes on exactly.
//! - **Balancing by loss statistics** ([`LossBalance`]): extra G steps
//!   while D's loss is below a threshold. ganhacks #7 warns against it
//!   ("don't balance loss via statistics (unless you have a good reason
//!   to)"); it is here so a notebook can run it beside the baseline and see.
//! - **Virtual batch normalisation** (§3.4) is a setting of G's net
//!   (`net.g_norm`, [`GNorm::Virtual`](super::nets::GNorm), in `nets.rs`).
use super::config::{GanConfig, StepOrder};
use super::model::{DOutput, Gan};
use super::adv_d::StepAt;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// The trainer's tricks (`tricks` in `config.json`; absent: all off).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tricks {
    /// G matches the mean of D's features on the real batch (§3.1).
    pub feature_matching: bool,
    /// λ of historical averaging (§3.3); 0: off. E.g. 1e-3 … 1.
    pub historical_averaging: f64,
    /// Extra G steps while D's loss is low: the anti-pattern of ganhacks #7.
    pub balance: LossBalance,
}

/// "Balance G and D by loss statistics": after the iteration's G step, up
/// to `max_extra_g_steps` more G steps on fresh codes while D's loss on the
/// real batch and G's newest fakes stays below `g_steps_while_d_loss_below`.
/// ganhacks #7: don't; people have tried it and it rarely helps, because a
/// loss is not a measure of how good either player is. Off when the
/// threshold is 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossBalance {
    pub g_steps_while_d_loss_below: f64,
    pub max_extra_g_steps: usize,
}

impl LossBalance {
    pub fn is_on(&self) -> bool {
        self.g_steps_while_d_loss_below > 0.0
    }
}

impl Tricks {
    pub fn is_on(&self) -> bool {
        *self != Tricks::default()
    }

    /// Checks the tricks against the rest of the config, naming the setting.
    pub fn validate(&self, config: &GanConfig) -> Result<()> {
        if self.feature_matching && config.step_order != StepOrder::DFirst {
            return Err(Error::config("tricks.feature_matching", "G matches the features D found on the real batch in this iteration's D step, so D must go first: use step_order d-first"));
        }
        let h = self.historical_averaging;
        if !(h.is_finite() && h >= 0.0) {
            return Err(Error::config("tricks.historical_averaging", format!("{h} must be a weight λ >= 0 (0: off; e.g. 0.01)")));
        }
        let b = self.balance;
        if !(b.g_steps_while_d_loss_below.is_finite() && b.g_steps_while_d_loss_below >= 0.0) {
            return Err(Error::config("tricks.balance.g_steps_while_d_loss_below", format!("{} must be a loss >= 0 (0: off)", b.g_steps_while_d_loss_below)));
        }
        if b.is_on() {
            if b.max_extra_g_steps == 0 {
                return Err(Error::config("tricks.balance.max_extra_g_steps", "give the extra G steps a cap of at least 1 (e.g. 5), or set g_steps_while_d_loss_below to 0"));
            }
            if config.step_order != StepOrder::DFirst {
                return Err(Error::config("tricks.balance", "the extra G steps follow D's loss of this iteration, so D must go first: use step_order d-first"));
            }
            if h > 0.0 {
                return Err(Error::config("tricks.balance", "historical averaging counts one G update per G step; run it without the loss balance"));
            }
        }
        Ok(())
    }

    /// One line per trick in use (for config tables).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.feature_matching {
            out.push("feature matching: G's loss is |mean f(x) - mean f(G(z))|^2 on D's features".to_string());
        }
        if self.historical_averaging > 0.0 {
            out.push(format!("historical averaging: lambda {} |theta - mean of past theta|^2, both players", self.historical_averaging));
        }
        if self.balance.is_on() {
            out.push(format!(
                "loss balance (ganhacks #7 says don't): up to {} extra G steps while D's loss < {}",
                self.balance.max_extra_g_steps, self.balance.g_steps_while_d_loss_below
            ));
        }
        out
    }
}

/// D's buffer holding the mean features of the real batch of its last step.
pub const FEATURE_TARGET: &str = "feature_target";
/// The sub-path of the historical averages θ̄ in each player's store.
pub const HIST_AVG: &str = "hist_avg";

/// The buffers the config's tricks keep beside the weights, added once the
/// networks are built: feature matching's target (`[feature_dim]` in D),
/// historical averaging's θ̄ (one per trainable tensor, in G and in D).
/// Nothing is added when the tricks are off.
pub fn add_buffers(config: &GanConfig, g_vs: &nn::VarStore, d_vs: &nn::VarStore, feature_dim: i64) {
    if config.tricks.feature_matching {
        let _ = d_vs.root().zeros_no_train(FEATURE_TARGET, &[feature_dim]);
    }
    if config.tricks.historical_averaging > 0.0 {
        for vs in [g_vs, d_vs] {
            let mut params: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
            params.sort_by(|a, b| a.0.cmp(&b.0));
            let root = vs.root() / HIST_AVG;
            for (name, p) in params {
                let _ = root.zeros_no_train(&hist_name(&name), &p.size());
            }
        }
    }
}

fn hist_name(param: &str) -> String {
    param.replace('.', "|")
}

/// Minibatch discrimination (Salimans et al. §3.2): with `M_i = φ(x_i)·T`
/// seen as `[B, C]`, `c_b(x_i, x_j) = exp(−‖M_i,b − M_j,b‖₁)` and
/// `o(x_i)_b = Σ_j c_b(x_i, x_j)` (j over the whole batch, i included).
/// A batch of `n` identical samples gets `o = n` in every kernel.
///
/// `// φ [n, F], T [F, B·C] -> o [n, B]`
pub fn minibatch_features(phi: &Tensor, t: &Tensor, kernels: i64, kernel_dim: i64) -> Tensor {
    let n = phi.size()[0];
    let m = phi.matmul(t).view([n, kernels, kernel_dim]); // [n, B, C]
    let l1 = (m.unsqueeze(1) - m.unsqueeze(0)).abs().sum_dim_intlist([3i64].as_slice(), false, Kind::Float); // [n, n, B]
    (-l1).exp().sum_dim_intlist([1i64].as_slice(), false, Kind::Float) // [n, B]
}

/// Feature matching's G loss: `‖target − mean_i f_i‖²`, `target` `[F]`, `fake_features` `[n, F]`.
pub fn feature_matching_loss(target: &Tensor, fake_features: &Tensor) -> Tensor {
    (target - fake_features.mean_dim([0i64].as_slice(), false, Kind::Float)).square().sum(Kind::Float)
}

/// Historical averaging's penalty for the `k`-th update (0-based) of the
/// player whose parameters are in `vs`: first θ̄ ← θ̄ + (θ − θ̄)/(k + 1)
/// (θ̄ becomes the mean of θ before updates 0..=k), then `λ Σ ‖θ − θ̄‖²`
/// with θ̄ held constant. 0 at k = 0.
pub fn historical_penalty(vs: &nn::VarStore, lambda: f64, k: usize) -> Result<Tensor> {
    let vars = vs.variables();
    let mut params: Vec<(&String, &Tensor)> = vars.iter().filter(|(_, t)| t.requires_grad()).collect();
    params.sort_by(|a, b| a.0.cmp(b.0));
    let mut terms = Vec::with_capacity(params.len());
    for (name, p) in params {
        let key = format!("{HIST_AVG}.{}", hist_name(name));
        let avg = vars.get(&key).ok_or_else(|| Error::config("tricks.historical_averaging", format!("the network has no buffer `{key}`: build the GAN with GanConfig::build_gan from the same config")))?;
        let avg = tch::no_grad(|| {
            let mut avg = avg.shallow_clone();
            let updated = &avg + (p.detach() - &avg) / (k as f64 + 1.0);
            avg.copy_(&updated);
            avg
        });
        terms.push((p - avg).square().sum(Kind::Float));
    }
    if terms.is_empty() {
        return Ok(Tensor::from(0.0f32));
    }
    Ok(Tensor::stack(&terms, 0).sum(Kind::Float) * lambda)
}

/// What `update_d` adds to D's loss (`loss` as the objective made it, moved
/// back untouched when the tricks are off): historical averaging's penalty;
/// and for feature matching, the real batch's mean features kept as G's target.
pub fn d_loss_terms(gan: &Gan, config: &GanConfig, out_real: &DOutput, loss: Tensor, at: StepAt) -> Result<Tensor> {
    let t = &config.tricks;
    if t.feature_matching {
        let phi = out_real.features.as_ref().ok_or_else(|| Error::config("tricks.feature_matching", "this discriminator returns no features to match: use the family's nets"))?;
        let mut target = feature_target(gan)?;
        tch::no_grad(|| target.copy_(&phi.detach().mean_dim([0i64].as_slice(), false, Kind::Float)));
    }
    if t.historical_averaging > 0.0 {
        return Ok(loss + historical_penalty(&gan.d_vs, t.historical_averaging, at.step)?);
    }
    Ok(loss)
}

fn feature_target(gan: &Gan) -> Result<Tensor> {
    gan.d_vs
        .variables()
        .remove(FEATURE_TARGET)
        .ok_or_else(|| Error::config("tricks.feature_matching", "D has no `feature_target` buffer: build the GAN with GanConfig::build_gan from the same config"))
}

/// G's loss on D's verdict `out` on the fakes: the objective's, or feature
/// matching's; plus historical averaging's penalty. Exactly the
/// objective's G loss when the tricks are off.
pub fn g_loss(gan: &Gan, config: &GanConfig, out: &DOutput, at: StepAt) -> Result<Tensor> {
    let t = &config.tricks;
    let mut loss = if t.feature_matching {
        let phi = out.features.as_ref().ok_or_else(|| Error::config("tricks.feature_matching", "this discriminator returns no features to match: use the family's nets"))?;
        feature_matching_loss(&feature_target(gan)?, phi)
    } else {
        config.objective.g_loss(&out.logits)
    };
    if t.historical_averaging > 0.0 {
        // G's k-th update: G steps every n_dis-th iteration in d-first order.
        let k = if config.step_order == StepOrder::DFirst { at.step / config.n_dis } else { at.step };
        loss = loss + historical_penalty(&gan.g_vs, t.historical_averaging, k)?;
    }
    Ok(loss)
}

/// D's loss (the objective's, no penalties) on `real` and `fake`, without
/// updating D: what [`LossBalance`] watches. D runs in training mode, as in
/// its step.
pub fn d_loss_now(gan: &Gan, config: &GanConfig, (real, real_labels): (&Tensor, Option<&Tensor>), (fake, fake_labels): (&Tensor, Option<&Tensor>)) -> f64 {
    let projection = config.net.conditioning == super::nets::Conditioning::Projection;
    let (real_labels, fake_labels) = if projection { (real_labels, fake_labels) } else { (None, None) };
    tch::no_grad(|| {
        let n = real.size()[0];
        let (t_real, t_fake) = config.tips.targets(n, real.device());
        let r = gan.discriminator.forward_cond_t(real, real_labels, true).logits;
        let f = gan.discriminator.forward_cond_t(fake, fake_labels, true).logits;
        config.objective.d_loss(&r, &f, &t_real.to_kind(r.kind()), &t_fake.to_kind(r.kind())).double_value(&[])
    })
}

/// [`LossBalance`]: after the iteration's G step `first`, more G steps on
/// fresh codes (labels `g_labels`) while D's loss on the real batch and
/// G's newest fakes is below the threshold, up to the cap. Returns the
/// last G step (its loss is the one recorded) and how many extra steps ran.
#[allow(clippy::too_many_arguments)]
pub fn extra_g_steps(gan: &Gan, opt: &mut crate::optim::Optimizer, config: &GanConfig, real: (&Tensor, Option<&Tensor>), g_labels: Option<&Tensor>, first: super::step::GStep, at: StepAt) -> Result<(super::step::GStep, usize)> {
    let b = config.tricks.balance;
    let mut last = first;
    let mut extra = 0;
    while extra < b.max_extra_g_steps && d_loss_now(gan, config, real, (&last.fake, g_labels)) < b.g_steps_while_d_loss_below {
        let z = gan.sample_latent(real.0.size()[0]);
        last = super::step::update_g(gan, opt, config, &z, g_labels, at)?;
        extra += 1;
    }
    Ok((last, extra))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn minibatch_features_are_n_for_identical_samples_and_drop_for_distinct_ones() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(3);
        let t = Tensor::randn([6, 4 * 3], (Kind::Float, Device::Cpu));
        let same = Tensor::randn([1, 6], (Kind::Float, Device::Cpu)).repeat([5, 1]);
        let o = minibatch_features(&same, &t, 4, 3);
        assert_eq!(o.size(), vec![5, 4]);
        assert!((o - 5.0).abs().max().double_value(&[]) < 1e-5, "c = 1 for every pair");
        let distinct = Tensor::randn([5, 6], (Kind::Float, Device::Cpu));
        let o = minibatch_features(&distinct, &t, 4, 3);
        let (lo, hi) = (o.min().double_value(&[]), o.max().double_value(&[]));
        assert!(lo >= 1.0 - 1e-6 && hi < 5.0 - 1e-3, "{lo} {hi}: each sample is close only to itself");
        // By hand, sample 0, kernel 0.
        let m = distinct.matmul(&t).view([5, 4, 3]);
        let by_hand: f64 = (0..5).map(|j| (-(m.get(0).get(0) - m.get(j).get(0)).abs().sum(Kind::Float).double_value(&[])).exp()).sum();
        assert!((o.double_value(&[0, 0]) - by_hand).abs() < 1e-5, "{} vs {by_hand}", o.double_value(&[0, 0]));
    }

    #[test]
    fn historical_penalty_is_zero_at_the_first_update_then_pulls_towards_the_mean() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let mut w = vs.root().var("w", &[2], nn::Init::Const(1.0));
        let c = GanConfig { tricks: Tricks { historical_averaging: 0.5, ..Default::default() }, ..Default::default() };
        add_buffers(&c, &vs, &nn::VarStore::new(Device::Cpu), 1);
        assert_eq!(historical_penalty(&vs, 0.5, 0).unwrap().double_value(&[]), 0.0);
        tch::no_grad(|| w.copy_(&Tensor::from_slice(&[3.0f32, 1.0])));
        // θ̄ = mean(θ₀ = (1, 1), θ₁ = (3, 1)) = (2, 1); penalty 0.5·(1² + 0²).
        let p = historical_penalty(&vs, 0.5, 1).unwrap();
        assert!((p.double_value(&[]) - 0.5).abs() < 1e-6, "{}", p.double_value(&[]));
        p.backward();
        assert_eq!(Vec::<f32>::try_from(w.grad()).unwrap(), vec![1.0, 0.0], "2λ(θ − θ̄)");
    }

    #[test]
    fn bad_tricks_are_named() {
        let c = GanConfig::default().with_feature_matching().with_step_order(StepOrder::GFirst);
        assert!(c.validate().unwrap_err().to_string().contains("tricks.feature_matching"));
        let c = GanConfig::default().with_historical_averaging(-1.0);
        assert!(c.validate().unwrap_err().to_string().contains("tricks.historical_averaging"));
        let c = GanConfig::default().with_loss_balance(0.3, 0);
        assert!(c.validate().unwrap_err().to_string().contains("max_extra_g_steps"));
        let c = GanConfig::default().with_loss_balance(0.3, 3).with_historical_averaging(0.1);
        assert!(c.validate().unwrap_err().to_string().contains("tricks.balance"));
        assert!(GanConfig::default().with_loss_balance(0.3, 3).validate().is_ok());
    }
}
