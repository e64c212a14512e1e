//! An adversarial patch (Brown et al. 2017, [arXiv:1712.09665](https://arxiv.org/abs/1712.09665)):
//! a small square of pixels, trained once so that pasting it *anywhere* on
//! *any* digit makes the model answer a chosen class.
//!
//! Training maximises E_{x, position}[ log p(target | paste(x, patch, position)) ]
//! over random training digits and random positions, with Adam, keeping the
//! patch in `[0, 1]`. The patch is not small in L∞ (its pixels take any value)
//! but in L0: it touches `side²` of 784 pixels. Think of a sticker.
use super::{check_inputs, Attack, Target};
use super::model::Model;
use crate::rng::SplitMix64;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// Settings of [`train_patch`]. Default: 10×10 patch, target class 3, 300 Adam steps of lr 0.05 on batches of 64.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatchConfig {
    pub side: i64,
    pub target: i64,
    pub steps: usize,
    pub batch_size: i64,
    pub lr: f64,
    pub seed: u64,
}

impl Default for PatchConfig {
    fn default() -> Self {
        Self { side: 10, target: 3, steps: 300, batch_size: 64, lr: 0.05, seed: 11 }
    }
}

impl PatchConfig {
    pub fn validate(&self) -> Result<()> {
        if !(1..=28).contains(&self.side) {
            return Err(Error::config("side", format!("{} must be 1..=28 pixels", self.side)));
        }
        if !(0..10).contains(&self.target) {
            return Err(Error::config("target", format!("class {} is not a digit 0..=9", self.target)));
        }
        if self.steps == 0 || self.batch_size < 1 || !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::config("steps / batch_size / lr", "need at least one step, one image and a positive lr"));
        }
        Ok(())
    }
}

/// A trained patch: `side × side` pixels in `[0, 1]`, and the class it pushes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdversarialPatch {
    pub side: i64,
    pub target: i64,
    /// Row-major `side * side` values in `[0, 1]`.
    pub pixels: Vec<f32>,
    /// Mean training loss (−log p(target)) over the last 20 steps.
    pub final_loss: f64,
}

/// Pastes `patch` (`[1,1,s,s]`) at (row, col) on a 28×28 canvas: returns (canvas, mask), both `[1,1,28,28]`.
fn placed(patch: &Tensor, side: i64, row: i64, col: i64) -> (Tensor, Tensor) {
    let pad = [col, 28 - side - col, row, 28 - side - row];
    (patch.constant_pad_nd(pad), patch.ones_like().constant_pad_nd(pad))
}

/// Trains a patch against `model` on `images` (`[n, 1, 28, 28]` in `[0, 1]`).
pub fn train_patch(model: &dyn Model, images: &Tensor, config: &PatchConfig) -> Result<AdversarialPatch> {
    config.validate()?;
    let n = images.size()[0];
    let labels = Tensor::zeros([n], (Kind::Int64, images.device()));
    let images = check_inputs(images, &labels)?;
    if n == 0 {
        return Err(Error::Shape("no images to train the patch on".into()));
    }
    let s = config.side;
    let mut rng = SplitMix64::new(config.seed);
    let vs = nn::VarStore::new(images.device());
    let init: Vec<f32> = (0..s * s).map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32).collect();
    let patch = vs.root().var_copy("patch", &Tensor::from_slice(&init).view([1, 1, s, s]).to_device(images.device()));
    let mut opt = crate::optim::Adam::new(&vs, crate::optim::AdamConfig { lr: config.lr, ..Default::default() })?;
    let bs = config.batch_size.min(n);
    let target = Tensor::full([bs], config.target, (Kind::Int64, images.device()));
    let mut recent = Vec::new();
    for _ in 0..config.steps {
        let idx: Vec<i64> = (0..bs).map(|_| rng.below(n as usize) as i64).collect();
        let x = images.index_select(0, &Tensor::from_slice(&idx).to_device(images.device()));
        let (row, col) = (rng.below((29 - s) as usize) as i64, rng.below((29 - s) as usize) as i64);
        let (canvas, mask) = placed(&patch, s, row, col);
        let x_p: Tensor = &x * (1.0 - &mask) + canvas; // [bs,1,28,28]
        opt.zero_grad();
        // The loss is the mean cross-entropy towards the target. A model with its own input
        // gradient (the LeNet on the CPU, much faster than autograd through conv1) gives ∇ of it
        // at x_p; the patch's gradient is then that pulled back through the pasting, one
        // vector-Jacobian product (and the model's parameters get no gradients they never use).
        let loss = match model.input_gradient(&x_p.detach(), &target, None) {
            Some(r) => {
                let (loss, g) = r?;
                (&x_p * g).sum(x_p.kind()).backward();
                loss
            }
            None => {
                let loss = model.logits(&x_p).cross_entropy_for_logits(&target);
                loss.backward();
                loss
            }
        };
        opt.step();
        tch::no_grad(|| {
            let _ = patch.shallow_clone().clamp_(0.0, 1.0);
        });
        recent.push(loss.double_value(&[]));
        if recent.len() > 20 {
            recent.remove(0);
        }
    }
    let pixels = Vec::<f32>::try_from(patch.detach().to_device(tch::Device::Cpu).view([-1]))?;
    Ok(AdversarialPatch { side: s, target: config.target, pixels, final_loss: recent.iter().sum::<f64>() / recent.len() as f64 })
}

impl AdversarialPatch {
    /// Pastes the patch on each image at a position drawn from `seed`. `// [n,1,28,28] -> [n,1,28,28]`
    pub fn apply(&self, x: &Tensor, seed: u64) -> Result<Tensor> {
        let x = super::model::as_images(x)?;
        let s = self.side;
        if self.pixels.len() as i64 != s * s || !(1..=28).contains(&s) {
            return Err(Error::Shape(format!("{} patch values for a {s}x{s} patch", self.pixels.len())));
        }
        let patch = Tensor::from_slice(&self.pixels).view([1, 1, s, s]).to_device(x.device()).to_kind(x.kind());
        let mut rng = SplitMix64::new(seed ^ 0xA5A5_5A5A);
        let (mut canvases, mut masks) = (Vec::new(), Vec::new());
        for _ in 0..x.size()[0] {
            let (row, col) = (rng.below((29 - s) as usize) as i64, rng.below((29 - s) as usize) as i64);
            let (c, m) = placed(&patch, s, row, col);
            canvases.push(c);
            masks.push(m);
        }
        if canvases.is_empty() {
            return Ok(x);
        }
        let mask = Tensor::cat(&masks, 0);
        Ok(&x * (1.0 - &mask) + Tensor::cat(&canvases, 0))
    }
}

impl Attack for AdversarialPatch {
    fn name(&self) -> String {
        format!("patch {0}x{0} → {1}", self.side, self.target)
    }
    /// A patch is not bounded in L∞: its pixels take any value in [0, 1].
    fn eps(&self) -> f64 {
        1.0
    }
    fn target(&self) -> Target {
        Target::Class(self.target)
    }
    fn perturb_seeded(&self, _model: &dyn Model, x: &Tensor, y: &Tensor, seed: u64) -> Result<Tensor> {
        let x = check_inputs(x, y)?;
        self.apply(&x, seed)
    }
}
