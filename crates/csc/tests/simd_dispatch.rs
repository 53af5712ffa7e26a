//! The AVX2 + FMA and the portable builds of the Fourier-domain kernels give bit-identical
//! convolutional BPDN codes (ADMM and FISTA, plain, non-negative and weighted). One test in
//! this binary: it flips the process-wide switch of `sparse_core::simd`.

mod common;

use common::*;
use csc::Solve;
use csc::{Cbpdn, CbpdnFista, L1Weights};
use faer::{Mat, Par};
use sparse_core::simd::{force_portable, Avx2Fma};

fn bits(m: &Mat<f64>) -> Vec<u64> {
    (0..m.ncols())
        .flat_map(|j| m.col(j).iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        .collect()
}

#[test]
fn both_builds_give_identical_codes() {
    if Avx2Fma::hardware().is_none() {
        eprintln!("no AVX2 + FMA on this CPU: only the portable build exists");
    }
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 80 + k as u64);
        let y = gaussian(op.signal_len(), 3, 90 + k as u64);
        let w: Vec<f64> = (0..op.code_len())
            .map(|i| 0.5 + (i % 5) as f64 / 4.0)
            .collect();
        let run = || {
            let mut out = Vec::new();
            for nonneg in [false, true] {
                for weights in [L1Weights::Uniform, L1Weights::PerCoefficient(w.clone())] {
                    let admm = Cbpdn::new(0.2)
                        .max_iter(200)
                        .nonneg(nonneg)
                        .weights(weights.clone())
                        .par(Par::Seq)
                        .solve(&op, y.as_ref())
                        .unwrap();
                    let fista = CbpdnFista::new(0.2)
                        .max_iter(200)
                        .nonneg(nonneg)
                        .weights(weights)
                        .par(Par::Seq)
                        .solve(&op, y.as_ref())
                        .unwrap();
                    out.push((bits(&admm.codes), bits(&fista.codes)));
                }
            }
            out
        };
        force_portable(true);
        assert_eq!(Avx2Fma::detect(), None);
        let portable = run();
        force_portable(false);
        let detected = run();
        assert!(portable == detected, "{label}: the two builds differ");
    }
}
