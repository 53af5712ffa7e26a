//! The second part of `cargo xtask bench csc`: the variants of convolutional BPDN next to
//! SPORCO's classes of the same names, on the same image and filters as the first part, one
//! thread each (SPORCO with one pyfftw thread), float64 and float32, the same iteration count from zero
//! codes with `RelStopTol = 1e-12` (every iteration runs):
//!
//! | ours | SPORCO | data |
//! | --- | --- | --- |
//! | [`MaskedCbpdn`] | `ConvBPDNMaskDcpl` (defaults: rho 1, no AutoRho) | half the pixels masked (seeded) |
//! | `Cbpdn::grad_reg(0.1, None)` | `ConvBPDNGradReg(mu = 0.1)` | the image |
//! | `Cbpdn::mu(0.1)` | `ConvElasticNet(mu = 0.1)` | the image |
//! | `Cbpdn::joint(0.1)` | `ConvBPDNJoint(mu = 0.1, dimK = 0)` | 3 channels: the image, flipped up-down, flipped left-right |
//! | [`MaskedCcmod`] (from zero) | `ConvCnstrMODMaskDcpl` (ISM; defaults) | the CBPDN codes of the image, half the pixels masked |
//! | one [`OnlineConvDictLearn`] step | one `OnlineConvBPDNDictLearn.solve` | the image, from the filters |
//!
//! Every row is repeated in float32 (tags `_f32`: the same data rounded, SPORCO with its
//! `DataType` option float32).
//!
//! For the last two the functional is `DFid` (the masked misfit of the dictionary iterate) and
//! the coding step's `ObjFun`; the online step's time is per CBPDN iteration of its coding.
//!
//! Reported: wall and solving-thread CPU ms per iteration (best of the alternating rounds), the
//! speed-up in CPU time, and the last iteration's functional on both sides (SPORCO's `ObjFun`,
//! our record of the same primal variable) with their relative difference.

use std::path::Path;
use std::time::Instant;

use csc::{Cbpdn, ConvDictionary, Grid, MaskedCbpdn, MaskedCcmod, OnlineConvDictLearn};
use faer::{Mat, MatRef, Par};
use rand::Rng;
use sparse_core::io::write_npy;
use sparse_core::Solve;

use super::{markdown, run_python, thread_cpu_secs, Best, BoxResult};

const MU: f64 = 0.1;

const PEER: &str = r#"
import time, numpy as np
import sporco.fft
import sporco.admm.cbpdn as cbpdn
import sporco.admm.ccmodmd as ccmodmd
from sporco.dictlrn import onlinecdl
sporco.fft.pyfftw_threads = 1
D = np.load("D.npy"); S = np.load("S.npy"); W = np.load("W.npy")
Z = np.load("Z.npy").reshape(S.shape[1], S.shape[0], -1).transpose(1, 0, 2)
S3 = np.stack([S, S[::-1, :], S[:, ::-1]], axis=2)
def make(tag, iters):
    name, _, prec = tag.partition("_")
    dt = np.float32 if prec == "f32" else np.float64
    def opt(cls, iters):
        return cls.Options({"Verbose": False, "MaxMainIter": iters, "RelStopTol": TOL,
                            "DataType": dt})
    Dd, Sd, Wd, S3d = D.astype(dt), S.astype(dt), W.astype(dt), S3.astype(dt)
    if name == "mask":
        return cbpdn.ConvBPDNMaskDcpl(Dd, Sd, LMBDA, Wd, opt(cbpdn.ConvBPDNMaskDcpl, iters))
    if name == "grad":
        return cbpdn.ConvBPDNGradReg(Dd, Sd, LMBDA, MU, opt(cbpdn.ConvBPDNGradReg, iters))
    if name == "enet":
        return cbpdn.ConvElasticNet(Dd, Sd, LMBDA, MU, opt(cbpdn.ConvElasticNet, iters))
    if name == "joint":
        return cbpdn.ConvBPDNJoint(Dd, S3d, LMBDA, MU, opt(cbpdn.ConvBPDNJoint, iters), dimK=0)
    if name == "ccmod":
        o = ccmodmd.ConvCnstrMODMaskDcplOptions(
            {"Verbose": False, "MaxMainIter": iters, "RelStopTol": TOL, "DataType": dt},
            method="ism")
        return ccmodmd.ConvCnstrMODMaskDcpl(Z.astype(dt)[:, :, None, None, :], Sd[:, :, None],
                                            Wd[:, :, None], D.shape, o, dimK=1, method="ism")
    o = onlinecdl.OnlineConvBPDNDictLearn.Options(
        {"CBPDN": {"MaxMainIter": iters, "RelStopTol": TOL}, "DataType": dt})
    return onlinecdl.OnlineConvBPDNDictLearn(Dd, LMBDA, o)
