//! The initial model, per-layer statistics, and sparse codes by OMP, thresholding, synthesis.

use faer::{Mat, MatRef, Par};
use mlcsc::supervised::SparseFeatures;
use mlcsc::{DataInit, Layer, MlModel, ValidGeometry};
use pursuit::{BatchOmp, Stop};
use sparse_core::{Dictionary, LinearOperator};

use crate::bench::BoxResult;

/// The 004 architecture with `atoms` deepest filters, initialised by [`DataInit`]: `D_1` from
/// random 7 x 7 patches of the training images (the ones with some ink), `D_2` sparse random
/// (5% non-zeros), `D_3` sparse (1%) back-projected images.
pub(super) fn init_model(images: MatRef<'_, f64>, atoms: usize, seed: u64) -> BoxResult<MlModel> {
    let geometries = [
        ValidGeometry::new(1, (28, 28), (7, 7), 2, 32)?,
        ValidGeometry::new(32, (11, 11), (5, 5), 1, 128)?,
        ValidGeometry::new(128, (7, 7), (7, 7), 1, atoms)?,
    ];
    Ok(DataInit::new(seed)
        .min_patch_norm(1.0)
        .middle_density(0.05)
        .last_density(0.01)
        .init(&geometries, images)?)
}

/// Mean non-zeros per image of every layer's code, mean stripe norm `||Gamma_i||_{0,inf}`
/// (with respect to `D_i`), and the relative reconstruction error.
type Stats = (Vec<f64>, Vec<f64>, f64);

pub(super) fn layer_stats(
    model: &MlModel,
    gamma: &Mat<f64>,
    y: MatRef<'_, f64>,
) -> BoxResult<Stats> {
    let (codes, xhat) = model.propagate(gamma.as_ref())?;
    let b = gamma.ncols() as f64;
    let mut nnz = Vec::new();
    let mut local = Vec::new();
    for (i, c) in codes.iter().enumerate() {
        let layer = model.layer(i + 1)?;
        let (mut n0, mut n0inf) = (0usize, 0usize);
        for j in 0..c.ncols() {
            let col: Vec<f64> = c.col(j).iter().copied().collect();
            n0 += col.iter().filter(|v| v.abs() > 1e-10).count();
            n0inf += layer.l0_inf(&col, 1e-10)?;
        }
        nnz.push(n0 as f64 / b);
        local.push(n0inf as f64 / b);
    }
    let rel = (&xhat - y).norm_l2() / y.norm_l2();
    Ok((nnz, local, rel))
}

/// Signals coded per call (bounds the dense intermediate codes).
pub(super) const CODE_CHUNK: usize = 2500;

/// Batch-OMP of `s` atoms of the (explicit) dictionary `eff` for every column of `y`, in the
/// scale of the unnormalised atoms (`y ~ eff g`), as sparse columns. Zero atoms are left out.
pub(super) fn omp_sparse(
    eff: &Mat<f64>,
    s: usize,
    y: MatRef<'_, f64>,
) -> BoxResult<SparseFeatures> {
    let norms: Vec<f64> = (0..eff.ncols()).map(|j| eff.col(j).norm_l2()).collect();
    let keep: Vec<usize> = (0..eff.ncols()).filter(|&j| norms[j] > 1e-12).collect();
    let sub = Mat::<f64>::from_fn(eff.nrows(), keep.len(), |i, k| eff[(i, keep[k])]);
    let d = Dictionary::from_matrix(sub.as_ref())?;
    let gram = d.gram_par(Par::rayon(0));
    let omp = BatchOmp::new(Stop::Sparsity(s));
    let mut out = SparseFeatures::new(eff.ncols());
    let mut start = 0;
    while start < y.ncols() {
        let w = CODE_CHUNK.min(y.ncols() - start);
        let g = omp
            .code_with_gram(&d, gram.as_ref(), y.subcols(start, w))?
            .codes;
        let mut full = Mat::<f64>::zeros(eff.ncols(), w);
        for (k, &j) in keep.iter().enumerate() {
            for c in 0..w {
                full[(j, c)] = g[(k, c)] / norms[j];
            }
        }
        out.append_dense(full.as_ref());
        start += w;
    }
    Ok(out)
}

/// The `k` largest correlations in magnitude with the normalised atoms of `eff`, `top_k(D^T y)`
/// (the encoder of a k-sparse autoencoder; the projection by thresholding), as sparse columns.
pub(super) fn thr_sparse(eff: &Mat<f64>, k: usize, y: MatRef<'_, f64>) -> SparseFeatures {
    let m = eff.ncols();
    let mut dn = eff.clone();
    for j in 0..m {
        let n = dn.col(j).norm_l2();
        if n > 1e-12 {
            dn.col_mut(j).iter_mut().for_each(|v| *v /= n);
        }
    }
    let k = k.min(m);
    let mut out = SparseFeatures::new(m);
    let mut start = 0;
    while start < y.ncols() {
        let w = CODE_CHUNK.min(y.ncols() - start);
        let mut c = Mat::<f64>::zeros(m, w);
        faer::linalg::matmul::matmul(
            c.as_mut(),
            faer::Accum::Replace,
            dn.transpose(),
            y.subcols(start, w),
            1.0,
            Par::rayon(0),
        );
        let mut keep = Mat::<f64>::zeros(m, w);
        let mut idx: Vec<usize> = (0..m).collect();
        for j in 0..w {
            idx.select_nth_unstable_by(k.saturating_sub(1), |&a, &b| {
                c[(b, j)].abs().total_cmp(&c[(a, j)].abs())
            });
            for &i in &idx[..k] {
                keep[(i, j)] = c[(i, j)];
            }
        }
        out.append_dense(keep.as_ref());
        start += w;
    }
    out
}

/// `layer(x)` for sparse columns `x`, as sparse columns (entries below `1e-12` dropped).
pub(super) fn synth_sparse(layer: &Layer, x: &SparseFeatures) -> SparseFeatures {
    let mut out = SparseFeatures::new(layer.nrows());
    let mut start = 0;
    while start < x.ncols() {
        let w = CODE_CHUNK.min(x.ncols() - start);
        let dense = x.subcols(start, w).to_dense();
        let mut y = Mat::<f64>::zeros(layer.nrows(), w);
        layer.apply_raw(dense.as_ref(), y.as_mut(), Par::rayon(0));
        y.as_mut().col_iter_mut().for_each(|c| {
            c.iter_mut()
                .for_each(|v| *v = if v.abs() < 1e-12 { 0.0 } else { *v })
        });
        out.append_dense(y.as_ref());
        start += w;
    }
    out
}
