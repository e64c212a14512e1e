//! A rendered figure: PNG and SVG of the same drawing, saved to files or
//! shown inline in an evcxr Jupyter notebook.
use crate::error::{Error, Result};
use base64::Engine;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled DejaVu Sans as plotters' `sans-serif` (no system
/// fonts needed). Safe to call often.
pub(crate) fn ensure_font() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES)
            .map_err(|_| "the bundled font DejaVuSans.ttf could not be read".to_string())
    })
    .clone()
    .map_err(Error::Plot)
}

/// Something drawn with plotters on any backend, so that one drawing gives
/// both the PNG and the SVG of a [`Figure`] (and can go onto other backends).
pub trait Drawing {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// A figure as PNG bytes and SVG text.
#[derive(Clone, PartialEq)]
pub struct Figure {
    pub width: u32,
    pub height: u32,
    png: Vec<u8>,
    svg: String,
}

impl std::fmt::Debug for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Figure({}x{}, {} PNG bytes)", self.width, self.height, self.png.len())
    }
}

impl Figure {
    /// Renders a drawing twice, onto a bitmap and onto an SVG document.
    pub fn render(width: u32, height: u32, drawing: &impl Drawing) -> Result<Figure> {
        ensure_font()?;
        let mut rgb = vec![255u8; (width * height * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            drawing.draw(&root)?;
            root.present().map_err(plot_err)?;
        }
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            drawing.draw(&root)?;
            root.present().map_err(plot_err)?;
        }
        Ok(Figure { width, height, png: encode_png(&rgb, width, height)?, svg })
    }

    /// A figure from RGB pixels; the SVG embeds the PNG.
    pub fn from_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Figure> {
        let png = encode_png(rgb, width, height)?;
        let svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
             <image width=\"{width}\" height=\"{height}\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/></svg>\n",
            base64::engine::general_purpose::STANDARD.encode(&png)
        );
        Ok(Figure { width, height, png, svg })
    }

    pub fn png_bytes(&self) -> &[u8] {
        &self.png
    }

    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// Saves as PNG or SVG, chosen by the file extension, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("png") => self.save_png(path),
            Some("svg") => self.save_svg(path),
            _ => Err(Error::config("path", format!("{}: name the file .png or .svg", path.display()))),
        }
    }

    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::fsutil::write_atomic(path, &self.png)
    }

    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::fsutil::write_atomic(path, self.svg.as_bytes())
    }

    /// The text evcxr reads as rich output: the PNG, base64-encoded.
    pub fn evcxr_content(&self) -> String {
        format!(
            "EVCXR_BEGIN_CONTENT image/png\n{}\nEVCXR_END_CONTENT\n",
            base64::engine::general_purpose::STANDARD.encode(&self.png)
        )
    }

    /// Shows the figure inline when it is the last expression of an evcxr cell.
    pub fn evcxr_display(&self) {
        print!("{}", self.evcxr_content());
    }
}

/// The crate's legend: a light box at `position`, series labels in `font_size` px.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", font_size))
        .draw()
        .map_err(plot_err)
}

pub(crate) fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Plot(e.to_string())
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    if rgb.len() != (width * height * 3) as usize {
        return Err(Error::Shape(format!("{} bytes are not an RGB image of {width}x{height}", rgb.len())));
    }
    // The png crate directly (not image, which pulls colour management crates
    // worth ~70 s of a 2-core build that make demo waits for; issue 17).
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(plot_err)?;
    writer.write_image_data(rgb).map_err(plot_err)?;
    writer.finish().map_err(plot_err)?;
    Ok(out)
}
