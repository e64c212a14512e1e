//! The GAN family's networks, built from one [`NetSpec`]:
//!
//! - **MLP**: the tutorial's fully-connected nets (one hidden layer,
//!   LeakyReLU, dropout), as in notebook 01.
//! - **DCGAN** (Radford et al. 2016, <https://arxiv.org/abs/1511.06434>):
//!   G projects `z` to a small feature map and upsamples with stride-2
//!   transposed convolutions, batch norm and ReLU, ending in Tanh; D
//!   downsamples with stride-2 convolutions and LeakyReLU(0.2), batch norm
//!   after all but the first; weights drawn from N(0, 0.02). For 28×28
//!   (7 → 14 → 28) and 32×32 (4 → 8 → 16 → 32), grey (`channels` 1) or
//!   RGB (`channels` 3: G ends in three maps, D takes three).
//! - **SN-CNN** (Miyato et al. 2018, <https://arxiv.org/abs/1802.05957>,
//!   Table 3's standard CNN): D is seven convolutions, 3×3 stride 1 and 4×4
//!   stride 2 in turn (64, 64, 128, 128, 256, 256, 512 channels for a width
//!   of 64), LeakyReLU after each (the paper's slope is 0.1, `leaky_slope`
//!   here), then a linear head; meant for spectral norm ([`DNorm::Spectral`]).
//!   G is the DCGAN generator.
//!
//! The discriminator is a feature body `φ(x)` followed by heads:
//! `logit = ψ(φ(x))` (+ `⟨embed(y), φ(x)⟩` for the **projection**
//! discriminator of Miyato & Koyama 2018, <https://arxiv.org/abs/1802.05637>),
//! and for **AC-GAN** (Odena et al. 2017, <https://arxiv.org/abs/1610.09585>)
//! a class head `Linear(φ, K)`. Conditional generators take `[z, embed(y)]`
//! (Mirza & Osindero 2014). [`DNorm::Spectral`] wraps every weight of D,
//! heads and embedding included, in [`SpectralNorm`].
use super::layers::{Dropout, LeakyRelu};
use super::model::{DOutput, Discriminator, Generator};
use super::spectral::SpectralNorm;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// Network family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetArch {
    /// The tutorial's one-hidden-layer MLPs.
    Mlp,
    /// Strided (transposed) convolutions with batch norm.
    Dcgan,
    /// SNGAN's standard CNN discriminator (3×3 and 4×4/2 convolutions,
    /// 64…512 channels at width 64) with the DCGAN generator.
    SnCnn,
}

impl std::str::FromStr for NetArch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "mlp" => Ok(NetArch::Mlp),
            "dcgan" => Ok(NetArch::Dcgan),
            "sn-cnn" | "sncnn" => Ok(NetArch::SnCnn),
            _ => Err(Error::config("net.arch", format!("`{s}` is not a network family: use mlp, dcgan or sn-cnn"))),
        }
    }
}

/// Normalisation inside the discriminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DNorm {
    None,
    /// Batch norm (DCGAN). Not for WGAN-GP: the penalty is per sample, and
    /// batch norm mixes the samples of a batch.
    Batch,
    /// Layer norm (what WGAN-GP's authors suggest instead of batch norm).
    Layer,
    /// Spectral normalisation of every weight (SNGAN); no other normalisation.
    Spectral,
    /// Instance norm (Ulyanov et al. 2016): each sample's channels
    /// normalised over their own pixels, then an affine weight and bias per
    /// channel. Per sample, like layer norm, so no sample's verdict depends
    /// on the rest of its batch. Convolutional D only.
    Instance,
}

impl std::str::FromStr for DNorm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(DNorm::None),
            "batch" | "bn" => Ok(DNorm::Batch),
            "layer" | "ln" => Ok(DNorm::Layer),
            "spectral" | "sn" => Ok(DNorm::Spectral),
            "instance" | "in" => Ok(DNorm::Instance),
            _ => Err(Error::config("d_norm", format!("`{s}` is not a normalisation: use none, batch, layer, spectral or instance"))),
        }
    }
}

/// G's activation after each batch norm (DCGAN's generator).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GActivation {
    /// ReLU: DCGAN's (Radford et al. 2016).
    #[default]
    Relu,
    /// LeakyReLU with this negative slope: ganhacks #5, "avoid sparse
    /// gradients: ReLU, MaxPool" (a unit below 0 still passes a gradient).
    LeakyRelu(f64),
}

/// The normalisation in DCGAN's generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GNorm {
    /// Batch norm: each sample is normalised with its batch's statistics (DCGAN's).
    #[default]
    Batch,
    /// Virtual batch norm (Salimans et al. 2016, §3.4) with a reference
    /// batch of this many codes, drawn once from the run's seed: the
    /// reference batch is normalised with its own statistics, and each
    /// sample x with those of the reference batch and x together, so a
    /// sample's output no longer depends on the other samples of its batch.
    /// The same in training and evaluation (no running statistics). Costs
    /// a pass of the reference batch with every forward pass of G.
    Virtual(i64),
}

/// How D halves its feature maps (DCGAN's discriminator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downsample {
    /// 4×4 convolutions with stride 2: DCGAN's.
    #[default]
    Strided,
    /// A 3×3 convolution with stride 1, then 2×2 average pooling (ganhacks
    /// #5's "for downsampling, use average pooling").
    AvgPool,
}

/// How G doubles its feature maps (DCGAN's generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upsample {
    /// 4×4 transposed convolutions with stride 2: DCGAN's.
    #[default]
    Transposed,
    /// A 3×3 convolution to 4× the channels, then `pixel_shuffle(2)` (Shi et
    /// al. 2016, <https://arxiv.org/abs/1609.05158>; ganhacks #5's "for
    /// upsampling, use PixelShuffle"): no checkerboard from overlapping kernels.
    PixelShuffle,
}

/// Minibatch discrimination (Salimans et al. 2016, §3.2,
/// <https://arxiv.org/abs/1606.03498>): a layer between D's features and
/// its head that lets D compare the samples of a batch. `kernels` = 0: off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MinibatchDisc {
    /// B, the number of kernels (extra features each sample gets).
    pub kernels: i64,
    /// C, the dimension of each kernel's rows.
    pub kernel_dim: i64,
}

impl MinibatchDisc {
    pub fn is_on(&self) -> bool {
        self.kernels > 0
    }
}

/// How labels enter the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conditioning {
    None,
    /// cGAN: G gets `[z, embed(y)]`, D is a projection discriminator.
    Projection,
    /// AC-GAN: G gets `[z, embed(y)]`, D is unconditional but also classifies.
    AuxClassifier,
}

