//! Captioned image grids side by side: samples over epochs, the last samples
//! of several runs, anything that pairs a label with an image batch.
use super::figure::{ensure_font, plot_err, Figure};
use super::grid::{grid_rgb, GridOptions};
use crate::data::{ImageBatch, ImageSet};
use crate::error::{Error, Result};
use plotters::prelude::*;

/// Image grids side by side (`cols` per row of the figure), each captioned:
/// `nrow` images per grid row, pixels doubled.
pub fn captioned_grids(items: &[(String, &ImageBatch)], nrow: usize, cols: usize) -> Result<Figure> {
    if items.is_empty() || cols == 0 {
        return Err(Error::Plot("nothing to draw: give at least one captioned image batch and one column".into()));
    }
    let options = GridOptions { nrow, scale: 2, padding: 1, pad_value: 128 };
    let grids = items.iter().map(|(_, b)| grid_rgb(*b, options)).collect::<Result<Vec<_>>>()?;
    let (gw, gh) = grids.iter().fold((0, 0), |(w, hh), (_, gw, gh)| (w.max(*gw), hh.max(*gh)));
    let (margin, caption) = (12usize, 24usize);
    let cols = grids.len().min(cols);
    let rows = grids.len().div_ceil(cols);
    let width = cols * gw + (cols + 1) * margin;
    let height = rows * (gh + caption) + (rows + 1) * margin;
    let mut rgb = vec![255u8; width * height * 3];
    let mut origins = Vec::new();
    for (i, (pixels, w, hh)) in grids.iter().enumerate() {
        let (ox, oy) = (margin + (i % cols) * (gw + margin), margin + (i / cols) * (gh + caption + margin));
        origins.push((ox, oy));
        for y in 0..*hh {
            let src = &pixels[y * w * 3..(y + 1) * w * 3];
            let o = ((oy + caption + y) * width + ox) * 3;
            rgb[o..o + w * 3].copy_from_slice(src);
        }
    }
    ensure_font()?;
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width as u32, height as u32)).into_drawing_area();
        for ((label, _), (ox, oy)) in items.iter().zip(&origins) {
            root.draw(&Text::new(label.as_str(), (*ox as i32, *oy as i32 + 3), ("sans-serif", 16).into_font().color(&BLACK)))
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Figure::from_rgb(&rgb, width as u32, height as u32)
}

/// The first `n` images of a data set, each captioned with its label
/// (`label 7`), `cols` per row: a preview of the data with its ground truth.
pub fn labelled_images(set: &ImageSet, n: usize, cols: usize) -> Result<Figure> {
    let n = n.min(set.len());
    let batches = (0..n)
        .map(|i| ImageBatch::new(1, set.channels, set.rows, set.cols, set.image(i).iter().map(|&p| p as f32 / 255.0).collect()))
        .collect::<Result<Vec<_>>>()?;
    let items: Vec<(String, &ImageBatch)> = batches.iter().zip(&set.labels).map(|(b, l)| (format!("label {l}"), b)).collect();
    captioned_grids(&items, 1, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_captioned_grids_side_by_side() {
        let black = ImageBatch::new(4, 1, 3, 3, vec![0.0; 36]).unwrap();
        let white = ImageBatch::new(4, 1, 3, 3, vec![1.0; 36]).unwrap();
        assert!(captioned_grids(&[], 2, 3).is_err());
        assert!(captioned_grids(&[("a".into(), &black)], 2, 0).is_err());
        let fig = captioned_grids(&[("a".into(), &black), ("b".into(), &white)], 2, 3).unwrap();
        // Grid: 2x2 images of 3x3 at scale 2, padding 2: 18 square; 2 columns:
        // 2*18 + 3*12 = 72 wide; one row: 18 + 24 (caption) + 2*12 = 66 high.
        assert_eq!((fig.width, fig.height), (72, 66));
        let img = image::load_from_memory(fig.png_bytes()).unwrap().to_rgb8();
        assert_eq!(img.get_pixel(12 + 3, 12 + 24 + 3).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(12 + 18 + 12 + 3, 12 + 24 + 3).0, [255, 255, 255]);
    }

    #[test]
    fn labelled_images_caption_each_digit_with_its_label() {
        // Two 3x3 images, labels 7 and 2, two per row: one grid row.
        let set = ImageSet::new(3, 3, [vec![0u8; 9], vec![255u8; 9]].concat(), vec![7, 2]).unwrap();
        let fig = labelled_images(&set, 5, 2).unwrap();
        // Each grid: one 3x3 image at scale 2 with padding 2: 10 square; 2*10 + 3*12 wide, 10 + 24 + 2*12 high.
        assert_eq!((fig.width, fig.height), (56, 58));
        let img = image::load_from_memory(fig.png_bytes()).unwrap().to_rgb8();
        // The first digit is black, the second white, each under its caption.
        assert_eq!(img.get_pixel(12 + 3, 12 + 24 + 3).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(12 + 10 + 12 + 3, 12 + 24 + 3).0, [255, 255, 255]);
        assert!(labelled_images(&set, 0, 2).is_err());
    }
}
