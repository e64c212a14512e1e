//! A GAN's two networks, held with their parameters. Architectures implement
//! [`Generator`] and [`Discriminator`]; objectives and training loops only
//! see these traits, so a new architecture (DCGAN, spectral-normalised nets,
//! conditional nets) is one more file beside `mlp.rs`.
use crate::error::{Error, Result};
use crate::gan::latent::LatentDist;
use crate::data::ImageBatch;
use std::path::Path;
use tch::{nn, Device, Tensor};

/// Maps latent codes to images. `// [n, latent_dim] -> [n, C*H*W] in [-1, 1]`
pub trait Generator: std::fmt::Debug + std::fmt::Display + Send {
    fn forward_t(&self, z: &Tensor, train: bool) -> Tensor;
    fn latent_dim(&self) -> i64;
    /// `(channels, height, width)` of one output image.
    fn image_shape(&self) -> (i64, i64, i64);
    /// Classes a conditional generator takes (0: unconditional).
    fn num_classes(&self) -> i64 {
        0
    }
    /// Conditional forward pass: `labels` are class indices `[n]` (Int64).
    /// Unconditional generators ignore them; conditional ones given `None`
    /// draw labels uniformly. `// [n, latent_dim], [n] -> [n, C*H*W]`
    fn forward_cond_t(&self, z: &Tensor, _labels: Option<&Tensor>, train: bool) -> Tensor {
        self.forward_t(z, train)
    }
    /// Reseeds any random stream of the network's own (dropout masks), so a
    /// run resumed from a checkpoint draws the same masks as an uninterrupted one.
    fn reseed(&self, _seed: u64) {}
}

/// A discriminator's outputs: the real/fake logits and, for an AC-GAN, the
/// auxiliary classifier's class logits.
#[derive(Debug)]
pub struct DOutput {
    /// `[n, 1]`
    pub logits: Tensor,
    /// `[n, num_classes]` (AC-GAN only).
    pub class_logits: Option<Tensor>,
    /// `φ(x)`, D's features below its head, `[n, F]` (what feature matching
    /// matches); None for a discriminator that does not expose them.
    pub features: Option<Tensor>,
}

/// Scores images. Returns **logits** (`D(x) = sigmoid(logit)` for BCE GANs;
/// a critic's raw score for Wasserstein ones). `// [n, C*H*W] -> [n, 1]`
pub trait Discriminator: std::fmt::Debug + std::fmt::Display + Send {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor;
    /// Conditional forward pass (projection discriminator, AC-GAN's auxiliary
    /// classifier). Unconditional discriminators ignore `labels`.
    /// `// [n, C*H*W], [n] -> [n, 1] (+ [n, K])`
    fn forward_cond_t(&self, x: &Tensor, _labels: Option<&Tensor>, train: bool) -> DOutput {
        DOutput { logits: self.forward_t(x, train), class_logits: None, features: None }
    }
    /// See [`Generator::reseed`].
    fn reseed(&self, _seed: u64) {}
}

/// Generator and discriminator with their own parameter stores (so that
/// each optimiser updates only its own network).
#[derive(Debug)]
pub struct Gan {
    pub g_vs: nn::VarStore,
    pub d_vs: nn::VarStore,
    pub generator: Box<dyn Generator>,
    pub discriminator: Box<dyn Discriminator>,
    pub latent: LatentDist,
}

impl Gan {
    pub fn device(&self) -> Device {
        self.g_vs.device()
    }

    /// Trainable parameters of (generator, discriminator).
    pub fn parameter_counts(&self) -> (usize, usize) {
        let count = |vs: &nn::VarStore| vs.trainable_variables().iter().map(|t| t.numel()).sum::<usize>();
        (count(&self.g_vs), count(&self.d_vs))
    }

    pub fn latent_dim(&self) -> i64 {
        self.generator.latent_dim()
    }

    /// Draws `n` latent codes from the GAN's latent distribution. `// -> [n, latent_dim]`
    pub fn sample_latent(&self, n: i64) -> Tensor {
        self.latent.sample(n, self.latent_dim(), self.device())
    }

    /// Generator output for given codes, in evaluation mode (no dropout) and
    /// without gradients. `// [n, latent_dim] -> [n, C*H*W]`
    pub fn generate_from(&self, z: &Tensor) -> Result<Tensor> {
        self.check_codes(z)?;
        Ok(tch::no_grad(|| self.generator.forward_t(&z.to_device(self.device()), false)))
    }