/// Sizes and choices of both networks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetSpec {
    pub arch: NetArch,
    /// 28 or 32 for DCGAN and SN-CNN (32: MNIST padded by 2 pixels, or
    /// CIFAR-10); any side for MLPs.
    pub image_side: i64,
    /// Colour channels of the images: 1 (grey, MNIST) or 3 (RGB, CIFAR-10).
    /// Absent from older config files: 1.
    pub channels: i64,
    pub latent_dim: i64,
    /// MLP: hidden units of G. DCGAN: channels of G's last hidden layer
    /// (doubling towards the input).
    pub g_width: i64,
    /// MLP: hidden units of D. DCGAN: channels of D's first layer (doubling).
    pub d_width: i64,
    pub d_norm: DNorm,
    pub conditioning: Conditioning,
    pub num_classes: i64,
    /// Dropout after the MLPs' hidden layer (the tutorial: 0.5). Unused by DCGAN.
    pub dropout: f64,
    /// LeakyReLU's negative slope in the MLPs and in DCGAN's D (DCGAN: 0.2;
    /// the tutorial's `nn.LeakyReLU()` has PyTorch's default, 0.01).
    pub leaky_slope: f64,
    /// G's activation (DCGAN's generator; the MLP's G uses LeakyReLU(leaky_slope)).
    /// Absent from older config files: ReLU.
    pub g_activation: GActivation,
    /// D's downsampling (DCGAN's D). Absent from older files: strided.
    pub d_downsample: Downsample,
    /// G's upsampling (DCGAN's G). Absent from older files: transposed.
    pub g_upsample: Upsample,
    /// Minibatch discrimination before D's head. Absent from older files: off.
    pub minibatch: MinibatchDisc,
    /// G's normalisation (DCGAN's G). Absent from older files: batch norm.
    pub g_norm: GNorm,
}

impl Default for NetSpec {
    fn default() -> Self {
        Self {
            arch: NetArch::Mlp,
            image_side: 28,
            channels: 1,
            latent_dim: 100,
            g_width: 128,
            d_width: 128,
            d_norm: DNorm::None,
            conditioning: Conditioning::None,
            num_classes: 10,
            dropout: 0.5,
            leaky_slope: 0.2,
            g_activation: GActivation::Relu,
            d_downsample: Downsample::Strided,
            g_upsample: Upsample::Transposed,
            minibatch: MinibatchDisc::default(),
            g_norm: GNorm::Batch,
        }
    }
}

impl NetSpec {
    /// Numbers in one image: `channels · side²`.
    pub fn image_dim(&self) -> i64 {
        self.channels * self.image_side * self.image_side
    }

    pub fn is_conditional(&self) -> bool {
        self.conditioning != Conditioning::None
    }

    /// How many numbers G's and D's weight matrices and kernels hold (biases
    /// and norms left out, so a lower bound), in `f64` so that an absurd
    /// width cannot overflow. The trainer checks it against the memory
    /// there is before it allocates anything.
    pub fn weight_count(&self) -> f64 {
        let z_in = (self.latent_dim + if self.is_conditional() { self.num_classes } else { 0 }) as f64;
        let (img, gw, dw) = (self.image_dim() as f64, self.g_width as f64, self.d_width as f64);
        if self.arch == NetArch::Mlp {
            return z_in * gw + gw * img + img * dw + dw;
        }
        let (stages, side0) = self.dcgan_stages();
        let channels = self.channels as f64;
        let mut c = gw * 2f64.powi(stages as i32 - 1);
        let mut n = z_in * c * (side0 * side0) as f64;
        for i in 0..stages {
            let out = if i + 1 == stages { channels } else { c / 2.0 };
            // a 4x4 transposed convolution, or a 3x3 one to 4x the channels (pixel shuffle)
            n += c * out * if self.g_upsample == Upsample::PixelShuffle { 36.0 } else { 16.0 };
            c = out;
        }
        if self.arch == NetArch::SnCnn {
            let (c_in, side) = sn_cnn_layers(self).iter().fold((channels, self.image_side), |(i, s), &(o, k)| {
                n += i * o as f64 * (k * k) as f64;
                (o as f64, if k == 4 { s / 2 } else { s })
            });
            return n + c_in * (side * side) as f64;
        }
        let (mut c_in, mut side) = (channels, self.image_side);
        for i in 0..stages {
            let c_out = dw * 2f64.powi(i as i32);
            n += c_in * c_out * if self.d_downsample == Downsample::AvgPool { 9.0 } else { 16.0 };
            (c_in, side) = (c_out, side / 2);
        }
        let mbd = if self.minibatch.is_on() { (c_in * (side * side) as f64) * (self.minibatch.kernels * self.minibatch.kernel_dim) as f64 } else { 0.0 };
        n + c_in * (side * side) as f64 + mbd
    }

    /// Refuses a net whose weights, their gradients and Adam's two moments
    /// (4 × 4 bytes a weight) cannot fit in `available` bytes, before any
    /// allocation is tried (libtorch would abort the process instead).
    pub fn check_fits(&self, available: Option<u64>) -> Result<()> {
        const MAX_WIDTH: i64 = 1 << 40;
        for (name, w) in [("net.g_width", self.g_width), ("net.d_width", self.d_width), ("net.latent_dim", self.latent_dim)] {
            if w > MAX_WIDTH {
                return Err(Error::config(name, format!("{w} is beyond any machine's memory: use at most a few thousand")));
            }
        }
        let needed = self.weight_count() * 16.0;
        match available {
            Some(avail) if needed > avail as f64 => Err(Error::config(
                "net.g_width / net.d_width",
                format!(
                    "G {} and D {} wide make {:.3e} weights, which with their gradients and Adam's moments need {:.1} GiB; \
                     {:.1} GiB of memory is available: use smaller widths",
                    self.g_width,
                    self.d_width,
                    self.weight_count(),
                    needed / GIB,
                    avail as f64 / GIB
                ),
            )),
            _ => Ok(()),
        }
    }

    /// DCGAN's upsampling stages and the side of its first feature map.
    fn dcgan_stages(&self) -> (usize, i64) {
        if self.image_side == 32 { (3, 4) } else { (2, 7) }
    }