for tag in ("mask", "grad", "enet", "joint", "ccmod", "online",
            "mask_f32", "grad_f32", "enet_f32", "joint_f32", "ccmod_f32", "online_f32"):
    name = tag.partition("_")[0]
    Sx = S.astype(np.float32) if tag.endswith("_f32") else S
    b = make(tag, 2)  # FFTW planning
    b.solve(Sx) if name == "online" else b.solve()
    b = make(tag, ITERS)
    c = time.thread_time(); t = time.perf_counter()
    b.solve(Sx) if name == "online" else b.solve()
    t = time.perf_counter() - t; c = time.thread_time() - c
    st = b.getitstat()
    its = ITERS if name == "online" else len(st.Iter)
    fun = st.DFid[-1] if name == "ccmod" else st.ObjFun[-1]
    print(f"ms_{tag} {1e3 * t / its}", flush=True)
    print(f"cpu_{tag} {1e3 * c / its}", flush=True)
    print(f"fun_{tag} {fun}", flush=True)
"#;

/// The variants: tag, our name, SPORCO's class (tags ending in `_f32`: float32 on both sides).
const VARIANTS: [(&str, &str, &str); 12] = [
    ("mask", "`MaskedCbpdn`", "`ConvBPDNMaskDcpl`"),
    ("grad", "`Cbpdn::grad_reg`", "`ConvBPDNGradReg`"),
    ("enet", "`Cbpdn::mu`", "`ConvElasticNet`"),
    ("joint", "`Cbpdn::joint` (3 channels)", "`ConvBPDNJoint`"),
    ("ccmod", "`MaskedCcmod`", "`ConvCnstrMODMaskDcpl`"),
    (
        "online",
        "`OnlineConvDictLearn` step",
        "`OnlineConvBPDNDictLearn`",
    ),
    ("mask_f32", "`MaskedCbpdn` f32", "`ConvBPDNMaskDcpl` f32"),
    ("grad_f32", "`Cbpdn::grad_reg` f32", "`ConvBPDNGradReg` f32"),
    ("enet_f32", "`Cbpdn::mu` f32", "`ConvElasticNet` f32"),
    (
        "joint_f32",
        "`Cbpdn::joint` f32 (3 channels)",
        "`ConvBPDNJoint` f32",
    ),
    (
        "ccmod_f32",
        "`MaskedCcmod` f32",
        "`ConvCnstrMODMaskDcpl` f32",
    ),
    (
        "online_f32",
        "`OnlineConvDictLearn` step f32",
        "`OnlineConvBPDNDictLearn` f32",
    ),
];

