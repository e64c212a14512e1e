//! MNIST classifiers: the models that notebook 05 attacks and defends, and
//! that later notebooks use as a feature extractor (FID-style distances).
//!
//! Two architectures, both taking images in `[0, 1]` and normalising them
//! inside the model (MNIST's mean 0.1307 and std 0.3081, in one place:
//! [`normalise`]), so that every attack works in pixel space and clamps to
//! `[0, 1]`:
//!
//! ```text
//! LeNet: [n,1,28,28] -> Conv(1,6,5,pad 2) -> ReLU -> MaxPool 2 -> Conv(6,16,5) -> ReLU -> MaxPool 2
//!        -> [n,400] -> Linear(400,120) -> ReLU -> Linear(120,84) -> ReLU (features) -> Linear(84,10)
//! MLP:   [n,784] -> Linear(784,256) -> ReLU -> Linear(256,128) -> ReLU (features) -> Linear(128,10)
//! ```
//!
//! Parameter names (`conv1.weight`, `fc3.bias`, ...) are those of the same
//! PyTorch module, so a checkpoint saved with [`Classifier::save`] loads in
//! Python with `safetensors.torch.load_file` (see `tests/golden/`).
//!
//! ```no_run
//! use gan_tutorial::classifier::{train_classifier, Arch, ClassifierConfig, Classifier};
//! # fn main() -> gan_tutorial::Result<()> {
//! let trained = train_classifier(&ClassifierConfig::default().with_arch(Arch::LeNet))?;
//! println!("test accuracy {:.2}%", 100.0 * trained.history.final_test_accuracy());
//! trained.model.save("lenet.safetensors")?;       // also writes lenet.json (the architecture)
//! let again = Classifier::load("lenet.safetensors", tch::Device::Cpu)?;
//! # let _ = again;
//! # Ok(())
//! # }
//! ```
mod input_grad;
pub mod train;

pub use train::{train_classifier, train_classifier_on, train_classifier_with, ClassifierConfig, ClassifierHistory, TrainDefense, TrainedClassifier};
/// What an attack differentiates through is defined with the attacks
/// ([`crate::attack::model`]), so that attacks need no classifier and
/// adversarial training (here) can use attacks without a cycle.
pub use crate::attack::model::{as_images, logits_batched, Model};

use crate::data::ImageSet;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// MNIST's pixel mean and standard deviation (of values in `[0, 1]`), as torchvision's examples use.
pub const MNIST_MEAN: f64 = 0.1307;
pub const MNIST_STD: f64 = 0.3081;

/// The model's input normalisation: `(x - mean) / std`. The only place it happens.
pub fn normalise(x: &Tensor) -> Tensor {
    (x - MNIST_MEAN) / MNIST_STD
}

/// The two architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// LeNet-5 style CNN (61,706 parameters).
    #[default]
    LeNet,
    /// Two hidden layers, 256 and 128 (235,146 parameters).
    Mlp,
}

impl Arch {
    /// Width of [`Classifier::features`].
    pub fn feature_dim(self) -> i64 {
        match self {
            Arch::LeNet => 84,
            Arch::Mlp => 128,
        }
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arch::LeNet => "lenet",
            Arch::Mlp => "mlp",
        })
    }
}

impl std::str::FromStr for Arch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lenet" | "cnn" => Ok(Arch::LeNet),
            "mlp" => Ok(Arch::Mlp),
            _ => Err(Error::config("arch", format!("`{s}` is not an architecture: use lenet or mlp"))),
        }
    }
}

#[derive(Debug)]
enum Net {
    LeNet { conv1: nn::Conv2D, conv2: nn::Conv2D, fc1: nn::Linear, fc2: nn::Linear, fc3: nn::Linear },
    Mlp { fc1: nn::Linear, fc2: nn::Linear, fc3: nn::Linear },
}

/// A trained (or freshly initialised) MNIST classifier with its parameters.
#[derive(Debug)]
pub struct Classifier {
    pub vs: nn::VarStore,
    pub arch: Arch,
    /// A label for tables ("lenet", "lenet + PGD training", ...).
    pub label: String,
    net: Net,
}

/// What [`Classifier::save`] writes beside the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedMeta {
    arch: Arch,
    label: String,
    normalisation: [f64; 2],
}