    pub fn validate(&self) -> Result<()> {
        if self.latent_dim < 1 || self.g_width < 1 || self.d_width < 1 || self.image_side < 4 {
            return Err(Error::config("net", format!("sizes must be positive (image side at least 4): {self:?}")));
        }
        if self.arch != NetArch::Mlp && !matches!(self.image_side, 28 | 32) {
            return Err(Error::config("net.image_side", format!("{}: DCGAN and SN-CNN nets here are built for 28x28 or 32x32 images", self.image_side)));
        }
        if !matches!(self.channels, 1 | 3) {
            return Err(Error::config("net.channels", format!("{}: images have 1 (grey) or 3 (RGB) channels", self.channels)));
        }
        if self.is_conditional() && self.num_classes < 2 {
            return Err(Error::config("net.num_classes", format!("{}: a conditional GAN needs at least 2 classes", self.num_classes)));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config("net.dropout", format!("{} must be in [0, 1)", self.dropout)));
        }
        if !(0.0..1.0).contains(&self.leaky_slope) {
            return Err(Error::config("net.leaky_slope", format!("{} must be in [0, 1)", self.leaky_slope)));
        }
        let mlp = self.arch == NetArch::Mlp;
        if let GActivation::LeakyRelu(s) = self.g_activation {
            if !(0.0..1.0).contains(&s) {
                return Err(Error::config("net.g_activation", format!("LeakyReLU slope {s} must be in [0, 1)")));
            }
            if mlp {
                return Err(Error::config("net.g_activation", "the MLP generator already uses LeakyReLU(net.leaky_slope): set that, or use the dcgan nets"));
            }
        }
        if self.g_upsample != Upsample::Transposed && mlp {
            return Err(Error::config("net.g_upsample", "the MLP generator has no upsampling: use the dcgan or sn-cnn nets for pixel shuffle"));
        }
        if self.d_downsample != Downsample::Strided && self.arch != NetArch::Dcgan {
            return Err(Error::config("net.d_downsample", format!("average pooling replaces the DCGAN discriminator's strided convolutions; the {:?} D has its own: use net.arch dcgan", self.arch)));
        }
        if self.d_norm == DNorm::Instance && mlp {
            return Err(Error::config("net.d_norm", "instance norm normalises each channel over its pixels, and the MLP D has no pixels: use layer norm, or the dcgan / sn-cnn nets"));
        }
        if let GNorm::Virtual(r) = self.g_norm {
            if mlp {
                return Err(Error::config("net.g_norm", "the MLP generator has no batch norm to make virtual: use the dcgan nets"));
            }
            if self.is_conditional() {
                return Err(Error::config("net.g_norm", "virtual batch norm's reference batch has no labels here: use it with an unconditional GAN"));
            }
            if r < 2 {
                return Err(Error::config("net.g_norm", format!("a reference batch of {r} codes: use at least 2 (Salimans et al. use a batch's worth, e.g. 64)")));
            }
        }
        let m = self.minibatch;
        if m.kernels < 0 || (m.is_on() && m.kernel_dim < 1) {
            return Err(Error::config("net.minibatch", format!("{} kernels of dimension {}: use kernels >= 1 and kernel_dim >= 1 (e.g. 16 and 8), or kernels 0 for off", m.kernels, m.kernel_dim)));
        }
        Ok(())
    }
}

const GIB: f64 = (1u64 << 30) as f64;

/// SN-CNN's convolutions as `(out channels, kernel)`: 3×3 stride 1, then
/// 4×4 stride 2, in turn; the paper's 64, 64, 128, 128, 256, 256, 512 at width 64.
fn sn_cnn_layers(spec: &NetSpec) -> [(i64, i64); 7] {
    let w = spec.d_width;
    [(w, 3), (w, 4), (2 * w, 3), (2 * w, 4), (4 * w, 3), (4 * w, 4), (8 * w, 3)]
}

// ---------------------------------------------------------------- layers

/// A weight, spectrally normalised or not.
#[derive(Debug)]
enum Weight {
    Plain(Tensor),
    Spectral(SpectralNorm),
}

impl Weight {
    fn new(path: &nn::Path, shape: &[i64], init: nn::Init, spectral: bool) -> Self {
        let w = path.var("weight", shape, init);
        if spectral { Weight::Spectral(SpectralNorm::new(path, w)) } else { Weight::Plain(w) }
    }
    fn get(&self, train: bool) -> Tensor {
        match self {
            Weight::Plain(w) => w.shallow_clone(),
            Weight::Spectral(sn) => sn.weight(train),
        }
    }
}

/// PyTorch's default initialisation of `nn.Linear` / `nn.Conv2d`: U(±1/√fan_in).
fn torch_default(fan_in: i64) -> nn::Init {
    let b = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform { lo: -b, up: b }
}

const DCGAN_INIT: nn::Init = nn::Init::Randn { mean: 0.0, stdev: 0.02 };

#[derive(Debug)]
struct Lin {
    w: Weight,
    b: Tensor,
}

impl Lin {
    fn new(path: &nn::Path, i: i64, o: i64, dcgan: bool, spectral: bool) -> Self {
        let init = if dcgan { DCGAN_INIT } else { torch_default(i) };
        let b_init = if dcgan { nn::Init::Const(0.0) } else { torch_default(i) };
        Self { w: Weight::new(path, &[o, i], init, spectral), b: path.var("bias", &[o], b_init) }
    }
    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        x.linear(&self.w.get(train), Some(&self.b))
    }
}

/// Padding 1 and a 4×4 kernel, stride 2 (halves the side, or doubles it
/// transposed), or a 3×3 kernel, stride 1 (keeps it; SN-CNN's).
#[derive(Debug)]
struct Conv {
    w: Weight,
    b: Tensor,
    transposed: bool,
    stride: i64,
}

impl Conv {
    /// DCGAN's 4×4/2 convolution, weights from N(0, 0.02).
    fn new(path: &nn::Path, i: i64, o: i64, transposed: bool, spectral: bool) -> Self {
        let shape = if transposed { [i, o, 4, 4] } else { [o, i, 4, 4] };
        Self { w: Weight::new(path, &shape, DCGAN_INIT, spectral), b: path.var("bias", &[o], nn::Init::Const(0.0)), transposed, stride: 2 }
    }
    /// A 3×3 convolution with stride 1 (the side kept), weights from
    /// N(0, 0.02): average pooling's and pixel shuffle's.
    fn k3(path: &nn::Path, i: i64, o: i64, spectral: bool) -> Self {
        Self { w: Weight::new(path, &[o, i, 3, 3], DCGAN_INIT, spectral), b: path.var("bias", &[o], nn::Init::Const(0.0)), transposed: false, stride: 1 }
    }
    /// SN-CNN's `kernel`×`kernel` convolution (3: stride 1, 4: stride 2),
    /// PyTorch's default initialisation.
    fn sn_cnn(path: &nn::Path, i: i64, o: i64, kernel: i64, spectral: bool) -> Self {
        let init = torch_default(i * kernel * kernel);
        let stride = if kernel == 4 { 2 } else { 1 };
        Self { w: Weight::new(path, &[o, i, kernel, kernel], init, spectral), b: path.var("bias", &[o], init), transposed: false, stride }
    }
    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let w = self.w.get(train);
        let s = self.stride;
        if self.transposed {
            x.conv_transpose2d(&w, Some(&self.b), [s, s], [1, 1], [0, 0], 1, [1, 1])
        } else {
            x.conv2d(&w, Some(&self.b), [s, s], [1, 1], [1, 1], 1)
        }
    }
}

