//! `cargo xtask reproduce mlista --dictlearn`: unsupervised convolutional ML-CSC dictionary
//! learning on MNIST (Sulam, Papyan, Romano & Elad, *Multi-layer convolutional sparse modeling:
//! pursuit and dictionary learning*, IEEE TSP 2018) in the setting of the lecture notes (004):
//! `D_1` 32 filters 7 x 7 with stride 2 (28 x 28 -> 11 x 11 x 32), `D_2` 128 filters 5 x 5 x 32
//! (-> 7 x 7 x 128), `D_3` 1024 filters 7 x 7 x 128 (-> 1 x 1 x 1024), valid convolutions; the
//! deeper dictionaries sparse (l1 on their filters).
//!
//! Training on the 8,000 images of the seeded split, then on the 2,000 held-out ones: the
//! deepest code by projection (OMP of `s` atoms on `D_1 D_2 D_3`), every `Gamma_i` from it, the
//! sparsity of every layer, the reconstruction error, and the test error of a linear (softmax)
//! classifier trained on the deepest codes of the training images, next to the same classifier
//! on raw pixels. Writes the effective atoms `D_1`, `D_1 D_2`, `D_1 D_2 D_3` as PNG tiles,
//! the learned model as JSON, and `dictlearn.md`.
//!
//! Options (after `--dictlearn`): `--dl-epochs N` (3), `--dl-sparsity S` (16), `--dl-train N`
//! (8000), `--dl-zeta Z2,Z3` (l1 weights of `D_2`, `D_3`), `--dl-rate R` (step in units of
//! `1 / L`), `--dl-lambda L` (Lasso weight of the basis-pursuit probe), `--seed N`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use faer::Mat;
use indicatif::{ProgressBar, ProgressStyle};
use mlcsc::data::read_mnist;
use mlcsc::learn::{effective_filters, tile_atoms, MlDictionaryLearning};
use mlcsc::supervised::LinearClassifier;
use mlcsc::{Layer, MlModel, Projection, ValidConv, ValidGeometry};
use rand::seq::index::sample;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::LinearOperator;

use crate::bench::{workspace_root, BoxResult};

/// Options of the experiment.
pub struct DlConfig {
    /// Passes over the training images.
    pub epochs: usize,
    /// Deepest atoms per image.
    pub sparsity: usize,
    /// Training images used (of the 8,000).
    pub train: usize,
    /// l1 weights of `D_2` and `D_3`.
    pub zeta: (f64, f64),
    /// Step as a fraction of each block's `1 / L`.
    pub rate: f64,
    /// Lasso weight of the basis-pursuit probe.
    pub lambda: f64,
    /// Seed of the split, the initialisation and the shuffling.
    pub seed: u64,
}

/// Filters with exactly `nnz` non-zero Gaussian entries each, unit norm.
fn sparse_filters<R: Rng>(len: usize, maps: usize, nnz: usize, rng: &mut R) -> Mat<f64> {
    let mut f = Mat::<f64>::zeros(len, maps);
    for q in 0..maps {
        for r in sample(rng, len, nnz.min(len)).iter() {
            f[(r, q)] = StandardNormal.sample(rng);
        }
        let n = f.col(q).norm_l2().max(f64::MIN_POSITIVE);
        f.col_mut(q).iter_mut().for_each(|v| *v /= n);
    }
    f
}

