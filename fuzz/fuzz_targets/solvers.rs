//! The main solver entry points on arbitrary small problems: the bytes choose a solver, its
//! parameters, a dictionary (dense, convolutional or a two-layer model) and a batch of signals
//! whose entries may be NaN, infinite, huge, tiny or zero. Every call must return an `Err` or
//! an `Ok` of the right shape that never claims convergence at a non-finite objective,
//! residual, gap or code; nothing may panic, hang (iteration caps are small) or allocate past
//! the sizes the bytes can choose.
#![no_main]
use faer::Mat;
use libfuzzer_sys::fuzz_target;
use pursuit::admm::{BasisPursuit, Bpdn};
use pursuit::greedy::Selection;
use pursuit::lasso::{CoordinateDescent, Fista, Ista, Lars};
use pursuit::{BatchOmp, MatchingPursuit, Omp, Stop, Thresholding};
use sparse_core::{Diagnostics, Dictionary, Shrinkage, Solution, Solve};

/// Reads the fuzzer's bytes in order; past the end, zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn upto(&mut self, n: usize) -> usize {
        self.byte() as usize % (n + 1)
    }
    /// A value: mostly moderate numbers, sometimes the special ones.
    fn value(&mut self) -> f64 {
        let (a, b) = (self.byte(), self.byte());
        let v = i16::from_le_bytes([a, b]);
        match a % 32 {
            0 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0][b as usize % 4],
            1 => [1e300, -1e300, 1e-300, 5e-324, f64::MAX, f64::MIN_POSITIVE][b as usize % 6],
            _ => v as f64 / 1000.0,
        }
    }
    /// A parameter: a value, or a power of ten between 1e-12 and 1e12.
    fn param(&mut self) -> f64 {
        if self.byte() % 4 == 0 {
            self.value()
        } else {
            10f64.powi(self.byte() as i32 % 25 - 12)
        }
    }
    fn matrix(&mut self, r: usize, c: usize) -> Mat<f64> {
        let mut m = Mat::<f64>::zeros(r, c);
        for j in 0..c {
            for i in 0..r {
                m[(i, j)] = self.value();
            }
        }
        m
    }
}

fn check(d: &[Diagnostics], codes: Option<&Mat<f64>>, rows: usize, cols: usize, what: &dyn Fn() -> String) {
    assert_eq!(d.len(), cols, "one diagnostics per signal: {}", what());
    if let Some(c) = codes {
        assert_eq!((c.nrows(), c.ncols()), (rows, cols), "code shape: {}", what());
    }
    for (j, d) in d.iter().enumerate() {
        if d.converged {
            assert!(
                d.objective.is_finite()
                    && d.residual_norm.is_finite()
                    && d.duality_gap.is_none_or(|g| g.is_finite()),
                "signal {j} converged at {d:?}: {}", what()
            );
            if let Some(c) = codes {
                assert!(
                    c.col(j).iter().all(|v| v.is_finite()),
                    "signal {j} converged with non-finite codes {:?}: {}", c.col(j), what()
                );
            }
        }
    }
}

fn check_solution(s: &Solution, rows: usize, cols: usize, what: &dyn Fn() -> String) {
    check(&s.diagnostics, Some(&s.codes), rows, cols, what);
}

fn stop(b: &mut Bytes<'_>) -> Stop {
    match b.byte() % 3 {
        0 => Stop::Sparsity(b.byte() as usize),
        1 => Stop::Residual(b.param()),
        _ => Stop::SparsityOrResidual {
            k: b.byte() as usize,
            eps: b.param(),
        },
    }
}

