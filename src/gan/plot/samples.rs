//! Generated samples over training: the fixed-noise grids a run kept, side
//! by side with their epoch, so a student sees the digits emerge.
use crate::data::ImageBatch;
use crate::error::{Error, Result};
use crate::gan::TrainHistory;
use crate::plot::{captioned_grids, Figure};

/// Every kept snapshot of the run's fixed noise as a grid of `nrow` images per
/// row, captioned with its epoch (3 grids per row of the figure).
pub fn plot_samples_over_epochs(history: impl AsRef<TrainHistory>, nrow: usize) -> Result<Figure> {
    let h = history.as_ref();
    if h.samples.is_empty() {
        return Err(Error::Plot(
            "the run kept no samples: train with sample_epochs (with_sample_epochs) naming some epochs".into(),
        ));
    }
    let items: Vec<(String, &ImageBatch)> = h.samples.iter().map(|s| (format!("epoch {} (step {})", s.epoch, s.step), &s.images)).collect();
    captioned_grids(&items, nrow, 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::SampleSnapshot;

    #[test]
    fn grids_are_laid_out_with_captions() {
        let snap = |epoch, v: f32| SampleSnapshot {
            epoch,
            step: epoch * 10,
            images: ImageBatch::new(4, 1, 3, 3, vec![v; 36]).unwrap(),
        };
        let mut h = TrainHistory::default();
        assert!(plot_samples_over_epochs(&h, 2).unwrap_err().to_string().contains("sample_epochs"));
        h.samples = vec![snap(1, 0.0), snap(2, 1.0), snap(3, 0.0), snap(4, 1.0)];
        let fig = plot_samples_over_epochs(&h, 2).unwrap();
        // Grid: 2x2 images of 3x3 at scale 2, padding 1*2: 2*6 + 3*2 = 18 square.
        // 3 columns: 3*18 + 4*12 = 102 wide; 2 rows: 2*(18 + 24) + 3*12 = 120 high.
        assert_eq!((fig.width, fig.height), (102, 120));
        let img = image::load_from_memory(fig.png_bytes()).unwrap().to_rgb8();
        // First image of the first grid (black) and of the second grid (white).
        assert_eq!(img.get_pixel(12 + 3, 12 + 24 + 3).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(12 + 18 + 12 + 3, 12 + 24 + 3).0, [255, 255, 255]);
        // The caption band holds dark text pixels.
        let dark = (12..12 + 18).flat_map(|x| (12..12 + 20).map(move |y| (x, y))).filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100).count();
        assert!(dark > 5, "no caption drawn ({dark} dark pixels)");
    }
}