impl Classifier {
    /// A new classifier with PyTorch's default initialisation, on `device`.
    pub fn new(arch: Arch, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let lin = |name: &str, i, o| nn::linear(&root / name, i, o, Default::default());
        let net = match arch {
            Arch::LeNet => Net::LeNet {
                conv1: nn::conv2d(&root / "conv1", 1, 6, 5, nn::ConvConfig { padding: 2, ..Default::default() }),
                conv2: nn::conv2d(&root / "conv2", 6, 16, 5, Default::default()),
                fc1: lin("fc1", 400, 120),
                fc2: lin("fc2", 120, 84),
                fc3: lin("fc3", 84, 10),
            },
            Arch::Mlp => Net::Mlp { fc1: lin("fc1", 784, 256), fc2: lin("fc2", 256, 128), fc3: lin("fc3", 128, 10) },
        };
        Self { vs, arch, label: arch.to_string(), net }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.vs.trainable_variables().iter().map(|t| t.numel()).sum()
    }

    /// Penultimate-layer activations (after the ReLU), `[n, 1, 28, 28]` in `[0, 1]` -> `[n, feature_dim]`.
    fn features_raw(&self, x: &Tensor) -> Tensor {
        let x = normalise(x);
        match &self.net {
            Net::LeNet { conv1, conv2, fc1, fc2, .. } => {
                let h = conv1.forward(&x).relu().max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false); // [n,6,14,14]
                let h = conv2.forward(&h).relu().max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false); // [n,16,5,5]
                let h = h.flatten(1, -1); // [n, 400]
                fc2.forward(&fc1.forward(&h).relu()).relu() // [n, 84]
            }
            Net::Mlp { fc1, fc2, .. } => {
                let h = x.flatten(1, -1); // [n, 784]
                fc2.forward(&fc1.forward(&h).relu()).relu() // [n, 128]
            }
        }
    }

    fn head(&self, features: &Tensor) -> Tensor {
        match &self.net {
            Net::LeNet { fc3, .. } | Net::Mlp { fc3, .. } => fc3.forward(features),
        }
    }

    /// Penultimate-layer features of images in `[0, 1]` (`[n, 784]`,
    /// `[n, 28, 28]` or `[n, 1, 28, 28]`), without gradients:
    /// `[n, feature_dim]` (84 for LeNet, 128 for the MLP). For Fréchet
    /// distances and precision/recall of generated digits.
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        let x = as_images(x)?.to_device(self.device());
        Ok(tch::no_grad(|| self.features_raw(&x)))
    }

    /// Class probabilities without gradients: `[n, 10]`.
    pub fn probabilities(&self, x: &Tensor) -> Result<Tensor> {
        let x = as_images(x)?.to_device(self.device());
        Ok(tch::no_grad(|| self.logits(&x).softmax(-1, Kind::Float)))
    }

    /// Predicted class and its probability for each image.
    pub fn predict(&self, x: &Tensor) -> Result<Vec<(i64, f64)>> {
        let p = self.probabilities(x)?;
        let (conf, pred) = p.max_dim(-1, false);
        let conf = Vec::<f64>::try_from(conf.to_kind(Kind::Double).to_device(Device::Cpu))?;
        let pred = Vec::<i64>::try_from(pred.to_device(Device::Cpu))?;
        Ok(pred.into_iter().zip(conf).collect())
    }

    /// Accuracy on an image set (all of it, in batches of 500).
    pub fn accuracy_on(&self, set: &ImageSet) -> Result<f64> {
        let (x, y) = images_and_labels(set, self.device())?;
        Ok(accuracy(self, &x, &y))
    }

    /// Saves the weights as safetensors at `path` (which must end in
    /// `.safetensors`) and the architecture beside it (`path` with `.json`),
    /// both atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
            return Err(Error::config("path", format!("{}: name the weights file *.safetensors", path.display())));
        }
        let mut named: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        crate::fsutil::write_safetensors(path, &named)?;
        let meta = SavedMeta { arch: self.arch, label: self.label.clone(), normalisation: [MNIST_MEAN, MNIST_STD] };
        crate::fsutil::write_json(path.with_extension("json"), &meta)
    }

    /// Loads what [`Classifier::save`] wrote, onto `device`.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Self> {
        let path = path.as_ref();
        let meta_path = path.with_extension("json");
        let text = std::fs::read_to_string(&meta_path).map_err(|e| {
            Error::data(&meta_path, format!("cannot read the architecture file written by Classifier::save ({e}); use Classifier::load_arch to name the architecture"))
        })?;
        let meta: SavedMeta = serde_json::from_str(&text)
            .map_err(|e| Error::data(&meta_path, format!("not a classifier description: {e}")))?;
        Ok(Self::load_arch(path, meta.arch, device)?.with_label(meta.label))
    }

    /// Loads safetensors weights for a known architecture (every parameter must be present).
    pub fn load_arch(path: impl AsRef<Path>, arch: Arch, device: Device) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::data(path, "no such weights file: train and save a classifier first"));
        }
        let mut c = Classifier::new(arch, device);
        let missing = c.vs.load_partial(path).map_err(|e| Error::data(path, format!("cannot load weights: {e}")))?;
        if !missing.is_empty() {
            return Err(Error::data(path, format!("not a {arch} checkpoint: missing {missing:?}")));
        }
        Ok(c)
    }

    /// Converts the parameters to double precision (for golden-value tests).
    pub fn to_double(&mut self) {
        self.vs.double();
    }
}

