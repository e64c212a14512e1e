//! Images as plain numbers: what a generator's samples become once they
//! leave the autograd graph, and what [`image_grid`](crate::plot::image_grid)
//! draws. A base type, so that models, metrics and the canvas share it.
use super::mnist::ImageSet;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// `n` images of `channels x height x width`, pixel values in `[0, 1]`
/// (0 = black), stored image after image, channel-major (like `[n, c, h, w]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBatch {
    pub n: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<f32>,
}

impl ImageBatch {
    /// Checks that the sizes agree and the values are in `[0, 1]`.
    pub fn new(n: usize, channels: usize, height: usize, width: usize, pixels: Vec<f32>) -> Result<Self> {
        if channels != 1 && channels != 3 {
            return Err(Error::Shape(format!("{channels} channels: images must have 1 (grey) or 3 (RGB)")));
        }
        if n * channels * height * width != pixels.len() || height * width == 0 {
            return Err(Error::Shape(format!(
                "{} values do not make {n} images of {channels}x{height}x{width}",
                pixels.len()
            )));
        }
        if let Some(v) = pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::Shape(format!("pixel value {v} is outside [0, 1]: rescale first")));
        }
        Ok(Self { n, channels, height, width, pixels })
    }

    /// From a tensor of values in `[0, 1]`: `[n, c, h, w]`, `[n, h, w]`
    /// (grey), or `[n, 784]` (read as 28x28 grey). Values are clamped.
    pub fn from_tensor_01(t: &Tensor) -> Result<Self> {
        let size = t.size();
        let (n, c, h, w) = match size.as_slice() {
            [n, c, h, w] => (*n, *c, *h, *w),
            [n, h, w] => (*n, 1, *h, *w),
            [n, 784] => (*n, 1, 28, 28),
            _ => {
                return Err(Error::Shape(format!(
                    "tensor of shape {size:?}: give [n, c, h, w], [n, h, w] or [n, 784]"
                )))
            }
        };
        let flat = t.detach().to_device(Device::Cpu).to_kind(Kind::Float).clamp(0.0, 1.0).contiguous().view([-1]);
        let pixels = Vec::<f32>::try_from(flat)?;
        Self::new(n as usize, c as usize, h as usize, w as usize, pixels)
    }

    /// From a tensor of values in `[-1, 1]` (a tanh generator's output).
    pub fn from_tensor_pm1(t: &Tensor) -> Result<Self> {
        Self::from_tensor_01(&((t.detach() + 1.0) / 2.0))
    }

    /// The first `n` images of a data set.
    pub fn from_image_set(set: &ImageSet, n: usize) -> Result<Self> {
        let n = n.min(set.len());
        let px = set.pixels[..n * set.image_size()].iter().map(|&p| p as f32 / 255.0).collect();
        Self::new(n, set.channels, set.rows, set.cols, px)
    }

    /// The first `k` images.
    pub fn take(&self, k: usize) -> Self {
        let k = k.min(self.n);
        let per = self.channels * self.height * self.width;
        Self { n: k, pixels: self.pixels[..k * per].to_vec(), ..self.clone() }
    }

    /// As a tensor `[n, c, h, w]` in `[0, 1]`.
    pub fn to_tensor(&self) -> Tensor {
        Tensor::from_slice(&self.pixels).view([self.n as i64, self.channels as i64, self.height as i64, self.width as i64])
    }

    /// RGB bytes of pixel `(x, y)` of image `i`.
    pub(crate) fn rgb(&self, i: usize, x: usize, y: usize) -> [u8; 3] {
        let plane = self.height * self.width;
        let base = i * self.channels * plane + y * self.width + x;
        let byte = |v: f32| (v * 255.0).round() as u8;
        if self.channels == 1 {
            let v = byte(self.pixels[base]);
            [v, v, v]
        } else {
            [byte(self.pixels[base]), byte(self.pixels[base + plane]), byte(self.pixels[base + 2 * plane])]
        }
    }
}

/// Anything [`image_grid`](crate::plot::image_grid) can draw.
pub trait ToImages {
    fn to_images(&self) -> Result<ImageBatch>;
}

impl ToImages for ImageBatch {
    fn to_images(&self) -> Result<ImageBatch> {
        Ok(self.clone())
    }
}

impl ToImages for ImageSet {
    fn to_images(&self) -> Result<ImageBatch> {
        ImageBatch::from_image_set(self, self.len())
    }
}

/// A tensor is read as `[-1, 1]` data (a generator's output, or normalised
/// data) when it holds any negative value, else as `[0, 1]`. Use
/// [`ImageBatch::from_tensor_01`] / [`ImageBatch::from_tensor_pm1`] to say which.
impl ToImages for Tensor {
    fn to_images(&self) -> Result<ImageBatch> {
        if self.numel() > 0 && self.min().double_value(&[]) < 0.0 {
            ImageBatch::from_tensor_pm1(self)
        } else {
            ImageBatch::from_tensor_01(self)
        }
    }
}

impl<T: ToImages + ?Sized> ToImages for &T {
    fn to_images(&self) -> Result<ImageBatch> {
        (**self).to_images()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_tensors_and_errors() {
        let t = Tensor::from_slice(&[-1.0f32, 0.0, 1.0, 0.5]).view([1, 1, 2, 2]);
        let b = t.to_images().unwrap();
        assert_eq!(b.pixels, vec![0.0, 0.5, 1.0, 0.75]);
        let flat = Tensor::zeros([3, 784], (Kind::Float, Device::Cpu));
        assert_eq!(flat.to_images().unwrap().height, 28);
        let bad = Tensor::zeros([3, 5], (Kind::Float, Device::Cpu));
        assert!(bad.to_images().unwrap_err().to_string().contains("[3, 5]"));
        assert!(ImageBatch::new(1, 1, 2, 2, vec![0.0, 2.0, 0.0, 0.0]).is_err());
        assert!(ImageBatch::new(2, 1, 2, 2, vec![0.0; 4]).is_err());
    }
}
