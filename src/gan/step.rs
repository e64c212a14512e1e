//! The two updates every GAN of this crate is trained with, as short
//! functions: [`update_d`] and [`update_g`]. The trainer (`trainer.rs`)
//! calls them in the order the config's [`StepOrder`](super::StepOrder)
//! names, and notebook 01 prints them (see [`source`]), so what a student
//! reads is exactly what runs.
//!
//! Both return the step's numbers as tensors still on the device; the
//! trainer turns them into plain `f64`s once per iteration.
use super::adv_d::{attack_d_inputs, attack_g_fakes, StepAt};
use super::config::GanConfig;
use super::model::Gan;
use super::nets::Conditioning;
use super::objective::{gradient_penalty, wasserstein::clip_weights, Objective};
use super::tips::{grad_norm, Tips};
use super::tricks;
use crate::error::Result;
use crate::optim::Optimizer;
use tch::{Kind, Reduction, Tensor};

/// What a D (critic) step measured.
#[derive(Debug)]
pub struct DStep {
    /// D's loss, penalty and class loss included.
    pub loss: Tensor,
    /// Mean D(x) on the real batch: a probability for BCE objectives, the raw score otherwise.
    pub real_score: Tensor,
    /// Mean D(G(z)) on the fakes, likewise.
    pub fake_score: Tensor,
    /// ‖∇D‖ over all of D's parameters.
    pub grad_norm: Tensor,
    /// WGAN-GP's penalty term (0 for other objectives).
    pub penalty: Tensor,
    /// AC-GAN: D's accuracy on the real batch's classes (NaN otherwise).
    pub class_accuracy: Tensor,
    /// Whether the config's D attack was on at this step (`adv_d.rs`).
    pub attacked: bool,
}

/// What a G step measured, and the fakes it made.
#[derive(Debug)]
pub struct GStep {
    pub loss: Tensor,
    /// G(z) as computed for this step (before G's update), detached: the
    /// tutorial's D step reuses them.
    pub fake: Tensor,
    /// ‖∇G‖ over all of G's parameters.
    pub grad_norm: Tensor,
}

/// One update of D on a real batch and a batch of fakes (no gradient flows
/// into G). `labels` are the real batch's classes, used by conditional and
/// AC-GAN discriminators; `at` is where in the run the step is (it sets the
/// instance noise, and whether the config's D attack moves the inputs).
///
/// `[n, side²]` images in, one optimiser step on D's parameters out.
pub fn update_d(gan: &Gan, opt: &mut Optimizer, config: &GanConfig, real: &Tensor, fake: &Tensor, labels: Option<&Tensor>, at: StepAt) -> Result<DStep> {
    let n = real.size()[0];
    let obj = config.objective;
    let d_labels = if config.net.conditioning == Conditioning::Projection { labels } else { None };
    let (t_real, t_fake) = config.tips.targets(n, real.device());
    // Adversarial training of D (adv_d.rs, off by default): the batches moved against D first.
    let moved = attack_d_inputs(gan, config, real, &fake.detach(), d_labels, (&t_real, &t_fake), at)?;
    let noise_std = config.tips.noise_std(at.step, at.total);
    let (real_in, fake_in) = (Tips::add_noise(&moved.real, noise_std), Tips::add_noise(&moved.fake, noise_std));
    let out_r = gan.discriminator.forward_cond_t(&real_in, d_labels, true); // [n, side²] -> [n, 1]
    let out_f = gan.discriminator.forward_cond_t(&fake_in, d_labels, true); // [n, side²] -> [n, 1]
    let kind = out_r.logits.kind();
    let mut loss = obj.d_loss(&out_r.logits, &out_f.logits, &t_real.to_kind(kind), &t_fake.to_kind(kind));
    let mut penalty = Tensor::from(0.0f64);
    if obj == Objective::WassersteinGp {
        let critic = |x: &Tensor| gan.discriminator.forward_cond_t(x, d_labels, true).logits;
        penalty = gradient_penalty(&critic, &real_in, &fake_in, config.gp_lambda)?.0;
        loss = loss + &penalty;
    }
    let mut class_accuracy = Tensor::from(f64::NAN);
    if let (Some(cr), Some(cf), Some(y), Conditioning::AuxClassifier) = (&out_r.class_logits, &out_f.class_logits, labels, config.net.conditioning) {
        let ce = |logits: &Tensor| logits.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0);
        loss = loss + config.aux_weight * (ce(cr) + ce(cf));
        class_accuracy = cr.argmax(1, false).eq_tensor(y).to_kind(Kind::Double).mean(None);
    }
    // Salimans et al.'s tricks (tricks.rs, off by default): historical averaging, feature matching's target.
    let loss = tricks::d_loss_terms(gan, config, &out_r, loss, at)?;
    opt.zero_grad();
    loss.backward();
    let grad_norm = grad_norm(&gan.d_vs.trainable_variables());
    opt.step();
    if obj == Objective::Wasserstein {
        clip_weights(&gan.d_vs, config.weight_clip);
    }
    Ok(DStep {
        real_score: obj.score(&out_r.logits).mean(Kind::Double),
        fake_score: obj.score(&out_f.logits).mean(Kind::Double),
        loss,
        grad_norm,
        penalty,
        class_accuracy,
        attacked: moved.attacked,
    })
}

