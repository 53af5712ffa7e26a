//! The forward pass of an [`UnfoldedNet`]: plan, codes, logits, predictions, accuracy.

use faer::{Mat, MatRef};

use super::{gemm, Kind, Precision, UnfoldedNet, Unfolding};
use crate::error::Result;
use crate::supervised::engine::{Engine, Op, Plan, PlanLayer, Real, Work};

impl UnfoldedNet {
    /// The engine's plan of this network (layers, offsets, layout permutations).
    pub(crate) fn plan(&self) -> Plan {
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, at)| PlanLayer {
                op: match at.kind {
                    Kind::Dense => Op::Dense {
                        n: self.dims[l],
                        m: self.dims[l + 1],
                    },
                    Kind::Valid(g) => Op::Conv(g),
                },
                d: at.d,
                c: at.c,
                b: at.b,
            })
            .collect();
        Plan::new(
            layers,
            self.dims.clone(),
            self.classes,
            self.unfoldings,
            self.kind == Unfolding::Fista,
            self.w,
            self.w0,
            self.params.len(),
        )
    }

    /// Forward pass of every column in `precision`, chunks of 128 columns in parallel.
    /// Returns `g_L` (canonical layout).
    pub(super) fn run(&self, x: MatRef<'_, f64>, precision: Precision) -> Mat<f64> {
        match precision {
            Precision::F32 => self.run_in::<f32>(x),
            Precision::F64 => self.run_in::<f64>(x),
        }
    }

    fn run_in<T: Real>(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        use rayon::prelude::*;
        const CHUNK: usize = 128;
        let plan = self.plan();
        let p = plan.params_in::<T>(&self.params);
        let eng = Engine { plan: &plan, p: &p };
        let b = x.ncols();
        let starts: Vec<usize> = (0..b).step_by(CHUNK).collect();
        let parts: Vec<Mat<f64>> = starts
            .par_iter()
            .map(|&s| {
                let w = CHUNK.min(b - s);
                let xi = plan.input_in::<T>(x.subcols(s, w));
                let g = eng.forward(&xi, w, None, &mut Work::default());
                plan.output_out(&g, w)
            })
            .collect();
        let mut out = Mat::<f64>::zeros(self.dims[self.depth()], b);
        for (&s, part) in starts.iter().zip(&parts) {
            out.as_mut().subcols_mut(s, part.ncols()).copy_from(part);
        }
        out
    }

    /// The deepest code `g_L` after `K` iterations for every column of `x`.
    pub fn codes(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.check_input(x)?;
        Ok(self.run(x, Precision::F64))
    }

    pub(super) fn logits_of(&self, g: &Mat<f64>) -> Mat<f64> {
        let (w, w0) = self.classifier();
        let mut z = Mat::<f64>::from_fn(self.classes, g.ncols(), |c, _| w0[c]);
        gemm(z.as_mut(), true, w, g.as_ref(), 1.0);
        z
    }

    /// The logits `W g_L + w_0` (`classes x b`), computed in float64.
    pub fn logits(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.logits_with(x, Precision::F64)
    }

    /// The logits computed in `precision` (float32 is about twice as fast; the classifier is
    /// applied in float64).
    pub fn logits_with(&self, x: MatRef<'_, f64>, precision: Precision) -> Result<Mat<f64>> {
        self.check_input(x)?;
        Ok(self.logits_of(&self.run(x, precision)))
    }

    /// The predicted class of every column (the largest logit).
    pub fn predict(&self, x: MatRef<'_, f64>) -> Result<Vec<usize>> {
        self.predict_with(x, Precision::F64)
    }

    /// The predicted classes, the network run in `precision`.
    pub fn predict_with(&self, x: MatRef<'_, f64>, precision: Precision) -> Result<Vec<usize>> {
        let z = self.logits_with(x, precision)?;
        Ok((0..z.ncols())
            .map(|j| {
                (0..z.nrows())
                    .max_by(|&a, &b| z[(a, j)].total_cmp(&z[(b, j)]))
                    .unwrap_or(0)
            })
            .collect())
    }

    /// The fraction of columns classified as `labels`.
    pub fn accuracy(&self, x: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
        self.accuracy_with(x, labels, Precision::F64)
    }

    /// The fraction of columns classified as `labels`, the network run in `precision`.
    pub fn accuracy_with(
        &self,
        x: MatRef<'_, f64>,
        labels: &[usize],
        precision: Precision,
    ) -> Result<f64> {
        self.check_labels(x, labels)?;
        let p = self.predict_with(x, precision)?;
        let right = p.iter().zip(labels).filter(|(a, b)| a == b).count();
        Ok(right as f64 / labels.len().max(1) as f64)
    }
}
