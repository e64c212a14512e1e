//! The feature extractor behind the sample-quality numbers: the crate's own
//! MNIST classifier (LeNet by default), whose penultimate layer (84 ReLU
//! units) plays the part Inception-v3's pool features play in FID. Inception
//! weights cannot be fetched here, and a digit classifier is the better
//! judge of digits anyway; numbers are comparable only between runs that use
//! the same extractor, which is why every result names it.
//!
//! # Pixel ranges
//! Everything handed to the metrics is converted to the generator's
//! convention first, **`[-1, 1]`** (−1 = background, 1 = ink), see
//! [`EvalImages`]: a tensor is read as `[-1, 1]`, an [`ImageSet`] as bytes,
//! an [`ImageBatch`] as `[0, 1]`. The classifier itself takes `[0, 1]`
//! and normalises inside ([`crate::classifier::normalise`]), so
//! [`to_classifier_input`] maps `x ↦ (x + 1) / 2`.
//!
//! # Shapes
//! `[n, 784]`, `[n, 28, 28]`, `[n, 1, 28, 28]`, and the padded 32×32 of the
//! DCGAN-32 variant (`[n, 1024]`, `[n, 32, 32]`, `[n, 1, 32, 32]`), which is
//! centre-cropped 32 → 28 (MNIST padded by 2 on every side comes back exactly).
use super::frechet::FeatureStats;
use crate::classifier::{train_classifier_on, Arch, Classifier, ClassifierConfig};
use crate::data::{ImageSet, MnistData};
use crate::error::{Error, Result};
use crate::data::ImageBatch;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Images the metrics can take, converted to `[n, 1, side, side]` floats in `[-1, 1]`.
pub trait EvalImages {
    /// The images as `[n, 1, h, w]` (h = w = 28 or 32) in `[-1, 1]`, on the CPU.
    fn to_pm1(&self) -> Result<Tensor>;
}

/// A tensor holds generator output in `[-1, 1]` (values more than 0.001
/// outside are an error: bytes or `[0, 1]`-normalised data must be converted,
/// e.g. with [`ImageSet::to_tensor_pm1`]).
impl EvalImages for Tensor {
    fn to_pm1(&self) -> Result<Tensor> {
        let x = as_square_images(self)?;
        if x.numel() > 0 {
            let (lo, hi) = (x.min().double_value(&[]), x.max().double_value(&[]));
            if !(lo >= -1.001 && hi <= 1.001) {
                return Err(Error::Shape(format!(
                    "pixel values span [{lo}, {hi}]: the metrics take generator output in [-1, 1] \
                     (for bytes use ImageSet::to_tensor_pm1, for [0, 1] images ImageBatch::from_tensor_01)"
                )));
            }
        }
        Ok(x.clamp(-1.0, 1.0))
    }
}

/// Bytes 0..=255 (0 = background), 28×28 or 32×32.
impl EvalImages for ImageSet {
    fn to_pm1(&self) -> Result<Tensor> {
        if self.is_empty() {
            return Err(Error::Shape("the image set is empty".into()));
        }
        if self.channels != 1 {
            return Err(Error::Shape(format!("{} channels: the MNIST extractor takes grey images", self.channels)));
        }
        as_square_images(&self.to_tensor_pm1(Device::Cpu))
    }
}

/// Values in `[0, 1]`, one channel.
impl EvalImages for ImageBatch {
    fn to_pm1(&self) -> Result<Tensor> {
        if self.channels != 1 {
            return Err(Error::Shape(format!("{} channels: the MNIST extractor takes grey images", self.channels)));
        }
        as_square_images(&(self.to_tensor() * 2.0 - 1.0))
    }
}

impl<T: EvalImages + ?Sized> EvalImages for &T {
    fn to_pm1(&self) -> Result<Tensor> {
        (**self).to_pm1()
    }
}

/// Any accepted shape as `[n, 1, side, side]` float (side 28 or 32).
fn as_square_images(x: &Tensor) -> Result<Tensor> {
    let size = x.size();
    let (n, side) = match size.as_slice() {
        [n, 784] | [n, 28, 28] | [n, 1, 28, 28] => (*n, 28),
        [n, 1024] | [n, 32, 32] | [n, 1, 32, 32] => (*n, 32),
        _ => {
            return Err(Error::Shape(format!(
                "images of shape {size:?}: give [n, 784], [n, 1, 28, 28], or the 32x32 of DCGAN-32 ([n, 1024], [n, 1, 32, 32])"
            )))
        }
    };
    Ok(x.detach().to_device(Device::Cpu).to_kind(Kind::Float).reshape([n, 1, side, side]))
}

