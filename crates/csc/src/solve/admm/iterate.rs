//! The ADMM iterations of one signal: x-step, relaxation, shrinkage, dual update, penalty.

use faer::{Mat, MatMut, MatRef, Par};
use sparse_core::solve::Iteration;
use sparse_core::LinearOperator;

use super::xstep::{single_channel_chunk, single_channel_diag_chunk, MultiChannel};
use super::Cbpdn;
use crate::fft::Cx;
use crate::float::{wide_slice, Float};
use crate::operator::{ConvOperator, Spectra};
use crate::solve::ism::Shift;
use crate::solve::kernels::{self, AdmmStep};
use crate::solve::{map_sum, signal_spectra, weighted_l1, Sums, Trace};

impl Cbpdn {
    /// One signal in precision `T` (the scalars of the iteration are rounded to `T` where they
    /// enter the element-wise passes; `rho`, the residuals and the records stay `f64`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn solve_one<T: Float>(
        &self,
        op: &ConvOperator,
        sp: &Spectra<T>,
        y: &[T],
        init: Option<&[T]>,
        z: &mut [T],
        par: bool,
    ) -> Trace {
        let fft = &sp.fft;
        let (n, f) = (op.n(), fft.spectrum_len());
        let rows = op.signal_grid().rows;
        let m = op.dictionary().n_filters();
        let cd = op.dictionary().channels();
        let n_maps = op.n_maps();
        let (lambda, alpha, nonneg) = (self.lambda, self.relax, self.nonneg);
        let ar = self.auto_rho;
        let xi = ar.target.unwrap_or(if lambda != 0.0 {
            1.0 + 18.3f64.powf(lambda.log10() + 1.0)
        } else {
            1.0
        });
        let mut rho = self.initial_rho();
        let inv_n = 1.0 / n as f64;
        let inv_nt = T::of(inv_n);
        let blocks = fft.blocks();
        let chunk = blocks.range(0).1;
        let s_hat = signal_spectra(op, y);
        let mu = self.mu;
        // Gradient regularisation: the x-step's shift is diagonal, sigma + mu_g w_i g(f).
        let mu_g = self.grad_reg.mu;
        let grad_on = mu_g > 0.0;
        let ghg: Vec<T> = if grad_on {
            gradient_symbol(op).into_iter().map(T::of).collect()
        } else {
            Vec::new()
        };
        let gw: Vec<f64> = (0..m)
            .map(|i| self.grad_reg.weights.as_ref().map_or(1.0, |w| w[i]))
            .collect();
        let gwt: Vec<T> = gw.iter().map(|&v| T::of(v)).collect();
        let shift = |rho: f64| {
            if grad_on {
                Shift::Diag {
                    sigma: T::of(rho + mu),
                    mu: T::of(mu_g),
                    weights: &gwt,
                    ghg: &ghg,
                }
            } else {
                Shift::Scalar(T::of(rho + mu))
            }
        };
        let joint_on = self.joint > 0.0;
        let jw: Vec<f64> = (0..m)
            .map(|i| self.joint_weights.as_ref().map_or(1.0, |w| w[i]))
            .collect();
        let mut xbuf = if joint_on {
            vec![T::zero(); n_maps * n]
        } else {
            Vec::new()
        };
        let weights = self.weights.typed::<T>();
        let mut sys = (cd > 1).then(|| {
            let mut mc = MultiChannel::new(op, sp, &s_hat, T::of(rho + mu), par);
            if grad_on {
                mc.factor_shift(sp, shift(rho), par);
            }
            mc
        });
        let mut u = vec![T::zero(); n_maps * n];
        match init {
            None => z.fill(T::zero()),
            Some(g0) => {
                // u = D^T (y - D z) / rho: the scaled dual that makes x = z a fixed point of
                // the x-step (computed in f64).
                z.copy_from_slice(g0);
                let zw = wide_slice(z);
                let zm = MatRef::from_column_major_slice(&zw, zw.len(), 1);
                let ppar = if par { Par::rayon(0) } else { Par::Seq };
                let mut r = Mat::<f64>::zeros(y.len(), 1);
                op.apply_raw(zm, r.as_mut(), ppar);
                drop(zw);
                for (rv, yv) in r.col_as_slice_mut(0).iter_mut().zip(y) {
                    *rv = (yv.wide() - *rv) / rho;
                }
                match T::f64_slice_mut(&mut u) {
                    Some(uw) => {
                        let um = MatMut::from_column_major_slice_mut(uw, n_maps * n, 1);
                        op.apply_adjoint_raw(r.as_ref(), um, ppar);
                    }
                    None => {
                        let mut uw = vec![0.0; n_maps * n];
                        let um = MatMut::from_column_major_slice_mut(&mut uw, n_maps * n, 1);
                        op.apply_adjoint_raw(r.as_ref(), um, ppar);
                        for (o, v) in u.iter_mut().zip(&uw) {
                            *o = T::of(*v);
                        }
                    }
                }
            }
        }
        let mut b = vec![Cx::<T>::default(); n_maps * f];
        let mut u_scale = 1.0;
        let sqrt_len = ((n_maps * n) as f64).sqrt();
        let mut info = Trace::default();

        for k in 0..self.max_iter {
            // (A) b = FFT(z - u) (zero for a cold start).
            if k > 0 || init.is_some() {
                let items: Vec<_> = blocks
                    .per_map(&mut b, n_maps)
                    .into_iter()
                    .zip(z.chunks(n))
                    .zip(u.chunks(n))
                    .collect();
                map_sum(
                    items,
                    par,
                    || fft.scratch(),
                    |s, ((mut bm, zm), um)| {
                        let us = T::of(u_scale);
                        fft.forward_with(
                            |c, buf| {
                                let (zc, uc) =
                                    (&zm[c * rows..(c + 1) * rows], &um[c * rows..(c + 1) * rows]);
                                for ((o, a), v) in buf.iter_mut().zip(zc).zip(uc) {
                                    *o = *a - us * *v;
                                }
                            },
                            &mut bm,
                            s,
                        );
                        0.0
                    },
                );
            }
            // (B) the per-frequency solve, in place: b -> x / N; and 1/2 ||D x - y||^2.
            let items: Vec<_> = blocks
                .chunks(&mut b, n_maps)
                .into_iter()
                .enumerate()
                .collect();
            let sh = shift(rho);
            let (rho_t, mu_t) = (T::of(rho), T::of(mu));
            let xs: Sums = match &sys {
                None if !grad_on => map_sum(
                    items,
                    par,
                    || vec![Cx::<T>::default(); chunk],
                    |acc, (blk, bc)| Sums {
                        a: single_channel_chunk(op, sp, &s_hat, blk, bc, acc, rho_t, mu_t, inv_nt),
                        ..Sums::default()
                    },
                ),
                None => map_sum(
                    items,
                    par,
                    || (),
                    |_, (blk, bc)| {
                        let (a, b) = single_channel_diag_chunk(
                            op, sp, &s_hat, blk, bc, rho_t, sh, &ghg, &gwt, inv_nt,
                        );
                        Sums {
                            a,
                            b,
                            ..Sums::default()
                        }
                    },
                ),
                Some(mc) => map_sum(
                    items,
                    par,
                    || vec![Cx::<T>::default(); 2 * cd * chunk],
                    |tmp, (blk, bc)| Sums {
                        a: mc.solve_chunk(op, sp, &s_hat, blk, bc, tmp, rho_t, sh, inv_nt),
                        b: if grad_on {
                            grad_energy(sp, blk, bc, m, &ghg, &gwt, n)
                        } else {
                            0.0
                        },
                        ..Sums::default()
                    },
                ),
            };
            let df = 0.5 * inv_n * xs.a;
            // (C) x = IFFT; relaxation, shrinkage, dual update, residuals, l1.
            let items: Vec<_> = blocks
                .per_map(&mut b, n_maps)
                .into_iter()
                .zip(z.chunks_mut(n))
                .zip(u.chunks_mut(n))
                .enumerate()
                .collect();
            let weights = &weights;
            let step = AdmmStep {
                alpha: T::of(alpha),
                t: T::of(lambda / rho),
                u_scale: T::of(u_scale),
                nonneg,
            };
            let sums = if joint_on {
                // Joint sparsity couples the channels: every map's x first, then the groups.
                let x_items: Vec<_> = items
                    .into_iter()
                    .map(|(_, ((bm, _), _))| bm)
                    .zip(xbuf.chunks_mut(n))
                    .collect();
                map_sum(
                    x_items,
                    par,
                    || fft.scratch(),
                    |s, (mut bm, xm)| {
                        fft.inverse_with(
                            &mut bm,
                            |c, col| xm[c * rows..(c + 1) * rows].copy_from_slice(col),
                            s,
                        );
                        0.0
                    },
                );
                kernels::joint_update(
                    &xbuf,
                    z,
                    &mut u,
                    weights,
                    (m, n, n_maps / m),
                    step,
                    &jw.iter()
                        .map(|w| T::of(w * self.joint / rho))
                        .collect::<Vec<T>>(),
                )
            } else {
                map_sum(
                    items,
                    par,
                    || fft.scratch(),
                    |s, (map, ((mut bm, zm), um))| {
                        let w = weights.map(map, m, n);
                        let mut acc = Sums::default();
                        fft.inverse_with(
                            &mut bm,
                            |c, x| {
                                let off = c * rows;
                                acc = acc
                                    + kernels::admm_update(
                                        x,
                                        &mut zm[off..off + rows],
                                        &mut um[off..off + rows],
                                        w,
                                        off,
                                        step,
                                    );
                            },
                            s,
                        );
                        acc
                    },
                )
            };
            u_scale = 1.0;
            let (nx, nz, nu) = (sums.c.sqrt(), sums.d.sqrt(), sums.e.sqrt());
            let mut rn = nx.max(nz);
            if rn == 0.0 {
                rn = 1.0;
            }
            let mut sn = rho * nu;
            if sn == 0.0 {
                sn = 1.0;
            }
            let r = sums.a.sqrt() / rn;
            let s = rho * sums.b.sqrt() / sn;
            let eps_pri = sqrt_len * self.abs_residual_tol / rn + self.rel_residual_tol;
            let eps_dua = sqrt_len * self.abs_residual_tol / sn + self.rel_residual_tol;
            // SPORCO's functional (its default `AuxVarObj = False`): data term and penalty of
            // the primal variable x of this iteration.
            info.history.push(
                Iteration::new(
                    df,
                    lambda * sums.l1x + 0.5 * mu * sums.c + 0.5 * mu_g * xs.b + rho * sums.l21x,
                )
                .residuals(r, s)
                .step(rho),
            );
            info.iterations = k + 1;
            if r < eps_pri && s < eps_dua {
                info.converged = true;
                break;
            }
            let rsf = ar.rho_factor(k, r, s, xi);
            if rsf != 1.0 {
                rho *= rsf;
                u_scale = 1.0 / rsf;
                if let Some(mc) = &mut sys {
                    mc.factor_shift(sp, shift(rho), par);
                }
            }
        }
        // The returned code is the sparse variable z: its own objective and residual (the
        // records above are those of x, which differs from z until convergence), in f64.
        let zw = wide_slice(z);
        let z = &zw[..];
        let zm = MatRef::from_column_major_slice(z, z.len(), 1);
        let mut r = Mat::<f64>::zeros(y.len(), 1);
        op.apply_raw(zm, r.as_mut(), if par { Par::rayon(0) } else { Par::Seq });
        let rr: f64 = r
            .col_as_slice(0)
            .iter()
            .zip(y)
            .map(|(dz, yv)| (yv.wide() - dz) * (yv.wide() - dz))
            .sum();
        let l1 = weighted_l1(&self.weights, z, m, n);
        let ridge = if mu == 0.0 {
            0.0
        } else {
            0.5 * mu * z.iter().map(|v| v * v).sum::<f64>()
        };
        let grad = if grad_on {
            0.5 * mu_g * gradient_energy(op, z, &gw)
        } else {
            0.0
        };
        let l21 = if joint_on {
            let cx = n_maps / m;
            let mut t = 0.0;
            for i in 0..m {
                for q in 0..n {
                    let s2: f64 = (0..cx).map(|c| z[(c * m + i) * n + q].powi(2)).sum();
                    t += jw[i] * s2.sqrt();
                }
            }
            self.joint * t
        } else {
            0.0
        };
        info.final_state = Some((0.5 * rr + lambda * l1 + ridge + grad + l21, rr.sqrt()));
        info
    }
}