#[derive(Debug)]
enum Norm {
    None,
    Batch(nn::BatchNorm),
    Layer(nn::LayerNorm),
    /// Instance norm's affine weight and bias, `[C]` each.
    Instance(Tensor, Tensor),
}

impl Norm {
    /// `shape` is one sample's `[C]` or `[C, H, W]`.
    fn new(path: &nn::Path, kind: DNorm, shape: &[i64], dcgan: bool) -> Self {
        let bn = || nn::BatchNormConfig {
            ws_init: if dcgan { nn::Init::Randn { mean: 1.0, stdev: 0.02 } } else { nn::Init::Const(1.0) },
            ..Default::default()
        };
        match kind {
            DNorm::Batch if shape.len() == 1 => Norm::Batch(nn::batch_norm1d(path / "bn", shape[0], bn())),
            DNorm::Batch => Norm::Batch(nn::batch_norm2d(path / "bn", shape[0], bn())),
            DNorm::Layer => Norm::Layer(nn::layer_norm(path / "ln", shape.to_vec(), Default::default())),
            DNorm::Instance => {
                let p = path / "in";
                Norm::Instance(p.var("weight", &[shape[0]], nn::Init::Const(1.0)), p.var("bias", &[shape[0]], nn::Init::Const(0.0)))
            }
            DNorm::None | DNorm::Spectral => Norm::None,
        }
    }
    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        use tch::nn::{Module, ModuleT};
        match self {
            Norm::None => x.shallow_clone(),
            Norm::Batch(bn) => bn.forward_t(x, train),
            Norm::Layer(ln) => ln.forward(x),
            // Per sample and channel, over the pixels; no running statistics.
            Norm::Instance(w, b) => x.instance_norm(Some(w), Some(b), None, None, true, 0.1, 1e-5, false),
        }
    }
}

// ------------------------------------------------------------- generator

/// A generator of the family (MLP or DCGAN, conditional or not).
#[derive(Debug)]
pub struct FamilyGenerator {
    spec: NetSpec,
    embed: Option<Tensor>,
    // MLP
    fc: Vec<Lin>,
    dropout: Dropout,
    act: LeakyRelu,
    // DCGAN
    bn: Vec<nn::BatchNorm>,
    up: Vec<Conv>,
    /// `net.g_activation` when it is LeakyReLU (None: ReLU).
    g_leaky: Option<LeakyRelu>,
    /// Virtual batch norm's reference codes `[m, latent]` (a buffer, filled from the seed by `GanConfig::build_gan`).
    vbn_reference: Option<Tensor>,
}

impl FamilyGenerator {
    pub fn new(path: &nn::Path, spec: NetSpec) -> Self {
        // SN-CNN's generator is DCGAN's.
        let dcgan = spec.arch != NetArch::Mlp;
        let embed = spec.is_conditional().then(|| path.var("embed", &[spec.num_classes, spec.num_classes], nn::Init::Randn { mean: 0.0, stdev: 1.0 }));
        let z_in = spec.latent_dim + if spec.is_conditional() { spec.num_classes } else { 0 };
        let mut fc = Vec::new();
        let mut bn = Vec::new();
        let mut up = Vec::new();
        if dcgan {
            let (stages, side0) = spec.dcgan_stages();
            let c0 = spec.g_width << (stages - 1);
            fc.push(Lin::new(&(path / "fc"), z_in, c0 * side0 * side0, true, false));
            let bn_cfg = || nn::BatchNormConfig { ws_init: nn::Init::Randn { mean: 1.0, stdev: 0.02 }, ..Default::default() };
            bn.push(nn::batch_norm1d(path / "bn0", c0 * side0 * side0, bn_cfg()));
            let mut c = c0;
            for i in 0..stages {
                let out = if i + 1 == stages { spec.channels } else { c / 2 };
                up.push(match spec.g_upsample {
                    Upsample::Transposed => Conv::new(&(path / format!("up{i}")), c, out, true, false),
                    Upsample::PixelShuffle => Conv::k3(&(path / format!("up{i}")), c, 4 * out, false), // then pixel_shuffle(2)
                });
                if i + 1 < stages {
                    bn.push(nn::batch_norm2d(path / format!("bn{}", i + 1), out, bn_cfg()));
                }
                c = out;
            }
        } else {
            fc.push(Lin::new(&(path / "fc1"), z_in, spec.g_width, false, false));
            fc.push(Lin::new(&(path / "fc2"), spec.g_width, spec.image_dim(), false, false));
        }
        let g_leaky = match spec.g_activation {
            GActivation::Relu => None,
            GActivation::LeakyRelu(slope) => Some(LeakyRelu::new(slope, path.device())),
        };
        let vbn_reference = match spec.g_norm {
            GNorm::Virtual(m) if dcgan => Some(path.zeros_no_train(VBN_REFERENCE, &[m, spec.latent_dim])),
            _ => None,
        };
        Self { spec, embed, fc, dropout: Dropout::new(spec.dropout), act: LeakyRelu::new(spec.leaky_slope, path.device()), bn, up, g_leaky, vbn_reference }
    }

    /// G's `i`-th batch norm, or its virtual form when the first `m` rows are the reference batch.
    fn norm(&self, i: usize, h: &Tensor, m: Option<i64>, train: bool) -> Tensor {
        use tch::nn::ModuleT;
        match m {
            None => self.bn[i].forward_t(h, train),
            Some(m) => virtual_batch_norm(&self.bn[i], h, m),
        }
    }

    /// DCGAN G's activation: ReLU, or LeakyReLU (`net.g_activation`).
    fn g_act(&self, h: &Tensor) -> Tensor {
        match &self.g_leaky {
            None => h.relu(),
            Some(l) => l.forward(h),
        }
    }

    fn input(&self, z: &Tensor, labels: Option<&Tensor>) -> Tensor {
        match &self.embed {
            None => z.shallow_clone(),
            Some(e) => {
                let y = match labels {
                    Some(y) => y.shallow_clone(),
                    None => Tensor::randint(self.spec.num_classes, [z.size()[0]], (Kind::Int64, z.device())),
                };
                Tensor::cat(&[z.shallow_clone(), e.index_select(0, &y)], 1) // [n, latent + K]
            }
        }
    }
}

impl Generator for FamilyGenerator {
    fn forward_t(&self, z: &Tensor, train: bool) -> Tensor {
        self.forward_cond_t(z, None, train)
    }