fn dense(b: &mut Bytes<'_>, which: u8) {
    let (n, m, cols) = (1 + b.upto(7), 1 + b.upto(11), b.upto(3));
    let dm = b.matrix(n, m);
    let Ok(d) = Dictionary::from_matrix(dm.as_ref()) else {
        return;
    };
    // Sometimes a signal length the dictionary does not have.
    let rows = if b.byte() % 16 == 0 { n + 1 } else { n };
    let ym = b.matrix(rows, cols);
    let y = ym.as_ref();
    let it = 1 + b.upto(60);
    let rest = b.0.to_vec();
    let what = || format!("dense solver {}, D = {dm:?}, y = {ym:?}, parameter bytes {rest:?}", which % 14);
    let r = match which % 14 {
        0 => Omp::new(stop(b)).solve(&d, y),
        1 => BatchOmp::new(stop(b)).solve(&d, y),
        2 => BatchOmp::new(stop(b)).selection(Selection::Ormp).solve(&d, y),
        3 => MatchingPursuit::new(stop(b)).max_iter(it).solve(&d, y),
        4 => {
            let rule = match b.byte() % 3 {
                0 => Shrinkage::TopK(b.byte() as usize),
                1 => Shrinkage::Soft(b.param()),
                _ => Shrinkage::Hard(b.param()),
            };
            Thresholding::new(rule).least_squares(b.byte() % 2 == 0).solve(&d, y)
        }
        5 => Ista::new(b.param()).max_iter(it).solve(&d, y),
        6 => {
            let f = Fista::new(b.param()).max_iter(it).nonneg(b.byte() % 2 == 0);
            if b.byte() % 2 == 0 {
                f.lipschitz(b.param()).solve(&d, y)
            } else {
                f.solve(&d, y)
            }
        }
        7 => CoordinateDescent::new(b.param())
            .max_iter(it)
            .nonneg(b.byte() % 2 == 0)
            .solve(&d, y),
        8 => Lars::new(b.param()).nonneg(b.byte() % 2 == 0).solve(&d, y),
        9 => Lars::new(0.0).solve(&d, y),
        10 => BasisPursuit::new().max_iter(it).solve(&d, y),
        11 => Bpdn::new(b.param()).max_iter(it).solve(&d, y),
        12 => Bpdn::new(b.param()).homotopy().solve(&d, y),
        _ => BatchOmp::new(stop(b)).code_with_gram(&d, d.gram().as_ref(), y),
    };
    if let Ok(s) = r {
        check_solution(&s, m, cols, &what);
    }
}

fn convolutional(b: &mut Bytes<'_>, which: u8) {
    use csc::{Cbpdn, CbpdnFista, ConvDictionary, ConvThresholding, Grid, SlicePursuit};
    let (fh, fw, nf) = (1 + b.upto(3), 1 + b.upto(3), 1 + b.upto(3));
    let filters = b.matrix(fh * fw, nf);
    let Ok(d) = ConvDictionary::new(Grid::d2(fh, fw), 1, filters.as_ref()) else {
        return;
    };
    let (h, w, cols) = (1 + b.upto(9), 1 + b.upto(9), b.upto(2));
    let Ok(op) = d.operator(Grid::d2(h, w)) else {
        return;
    };
    let ym = b.matrix(h * w, cols);
    let y = ym.as_ref();
    let it = 1 + b.upto(40);
    let lam = b.param();
    let what = || format!("conv solver {}, filters {fh}x{fw} = {filters:?}, signal {h}x{w} = {ym:?}, lambda {lam}, {it} iterations", which % 4);
    let r = match which % 4 {
        0 => Cbpdn::new(lam).max_iter(it).solve(&op, y),
        1 => CbpdnFista::new(lam).max_iter(it).solve(&op, y),
        2 => SlicePursuit::new(lam).max_iter(it).solve(&op, y),
        _ => ConvThresholding::new(Shrinkage::Soft(lam)).solve(&op, y),
    };
    if let Ok(s) = r {
        check_solution(&s, sparse_core::LinearOperator::ncols(&op), cols, &what);
    }
}

fn multilayer(b: &mut Bytes<'_>, which: u8) {
    use mlcsc::{Layer, MlFista, MlIsta, MlModel};
    let (n0, n1, n2, cols) = (1 + b.upto(7), 1 + b.upto(9), 1 + b.upto(9), b.upto(2));
    let d1 = b.matrix(n0, n1);
    let d2 = b.matrix(n1, n2);
    let (Ok(l1), Ok(l2)) = (
        Layer::from_matrix(d1.as_ref()),
        Layer::from_matrix(d2.as_ref()),
    ) else {
        return;
    };
    let Ok(model) = MlModel::new(vec![l1, l2]) else {
        return;
    };
    let ym = b.matrix(n0, cols);
    let y = ym.as_ref();
    let lambdas = [b.param(), b.param()];
    let what = || format!("ml solver {}, D1 = {d1:?}, D2 = {d2:?}, y = {ym:?}, lambdas {lambdas:?}", which % 2);
    let it = 1 + b.upto(40);
    // Sometimes the user's step sizes (a diverging one must be an `Err` naming `steps`).
    let steps = (b.byte() % 2 == 0).then(|| vec![b.param(), b.param()]);
    let r = match (which % 2, steps) {
        (0, None) => MlIsta::new(lambdas.to_vec()).iterations(it).solve(&model, y),
        (0, Some(s)) => MlIsta::new(lambdas.to_vec())
            .iterations(it)
            .steps(s)
            .solve(&model, y),
        (_, None) => MlFista::new(lambdas.to_vec()).iterations(it).solve(&model, y),
        (_, Some(s)) => MlFista::new(lambdas.to_vec())
            .iterations(it)
            .steps(s)
            .solve(&model, y),
    };
    if let Ok(s) = r {
        check(&s.diagnostics, None, n2, cols, &what);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let which = b.byte();
    match b.byte() % 3 {
        0 => dense(&mut b, which),
        1 => convolutional(&mut b, which),
        _ => multilayer(&mut b, which),
    }
});