/// `[-1, 1]` images (any shape [`EvalImages`] takes) as the classifier's
/// input: `[n, 1, 28, 28]` in `[0, 1]`, 32×32 centre-cropped to 28×28.
pub fn to_classifier_input(x_pm1: &Tensor) -> Result<Tensor> {
    let x = as_square_images(x_pm1)?;
    let x = if x.size()[2] == 32 { x.narrow(2, 2, 28).narrow(3, 2, 28) } else { x };
    Ok(((x + 1.0) / 2.0).clamp(0.0, 1.0))
}

/// Classes `classifier` predicts for `[-1, 1]` images, in batches. `// [n, ...] -> [n]` (Int64, CPU)
pub(crate) fn predict_pm1(classifier: &Classifier, x_pm1: &Tensor, batch_size: i64) -> Result<Tensor> {
    let x = to_classifier_input(x_pm1)?;
    let n = x.size()[0];
    let bs = batch_size.max(1);
    let parts = (0..n)
        .step_by(bs as usize)
        .map(|s| Ok(classifier.probabilities(&x.narrow(0, s, bs.min(n - s)))?.argmax(-1, false).to_device(Device::Cpu)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0))
}

/// What [`FeatureExtractor::load_or_train`] writes beside the weights, to
/// know whether a cached file matches the asked-for training.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct CacheRecord {
    config: ClassifierConfig,
    test_accuracy: f64,
    test_examples: usize,
    train_seconds: f64,
}

/// A classifier used as a feature extractor (see the module docs).
#[derive(Debug)]
pub struct FeatureExtractor {
    classifier: Classifier,
    test_accuracy: Option<f64>,
    /// Images per forward pass.
    pub batch_size: i64,
}

impl FeatureExtractor {
    /// Wraps a trained classifier (its test accuracy unknown; see [`FeatureExtractor::with_test_accuracy`]).
    pub fn from_classifier(classifier: Classifier) -> Self {
        Self { classifier, test_accuracy: None, batch_size: 500 }
    }

    /// Records the classifier's accuracy on held-out digits, reported beside every result.
    pub fn with_test_accuracy(mut self, accuracy: f64) -> Self {
        self.test_accuracy = Some(accuracy);
        self
    }

    /// Trains the default LeNet ([`ClassifierConfig::default`]: 4 epochs on the
    /// embedded digits: 3 s on 2 idle CPU cores, much longer on a busy
    /// machine) with `seed`, in memory.
    /// Use [`FeatureExtractor::load_or_train`] to keep it in a file.
    pub fn mnist_default(seed: u64) -> Result<Self> {
        let config = ClassifierConfig::default().with_seed(seed);
        let data = MnistData::load(&config.data)?;
        let trained = train_classifier_on(&config, &data)?;
        let acc = trained.history.final_test_accuracy();
        Ok(Self::from_classifier(trained.model).with_test_accuracy(acc))
    }