    fn forward_cond_t(&self, z: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor {
        let h = self.input(z, labels);
        let n = h.size()[0];
        match self.spec.arch {
            NetArch::Mlp => {
                let h = self.act.forward(&self.fc[0].forward(&h, train));
                let h = self.dropout.forward_t(&h, train);
                self.fc[1].forward(&h, train).tanh() // [n, C·side²]
            }
            NetArch::Dcgan | NetArch::SnCnn => {
                let (stages, side0) = self.spec.dcgan_stages();
                let c0 = self.spec.g_width << (stages - 1);
                // Virtual batch norm: the reference codes go first through the same layers.
                let m = self.vbn_reference.as_ref().map(|r| r.size()[0]);
                let h = match &self.vbn_reference {
                    Some(r) => Tensor::cat(&[r.to_kind(h.kind()), h], 0), // [m + n, latent]
                    None => h,
                };
                let rows = h.size()[0];
                let h = self.g_act(&self.norm(0, &self.fc[0].forward(&h, train), m, train));
                let mut h = h.view([rows, c0, side0, side0]);
                for (i, conv) in self.up.iter().enumerate() {
                    h = conv.forward(&h, train); // side doubles
                    if self.spec.g_upsample == Upsample::PixelShuffle {
                        h = h.pixel_shuffle(2); // [n, 4c, s, s] -> [n, c, 2s, 2s]
                    }
                    if i + 1 < self.up.len() {
                        h = self.g_act(&self.norm(i + 1, &h, m, train));
                    }
                }
                if let Some(m) = m {
                    h = h.narrow(0, m, n); // the reference batch's images are dropped
                }
                h.tanh().view([n, -1]) // [n, C, side, side] -> [n, C·side²]
            }
        }
    }

    fn latent_dim(&self) -> i64 {
        self.spec.latent_dim
    }

    fn image_shape(&self) -> (i64, i64, i64) {
        (self.spec.channels, self.spec.image_side, self.spec.image_side)
    }

    fn num_classes(&self) -> i64 {
        if self.spec.is_conditional() { self.spec.num_classes } else { 0 }
    }

    fn reseed(&self, seed: u64) {
        self.dropout.reseed(seed);
    }
}

impl std::fmt::Display for FamilyGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.spec;
        let cond = if s.is_conditional() { format!(" + label embedding {0}x{0}", s.num_classes) } else { String::new() };
        match s.arch {
            NetArch::Mlp => {
                // PyTorch's repr of the tutorial's nn.Sequential, so the two can be compared line by line.
                let z_in = s.latent_dim + if s.is_conditional() { s.num_classes } else { 0 };
                writeln!(f, "Generator(  # z {}{cond}", s.latent_dim)?;
                writeln!(f, "  (0): Linear(in_features={z_in}, out_features={}, bias=True)", s.g_width)?;
                writeln!(f, "  (1): LeakyReLU(negative_slope={})", s.leaky_slope)?;
                writeln!(f, "  (2): Dropout(p={})", s.dropout)?;
                writeln!(f, "  (3): Linear(in_features={}, out_features={}, bias=True)", s.g_width, s.image_dim())?;
                writeln!(f, "  (4): Tanh()")?;
                write!(f, ")")?
            }
            NetArch::Dcgan | NetArch::SnCnn => {
                let (stages, side0) = s.dcgan_stages();
                let mut c = s.g_width << (stages - 1);
                let bn = if matches!(s.g_norm, GNorm::Virtual(_)) { "VBN" } else { "BN" };
                let act = match s.g_activation {
                    GActivation::Relu => "ReLU".to_string(),
                    GActivation::LeakyRelu(slope) => format!("LeakyReLU({slope})"),
                };
                write!(f, "DCGAN generator: z {}{cond} -> Linear -> {c}x{side0}x{side0} -> {bn}, {act}", s.latent_dim)?;
                let mut side = side0;
                let up = if s.g_upsample == Upsample::PixelShuffle { "Conv 3x3 + PixelShuffle(2)" } else { "ConvT 4x4/2" };
                for i in 0..stages {
                    side *= 2;
                    let out = if i + 1 == stages { s.channels } else { c / 2 };
                    write!(f, " -> {up} {out}x{side}x{side}{}", if i + 1 == stages { " -> Tanh".to_string() } else { format!(", {bn}, {act}") })?;
                    c = out;
                }
            }
        }
        Ok(())
    }
}

/// The name of virtual batch norm's reference codes in G's store.
pub const VBN_REFERENCE: &str = "vbn_reference";

/// Virtual batch norm (Salimans et al. 2016, §3.4) with `bn`'s affine
/// weight and bias: the first `m` rows of `x` (the reference batch) are
/// normalised with their own mean and variance, and each other row x with
/// those of the reference batch and x together, `μ = (m μ_ref + μ_x)/(m + 1)`,
/// `E[x²]` likewise (per channel, over the rows and the pixels).
/// `// [m + n, C] or [m + n, C, H, W] -> the same`
pub fn virtual_batch_norm(bn: &nn::BatchNorm, x: &Tensor, m: i64) -> Tensor {
    let size = x.size();
    let n = size[0] - m;
    let pixels: Vec<i64> = (2..size.len() as i64).collect();
    let mut all = vec![0i64];
    all.extend(&pixels);
    let eps = 1e-5;
    let reference = x.narrow(0, 0, m);
    let mean_ref = reference.mean_dim(all.as_slice(), true, Kind::Float); // [1, C, (1, 1)]
    let sq_ref = reference.square().mean_dim(all.as_slice(), true, Kind::Float);
    let ref_out = (&reference - &mean_ref) / (&sq_ref - mean_ref.square() + eps).sqrt();
    let cur = x.narrow(0, m, n);
    let (mean_x, sq_x) = if pixels.is_empty() { (cur.shallow_clone(), cur.square()) } else { (cur.mean_dim(pixels.as_slice(), true, Kind::Float), cur.square().mean_dim(pixels.as_slice(), true, Kind::Float)) };
    let k = m as f64;
    let mean = (&mean_ref * k + mean_x) / (k + 1.0); // [n, C, (1, 1)]
    let sq = (&sq_ref * k + sq_x) / (k + 1.0);
    let cur_out = (&cur - &mean) / (sq - mean.square() + eps).sqrt();
    let y = Tensor::cat(&[ref_out, cur_out], 0);
    let mut shape = vec![1i64; size.len()];
    shape[1] = size[1];
    match (&bn.ws, &bn.bs) {
        (Some(w), Some(b)) => y * w.view(shape.as_slice()) + b.view(shape.as_slice()),
        _ => y,
    }
}

// --------------------------------------------------------- discriminator

/// A discriminator (or critic) of the family.
#[derive(Debug)]
pub struct FamilyDiscriminator {
    spec: NetSpec,
    // MLP body
    fc: Option<Lin>,
    dropout: Dropout,
    // DCGAN body
    convs: Vec<Conv>,
    norms: Vec<Norm>,
    act: LeakyRelu,
    feature_dim: i64,
    /// Minibatch discrimination's tensor T, `[feature_dim, B·C]` (`net.minibatch`).
    minibatch: Option<Tensor>,
    head: Lin,
    projection: Option<Weight>,
    class_head: Option<Lin>,
}

