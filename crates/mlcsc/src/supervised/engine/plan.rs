//! The engine's plan of a network: layer operators, parameter offsets, layout permutations.

use faer::MatRef;

use super::Real;
use crate::valid::ValidGeometry;

/// One layer's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `n x m` column-major.
    Dense { n: usize, m: usize },
    /// Filters `patch x maps`, patch entries channel-fastest (`c + C (a + kh b)`).
    Conv(ValidGeometry),
}

impl Op {
    /// Entries per bias: 1 (dense) or the maps' count (a bias per map, positions interleaved).
    pub(super) fn bias_period(&self) -> usize {
        match *self {
            Op::Dense { m, .. } => m,
            Op::Conv(g) => g.maps,
        }
    }
    /// A filter covering the whole input: im2col is the identity.
    pub(super) fn full_kernel(&self) -> bool {
        matches!(*self, Op::Conv(g) if g.kernel == g.input)
    }
}

/// A layer of the plan: its operator and parameter offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanLayer {
    pub op: Op,
    pub d: usize,
    pub c: usize,
    pub b: usize,
}

/// Everything the engine needs to run a network: layers, offsets, and the permutations between
/// the net's canonical layout and the engine's.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub layers: Vec<PlanLayer>,
    pub dims: Vec<usize>,
    pub classes: usize,
    pub unfoldings: usize,
    pub fista: bool,
    pub w: usize,
    pub w0: usize,
    /// `internal[i] = canonical[perm[i]]` for the parameters.
    pub perm: Vec<usize>,
    /// Same for the input (`None`: identity).
    pub input_perm: Option<Vec<usize>>,
    /// Same for the deepest code (`None`: identity).
    pub output_perm: Option<Vec<usize>>,
}

/// Internal index -> canonical index of a convolutional code (`q + maps p` <- `q P + p`).
fn code_perm(g: &ValidGeometry) -> Option<Vec<usize>> {
    let (np, m) = (g.positions(), g.maps);
    if np == 1 || m == 1 {
        return None;
    }
    let mut v = vec![0; np * m];
    for p in 0..np {
        for q in 0..m {
            v[q + m * p] = q * np + p;
        }
    }
    Some(v)
}

impl Plan {
    /// The plan of a network with the given layers (offsets in the canonical vector, which
    /// the engine's vector shares block by block).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        layers: Vec<PlanLayer>,
        dims: Vec<usize>,
        classes: usize,
        unfoldings: usize,
        fista: bool,
        w: usize,
        w0: usize,
        n_params: usize,
    ) -> Self {
        let mut perm: Vec<usize> = (0..n_params).collect();
        let mut prev_code: Option<Vec<usize>> = None;
        let mut input_perm = None;
        for (i, l) in layers.iter().enumerate() {
            match l.op {
                Op::Conv(g) => {
                    let (kh, kw, ch) = (g.kernel.0, g.kernel.1, g.channels);
                    let pl = g.patch_len();
                    if ch > 1 {
                        for q in 0..g.maps {
                            for bb in 0..kw {
                                for a in 0..kh {
                                    for c in 0..ch {
                                        let int = c + ch * (a + kh * bb);
                                        let can = c * kh * kw + a + kh * bb;
                                        perm[l.d + int + pl * q] = l.d + can + pl * q;
                                    }
                                }
                            }
                        }
                        if i == 0 {
                            let px = g.input.0 * g.input.1;
                            let mut v = vec![0; ch * px];
                            for p in 0..px {
                                for c in 0..ch {
                                    v[c + ch * p] = c * px + p;
                                }
                            }
                            input_perm = Some(v);
                        }
                    }
                    prev_code = code_perm(&g);
                }
                Op::Dense { n, m } => {
                    if let Some(pc) = prev_code.take() {
                        for col in 0..m {
                            for (ri, &rc) in pc.iter().enumerate() {
                                perm[l.d + ri + n * col] = l.d + rc + n * col;
                            }
                        }
                    }
                }
            }
        }
        if let Some(pc) = &prev_code {
            for (ci, &cc) in pc.iter().enumerate() {
                for k in 0..classes {
                    perm[w + k + classes * ci] = w + k + classes * cc;
                }
            }
        }
        Self {
            layers,
            dims,
            classes,
            unfoldings,
            fista,
            w,
            w0,
            perm,
            input_perm,
            output_perm: prev_code,
        }
    }

    /// The engine's parameter vector from the canonical one.
    pub fn params_in<T: Real>(&self, canonical: &[f64]) -> Vec<T> {
        self.perm.iter().map(|&c| T::of(canonical[c])).collect()
    }

    /// `canonical[perm[i]] = internal[i]`.
    pub fn params_out(&self, internal: &[f64], canonical: &mut [f64]) {
        for (i, &c) in self.perm.iter().enumerate() {
            canonical[c] = internal[i];
        }
    }

    /// Columns of canonical inputs, in the engine's layout and type.
    pub fn input_in<T: Real>(&self, x: MatRef<'_, f64>) -> Vec<T> {
        let n = self.dims[0];
        let mut out = Vec::with_capacity(n * x.ncols());
        for j in 0..x.ncols() {
            let col = x.col(j);
            match &self.input_perm {
                None => out.extend(col.iter().map(|&v| T::of(v))),
                Some(p) => out.extend(p.iter().map(|&c| T::of(col[c]))),
            }
        }
        out
    }

    /// Deepest codes from the engine's layout to the canonical one.
    pub fn output_out<T: Real>(&self, g: &[T], b: usize) -> faer::Mat<f64> {
        let n = self.dims[self.dims.len() - 1];
        let mut out = faer::Mat::<f64>::zeros(n, b);
        for j in 0..b {
            let src = &g[j * n..(j + 1) * n];
            match &self.output_perm {
                None => {
                    for (i, v) in src.iter().enumerate() {
                        out[(i, j)] = v.to();
                    }
                }
                Some(p) => {
                    for (i, &c) in p.iter().enumerate() {
                        out[(c, j)] = src[i].to();
                    }
                }
            }
        }
        out
    }

    pub(super) fn depth(&self) -> usize {
        self.layers.len()
    }
}