/// Runs the variants (`rounds` alternating rounds) and returns the Markdown section.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    dir: &Path,
    dict: &ConvDictionary,
    high: MatRef<'_, f64>,
    lambda: f64,
    tol: f64,
    iters: usize,
    rounds: usize,
    py: Option<&str>,
) -> BoxResult<String> {
    let size = high.nrows();
    let grid = Grid::d2(size, high.ncols());
    let n = size * high.ncols();
    let op = dict.operator(grid)?;
    let op3 = dict.operator_with_channels(grid, 3)?;
    let y = Mat::from_fn(n, 1, |k, _| high[(k % size, k / size)]);
    let (h, w) = (size, high.ncols());
    let y3 = Mat::from_fn(3 * n, 1, |k, _| {
        let (c, p) = (k / n, k % n);
        let (i, j) = (p % h, p / h);
        match c {
            0 => high[(i, j)],
            1 => high[(h - 1 - i, j)],
            _ => high[(i, w - 1 - j)],
        }
    });
    let mut rng = sparse_core::generate::rng(7);
    let mask = Mat::from_fn(
        h,
        w,
        |_, _| if rng.random::<f64>() < 0.5 { 0.0 } else { 1.0 },
    );
    write_npy(dir.join("W.npy"), mask.as_ref())?;
    let wcol = Mat::from_fn(n, 1, |k, _| mask[(k % h, k / h)]);
    let wcol_ref = wcol.clone();
    let (y32, y3_32) = (to_f32(y.as_ref()), to_f32(y3.as_ref()));

    let base = Cbpdn::new(lambda)
        .max_iter(iters)
        .rel_residual_tol(tol)
        .par(Par::Seq);
    let masked = MaskedCbpdn::new(lambda, wcol)
        .max_iter(iters)
        .rel_residual_tol(tol)
        .par(Par::Seq);
    // Codes of the image for the dictionary update (SPORCO layout: n x M, column-major pixels).
    let codes = base.solve(&op, y.as_ref())?.codes;
    let m = dict.n_filters();
    let z2 = Mat::from_fn(n, m, |k, i| codes[(i * n + k, 0)]);
    write_npy(dir.join("Z.npy"), z2.as_ref())?;
    let codes32 = to_f32(codes.as_ref());
    let ccmod = MaskedCcmod::new()
        .max_iter(iters)
        .rel_residual_tol(tol)
        .warm_start(false)
        .par(Par::Seq);
    let online = OnlineConvDictLearn::new(lambda).par(Par::Seq);
    let online = online.clone().coder(
        online
            .coder
            .clone()
            .max_iter(iters)
            .rel_residual_tol(tol)
            .par(Par::Seq),
    );
    let solve = |tag: &str| -> BoxResult<(f64, f64, f64)> {
        let (c0, t0) = (thread_cpu_secs(), Instant::now());
        if tag.starts_with("ccmod") || tag.starts_with("online") {
            let f32 = tag.ends_with("_f32");
            let (k, fun) = if tag.starts_with("ccmod") {
                let sol = if f32 {
                    ccmod.solve(
                        dict,
                        grid,
                        1,
                        y32.as_ref(),
                        codes32.as_ref(),
                        wcol_ref.as_ref(),
                    )?
                } else {
                    ccmod.solve(dict, grid, 1, y.as_ref(), codes.as_ref(), wcol_ref.as_ref())?
                };
                let d = sol.diagnostics;
                (
                    d.iterations,
                    d.records().last().map_or(f64::NAN, |r| r.data_fidelity),
                )
            } else {
                let mut learner = online.start(dict)?;
                let step = if f32 {
                    learner.partial_fit(grid, 1, y32.as_ref())?
                } else {
                    learner.partial_fit(grid, 1, y.as_ref())?
                };
                (step.coding[0].iterations, step.objective())
            };
            let wall = t0.elapsed().as_secs_f64();
            let cpu = match (c0, thread_cpu_secs()) {
                (Some(a), Some(b)) => b - a,
                _ => f64::NAN,
            };
            let k = k.max(1) as f64;
            return Ok((wall / k, cpu / k, fun));
        }
        // The float32 rows return their diagnostics (f64 for every precision) only.
        let diagnostics = match tag {
            "mask" => masked.solve(&op, y.as_ref())?.diagnostics,
            "grad" => {
                base.clone()
                    .grad_reg(MU, None)
                    .solve(&op, y.as_ref())?
                    .diagnostics
            }
            "enet" => base.clone().mu(MU).solve(&op, y.as_ref())?.diagnostics,
            "joint" => base.clone().joint(MU).solve(&op3, y3.as_ref())?.diagnostics,
            "mask_f32" => Solve::<_, f32>::solve(&masked, &op, y32.as_ref())?.diagnostics,
            "grad_f32" => {
                Solve::<_, f32>::solve(&base.clone().grad_reg(MU, None), &op, y32.as_ref())?
                    .diagnostics
            }
            "enet_f32" => {
                Solve::<_, f32>::solve(&base.clone().mu(MU), &op, y32.as_ref())?.diagnostics
            }
            _ => Solve::<_, f32>::solve(&base.clone().joint(MU), &op3, y3_32.as_ref())?.diagnostics,
        };
        let wall = t0.elapsed().as_secs_f64();
        let cpu = match (c0, thread_cpu_secs()) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        let info = &diagnostics[0];
        let k = info.iterations.max(1) as f64;
        let fun = info.records().last().map_or(f64::NAN, |r| r.objective);
        Ok((wall / k, cpu / k, fun))
    };
    let mut ours = [Best::new(); VARIANTS.len()];
    let mut peer = [Best::new(); VARIANTS.len()];
    let mut ours_fun = [f64::NAN; VARIANTS.len()];
    let mut peer_fun = [f64::NAN; VARIANTS.len()];
    // One untimed run each (page faults, the operator's spectra).
    for (tag, _, _) in VARIANTS {
        solve(tag)?;
    }
    for round in 0..rounds {
        for (k, (tag, _, _)) in VARIANTS.iter().enumerate() {
            let (wall, cpu, fun) = solve(tag)?;
            ours[k].add(wall, Some(cpu));
            ours_fun[k] = fun;
        }
        if let Some(py) = py {
            let script =
                format!("LMBDA = {lambda}\nMU = {MU}\nITERS = {iters}\nTOL = {tol}\n{PEER}");
            let out = run_python(py, dir, "peer_variants.py", &script)?;
            let get = |k: &str| out.iter().find(|(n, _)| n == k).map(|&(_, v)| v);
            for (k, (tag, _, _)) in VARIANTS.iter().enumerate() {
                if let Some(ms) = get(&format!("ms_{tag}")) {
                    peer[k].add(ms / 1e3, get(&format!("cpu_{tag}")).map(|c| c / 1e3));
                }
                if let Some(f) = get(&format!("fun_{tag}")) {
                    peer_fun[k] = f;
                }
            }
        }
        eprintln!("variants: round {}/{rounds} done", round + 1);
    }
    let mut body = Vec::new();
    for (k, (_, ours_name, sporco_name)) in VARIANTS.iter().enumerate() {
        let (oc, pc) = (
            ours[k].cpu().unwrap_or(f64::NAN),
            peer[k].cpu().unwrap_or(f64::NAN),
        );
        body.push(vec![
            format!("{ours_name} / {sporco_name}"),
            format!("{:.2}", 1e3 * ours[k].wall),
            format!("{:.2}", 1e3 * oc),
            if py.is_some() {
                format!("{:.2}", 1e3 * peer[k].wall)
            } else {
                "-".into()
            },
            if py.is_some() {
                format!("{:.2}", 1e3 * pc)
            } else {
                "-".into()
            },
            if py.is_some() {
                format!("{:.2}x", pc / oc)
            } else {
                "-".into()
            },
            format!("{:.6}", ours_fun[k]),
            if py.is_some() {
                format!(
                    "{:.6} ({:+.1e})",
                    peer_fun[k],
                    (ours_fun[k] - peer_fun[k]) / peer_fun[k].abs()
                )
            } else {
                "-".into()
            },
        ]);
    }
    let mut md = format!(
        "\n## Variants, one thread\n\nThe same image and filters, lambda = {lambda}, mu = {MU}, \
         {iters} iterations from zero, float64 (and, in the rows marked f32, float32 on both \
         sides: SPORCO's `DataType` float32), one thread on both sides (SPORCO: one pyfftw \
         thread); best of {rounds} alternating rounds. Masked: half the pixels masked (seeded); \
         joint: three channels (the image, flipped up-down, flipped left-right); masked CCMOD: \
         the dictionary update for the CBPDN codes of the image, the same mask, from zero; \
         online: one learning step (its coding iterations and the gradient step), per coding \
         iteration. Functional: the last iteration's record (of the primal variable, SPORCO's \
         `ObjFun`; `DFid` for CCMOD).\n\n"
    );
    md.push_str(&markdown(
        &[
            "ours / SPORCO",
            "ours ms/it",
            "ours CPU ms/it",
            "SPORCO ms/it",
            "SPORCO CPU ms/it",
            "speed-up (CPU)",
            "ours functional",
            "SPORCO functional (rel. diff.)",
        ],
        &body,
    ));
    Ok(md)
}

/// A float64 matrix rounded to float32.
fn to_f32(m: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}