/// `g(f) = sum_axes |1 - e^{-i w}|^2` at every natural spectrum index: the symbol of
/// `G_r^T G_r + G_c^T G_c` for circular first differences along both axes (SPORCO's
/// `gradient_filters`; the column term vanishes on 1-D signals).
pub(crate) fn gradient_symbol(op: &ConvOperator) -> Vec<f64> {
    let g = op.signal_grid();
    let (rows, cols) = (g.rows, g.cols);
    let half = rows / 2 + 1;
    let tau = 2.0 * std::f64::consts::PI;
    let mut out = Vec::with_capacity(half * cols);
    for kr in 0..half {
        let a = 2.0 - 2.0 * (tau * kr as f64 / rows as f64).cos();
        for kc in 0..cols {
            out.push(a + 2.0 - 2.0 * (tau * kc as f64 / cols as f64).cos());
        }
    }
    out
}

/// `N sum_maps w_i sum_f w(f) g(f) |b(f)|^2` of one block of `x / N` spectra (`= sum_i w_i ||G
/// x_i||^2` over the block).
fn grad_energy<T: Float>(
    sp: &Spectra<T>,
    blk: usize,
    bc: &[Cx<T>],
    m: usize,
    ghg: &[T],
    gw: &[T],
    n: usize,
) -> f64 {
    let (f0, len) = sp.fft.blocks().range(blk);
    let w = &sp.weights[f0..f0 + len];
    let mut total = 0.0;
    for (map, bm) in bc.chunks(len).enumerate() {
        let wi = gw[map % m];
        let mut t = T::zero();
        for ((v, wv), g) in bm.iter().zip(w).zip(&ghg[f0..f0 + len]) {
            t += wi * *wv * *g * v.norm_sqr();
        }
        total += t.wide();
    }
    total * n as f64
}

/// `sum_i w_i ||G z_i||^2` of codes `z` with circular first differences along both axes of the
/// signal grid.
pub(crate) fn gradient_energy(op: &ConvOperator, z: &[f64], gw: &[f64]) -> f64 {
    let g = op.signal_grid();
    let (rows, cols, n, m) = (g.rows, g.cols, op.n(), op.dictionary().n_filters());
    let mut total = 0.0;
    for (map, zm) in z.chunks(n).enumerate() {
        let mut e = 0.0;
        for j in 0..cols {
            for i in 0..rows {
                let v = zm[i + rows * j];
                let dr = v - zm[(i + 1) % rows + rows * j];
                let dc = v - zm[i + rows * ((j + 1) % cols)];
                e += dr * dr + dc * dc;
            }
        }
        total += gw[map % m] * e;
    }
    total
}