impl Model for Classifier {
    fn logits(&self, x: &Tensor) -> Tensor {
        self.head(&self.features_raw(x))
    }
    /// The LeNet's hand-written input gradient on the CPU (`src/classifier/input_grad.rs`):
    /// conv1's input gradient is the slowest kernel of autograd's pass there.
    fn input_gradient(&self, x: &Tensor, y: &Tensor, targets: Option<&Tensor>) -> Option<Result<(Tensor, Tensor)>> {
        input_grad::lenet_input_grad(&self.net, x, y, targets)
    }
    fn name(&self) -> String {
        self.label.clone()
    }
}

impl std::fmt::Display for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.arch {
            Arch::LeNet => write!(
                f,
                "LeNet: Conv(1,6,5,pad 2)-ReLU-MaxPool2 -> Conv(6,16,5)-ReLU-MaxPool2 -> 400-120-84-10 ({} parameters)",
                self.parameter_count()
            ),
            Arch::Mlp => write!(f, "MLP: 784-256-128-10, ReLU ({} parameters)", self.parameter_count()),
        }
    }
}

/// An image set as `[n, 1, 28, 28]` floats in `[0, 1]` and `[n]` int64 labels.
pub fn images_and_labels(set: &ImageSet, device: Device) -> Result<(Tensor, Tensor)> {
    if set.channels != 1 || set.rows != 28 || set.cols != 28 {
        return Err(Error::Shape(format!("{}x{}x{} images: the classifiers take 1x28x28 (MNIST-format grey images)", set.channels, set.rows, set.cols)));
    }
    if set.is_empty() {
        return Err(Error::Shape("the image set is empty".into()));
    }
    let n = set.len() as i64;
    let x = Tensor::from_slice(&set.pixels).view([n, 1, 28, 28]).to_device(device).to_kind(Kind::Float) / 255.0;
    let y = Tensor::from_slice(&set.labels).to_kind(Kind::Int64).to_device(device);
    Ok((x, y))
}

/// Fraction of `x` that `model` labels `y`.
pub fn accuracy(model: &dyn Model, x: &Tensor, y: &Tensor) -> f64 {
    let pred = logits_batched(model, x).argmax(-1, false);
    pred.eq_tensor(y).to_kind(Kind::Double).mean(Kind::Double).double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_features_and_parameter_names() {
        let _rng = crate::torch_rng_lock();
        for (arch, params) in [(Arch::LeNet, 61_706), (Arch::Mlp, 235_146)] {
            let c = Classifier::new(arch, Device::Cpu);
            assert_eq!(c.parameter_count(), params, "{arch}");
            let x = Tensor::rand([3, 784], (Kind::Float, Device::Cpu));
            assert_eq!(c.features(&x).unwrap().size(), vec![3, arch.feature_dim()]);
            assert_eq!(c.probabilities(&x).unwrap().size(), vec![3, 10]);
            let e = c.features(&Tensor::zeros([3, 10], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
            assert!(e.contains("[3, 10]") && e.contains("[n, 784]"), "{e}");
        }
        let names: Vec<String> = Classifier::new(Arch::LeNet, Device::Cpu).vs.variables().into_keys().collect();
        assert!(names.contains(&"conv1.weight".to_string()) && names.contains(&"fc3.bias".to_string()), "{names:?}");
    }

    #[test]
    fn save_and_load_round_trip_and_name_errors() {
        let _rng = crate::torch_rng_lock();
        let dir = tempfile::tempdir().unwrap();
        let c = Classifier::new(Arch::Mlp, Device::Cpu).with_label("mlp-test");
        let path = dir.path().join("m.safetensors");
        c.save(&path).unwrap();
        let back = Classifier::load(&path, Device::Cpu).unwrap();
        assert_eq!((back.arch, back.label.as_str()), (Arch::Mlp, "mlp-test"));
        let x = Tensor::rand([4, 1, 28, 28], (Kind::Float, Device::Cpu));
        let diff = (c.logits(&x) - back.logits(&x)).abs().max().double_value(&[]);
        assert_eq!(diff, 0.0);
        assert!(c.save(dir.path().join("m.pt")).unwrap_err().to_string().contains(".safetensors"));
        let e = Classifier::load_arch(&path, Arch::LeNet, Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("m.safetensors"), "{e}");
        assert!(Classifier::load(dir.path().join("none.safetensors"), Device::Cpu).is_err());
    }
}
