//! Strips of images with a label column: latent interpolations, class
//! sweeps and latent arithmetic (notebook 04, [`crate::latent_space`]).
use super::LatentArithmetic;
use crate::data::ImageBatch;
use crate::error::{Error, Result};
use crate::plot::figure::{ensure_font, plot_err, Figure};
use crate::plot::grid::{grid_rgb, GridOptions};
use plotters::prelude::*;

/// Screen pixels per image pixel in a strip.
pub const STRIP_SCALE: usize = 3;
/// Width of the label column, in screen pixels.
pub const LABEL_WIDTH: usize = 170;
const MARGIN: usize = 6;

/// One row per `(label, images)`: the label on the left, the images in a
/// single row (each at [`STRIP_SCALE`]×, 1 pixel of padding) on the right.
/// Size: `LABEL_WIDTH + widest row + 2·6` by `Σ row heights + (rows + 1)·6`.
pub fn plot_interpolation<S: AsRef<str>>(rows: &[(S, ImageBatch)]) -> Result<Figure> {
    if rows.is_empty() {
        return Err(Error::Plot("no rows to draw: give at least one (label, images)".into()));
    }
    let grids = rows
        .iter()
        .map(|(_, b)| grid_rgb(b, GridOptions { nrow: b.n.max(1), padding: 1, scale: STRIP_SCALE, pad_value: 255 }))
        .collect::<Result<Vec<_>>>()?;
    let strip_w = grids.iter().map(|g| g.1).max().unwrap_or(0);
    let width = LABEL_WIDTH + strip_w + 2 * MARGIN;
    let height = grids.iter().map(|g| g.2).sum::<usize>() + (grids.len() + 1) * MARGIN;
    let mut rgb = vec![255u8; width * height * 3];
    let mut tops = Vec::new();
    let mut y0 = MARGIN;
    for (pixels, w, h) in &grids {
        tops.push((y0, *h));
        for y in 0..*h {
            let o = ((y0 + y) * width + MARGIN + LABEL_WIDTH) * 3;
            rgb[o..o + w * 3].copy_from_slice(&pixels[y * w * 3..(y + 1) * w * 3]);
        }
        y0 += h + MARGIN;
    }
    ensure_font()?;
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width as u32, height as u32)).into_drawing_area();
        for ((label, _), (top, h)) in rows.iter().zip(&tops) {
            // Up to two lines per label, split at " | ".
            let lines: Vec<&str> = label.as_ref().splitn(2, " | ").collect();
            let first_y = (*top + h / 2) as i32 - 8 * lines.len() as i32;
            for (i, line) in lines.iter().enumerate() {
                let style = ("sans-serif", 14).into_font().color(&BLACK);
                root.draw(&Text::new(line.to_string(), (MARGIN as i32, first_y + 16 * i as i32), style)).map_err(plot_err)?;
            }
        }
        root.present().map_err(plot_err)?;
    }
    Figure::from_rgb(&rgb, width as u32, height as u32)
}

/// The groups a, b, c (each row: the group's images, then the image of its
/// mean code, last) and the result `ā − b̄ + c̄`, labelled with their ink.
pub fn plot_latent_arithmetic(r: &LatentArithmetic, names: [&str; 3]) -> Result<Figure> {
    let mut rows = Vec::new();
    for (i, (g, name)) in r.groups.iter().zip(names).enumerate() {
        let mean = single(&r.means, i)?;
        let mut px = g.pixels.clone();
        px.extend_from_slice(&mean.pixels);
        let row = ImageBatch::new(g.n + 1, g.channels, g.height, g.width, px)?;
        let sign = ["", "− ", "+ "][i];
        rows.push((format!("{sign}{name} | mean code: ink {:.3}", r.ink[i]), row));
    }
    let label = match r.result_label {
        Some((l, p)) => format!("= result, read as {l} ({:.0}%) | ink {:.3} (guess {:.3})", 100.0 * p, r.ink[3], r.ink_expected),
        None => format!("= result | ink {:.3} (guess {:.3})", r.ink[3], r.ink_expected),
    };
    rows.push((label, single(&r.means, 3)?));
    plot_interpolation(&rows)
}

fn single(b: &ImageBatch, i: usize) -> Result<ImageBatch> {
    let per = b.channels * b.height * b.width;
    if i >= b.n {
        return Err(Error::Shape(format!("image {i} of a batch of {}", b.n)));
    }
    ImageBatch::new(1, b.channels, b.height, b.width, b.pixels[i * per..(i + 1) * per].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_size_pixels_and_labels() {
        let row = |n: usize, v: f32| ImageBatch::new(n, 1, 28, 28, vec![v; n * 784]).unwrap();
        let fig = plot_interpolation(&[("linear", row(8, 0.0)), ("spherical | second line", row(5, 1.0))]).unwrap();
        // Row of 8: 8*28*3 + 9*3 = 699 wide, 28*3 + 2*3 = 90 high.
        let (strip_w, strip_h) = (8 * 84 + 9 * 3, 84 + 6);
        assert_eq!((fig.width as usize, fig.height as usize), (LABEL_WIDTH + strip_w + 12, 2 * strip_h + 3 * 6));
        let img = image::load_from_memory(fig.png_bytes()).unwrap().to_rgb8();
        let (x0, y0) = ((6 + LABEL_WIDTH + 3) as u32, (6 + 3) as u32);
        assert_eq!(img.get_pixel(x0 + 1, y0 + 1).0, [0, 0, 0], "first image of row 1 is black");
        assert_eq!(img.get_pixel(x0 + 1, y0 + strip_h as u32 + 6 + 1).0, [255, 255, 255], "row 2 is white");
        let dark = (6..LABEL_WIDTH as u32).flat_map(|x| (6..90u32).map(move |y| (x, y))).filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100).count();
        assert!(dark > 10, "no label drawn ({dark} dark pixels)");
        assert!(plot_interpolation::<&str>(&[]).is_err());
    }
}
