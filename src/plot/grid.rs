//! A grid of images, like torchvision's `make_grid`: `nrow` images per row.
use super::figure::Figure;
use crate::data::{ImageBatch, ToImages};
use crate::error::{Error, Result};

/// Options of [`image_grid_with`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridOptions {
    /// Images per row.
    pub nrow: usize,
    /// Pixels between images (before scaling).
    pub padding: usize,
    /// Each image pixel becomes `scale x scale` screen pixels.
    pub scale: usize,
    /// Grey level of the padding, 0..=255.
    pub pad_value: u8,
}

impl Default for GridOptions {
    fn default() -> Self {
        Self { nrow: 8, padding: 2, scale: 4, pad_value: 128 }
    }
}

/// Images in a grid of `nrow` per row (e.g. the tutorial's 4x4 with
/// `nrow = 4`, its row of 5 with `nrow = 5`).
pub fn image_grid(images: impl ToImages, nrow: usize) -> Result<Figure> {
    image_grid_with(images, GridOptions { nrow, ..Default::default() })
}

/// [`image_grid`] with padding, scale and padding colour.
pub fn image_grid_with(images: impl ToImages, options: GridOptions) -> Result<Figure> {
    let (rgb, width, height) = grid_rgb(&images.to_images()?, options)?;
    Figure::from_rgb(&rgb, width as u32, height as u32)
}

/// The grid's RGB pixels with its width and height.
pub(crate) fn grid_rgb(b: &ImageBatch, options: GridOptions) -> Result<(Vec<u8>, usize, usize)> {
    if b.n == 0 {
        return Err(Error::Shape("no images to draw".into()));
    }
    if options.nrow == 0 || options.scale == 0 || options.scale > 32 {
        return Err(Error::config("nrow / scale", format!("nrow {} and scale {} must be >= 1 (scale <= 32)", options.nrow, options.scale)));
    }
    let cols = options.nrow.min(b.n);
    let rows = b.n.div_ceil(cols);
    let (s, p) = (options.scale, options.padding * options.scale);
    let width = cols * b.width * s + (cols + 1) * p;
    let height = rows * b.height * s + (rows + 1) * p;
    let mut rgb = vec![options.pad_value; width * height * 3];
    for i in 0..b.n {
        let (r, c) = (i / cols, i % cols);
        let (ox, oy) = (p + c * (b.width * s + p), p + r * (b.height * s + p));
        for y in 0..b.height * s {
            for x in 0..b.width * s {
                let px = b.rgb(i, x / s, y / s);
                let o = ((oy + y) * width + ox + x) * 3;
                rgb[o..o + 3].copy_from_slice(&px);
            }
        }
    }
    Ok((rgb, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_pixels() {
        // 5 images of 2x2: image i has constant value i/4.
        let px: Vec<f32> = (0..5).flat_map(|i| [i as f32 / 4.0; 4]).collect();
        let b = ImageBatch::new(5, 1, 2, 2, px).unwrap();
        let opts = GridOptions { nrow: 3, padding: 1, scale: 1, pad_value: 7 };
        let fig = image_grid_with(&b, opts).unwrap();
        // 3 columns: 3*2 + 4*1 = 10 wide; 2 rows: 2*2 + 3 = 7 high.
        assert_eq!((fig.width, fig.height), (10, 7));
        let img = image::load_from_memory(fig.png_bytes()).unwrap().to_rgb8();
        assert_eq!(img.get_pixel(0, 0).0, [7, 7, 7]);
        assert_eq!(img.get_pixel(1, 1).0, [0, 0, 0]); // image 0
        assert_eq!(img.get_pixel(4, 1).0, [64, 64, 64]); // image 1 = 0.25
        assert_eq!(img.get_pixel(1, 4).0, [191, 191, 191]); // image 3 = 0.75, row 2 col 1
        assert_eq!(img.get_pixel(4, 4).0, [255, 255, 255]); // image 4 = 1.0, row 2 col 2
        assert_eq!(img.get_pixel(7, 4).0, [7, 7, 7]); // no sixth image: padding
        assert!(fig.svg().contains("data:image/png;base64,"));
        assert!(image_grid(&b, 0).is_err());
    }
}