/// The 004 architecture, `D_1` from random 7 x 7 patches of the training images (the ones with
/// some ink), `D_2` sparse random (5% non-zeros), `D_3` sparse (1%) back-projected images.
fn init_model(images: &Mat<f64>, seed: u64) -> BoxResult<MlModel> {
    let mut rng = sparse_core::generate::rng(seed);
    let g1 = ValidGeometry::new(1, (28, 28), (7, 7), 2, 32)?;
    let g2 = ValidGeometry::new(32, (11, 11), (5, 5), 1, 128)?;
    let g3 = ValidGeometry::new(128, (7, 7), (7, 7), 1, 1024)?;
    let mut f1 = Mat::<f64>::zeros(49, 32);
    let mut q = 0;
    while q < 32 {
        let img = rng.random_range(0..images.ncols());
        let (r0, c0) = (rng.random_range(0..22), rng.random_range(0..22));
        let patch =
            Mat::<f64>::from_fn(49, 1, |e, _| images[(r0 + e % 7 + 28 * (c0 + e / 7), img)]);
        let n = patch.col(0).norm_l2();
        if n < 1.0 {
            continue;
        }
        for e in 0..49 {
            f1[(e, q)] = patch[(e, 0)] / n;
        }
        q += 1;
    }
    let f2 = sparse_filters(g2.patch_len(), 128, g2.patch_len() / 20, &mut rng);
    // D_3 from data: the back-projections D_2^T D_1^T y of random training images, keeping the
    // largest 1% of each (so that the effective atoms D_1 D_2 D_3 start as smoothed digits).
    let l1 = ValidConv::new(g1, f1.as_ref())?;
    let l2 = ValidConv::new(g2, f2.as_ref())?;
    let picks: Vec<usize> = (0..1024)
        .map(|_| rng.random_range(0..images.ncols()))
        .collect();
    let ys = Mat::<f64>::from_fn(784, 1024, |i, j| images[(i, picks[j])]);
    let back = l2.apply_adjoint(l1.apply_adjoint(ys.as_ref())?.as_ref())?;
    let keep = g3.patch_len() / 100;
    let mut f3 = Mat::<f64>::zeros(g3.patch_len(), 1024);
    for q in 0..1024 {
        let mut idx: Vec<usize> = (0..g3.patch_len()).collect();
        idx.sort_unstable_by(|&a, &b| back[(b, q)].abs().total_cmp(&back[(a, q)].abs()));
        for &e in &idx[..keep] {
            f3[(e, q)] = back[(e, q)];
        }
        let n = f3.col(q).norm_l2().max(f64::MIN_POSITIVE);
        f3.col_mut(q).iter_mut().for_each(|v| *v /= n);
    }
    Ok(MlModel::new(vec![
        Layer::Valid(ValidConv::new(g1, f1.as_ref())?),
        Layer::Valid(ValidConv::new(g2, f2.as_ref())?),
        Layer::Valid(ValidConv::new(g3, f3.as_ref())?),
    ])?)
}

/// Mean non-zeros per image of every layer's code, mean stripe norm `||Gamma_i||_{0,inf}`
/// (with respect to `D_i`), and the relative reconstruction error.
type Stats = (Vec<f64>, Vec<f64>, f64);

