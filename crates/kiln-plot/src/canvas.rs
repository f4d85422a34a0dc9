//! An RGB pixel buffer with the few drawing operations the charts need.

use crate::font;

/// An 8-bit RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// White.
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    /// Black.
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    /// Light grey (grid lines, noise points).
    pub const GREY: Rgb = Rgb(190, 190, 190);
}

/// An RGB image; drawing outside it is clipped.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A `width × height` image filled with `background`.
    pub fn new(width: usize, height: usize, background: Rgb) -> Self {
        let pixels = [background.0, background.1, background.2].repeat(width * height);
        Self {
            width,
            height,
            pixels,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Row-major RGB bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The colour at `(x, y)` (which must be inside the image).
    pub fn get(&self, x: usize, y: usize) -> Rgb {
        let i = 3 * (y * self.width + x);
        Rgb(self.pixels[i], self.pixels[i + 1], self.pixels[i + 2])
    }

    /// Sets one pixel; outside the image does nothing.
    pub fn put(&mut self, x: i64, y: i64, colour: Rgb) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let i = 3 * (y as usize * self.width + x as usize);
        self.pixels[i..i + 3].copy_from_slice(&[colour.0, colour.1, colour.2]);
    }

    /// Fills a `w × h` rectangle whose top-left corner is `(x, y)`.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: usize, h: usize, colour: Rgb) {
        for dy in 0..h as i64 {
            for dx in 0..w as i64 {
                self.put(x + dx, y + dy, colour);
            }
        }
    }

    /// A straight line (Bresenham), `thickness` pixels wide.
    pub fn line(
        &mut self,
        (x0, y0): (i64, i64),
        (x1, y1): (i64, i64),
        thickness: usize,
        colour: Rgb,
    ) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        let half = thickness as i64 / 2;
        loop {
            self.fill_rect(x - half, y - half, thickness, thickness, colour);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Text in a 5 × 7 pixel font (upper-case; lower-case letters are drawn as capitals,
    /// unknown characters as blanks), its top-left corner at `(x, y)`, each font pixel
    /// `scale` pixels wide.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        for (i, ch) in text.chars().enumerate() {
            let glyph = font::glyph(ch);
            let left = x + (i * font::ADVANCE * scale) as i64;
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..font::WIDTH {
                    if bits & (1 << (font::WIDTH - 1 - col)) != 0 {
                        self.fill_rect(
                            left + (col * scale) as i64,
                            y + (row * scale) as i64,
                            scale,
                            scale,
                            colour,
                        );
                    }
                }
            }
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    pub fn text_width(text: &str, scale: usize) -> usize {
        text.chars().count() * font::ADVANCE * scale
    }
}