impl FamilyDiscriminator {
    pub fn new(path: &nn::Path, spec: NetSpec) -> Self {
        let dcgan = spec.arch == NetArch::Dcgan;
        let sn = spec.d_norm == DNorm::Spectral;
        let mut convs = Vec::new();
        let mut norms = Vec::new();
        let mut fc = None;
        let feature_dim;
        if spec.arch == NetArch::SnCnn {
            let (mut c_in, mut side) = (spec.channels, spec.image_side);
            for (i, (c_out, kernel)) in sn_cnn_layers(&spec).into_iter().enumerate() {
                side = if kernel == 4 { side / 2 } else { side };
                convs.push(Conv::sn_cnn(&(path / format!("conv{i}")), c_in, c_out, kernel, sn));
                let kind = if i == 0 { DNorm::None } else { spec.d_norm };
                norms.push(Norm::new(&(path / format!("norm{i}")), kind, &[c_out, side, side], false));
                c_in = c_out;
            }
            feature_dim = c_in * side * side;
        } else if dcgan {
            let (stages, _) = spec.dcgan_stages();
            let mut side = spec.image_side;
            let mut c_in = spec.channels;
            for i in 0..stages {
                let c_out = spec.d_width << i;
                side /= 2;
                convs.push(match spec.d_downsample {
                    Downsample::Strided => Conv::new(&(path / format!("conv{i}")), c_in, c_out, false, sn),
                    Downsample::AvgPool => Conv::k3(&(path / format!("conv{i}")), c_in, c_out, sn), // then 2x2 average pooling
                });
                // DCGAN: no normalisation on the first layer.
                let kind = if i == 0 { DNorm::None } else { spec.d_norm };
                norms.push(Norm::new(&(path / format!("norm{i}")), kind, &[c_out, side, side], true));
                c_in = c_out;
            }
            feature_dim = c_in * side * side;
        } else {
            fc = Some(Lin::new(&(path / "fc1"), spec.image_dim(), spec.d_width, false, sn));
            norms.push(Norm::new(&(path / "norm1"), spec.d_norm, &[spec.d_width], false));
            feature_dim = spec.d_width;
        }
        let m = spec.minibatch;
        let minibatch = m.is_on().then(|| path.var("minibatch_t", &[feature_dim, m.kernels * m.kernel_dim], torch_default(feature_dim)));
        // The head reads φ(x) and, with minibatch discrimination, its B features.
        let head_in = feature_dim + if m.is_on() { m.kernels } else { 0 };
        let head = Lin::new(&(path / "head"), head_in, 1, dcgan, sn);
        let projection = (spec.conditioning == Conditioning::Projection).then(|| {
            let p = path / "projection";
            Weight::new(&p, &[spec.num_classes, feature_dim], nn::Init::Randn { mean: 0.0, stdev: 0.02 }, sn)
        });
        let class_head = (spec.conditioning == Conditioning::AuxClassifier).then(|| Lin::new(&(path / "class_head"), feature_dim, spec.num_classes, dcgan, sn));
        Self { spec, fc, dropout: Dropout::new(spec.dropout), convs, norms, act: LeakyRelu::new(spec.leaky_slope, path.device()), feature_dim, minibatch, head, projection, class_head }
    }

    /// The width of `φ(x)`, the features below the head.
    pub fn feature_dim(&self) -> i64 {
        self.feature_dim
    }

    /// `φ(x)`. `// [n, C·side²] -> [n, feature_dim]`
    pub fn features(&self, x: &Tensor, train: bool) -> Tensor {
        let n = x.size()[0];
        match self.spec.arch {
            NetArch::Mlp => {
                let h = self.fc.as_ref().expect("MLP body").forward(x, train);
                let h = self.act.forward(&self.norms[0].forward(&h, train));
                self.dropout.forward_t(&h, train)
            }
            NetArch::Dcgan | NetArch::SnCnn => {
                let s = self.spec.image_side;
                let mut h = x.view([n, self.spec.channels, s, s]);
                let pool = self.spec.arch == NetArch::Dcgan && self.spec.d_downsample == Downsample::AvgPool;
                for (conv, norm) in self.convs.iter().zip(&self.norms) {
                    let mut c = conv.forward(&h, train); // 4x4/2: side halves
                    if pool {
                        c = c.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None); // 3x3/1, then 2x2 pooling: side halves
                    }
                    h = self.act.forward(&norm.forward(&c, train));
                }
                h.view([n, self.feature_dim])
            }
        }
    }
}

impl Discriminator for FamilyDiscriminator {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_cond_t(x, None, train).logits
    }

    fn forward_cond_t(&self, x: &Tensor, labels: Option<&Tensor>, train: bool) -> DOutput {
        let phi = self.features(x, train);
        let mut logits = match &self.minibatch {
            None => self.head.forward(&phi, train), // [n, 1]
            Some(t) => {
                let o = super::tricks::minibatch_features(&phi, t, self.spec.minibatch.kernels, self.spec.minibatch.kernel_dim); // [n, B]
                self.head.forward(&Tensor::cat(&[phi.shallow_clone(), o], 1), train)
            }
        };
        if let (Some(v), Some(y)) = (&self.projection, labels) {
            // <embed(y), φ(x)>, one number per sample.
            let e = v.get(train).index_select(0, y); // [n, F]
            logits = logits + (e * &phi).sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
        }
        let class_logits = self.class_head.as_ref().map(|h| h.forward(&phi, train));
        DOutput { logits, class_logits, features: Some(phi) }
    }

    fn reseed(&self, seed: u64) {
        self.dropout.reseed(seed ^ 0x9E37_79B9_7F4A_7C15);
    }
}

