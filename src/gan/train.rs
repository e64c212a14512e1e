//! The training loop shared by the BCE GANs: per batch, one generator step
//! then one discriminator step (the tutorial's order), numbers logged as
//! plain `f64`, fixed-noise samples at chosen epochs.
use super::loss::GanLoss;
use super::model::Gan;
use super::observer::TrainObserver;
use super::report::{SampleSnapshot, StepLog, TrainHistory};
use crate::data::Batcher;
use crate::error::{Error, Result};
use crate::optim::{Adam, AdamConfig};
use std::time::Instant;
use tch::{Kind, Tensor};

/// How long and how to train.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    pub num_epochs: usize,
    /// Stop after this many iterations in all, even mid-epoch.
    pub max_steps: Option<usize>,
    pub lr_g: f64,
    pub lr_d: f64,
    pub loss: GanLoss,
    /// 1-based epochs after which to draw the fixed-noise samples (the last
    /// epoch is always sampled).
    pub sample_epochs: Vec<usize>,
}

/// One iteration: a G step on fresh noise, then a D step on the real batch
/// and the same fakes (detached). Returns `[g_loss, d_loss, mean D(x),
/// mean D(G(z))]` as one small tensor, so the caller syncs once.
pub fn bce_gan_step(gan: &Gan, real: &Tensor, loss: GanLoss, g_opt: &mut Adam, d_opt: &mut Adam) -> Tensor {
    let n = real.size()[0];
    // Generator: make D call the fakes real.
    // D's parameters are frozen for this step: the gradient still flows
    // through D into G, but D's own weight gradients (which the G step would
    // discard) are never computed. The updates are the same as the tutorial's.
    let z = gan.sample_latent(n); // [n, latent]
    let fake = gan.generator.forward_t(&z, true); // [n, latent] -> [n, 784]
    let d_params = gan.d_vs.trainable_variables();
    set_requires_grad(&d_params, false);
    let g_loss = loss.g_loss(&gan.discriminator.forward_t(&fake, true));
    g_opt.zero_grad();
    g_loss.backward();
    g_opt.step();
    set_requires_grad(&d_params, true);
    // Discriminator: real -> 1, fake -> 0, on the same fakes (no gradient into G).
    let fake = fake.detach();
    let real_logits = gan.discriminator.forward_t(real, true); // [n, 784] -> [n, 1]
    let fake_logits = gan.discriminator.forward_t(&fake, true); // [n, 784] -> [n, 1]
    let d_loss = loss.d_loss(&real_logits, &fake_logits);
    d_opt.zero_grad();
    d_loss.backward();
    d_opt.step();
    tch::no_grad(|| {
        Tensor::stack(
            &[g_loss.detach(), d_loss.detach(), real_logits.sigmoid().mean(None), fake_logits.sigmoid().mean(None)],
            0,
        )
        .to_kind(Kind::Double)
    })
}

fn set_requires_grad(params: &[Tensor], on: bool) {
    for p in params {
        let _ = p.set_requires_grad(on);
    }
}

/// Trains `gan` on `batches` with Adam (PyTorch's defaults, β = (0.9, 0.999); see [`crate::optim`]).
pub fn train_bce_gan(
    gan: &mut Gan,
    batches: &Batcher,
    settings: &LoopSettings,
    fixed_noise: &Tensor,
    observer: &mut dyn TrainObserver,
) -> Result<TrainHistory> {
    if settings.num_epochs == 0 && settings.max_steps.is_none() {
        return Err(Error::config("num_epochs", "must be at least 1"));
    }
    let mut g_opt = Adam::new(&gan.g_vs, AdamConfig { lr: settings.lr_g, ..Default::default() })?;
    let mut d_opt = Adam::new(&gan.d_vs, AdamConfig { lr: settings.lr_d, ..Default::default() })?;
    let per_epoch = batches.batches_per_epoch();
    let total = settings.max_steps.map_or(per_epoch.saturating_mul(settings.num_epochs), |m| m.min(per_epoch.saturating_mul(settings.num_epochs.max(1))));
    let num_epochs = total.div_ceil(per_epoch);
    let mut h = TrainHistory {
        batches_per_epoch: per_epoch,
        device: crate::device::device_name(gan.device()),
        ..Default::default()
    };
    let started = Instant::now();
    observer.on_start(total, per_epoch)?;
    let result = (|| -> Result<()> {
        for epoch in 1..=num_epochs {
            let epoch_started = Instant::now();
            let from = h.steps();
            h.epoch_starts.push(from);
            for (batch, real) in batches.epoch(epoch - 1).enumerate() {
                if h.steps() >= total {
                    break;
                }
                let stats: Vec<f64> = Vec::try_from(bce_gan_step(gan, &real, settings.loss, &mut g_opt, &mut d_opt))?;
                let log = StepLog {
                    step: h.steps(),
                    epoch,
                    batch,
                    g_loss: stats[0],
                    d_loss: stats[1],
                    d_real: stats[2],
                    d_fake: stats[3],
                };
                h.push(&log);
                observer.on_step(&log)?;
            }
            let stats = h.epoch_stats(epoch, from, epoch_started.elapsed().as_secs_f64());
            h.epochs.push(stats);
            observer.on_epoch(&stats)?;
            if settings.sample_epochs.contains(&epoch) || epoch == num_epochs {
                let x = gan.generate_from(fixed_noise)?;
                h.samples.push(SampleSnapshot { epoch, step: h.steps(), images: gan.to_images(&x)? });
            }
        }
        Ok(())
    })();
    h.wall_time_secs = started.elapsed().as_secs_f64();
    let ended = observer.on_end();
    result?;
    ended?;
    Ok(h)
}