    fn check_codes(&self, z: &Tensor) -> Result<()> {
        let size = z.size();
        if size.len() != 2 || size[1] != self.latent_dim() {
            return Err(Error::Shape(format!(
                "latent codes of shape {size:?}, the generator takes [n, {}]",
                self.latent_dim()
            )));
        }
        Ok(())
    }

    /// Classes the generator is conditioned on (0: unconditional).
    pub fn num_classes(&self) -> i64 {
        self.generator.num_classes()
    }

    /// Conditional generator output for given codes and class labels
    /// (`[n]`, Int64, each in `0..num_classes`), in evaluation mode.
    /// `// [n, latent_dim], [n] -> [n, C*H*W]`
    pub fn generate_cond_from(&self, z: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let k = self.num_classes();
        if k == 0 {
            return Err(Error::config("labels", "this GAN is unconditional: use generate_from, or train a conditional variant (cgan, acgan)"));
        }
        let n = z.size().first().copied().unwrap_or(0);
        if labels.size() != [n] {
            return Err(Error::Shape(format!("labels of shape {:?} for {n} codes: give one class index per code, shape [{n}]", labels.size())));
        }
        let labels = labels.to_kind(tch::Kind::Int64).to_device(self.device());
        if n > 0 {
            let (lo, hi) = (labels.min().int64_value(&[]), labels.max().int64_value(&[]));
            if lo < 0 || hi >= k {
                return Err(Error::config("labels", format!("class indices must be in 0..{k}, got {lo}..={hi}")));
            }
        }
        self.check_codes(z)?;
        Ok(tch::no_grad(|| self.generator.forward_cond_t(&z.to_device(self.device()), Some(&labels), false)))
    }

    /// `n` new images as plain pixels in `[0, 1]`.
    pub fn generate(&self, n: usize) -> Result<ImageBatch> {
        if n == 0 {
            return Err(Error::config("n", "ask for at least one image"));
        }
        let x = self.generate_from(&self.sample_latent(n as i64))?;
        self.to_images(&x)
    }

    /// Generator output `[n, C*H*W]` in `[-1, 1]` as an image batch in `[0, 1]`.
    pub fn to_images(&self, x: &Tensor) -> Result<ImageBatch> {
        let (c, h, w) = self.generator.image_shape();
        ImageBatch::from_tensor_pm1(&x.view([-1, c, h, w]))
    }

    /// Discriminator's probability that each image is real, `D(x) = sigmoid(logit)`,
    /// in evaluation mode. `// [n, C*H*W] -> [n]`
    pub fn d_prob(&self, x: &Tensor) -> Tensor {
        tch::no_grad(|| self.discriminator.forward_t(&x.to_device(self.device()), false).sigmoid().view([-1]))
    }

    /// Saves both networks into one safetensors file (names prefixed
    /// `generator.` and `discriminator.`), atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for (prefix, vs) in [("generator", &self.g_vs), ("discriminator", &self.d_vs)] {
            let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, t) in vars {
                named.push((format!("{prefix}.{name}"), t.to_device(Device::Cpu).contiguous()));
            }
        }
        crate::fsutil::write_safetensors(path, &named)
    }

    /// Loads parameters saved by [`Gan::save`] into this GAN's networks
    /// (which must have the same architecture).
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let tensors = Tensor::read_safetensors(path).map_err(|e| Error::data(path, format!("not a readable safetensors checkpoint: {e}")))?;
        let tensors: std::collections::HashMap<String, Tensor> = tensors.into_iter().collect();
        // Check everything first, so that a bad file leaves the networks untouched.
        let mut pairs = Vec::new();
        for (prefix, vs) in [("generator", &self.g_vs), ("discriminator", &self.d_vs)] {
            let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, var) in vars {
                let key = format!("{prefix}.{name}");
                let src = tensors
                    .get(&key)
                    .ok_or_else(|| Error::data(path, format!("has no tensor `{key}`: was it saved from a different architecture?")))?;
                if src.size() != var.size() {
                    return Err(Error::data(
                        path,
                        format!("`{key}` has shape {:?}, the network expects {:?}", src.size(), var.size()),
                    ));
                }
                pairs.push((var, src));
            }
        }
        tch::no_grad(|| {
            for (mut var, src) in pairs {
                var.copy_(src);
            }
        });
        Ok(())
    }
}
