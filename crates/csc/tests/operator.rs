//! The fast operators against each other and against the explicit global matrix; adjointness;
//! the exact Lipschitz constant; the stripe identity `P_p D Gamma = Omega S_p Gamma`.

mod common;

use common::*;
use csc::{ConvDictionary, Grid, Method};
use faer::{Mat, Par};
use proptest::prelude::*;
use sparse_core::LinearOperator;

#[test]
fn fft_direct_and_global_matrix_agree() {
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, k as u64);
        let dm = op.global_matrix().unwrap();
        assert_eq!(
            (dm.nrows(), dm.ncols()),
            (op.nrows(), op.ncols()),
            "{label}"
        );
        let x = gaussian(op.ncols(), 3, 100 + k as u64);
        let y = gaussian(op.nrows(), 3, 200 + k as u64);
        let dx = &dm * &x;
        let dty = dm.transpose() * &y;
        for method in [Method::Direct, Method::Fft, Method::Auto] {
            let o = with(&op, method);
            for par in [Par::Seq, Par::rayon(2)] {
                let mut a = Mat::zeros(op.nrows(), 3);
                o.apply_into(x.as_ref(), a.as_mut(), par).unwrap();
                assert!(
                    max_diff(a.as_ref(), dx.as_ref()) < 1e-10,
                    "{label} {method:?} apply"
                );
                let mut b = Mat::zeros(op.ncols(), 3);
                o.apply_adjoint_into(y.as_ref(), b.as_mut(), par).unwrap();
                assert!(
                    max_diff(b.as_ref(), dty.as_ref()) < 1e-10,
                    "{label} {method:?} adjoint"
                );
                // A single signal takes the inner-parallel path.
                let a1 = o.synthesize(x.as_ref().subcols(1, 1), par).unwrap();
                assert!(
                    max_diff(a1.as_ref(), dx.as_ref().subcols(1, 1)) < 1e-10,
                    "{label}"
                );
                let b1 = o.analyze(y.as_ref().subcols(2, 1), par).unwrap();
                assert!(
                    max_diff(b1.as_ref(), dty.as_ref().subcols(2, 1)) < 1e-10,
                    "{label}"
                );
            }
        }
    }
}

#[test]
fn lipschitz_is_the_squared_spectral_norm() {
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 10 + k as u64);
        let exact = op.global_matrix().unwrap().lipschitz();
        let l = op.lipschitz();
        assert!((l - exact).abs() <= 1e-9 * exact, "{label}: {l} vs {exact}");
    }
    // Three channels exercise the eigenvalue path.
    let op = operator(Grid::d1(3), 3, Grid::d1(9), 3, 4, 5);
    let exact = op.global_matrix().unwrap().lipschitz();
    assert!((op.lipschitz() - exact).abs() <= 1e-9 * exact);
}

#[test]
fn stripe_dictionary_reproduces_every_patch() {
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 20 + k as u64);
        let omega = op.dictionary().stripe_dictionary().unwrap();
        let (wr, wc) = (2 * fg.rows - 1, 2 * fg.cols - 1);
        assert_eq!(omega.ncols(), wr * wc * m, "{label}");
        assert_eq!(omega.nrows(), fg.len() * cd, "{label}");
        let gamma = gaussian(op.ncols(), 1, 300 + k as u64);
        let x = op.synthesize(gamma.as_ref(), Par::Seq).unwrap();
        let g = gamma.col_as_slice(0);
        let n = op.n();
        for kc in 0..op.code_channels() {
            for pc in 0..sg.cols {
                for pr in 0..sg.rows {
                    let s = op.stripe(g, (pr, pc), kc).unwrap();
                    let s = Mat::from_fn(s.len(), 1, |i, _| s[i]);
                    let patch = &omega * &s;
                    // P_p X: channels of the dictionary (or the code channel kc).
                    for c in 0..cd {
                        let sig_ch = if cd == 1 { kc } else { c };
                        for b in 0..fg.cols {
                            for a in 0..fg.rows {
                                let r = (pr + a) % sg.rows + sg.rows * ((pc + b) % sg.cols);
                                let want = x[(sig_ch * n + r, 0)];
                                let got = patch[(c * fg.len() + a + fg.rows * b, 0)];
                                assert!((want - got).abs() < 1e-10, "{label} at ({pr},{pc})");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn local_dictionary_holds_the_filters() {
    let mut rng = sparse_core::generate::rng(3);
    let d = ConvDictionary::random(Grid::d2(3, 2), 2, 5, &mut rng).unwrap();
    let dl = d.local_dictionary().unwrap();
    assert_eq!((dl.signal_len(), dl.n_atoms()), (12, 5));
    for i in 0..5 {
        let (a, f) = (dl.atom_slice(i).unwrap(), d.filter(i).unwrap());
        assert!(a.iter().zip(f).all(|(x, y)| (x - y).abs() < 1e-14));
        assert!((sparse_core::norms::l2(f) - 1.0).abs() < 1e-14);
    }
    let back = ConvDictionary::from_local(Grid::d2(3, 2), 2, &dl).unwrap();
    assert!(max_diff(back.local_matrix().as_ref(), d.local_matrix().as_ref()) < 1e-14);
}

#[test]
fn auto_picks_direct_for_small_filters_and_fft_for_large() {
    let small = operator(Grid::d1(5), 1, Grid::d1(1000), 1, 8, 0);
    assert_eq!(small.resolved_method(), Method::Direct);
    let large = operator(Grid::d2(8, 8), 1, Grid::d2(256, 256), 1, 32, 0);
    assert_eq!(large.resolved_method(), Method::Fft);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// `<D G, Y> = <G, D^T Y>` for both methods on random shapes, 1-D and 2-D, multi-channel.
    #[test]
    fn adjointness(
        fr in 1usize..5, fc in 1usize..4, extra_r in 0usize..6, extra_c in 0usize..5,
        m in 1usize..4, channels in 1usize..4, multichannel_dict in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let cd = if multichannel_dict { channels } else { 1 };
        let op = operator(
            Grid::d2(fr, fc), cd, Grid::d2(fr + extra_r, fc + extra_c), channels, m, seed,
        );
        let g = gaussian(op.ncols(), 2, seed + 1);
        let y = gaussian(op.nrows(), 2, seed + 2);
        for method in [Method::Direct, Method::Fft] {
            let o = with(&op, method);
            let dg = o.apply(g.as_ref()).unwrap();
            let dty = o.apply_adjoint(y.as_ref()).unwrap();
            for j in 0..2 {
                let lhs: f64 = (0..op.nrows()).map(|i| dg[(i, j)] * y[(i, j)]).sum();
                let rhs: f64 = (0..op.ncols()).map(|i| g[(i, j)] * dty[(i, j)]).sum();
                let scale = dg.norm_l2() * y.norm_l2() + 1.0;
                prop_assert!((lhs - rhs).abs() < 1e-12 * scale, "{method:?}: {lhs} vs {rhs}");
            }
        }
    }
}