fn layer_stats(model: &MlModel, gamma: &Mat<f64>, y: &Mat<f64>) -> BoxResult<Stats> {
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

/// Test accuracy of the softmax classifier trained on `(xtr, ltr)`, its ridge weight chosen
/// among `1e-4 .. 1` by accuracy on the last fifth of the training columns, then refitted on all.
fn probe(xtr: &Mat<f64>, ltr: &[usize], xte: &Mat<f64>, lte: &[usize]) -> BoxResult<(f64, f64)> {
    let n = xtr.ncols();
    let cut = n - n / 5;
    let (fit, val) = (
        xtr.as_ref().subcols(0, cut),
        xtr.as_ref().subcols(cut, n - cut),
    );
    let mut best = (f64::NEG_INFINITY, 1e-4);
    for l2 in [1e-4, 1e-3, 1e-2, 1e-1, 1.0] {
        let clf = LinearClassifier::new().l2(l2).fit(fit, &ltr[..cut], 10)?;
        let acc = clf.accuracy(val, &ltr[cut..])?;
        if acc > best.0 {
            best = (acc, l2);
        }
    }
    let clf = LinearClassifier::new()
        .l2(best.1)
        .fit(xtr.as_ref(), ltr, 10)?;
    Ok((clf.accuracy(xte.as_ref(), lte)?, best.1))
}

pub fn run(dir: &Path, cfg: &DlConfig) -> BoxResult<()> {
    let assets = workspace_root().join("assets");
    let all = read_mnist(
        assets.join("t10k-images-idx3-ubyte.gz"),
        assets.join("t10k-labels-idx1-ubyte.gz"),
    )?;
    let (train, test) = all.split(8000, cfg.seed)?;
    let n_train = cfg.train.clamp(1, 8000);
    let ytrain = train.images.as_ref().subcols(0, n_train).to_owned();
    let init = init_model(&train.images, cfg.seed)?;
    println!(
        "reproduce mlista --dictlearn: MNIST, valid convolutions 1x28x28 -(32 7x7 s2)-> 32x11x11 \
         -(128 5x5x32)-> 128x7x7 -(1024 7x7x128)-> 1024; {n_train} training images, {} epochs, \
         {} deepest atoms",
        cfg.epochs, cfg.sparsity
    );
    let bar = ProgressBar::new(cfg.epochs as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} epochs  {msg}  [{elapsed_precise}]",
    )?);
    bar.tick();
    let zeta = [0.0, cfg.zeta.0, cfg.zeta.1];
    let t0 = Instant::now();
    let mut md = String::from(
        "# Convolutional ML-CSC dictionary learning on MNIST\n\nValid convolutions \
         `D_1`: 32 filters 7x7 stride 2, `D_2`: 128 filters 5x5x32, `D_3`: 1024 filters 7x7x128 \
         (the setting of the lecture notes, 004). Sparse coding of the deepest layer by OMP on \
         `D_1 D_2 D_3`; proximal-gradient updates of every layer's filters, l1 on `D_2`, `D_3`.\n\n",
    );
    let _ = writeln!(
        md,
        "Training images: {n_train} (seeded split {}), deepest sparsity {}, zeta {:?}.\n",
        cfg.seed, cfg.sparsity, zeta
    );
    md.push_str("| epoch | MSE per pixel (train) | density D1 | density D2 | density D3 |\n| --- | --- | --- | --- | --- |\n");
    let learned = MlDictionaryLearning::new(cfg.sparsity)
        .zeta(zeta.to_vec())
        .rate(cfg.rate)
        .epochs(cfg.epochs)
        .batch_size(256)
        .seed(cfg.seed)
        .fit(&init, ytrain.as_ref(), |r| {
            bar.set_message(format!(
                "epoch {} mse {:.5} density {:.3?}",
                r.epoch, r.mse, r.density
            ));
            bar.inc(1);
            let _ = writeln!(
                md,
                "| {} | {:.5} | {:.3} | {:.3} | {:.3} |",
                r.epoch, r.mse, r.density[0], r.density[1], r.density[2]
            );
        })?;
    bar.finish_and_clear();
    let learn_s = t0.elapsed().as_secs_f64();
    // Representations of both splits, every layer, errors.
    let t1 = Instant::now();
    let pursuit = Projection::omp(cfg.sparsity);
    let gtrain = pursuit.deepest_code(&learned, train.images.as_ref())?;
    let gtest = pursuit.deepest_code(&learned, test.images.as_ref())?;
    let (nnz_train, local_train, rel_train) = layer_stats(&learned, &gtrain, &train.images)?;
    let (nnz_test, local_test, rel_test) = layer_stats(&learned, &gtest, &test.images)?;
    let (_, _, rel_init) = {
        let g = pursuit.deepest_code(&init, test.images.as_ref())?;
        layer_stats(&init, &g, &test.images)?
    };
    for (name, m) in [("codes_train.npy", &gtrain), ("codes_test.npy", &gtest)] {
        sparse_core::io::write_npy(dir.join(name), m.as_ref())?;
    }
    let (acc, l2_codes) = probe(&gtrain, &train.labels, &gtest, &test.labels)?;
    // The same probe on basis-pursuit codes of the deepest layer (the projection pursuit with
    // the Lasso, by LARS on the explicit effective dictionary), which are stabler than OMP's.
    let eff = learned.effective_dense(1, 3)?;
    let norms: Vec<f64> = (0..eff.ncols()).map(|j| eff.col(j).norm_l2()).collect();
    let dict = sparse_core::Dictionary::from_matrix(eff.as_ref())?;
    let lars = pursuit::lasso::Lars::new(cfg.lambda);
    let bp = |y: &Mat<f64>| -> BoxResult<Mat<f64>> {
        let mut g = lars.solve(&dict, y.as_ref())?.codes;
        for (j, n) in norms.iter().enumerate() {
            g.row_mut(j).iter_mut().for_each(|v| *v /= n);
        }
        Ok(g)
    };
    let (btrain, btest) = (bp(&train.images)?, bp(&test.images)?);
    let bp_nnz = btest
        .col_iter()
        .map(|c| c.iter().filter(|v| **v != 0.0).count())
        .sum::<usize>() as f64
        / btest.ncols() as f64;
    let (acc_bp, l2_bp) = probe(&btrain, &train.labels, &btest, &test.labels)?;
    let (acc_raw, l2_raw) = probe(&train.images, &train.labels, &test.images, &test.labels)?;
    let code_s = t1.elapsed().as_secs_f64();
    let lens = learned.dims();
    md.push_str("\n| layer | code length | mean non-zeros per image (train) | (test) | mean stripe norm l0,inf (train) | (test) |\n| --- | --- | --- | --- | --- | --- |\n");
    for i in 0..3 {
        let _ = writeln!(
            md,
            "| Gamma_{} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            i + 1,
            lens[i + 1],
            nnz_train[i],
            nnz_test[i],
            local_train[i],
            local_test[i]
        );
    }
    let _ = writeln!(
        md,
        "\nRelative reconstruction error `||Y - D_1 D_2 D_3 Gamma_3|| / ||Y||`: train {rel_train:.4}, \
         test {rel_test:.4} (initial dictionaries on the test images: {rel_init:.4}).\n\n\
         Linear (softmax) classifier on the deepest codes `Gamma_3` (1024-dimensional, {} \
         non-zeros): **test error {:.2}%** (2,000 held-out images; ridge weight {l2_codes:e} \
         chosen on a validation fifth of the training set); the same classifier on raw \
         pixels: {:.2}% (ridge {l2_raw:e}); on basis-pursuit codes of `Gamma_3` (Lasso, lambda \
         {}, {bp_nnz:.1} non-zeros on average): {:.2}% (ridge {l2_bp:e}). The reference (001) reports 1.15-1.30% for ML-CSC on full MNIST \
         (60,000 training images, supervised fine-tuning); here 8,000 images, unsupervised \
         dictionaries, a linear probe.\n\nTime: learning {learn_s:.0} s, coding and probes \
         {code_s:.0} s. Pictures: atoms_d1.png (32 filters 7x7), atoms_d12.png (128 molecules \
         15x15), atoms_d123.png (the first 256 of 1024 atoms, 27x27).",
        cfg.sparsity,
        100.0 * (1.0 - acc),
        100.0 * (1.0 - acc_raw),
        cfg.lambda,
        100.0 * (1.0 - acc_bp)
    );
    for (i, name, cols, max) in [
        (1, "atoms_d1.png", 8, 32),
        (2, "atoms_d12.png", 16, 128),
        (3, "atoms_d123.png", 16, 256),
    ] {
        let (atoms, shape) = effective_filters(&learned, i, (28, 28))?;
        let m = atoms.ncols().min(max);
        let img = tile_atoms(atoms.as_ref().subcols(0, m), shape, cols)?;
        sparse_core::io::write_png_gray(dir.join(name), img.as_ref())?;
    }
    learned.save(dir.join("model_dictlearn.json"))?;
    std::fs::write(dir.join("dictlearn.md"), &md)?;
    println!("{md}");
    println!("wrote {}", dir.display());
    Ok(())
}