/// One update of G from codes `z` (`[n, latent]`): G makes fakes and lowers
/// the objective's G loss on D's verdict. D's parameters are frozen for the
/// step: the gradient still flows through D into G, but D's own weight
/// gradients, which this step would discard, are never computed. `labels`
/// are the classes a conditional G is asked for; `at` is where in the run
/// the step is.
pub fn update_g(gan: &Gan, opt: &mut Optimizer, config: &GanConfig, z: &Tensor, labels: Option<&Tensor>, at: StepAt) -> Result<GStep> {
    let fake = gan.generator.forward_cond_t(z, labels, true); // [n, latent] -> [n, side²]
    let d_labels = if config.net.conditioning == Conditioning::Projection { labels } else { None };
    // FGSM with in_g_step only (adv_d.rs): D judges the fakes moved against it.
    let judged = attack_g_fakes(gan, config, &fake, d_labels, at)?;
    let d_params = gan.d_vs.trainable_variables();
    set_requires_grad(&d_params, false);
    let out = gan.discriminator.forward_cond_t(&Tips::add_noise(&judged, config.tips.noise_std(at.step, at.total)), d_labels, true);
    let mut loss = tricks::g_loss(gan, config, &out, at)?; // the objective's (tricks.rs: or feature matching's)
    if let (Some(cf), Some(y), Conditioning::AuxClassifier) = (&out.class_logits, labels, config.net.conditioning) {
        loss = loss + config.aux_weight * cf.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0);
    }
    opt.zero_grad();
    loss.backward();
    let grad_norm = grad_norm(&gan.g_vs.trainable_variables());
    opt.step();
    set_requires_grad(&d_params, true);
    Ok(GStep { loss, fake: fake.detach(), grad_norm })
}

fn set_requires_grad(params: &[Tensor], on: bool) {
    for p in params {
        let _ = p.set_requires_grad(on);
    }
}

/// This file's text, so a notebook can print the two functions the trainer
/// calls: `println!("{}", gan_tutorial::gan::step::source("update_d")?)`.
pub fn source(function: &str) -> Result<String> {
    const TEXT: &str = include_str!("step.rs");
    let start = TEXT
        .find(&format!("pub fn {function}("))
        .ok_or_else(|| crate::error::Error::config("function", format!("`{function}` is not in gan/step.rs: use update_d or update_g")))?;
    // Back up over the doc comment above the function.
    let doc_start = TEXT[..start].trim_end_matches(' ').rfind("\n\n").map_or(0, |i| i + 2);
    let end = TEXT[start..].find("\n}\n").map_or(TEXT.len(), |i| start + i + 2);
    Ok(TEXT[doc_start..end].to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn source_prints_each_function_with_its_doc() {
        let d = super::source("update_d").unwrap();
        assert!(d.starts_with("/// One update of D") && d.ends_with("}") && d.contains("opt.step()"), "{d}");
        assert!(!d.contains("pub fn update_g"), "{d}");
        let g = super::source("update_g").unwrap();
        assert!(g.starts_with("/// One update of G") && g.contains("set_requires_grad(&d_params, false)"), "{g}");
        assert!(super::source("train").unwrap_err().to_string().contains("update_d or update_g"));
    }
}
