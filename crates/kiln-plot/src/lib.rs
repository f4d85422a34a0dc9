//! PNG output for kiln's examples: grids of images (generated digits, centroids), line
//! charts (losses, returns) and scatter plots (clusters). Pure Rust, no system libraries,
//! files written atomically.
//!
//! ```no_run
//! use kiln_plot::{Series, line_chart};
//! # fn main() -> Result<(), kiln_plot::PlotError> {
//! let loss = Series::new("loss", vec![(1.0, 0.9), (2.0, 0.5), (3.0, 0.4)]);
//! line_chart("training loss", "epoch", "loss", &[loss]).save_png("loss.png".as_ref())?;
//! # Ok(()) }
//! ```

mod canvas;
mod chart;
mod font;

pub use canvas::{Canvas, Rgb};
pub use chart::{Series, line_chart, scatter_chart};

use std::path::Path;

/// Errors of building or writing an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// Pixel values whose count does not match the shape given.
    #[error("{len} values do not make {count} images of {channels} × {height} × {width}")]
    Shape {
        /// Values given.
        len: usize,
        /// Images asked for.
        count: usize,
        /// Channels per image (1 or 3).
        channels: usize,
        /// Rows per image.
        height: usize,
        /// Columns per image.
        width: usize,
    },
    /// Only grey (1) or RGB (3) images are supported.
    #[error("images must have 1 or 3 channels, got {0}")]
    Channels(usize),
    /// The PNG encoder failed.
    #[error("encoding PNG: {0}")]
    Encode(String),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A grid of `count` images (`[count, channels, height, width]`, values in `[0, 1]`,
/// clamped), `cols` per row, separated by a 2-pixel dark border and scaled by `scale`.
///
/// # Errors
/// A value count that does not match the shape, or a channel count other than 1 or 3.
pub fn image_grid(
    values: &[f32],
    [count, channels, height, width]: [usize; 4],
    cols: usize,
    scale: usize,
) -> Result<Canvas, PlotError> {
    if channels != 1 && channels != 3 {
        return Err(PlotError::Channels(channels));
    }
    if values.len() != count * channels * height * width || cols == 0 || scale == 0 {
        return Err(PlotError::Shape {
            len: values.len(),
            count,
            channels,
            height,
            width,
        });
    }
    let rows = count.div_ceil(cols).max(1);
    let pad = 2;
    let (cell_h, cell_w) = (height * scale + pad, width * scale + pad);
    let mut canvas = Canvas::new(cols * cell_w + pad, rows * cell_h + pad, Rgb(40, 40, 40));
    let level = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    for i in 0..count {
        let (r, c) = (i / cols, i % cols);
        let image = &values[i * channels * height * width..(i + 1) * channels * height * width];
        for y in 0..height {
            for x in 0..width {
                let at = |ch: usize| level(image[(ch * height + y) * width + x]);
                let colour = if channels == 1 {
                    Rgb(at(0), at(0), at(0))
                } else {
                    Rgb(at(0), at(1), at(2))
                };
                canvas.fill_rect(
                    (c * cell_w + pad + x * scale) as i64,
                    (r * cell_h + pad + y * scale) as i64,
                    scale,
                    scale,
                    colour,
                );
            }
        }
    }
    Ok(canvas)
}

impl Canvas {
    /// The image as PNG bytes (8-bit RGB).
    ///
    /// # Errors
    /// [`PlotError::Encode`] if the encoder fails.
    pub fn encode_png(&self) -> Result<Vec<u8>, PlotError> {
        let mut bytes = Vec::new();
        let width = u32::try_from(self.width()).map_err(|e| PlotError::Encode(e.to_string()))?;
        let height = u32::try_from(self.height()).map_err(|e| PlotError::Encode(e.to_string()))?;
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| PlotError::Encode(e.to_string()))?;
        writer
            .write_image_data(self.pixels())
            .map_err(|e| PlotError::Encode(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| PlotError::Encode(e.to_string()))?;
        Ok(bytes)
    }

    /// Writes the image as a PNG file, atomically (temporary file, then rename).
    ///
    /// # Errors
    /// Encoding or writing failed; an existing file at `path` is then left as it was.
    pub fn save_png(&self, path: &Path) -> Result<(), PlotError> {
        let bytes = self.encode_png()?;
        kiln_core::write_atomic(path, &bytes).map_err(|source| PlotError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_places_each_image_in_its_cell() {
        // Two 2×2 grey images: the first black, the second white.
        let values = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let grid = image_grid(&values, [2, 1, 2, 2], 2, 1).unwrap();
        assert_eq!((grid.width(), grid.height()), (10, 6));
        assert_eq!(grid.get(2, 2), Rgb(0, 0, 0));
        assert_eq!(grid.get(6, 2), Rgb(255, 255, 255));
        assert_eq!(grid.get(0, 0), Rgb(40, 40, 40));
    }

    #[test]
    fn grid_rejects_a_wrong_shape_and_channel_count() {
        assert!(matches!(
            image_grid(&[0.0; 7], [2, 1, 2, 2], 2, 1),
            Err(PlotError::Shape { len: 7, .. })
        ));
        assert!(matches!(
            image_grid(&[0.0; 8], [1, 2, 2, 2], 1, 1),
            Err(PlotError::Channels(2))
        ));
    }

    #[test]
    fn png_round_trips_through_the_decoder() {
        let mut canvas = Canvas::new(3, 2, Rgb(1, 2, 3));
        canvas.put(2, 1, Rgb(200, 100, 50));
        let bytes = canvas.encode_png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[..3], &[1, 2, 3]);
        assert_eq!(&buf[15..18], &[200, 100, 50]);
    }
}