impl std::fmt::Display for FamilyDiscriminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.spec;
        let norm = match s.d_norm {
            DNorm::None => "no normalisation",
            DNorm::Batch => "batch norm",
            DNorm::Layer => "layer norm",
            DNorm::Spectral => "spectral norm on every weight",
            DNorm::Instance => "instance norm",
        };
        match s.arch {
            NetArch::Mlp => {
                writeln!(f, "Discriminator(")?;
                writeln!(f, "  (0): Linear(in_features={}, out_features={}, bias=True){}", s.image_dim(), s.d_width, if s.d_norm == DNorm::None { String::new() } else { format!("  # + {:?} norm", s.d_norm) })?;
                writeln!(f, "  (1): LeakyReLU(negative_slope={})", s.leaky_slope)?;
                writeln!(f, "  (2): Dropout(p={})", s.dropout)?;
                writeln!(f, "  (3): Linear(in_features={}, out_features=1, bias=True)", s.d_width)?;
                writeln!(f, "  (4): Sigmoid()  # applied by the loss, on the logit, as BCE-with-logits")?;
                write!(f, ")")?;
                return match s.conditioning {
                    Conditioning::None => Ok(()),
                    Conditioning::Projection => write!(f, "  # + projection <embed(y), phi(x)>"),
                    Conditioning::AuxClassifier => write!(f, "  # + class head ({} classes)", s.num_classes),
                };
            }
            NetArch::SnCnn => {
                write!(f, "SN-CNN discriminator: {}x{1}x{1}", s.channels, s.image_side)?;
                let mut side = s.image_side;
                for (c, k) in sn_cnn_layers(s) {
                    side = if k == 4 { side / 2 } else { side };
                    write!(f, " -> Conv {k}x{k}/{} {c}x{side}x{side}", if k == 4 { 2 } else { 1 })?;
                }
                write!(f, " -> LeakyReLU({}) each -> Linear -> 1", s.leaky_slope)?;
            }
            NetArch::Dcgan => {
                write!(f, "DCGAN discriminator: {}x{1}x{1}", s.channels, s.image_side)?;
                let mut side = s.image_side;
                let down = if s.d_downsample == Downsample::AvgPool { "Conv 3x3/1 + AvgPool 2x2" } else { "Conv 4x4/2" };
                for i in 0..self.convs.len() {
                    side /= 2;
                    write!(f, " -> {down} {}x{side}x{side}", s.d_width << i)?;
                }
                write!(f, " -> LeakyReLU({}) each -> Linear -> 1", s.leaky_slope)?;
            }
        }
        if s.minibatch.is_on() {
            write!(f, " + minibatch discrimination ({} kernels of {})", s.minibatch.kernels, s.minibatch.kernel_dim)?;
        }
        match s.conditioning {
            Conditioning::None => {}
            Conditioning::Projection => write!(f, " + projection <embed(y), phi(x)>")?,
            Conditioning::AuxClassifier => write!(f, " + class head ({} classes)", s.num_classes)?,
        }
        write!(f, "; {norm}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn build(spec: NetSpec) -> (nn::VarStore, FamilyGenerator, nn::VarStore, FamilyDiscriminator) {
        let gvs = nn::VarStore::new(Device::Cpu);
        let dvs = nn::VarStore::new(Device::Cpu);
        let g = FamilyGenerator::new(&gvs.root(), spec);
        let d = FamilyDiscriminator::new(&dvs.root(), spec);
        (gvs, g, dvs, d)
    }

    #[test]
    fn every_architecture_has_the_right_shapes() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(0);
        for arch in [NetArch::Mlp, NetArch::Dcgan] {
            for side in [28, 32] {
                for cond in [Conditioning::None, Conditioning::Projection, Conditioning::AuxClassifier] {
                    for norm in [DNorm::None, DNorm::Batch, DNorm::Layer, DNorm::Spectral] {
                        let spec = NetSpec { arch, image_side: side, latent_dim: 8, g_width: 8, d_width: 8, conditioning: cond, d_norm: norm, ..Default::default() };
                        let (_g, g, _d, d) = build(spec);
                        let z = Tensor::randn([5, 8], (Kind::Float, Device::Cpu));
                        let y = Tensor::from_slice(&[0i64, 1, 2, 3, 9]);
                        let x = g.forward_cond_t(&z, Some(&y), true);
                        assert_eq!(x.size(), vec![5, side * side], "{spec:?}");
                        assert!(x.abs().max().double_value(&[]) <= 1.0);
                        let out = d.forward_cond_t(&x, Some(&y), true);
                        assert_eq!(out.logits.size(), vec![5, 1], "{spec:?}");
                        assert_eq!(out.class_logits.map(|c| c.size()), (cond == Conditioning::AuxClassifier).then(|| vec![5, 10]));
                        assert_eq!(g.num_classes(), if cond == Conditioning::None { 0 } else { 10 });
                    }
                }
            }
        }
    }

    #[test]
    fn instance_norm_normalises_each_sample_and_channel_over_its_pixels() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let norm = Norm::new(&vs.root(), DNorm::Instance, &[4, 6, 6], true);
        // Samples on different scales and offsets.
        let x = Tensor::randn([3, 4, 6, 6], (Kind::Float, Device::Cpu)) * Tensor::from_slice(&[1.0f32, 10.0, 0.5]).view([3, 1, 1, 1]) + 5.0;
        let y = norm.forward(&x, true);
        let mean = y.mean_dim([2i64, 3].as_slice(), false, Kind::Float);
        let var = y.var_dim([2i64, 3].as_slice(), false, false);
        assert!(mean.abs().max().double_value(&[]) < 1e-4, "{mean}");
        assert!((&var - 1.0).abs().max().double_value(&[]) < 1e-3, "{var}");
        // One sample's output does not depend on the others (batch norm's would).
        let alone = norm.forward(&x.narrow(0, 0, 1), true);
        assert!((alone - y.narrow(0, 0, 1)).abs().max().double_value(&[]) < 1e-6);
        // Its affine weight and bias are trained.
        assert_eq!(vs.trainable_variables().len(), 2);
        assert_eq!("instance".parse::<DNorm>().unwrap(), DNorm::Instance);
    }

    #[test]
    fn g_activation_is_relu_by_default_and_leaky_on_request() {
        let _rng = crate::torch_rng_lock();
        let spec = NetSpec { arch: NetArch::Dcgan, latent_dim: 8, g_width: 8, d_width: 8, ..Default::default() };
        let leaky = NetSpec { g_activation: GActivation::LeakyRelu(0.2), ..spec };
        tch::manual_seed(6);
        let (_a, g_relu, _b, _) = build(spec);
        tch::manual_seed(6);
        let (_c, g_leaky, _d, _) = build(leaky);
        let z = Tensor::randn([4, 8], (Kind::Float, Device::Cpu));
        assert!(!g_relu.forward_t(&z, true).equal(&g_leaky.forward_t(&z, true)), "same weights, other activation");
        assert!(g_leaky.to_string().contains("BN, LeakyReLU(0.2)") && g_relu.to_string().contains("BN, ReLU"), "{g_leaky}");
    }

    #[test]
    fn labels_change_a_conditional_generators_output() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(1);
        let spec = NetSpec { arch: NetArch::Dcgan, latent_dim: 8, g_width: 8, d_width: 8, conditioning: Conditioning::Projection, ..Default::default() };
        let (_g, g, _d, d) = build(spec);
        let z = Tensor::randn([2, 8], (Kind::Float, Device::Cpu));
        let a = g.forward_cond_t(&z, Some(&Tensor::from_slice(&[3i64, 3])), false);
        let b = g.forward_cond_t(&z, Some(&Tensor::from_slice(&[3i64, 7])), false);
        assert!(a.get(0).equal(&b.get(0)) && !a.get(1).equal(&b.get(1)));
        // The projection term depends on the label too.
        let la = d.forward_cond_t(&a, Some(&Tensor::from_slice(&[3i64, 3])), false).logits;
        let lb = d.forward_cond_t(&a, Some(&Tensor::from_slice(&[3i64, 4])), false).logits;
        assert!(la.get(0).equal(&lb.get(0)) && !la.get(1).equal(&lb.get(1)));
    }

    #[test]
    fn weight_count_is_a_lower_bound_close_to_the_real_count() {
        let _rng = crate::torch_rng_lock();
        let count = |vs: &nn::VarStore| vs.trainable_variables().iter().map(|t| t.numel()).sum::<usize>() as f64;
        for arch in [NetArch::Mlp, NetArch::Dcgan] {
            for side in [28, 32] {
                let spec = NetSpec { arch, image_side: side, g_width: 16, d_width: 16, ..Default::default() };
                let (gvs, _, dvs, _) = build(spec);
                let real = count(&gvs) + count(&dvs);
                let est = spec.weight_count();
                assert!(est <= real && est > 0.9 * real, "{arch:?} {side}: estimate {est}, real {real}");
            }
        }
    }

    #[test]
    fn a_net_too_big_for_memory_is_refused_before_allocation() {
        let spec = NetSpec { g_width: 1_000_000_000, ..Default::default() };
        let e = spec.check_fits(Some(16 << 30)).unwrap_err().to_string();
        assert!(e.contains("net.g_width") && e.contains("16.0 GiB of memory is available") && e.contains("use smaller widths"), "{e}");
        assert!(NetSpec::default().check_fits(Some(16 << 30)).is_ok());
        assert!(spec.check_fits(None).is_ok(), "no figure, no refusal (CUDA)");
        let absurd = NetSpec { d_width: i64::MAX / 2, ..Default::default() };
        assert!(absurd.check_fits(None).unwrap_err().to_string().contains("net.d_width"));
    }

    #[test]
    fn dcgan_parameter_counts_and_description() {
        let _rng = crate::torch_rng_lock();
        let spec = NetSpec { arch: NetArch::Dcgan, g_width: 64, d_width: 64, d_norm: DNorm::Batch, ..Default::default() };
        let (gvs, g, dvs, d) = build(spec);
        let count = |vs: &nn::VarStore| vs.trainable_variables().iter().map(|t| t.numel()).sum::<usize>();
        // G: Linear(100, 128·7·7) + BN1d(6272) + ConvT(128→64) + BN(64) + ConvT(64→1).
        let g_expected = 100 * 6272 + 6272 + 2 * 6272 + 128 * 64 * 16 + 64 + 2 * 64 + 64 * 16 + 1;
        assert_eq!(count(&gvs), g_expected);
        // D: Conv(1→64) + Conv(64→128) + BN(128) + Linear(128·7·7, 1).
        let d_expected = 64 * 16 + 64 + 64 * 128 * 16 + 128 + 2 * 128 + 6272 + 1;
        assert_eq!(count(&dvs), d_expected);
        assert!(g.to_string().contains("ConvT 4x4/2 64x14x14") && g.to_string().contains("1x28x28 -> Tanh"), "{g}");
        assert!(d.to_string().contains("Conv 4x4/2 128x7x7") && d.to_string().contains("batch norm"), "{d}");
    }

    #[test]
    fn rgb_nets_and_the_sn_cnn_have_the_right_shapes_and_counts() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(2);
        let count = |vs: &nn::VarStore| vs.trainable_variables().iter().map(|t| t.numel()).sum::<usize>() as f64;
        for arch in [NetArch::Dcgan, NetArch::SnCnn] {
            for norm in [DNorm::None, DNorm::Batch, DNorm::Spectral] {
                let spec = NetSpec { arch, image_side: 32, channels: 3, latent_dim: 8, g_width: 8, d_width: 8, d_norm: norm, ..Default::default() };
                let (gvs, g, dvs, d) = build(spec);
                let x = g.forward_t(&Tensor::randn([3, 8], (Kind::Float, Device::Cpu)), true);
                assert_eq!(x.size(), vec![3, 3 * 32 * 32], "{spec:?}");
                assert_eq!(g.image_shape(), (3, 32, 32));
                assert_eq!(d.forward_t(&x, true).size(), vec![3, 1], "{spec:?}");
                let (real, est) = (count(&gvs) + count(&dvs), spec.weight_count());
                assert!(est <= real && est > 0.9 * real, "{arch:?} {norm:?}: estimate {est}, real {real}");
            }
        }
        // The paper's D at width 64: 3→64 (3x3), 64→64 (4x4/2), …, 256→512 (3x3), Linear(512·4·4, 1).
        let spec = NetSpec { arch: NetArch::SnCnn, image_side: 32, channels: 3, d_width: 64, d_norm: DNorm::Spectral, ..Default::default() };
        let dvs = nn::VarStore::new(Device::Cpu);
        let d = FamilyDiscriminator::new(&dvs.root(), spec);
        let convs = [(3, 64, 3), (64, 64, 4), (64, 128, 3), (128, 128, 4), (128, 256, 3), (256, 256, 4), (256, 512, 3)];
        let expected: usize = convs.iter().map(|&(i, o, k)| i * o * k * k + o).sum::<usize>() + 512 * 16 + 1;
        assert_eq!(count(&dvs) as usize, expected);
        let text = d.to_string();
        assert!(text.starts_with("SN-CNN discriminator: 3x32x32") && text.contains("Conv 3x3/1 512x4x4") && text.contains("spectral"), "{text}");
        assert_eq!("sn-cnn".parse::<NetArch>().unwrap(), NetArch::SnCnn);
        assert!("resnet".parse::<NetArch>().unwrap_err().to_string().contains("sn-cnn"));
        let e = NetSpec { channels: 2, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("net.channels"), "{e}");
    }

    #[test]
    fn a_spec_without_channels_is_grey() {
        let old = r#"{"arch": "dcgan", "image_side": 32, "g_width": 64}"#;
        let spec: NetSpec = serde_json::from_str(old).unwrap();
        assert_eq!((spec.channels, spec.image_dim()), (1, 1024));
        let back: NetSpec = serde_json::from_str(&serde_json::to_string(&NetSpec { arch: NetArch::SnCnn, channels: 3, ..Default::default() }).unwrap()).unwrap();
        assert_eq!((back.arch, back.channels), (NetArch::SnCnn, 3));
    }

    #[test]
    fn bad_specs_are_named() {
        let _rng = crate::torch_rng_lock();
        let e = NetSpec { arch: NetArch::Dcgan, image_side: 64, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("image_side") && e.contains("28x28 or 32x32"), "{e}");
        let e = NetSpec { conditioning: Conditioning::Projection, num_classes: 1, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("num_classes"), "{e}");
    }
}