    /// Loads the classifier cached at `path` (`*.safetensors`) if it was
    /// trained with `config`; otherwise trains it and writes it there
    /// (atomically: weights, `<name>.json` as [`Classifier::save`] writes,
    /// and `<name>.config.json` with the config and test accuracy), so a
    /// notebook trains it once. A weights file with no `.config.json` (saved
    /// by hand) is loaded as it is.
    pub fn load_or_train(path: impl AsRef<Path>, config: &ClassifierConfig) -> Result<Self> {
        let path = path.as_ref();
        if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
            return Err(Error::config("path", format!("{}: name the cached classifier *.safetensors", path.display())));
        }
        config.validate()?;
        let device = config.resolve_device()?;
        let record_path = path.with_extension("config.json");
        if path.is_file() {
            match std::fs::read_to_string(&record_path) {
                Ok(text) => {
                    let record: CacheRecord = serde_json::from_str(&text)
                        .map_err(|e| Error::data(&record_path, format!("not a feature-extractor record ({e}): delete it to retrain")))?;
                    if record.config == *config {
                        let c = Classifier::load(path, device)?;
                        return Ok(Self::from_classifier(c).with_test_accuracy(record.test_accuracy));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let c = Classifier::load(path, device)?;
                    let data = MnistData::load(&config.data)?;
                    let acc = c.accuracy_on(&data.test)?;
                    return Ok(Self::from_classifier(c).with_test_accuracy(acc));
                }
                Err(e) => return Err(Error::io(&record_path, e)),
            }
        }
        let data = MnistData::load(&config.data)?;
        let trained = train_classifier_on(config, &data)?;
        trained.model.save(path)?;
        let record = CacheRecord {
            config: config.clone(),
            test_accuracy: trained.history.final_test_accuracy(),
            test_examples: trained.history.test_examples,
            train_seconds: trained.history.wall_time_secs,
        };
        crate::fsutil::write_json(&record_path, &record)?;
        Ok(Self::from_classifier(trained.model).with_test_accuracy(record.test_accuracy))
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The classifier's accuracy on held-out digits, when known.
    pub fn test_accuracy(&self) -> Option<f64> {
        self.test_accuracy
    }

    /// A short name for tables: `LeNet` or `MLP`.
    pub fn name(&self) -> String {
        match self.classifier.arch {
            Arch::LeNet => "LeNet".into(),
            Arch::Mlp => "MLP".into(),
        }
    }

    /// Width of the features (84 for LeNet).
    pub fn feature_dim(&self) -> i64 {
        self.classifier.arch.feature_dim()
    }

    /// Penultimate-layer features, in batches, without gradients. `// [n, ...] -> [n, feature_dim]` (f32, CPU)
    pub fn features(&self, images: &impl EvalImages) -> Result<Tensor> {
        self.features_pm1(&images.to_pm1()?)
    }

    /// [`FeatureExtractor::features`] of a `[-1, 1]` tensor already converted by [`EvalImages::to_pm1`].
    pub(crate) fn features_pm1(&self, x_pm1: &Tensor) -> Result<Tensor> {
        let x = to_classifier_input(x_pm1)?;
        let n = x.size()[0];
        if n == 0 {
            return Err(Error::config("num_samples", "no images to extract features from"));
        }
        let bs = self.batch_size.max(1);
        let parts = (0..n)
            .step_by(bs as usize)
            .map(|s| Ok(self.classifier.features(&x.narrow(0, s, bs.min(n - s)))?.to_device(Device::Cpu)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&parts, 0))
    }

    /// Predicted classes of `[-1, 1]` images. `// [n, ...] -> [n]` (Int64, CPU)
    pub(crate) fn predict_pm1(&self, x_pm1: &Tensor) -> Result<Tensor> {
        predict_pm1(&self.classifier, x_pm1, self.batch_size)
    }

    /// Mean and covariance of the features of `images`.
    pub fn stats(&self, images: &impl EvalImages) -> Result<FeatureStats> {
        FeatureStats::from_features(&self.features(images)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_ranges() {
        let _rng = crate::torch_rng_lock();
        // A 28x28 digit padded to 32x32 comes back exactly after the crop.
        let digit = Tensor::rand([2, 1, 28, 28], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let padded = digit.constant_pad_nd([2, 2, 2, 2]) - 0.0; // pads with 0, i.e. mid-grey; only the crop matters here
        let back = to_classifier_input(&padded.view([2, 1024])).unwrap();
        assert_eq!(back.size(), vec![2, 1, 28, 28]);
        let want = (&digit + 1.0) / 2.0;
        assert!((back - want).abs().max().double_value(&[]) < 1e-7);
        // -1 (background) -> 0, 1 (ink) -> 1.
        let x = Tensor::from_slice(&[-1.0f32, 1.0]).repeat([392]).view([1, 784]);
        let v = Vec::<f32>::try_from(to_classifier_input(&x).unwrap().view([-1])).unwrap();
        assert_eq!((v[0], v[1]), (0.0, 1.0));
        // Bytes and [0, 1] batches agree with the tensor path.
        let set = ImageSet::new(28, 28, (0..784).map(|i| (i % 256) as u8).collect(), vec![3]).unwrap();
        let from_set = set.to_pm1().unwrap();
        let from_batch = ImageBatch::from_image_set(&set, 1).unwrap().to_pm1().unwrap();
        assert!((&from_set - &from_batch).abs().max().double_value(&[]) < 1e-6);
        assert!((from_set.min().double_value(&[]) + 1.0).abs() < 1e-6);
        // Out-of-range tensors and odd shapes are named.
        let bytes = Tensor::full([1, 784], 255.0, (Kind::Float, Device::Cpu));
        assert!(bytes.to_pm1().unwrap_err().to_string().contains("[-1, 1]"));
        let odd = Tensor::zeros([1, 1, 30, 30], (Kind::Float, Device::Cpu));
        assert!(odd.to_pm1().unwrap_err().to_string().contains("[1, 1, 30, 30]"));
    }

    #[test]
    fn features_have_the_classifier_width() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(0);
        let fx = FeatureExtractor::from_classifier(Classifier::new(Arch::LeNet, Device::Cpu));
        let mut fx = fx.with_test_accuracy(0.5);
        fx.batch_size = 3; // several batches
        let x = Tensor::rand([7, 1024], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let f = fx.features(&x).unwrap();
        assert_eq!(f.size(), vec![7, 84]);
        let direct = fx.classifier().features(&to_classifier_input(&x).unwrap()).unwrap();
        let diff = (&f - &direct).abs().max().double_value(&[]);
        let scale = direct.abs().max().double_value(&[]);
        assert!(diff < 1e-5 * scale.max(1.0), "batched features differ by {diff} (scale {scale})");
        assert_eq!((fx.name().as_str(), fx.test_accuracy()), ("LeNet", Some(0.5)));
        assert!(FeatureExtractor::load_or_train("x.pt", &ClassifierConfig::default()).unwrap_err().to_string().contains("safetensors"));
    }
}
