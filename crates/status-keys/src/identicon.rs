//! The identicon (2/ACCOUNT "Identicon"): a 5x5 mirrored pattern and a
//! colour, both from the MD5 of the key string, as status-go v0.55.1
//! (`protocol/identity/identicon`) computes them.
//!
//! status-go hashes the string `"0x" || hex(uncompressed key)`; cell
//! `(row i, column j)` is filled when byte `3i + min(j, 4 - j)` of the hash
//! is even; the colour is HSL(hue = (h[13] + h[14] + h[15]) / 765 * 360,
//! saturation 0.5, lightness 0.7) converted with go-colorful's formulas.
//! status-go then draws 6x6-pixel cells at offset (10, 10) on a transparent
//! 50x50 RGBA image and PNG-encodes it; [`Identicon::to_rgba`] gives those
//! pixels. The PNG/base64 wrapping is left to the caller: Go's encoder
//! output (filter choice, zlib stream) is not part of this crate.

use md5::{Digest, Md5};
use status_core::PublicKey;

/// Side of the square pattern, in cells.
pub const CELLS: usize = 5;
/// Side of a rendered cell, in pixels (status-go `sizeSquare`).
pub const CELL_PIXELS: usize = 6;
/// Side of the rendered image, in pixels.
pub const IMAGE_PIXELS: usize = 50;
/// Offset of the first cell from the image's top-left corner.
const MARGIN: usize = 10;

const SATURATION: f64 = 0.5;
const LIGHTNESS: f64 = 0.7;

/// A generated identicon: pattern bytes and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identicon {
    pattern: [u8; CELLS * CELLS],
    color: [u8; 3],
}

impl Identicon {
    /// The identicon of a chat key, from the string status-go hashes
    /// (`0x04...`, lowercase hex).
    pub fn from_public_key(key: &PublicKey) -> Self {
        let id = format!("0x{}", hex::encode(key.to_uncompressed()));
        Self::generate(&id)
    }

    /// The identicon of any string (status-go `generate(key string)`).
    ///
    /// ```
    /// let id = status_keys::Identicon::generate("Culona");
    /// assert_eq!(id.bitmap()[..5], [0, 0, 1, 0, 0]);
    /// ```
    pub fn generate(key: &str) -> Self {
        let hash: [u8; 16] = Md5::digest(key.as_bytes()).into();
        Identicon {
            pattern: pattern_from_hash(&hash),
            color: color_from_hash(&hash),
        }
    }

    /// The 25 hash bytes behind the cells, row by row (mirrored columns).
    pub fn pattern(&self) -> [u8; CELLS * CELLS] {
        self.pattern
    }

    /// Row-major cells: 1 = filled (even pattern byte), 0 = empty.
    pub fn bitmap(&self) -> [u8; CELLS * CELLS] {
        let mut b = [0u8; CELLS * CELLS];
        for (cell, &v) in b.iter_mut().zip(&self.pattern) {
            *cell = u8::from(v % 2 == 0);
        }
        b
    }

    /// The fill colour as status-go draws it: 8-bit sRGB, each channel the
    /// top byte of go-colorful's 16-bit value `uint32(c * 65535 + 0.5)`.
    pub fn color(&self) -> [u8; 3] {
        self.color
    }

    /// The 50x50 RGBA pixels of status-go's rendering (row-major, 4 bytes a
    /// pixel, transparent background, opaque cells).
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut img = vec![0u8; IMAGE_PIXELS * IMAGE_PIXELS * 4];
        for (i, &on) in self.bitmap().iter().enumerate() {
            if on == 0 {
                continue;
            }
            let x0 = MARGIN + (i % CELLS) * CELL_PIXELS;
            let y0 = MARGIN + (i / CELLS) * CELL_PIXELS;
            for y in y0..y0 + CELL_PIXELS {
                for x in x0..x0 + CELL_PIXELS {
                    let p = (y * IMAGE_PIXELS + x) * 4;
                    if let Some(px) = img.get_mut(p..p + 4) {
                        px.copy_from_slice(&[self.color[0], self.color[1], self.color[2], 0xff]);
                    }
                }
            }
        }
        img
    }
}

fn pattern_from_hash(h: &[u8; 16]) -> [u8; CELLS * CELLS] {
    let mut p = [0u8; CELLS * CELLS];
    for i in 0..CELLS {
        for j in 0..CELLS {
            let jj = if j > 2 { 4 - j } else { j };
            p[CELLS * i + j] = h[3 * i + jj];
        }
    }
    p
}

fn color_from_hash(h: &[u8; 16]) -> [u8; 3] {
    let sum = f64::from(h[13]) + f64::from(h[14]) + f64::from(h[15]);
    let hue = (sum / 765.0) * 360.0;
    let (r, g, b) = hsl(hue, SATURATION, LIGHTNESS);
    // go-colorful Color.RGBA(), then image/draw keeps the top byte.
    let to8 = |c: f64| ((c * 65535.0 + 0.5) as u32 >> 8) as u8;
    [to8(r), to8(g), to8(b)]
}

/// go-colorful v1.0.3 `Hsl(h, s, l)`, step for step (same float ops, same
/// order, so the same rounding).
fn hsl(h: f64, s: f64, l: f64) -> (f64, f64, f64) {
    if s == 0.0 {
        return (l, l, l);
    }
    let t1 = if l < 0.5 {
        l * (1.0 + s)
    } else {
        l + s - l * s
    };
    let t2 = 2.0 * l - t1;
    let h = h / 360.0;
    let wrap = |mut t: f64| {
        if t < 0.0 {
            t += 1.0;
        }
        if t > 1.0 {
            t -= 1.0;
        }
        t
    };
    let channel = |t: f64| {
        if 6.0 * t < 1.0 {
            t2 + (t1 - t2) * 6.0 * t
        } else if 2.0 * t < 1.0 {
            t1
        } else if 3.0 * t < 2.0 {
            t2 + (t1 - t2) * (2.0 / 3.0 - t) * 6.0
        } else {
            t2
        }
    };
    (
        channel(wrap(h + 1.0 / 3.0)),
        channel(wrap(h)),
        channel(wrap(h - 1.0 / 3.0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsl_primaries() {
        assert_eq!(hsl(0.0, 1.0, 0.5), (1.0, 0.0, 0.0));
        assert_eq!(hsl(120.0, 1.0, 0.5), (0.0, 1.0, 0.0));
        assert_eq!(hsl(240.0, 1.0, 0.5), (0.0, 0.0, 1.0));
        assert_eq!(hsl(10.0, 0.0, 0.25), (0.25, 0.25, 0.25));
    }

    #[test]
    fn rendering_fills_six_by_six_cells_at_the_margin() {
        let id = Identicon::generate("Culona");
        let img = id.to_rgba();
        assert_eq!(img.len(), 50 * 50 * 4);
        let filled = img.chunks(4).filter(|p| p[3] == 0xff).count();
        let cells = id.bitmap().iter().filter(|&&c| c == 1).count();
        assert_eq!(filled, cells * 36);
        // Cell 2 (row 0, column 2) is filled: pixel (22, 10).
        let p = (10 * 50 + 22) * 4;
        assert_eq!(
            img[p..p + 4],
            [id.color()[0], id.color()[1], id.color()[2], 0xff]
        );
        assert_eq!(img[..4], [0, 0, 0, 0]);
    }
}
