//! Overlapping patch extraction and re-assembly for images (matrices).
//!
//! A patch of size `ph x pw` is vectorised column-major into a column of length `ph * pw`.
//! Patch origins run over `0, s, 2s, ...` in each axis and always include the last possible
//! origin (`H - ph`, `W - pw`), so every pixel is covered even when the stride does not divide
//! the image; re-assembly divides each pixel by the number of patches covering it.

use faer::{Mat, MatRef};

use crate::error::{check, Error, Result};

/// The grid of patch origins for an image and a patch size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchGrid {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Patch height.
    pub patch_h: usize,
    /// Patch width.
    pub patch_w: usize,
    /// Row origins of the patches.
    pub rows: Vec<usize>,
    /// Column origins of the patches.
    pub cols: Vec<usize>,
}

fn origins(len: usize, p: usize, stride: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=len - p).step_by(stride).collect();
    if *v.last().expect("len >= p") != len - p {
        v.push(len - p);
    }
    v
}

impl PatchGrid {
    /// The grid for an `height x width` image, `patch_h x patch_w` patches and
    /// `1 <= stride <= min(patch_h, patch_w)` (so that every pixel is covered).
    pub fn new(
        height: usize,
        width: usize,
        patch_h: usize,
        patch_w: usize,
        stride: usize,
    ) -> Result<Self> {
        check::count("patch_h", patch_h, height.max(1))?;
        check::count("patch_w", patch_w, width.max(1))?;
        // A stride larger than the patch would leave pixels that no patch covers.
        check::count("stride", stride, patch_h.min(patch_w))?;
        if height == 0 || width == 0 {
            return Err(Error::Empty {
                argument: "image",
                expected: "an image with at least one pixel".into(),
            });
        }
        Ok(Self {
            height,
            width,
            patch_h,
            patch_w,
            rows: origins(height, patch_h, stride),
            cols: origins(width, patch_w, stride),
        })
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.rows.len() * self.cols.len()
    }

    /// Whether the grid holds no patch (never, for a valid grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Patch length `patch_h * patch_w`.
    pub fn patch_len(&self) -> usize {
        self.patch_h * self.patch_w
    }

    /// Origin `(row, col)` of patch `k` (patches are ordered column of origins first).
    ///
    /// # Errors
    /// When `k >= len()`.
    pub fn origin(&self, k: usize) -> Result<(usize, usize)> {
        if k >= self.len() {
            return Err(crate::Error::InvalidParameter {
                name: "k",
                value: k.to_string(),
                expected: format!("a patch index below {}", self.len()),
            });
        }
        Ok(self.origin_unchecked(k))
    }

    /// [`origin`](Self::origin) for `k < len()` (internal loops).
    fn origin_unchecked(&self, k: usize) -> (usize, usize) {
        (
            self.rows[k % self.rows.len()],
            self.cols[k / self.rows.len()],
        )
    }

    /// All patches of `img` as the columns of a `patch_len x len` matrix.
    pub fn extract(&self, img: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check::shape("img", img, self.height, self.width)?;
        let ph = self.patch_h;
        Ok(Mat::from_fn(self.patch_len(), self.len(), |e, k| {
            let (r, c) = self.origin_unchecked(k);
            img[(r + e % ph, c + e / ph)]
        }))
    }

    /// Re-assembles patches (columns) into an image, averaging overlapping pixels.
    pub fn assemble(&self, patches: MatRef<'_, f64>) -> Result<Mat<f64>> {
        let (sum, count) = self.accumulate(patches)?;
        Ok(Mat::from_fn(self.height, self.width, |i, j| {
            sum[(i, j)] / count[(i, j)]
        }))
    }

    /// Sums of the patches at each pixel and the number of patches covering it (for weighted
    /// averages such as `(lambda Y + sum R_k^T p_k) / (lambda + count)`).
    pub fn accumulate(&self, patches: MatRef<'_, f64>) -> Result<(Mat<f64>, Mat<f64>)> {
        check::shape("patches", patches, self.patch_len(), self.len())?;
        let mut sum = Mat::<f64>::zeros(self.height, self.width);
        let mut count = Mat::<f64>::zeros(self.height, self.width);
        let ph = self.patch_h;
        for k in 0..self.len() {
            let (r, c) = self.origin_unchecked(k);
            for e in 0..self.patch_len() {
                let (i, j) = (r + e % ph, c + e / ph);
                sum[(i, j)] += patches[(e, k)];
                count[(i, j)] += 1.0;
            }
        }
        Ok((sum, count))
    }
}

/// All `ph x pw` patches of `img` with the given stride (see [`PatchGrid`]).
pub fn extract_patches(
    img: MatRef<'_, f64>,
    ph: usize,
    pw: usize,
    stride: usize,
) -> Result<(Mat<f64>, PatchGrid)> {
    let grid = PatchGrid::new(img.nrows(), img.ncols(), ph, pw, stride)?;
    let p = grid.extract(img)?;
    Ok((p, grid))
}
