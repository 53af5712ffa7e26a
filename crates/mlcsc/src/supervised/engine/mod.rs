//! The compute engine of [`UnfoldedNet`](super::UnfoldedNet): forward pass with a tape and the
//! hand-written back-propagation, generic over `f32` / `f64`, on contiguous column-major
//! buffers whose convolutional codes are stored position-major ("NHWC": the `maps` entries of a
//! position are contiguous), so that every convolution of a batch is one GEMM on im2col
//! patches without a transpose:
//!
//! * analysis `D^T x`: `codes (maps x P b) = F^T (maps x patch) . im2col(x) (patch x P b)`;
//! * synthesis `D g`: `col2im( F (patch x maps) . codes (maps x P b) )`;
//! * filter gradient of `<a, D g>`: `im2col(a) . codes^T`.
//!
//! The net's canonical layout (codes map-major, filters channel-major, the layout of
//! [`crate::ValidConv`]) is mapped to the engine's by one index permutation of the parameter
//! vector ([`Plan::perm`]), of the input and of the deepest code, built once per network.

use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use faer::traits::ComplexField;

mod backward;
mod forward;
mod kernels;
mod plan;

pub(crate) use kernels::Work;
pub(crate) use plan::{Op, Plan, PlanLayer};

/// The scalar types the engine computes in.
pub(crate) trait Real:
    ComplexField
    + Copy
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + std::iter::Sum
    + 'static
{
    const ZERO: Self;
    fn of(v: f64) -> Self;
    fn to(self) -> f64;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[inline]
    fn to(self) -> f64 {
        self
    }
}

/// The engine on one parameter vector (in its layout and type).
pub(crate) struct Engine<'a, T> {
    pub plan: &'a Plan,
    pub p: &'a [T],
}

/// What the forward pass keeps for the backward pass, per iteration.
pub(crate) struct Step<T> {
    /// `h_0..h_L` (empty at the first iteration, where they are zero).
    h: Vec<Vec<T>>,
    /// `r_i = h_{i-1} - g_{i-1}`.
    r: Vec<Vec<T>>,
    /// `q_i = D_i^T r_i`.
    q: Vec<Vec<T>>,
    /// Pre-activations.
    a: Vec<Vec<T>>,
    /// FISTA momentum that formed this iteration's point.
    rho: f64,
}

/// FISTA momenta: `rho[k]` forms the point of iteration `k` (0-based; `rho[0] = rho[1] = 0`).
pub(crate) fn momenta(k: usize) -> Vec<f64> {
    let mut out = vec![0.0; k.max(1)];
    let mut s = 1.0f64;
    for r in out.iter_mut().skip(1) {
        let next = 0.5 * (1.0 + (1.0 + 4.0 * s * s).sqrt());
        *r = (s - 1.0) / next;
        s = next;
    }
    out
}
