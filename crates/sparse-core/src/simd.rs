//! One run-time dispatch for the kernels compiled for AVX2 + FMA (and, for the few that gain
//! from 512-bit registers, AVX-512: the [`Avx512`] token, held to the same rules).
//!
//! Hot loops of the workspace (Batch-OMP and ORMP, coordinate descent, LARS, the Fourier-domain
//! updates of convolutional BPDN) are compiled twice on x86-64: for the baseline target and with
//! `#[target_feature(enable = "avx2,fma")]`. Calling the second on a CPU without those features
//! is undefined behaviour, so it may only run with *proof* that the CPU has them: an
//! [`Avx2Fma`] token, which can only be obtained from [`Avx2Fma::detect`] (or
//! [`Avx2Fma::hardware`]), which check the CPU. A kernel site takes an `Option<Avx2Fma>`:
//! `Some(token)` runs the AVX2 + FMA build, `None` the portable one; both are safe to call
//! for every argument.
//!
//! # Forcing the portable path
//!
//! [`Avx2Fma::detect`] returns `None` — every site runs its portable kernel — when
//!
//! - the environment variable `SPARSELAND_PORTABLE` is set to anything but `""` or `"0"` when
//!   it is first read (once per process), e.g. `SPARSELAND_PORTABLE=1 cargo test`;
//! - the cargo feature `portable` of `sparse-core` is enabled (compile time);
//! - [`force_portable`]`(true)` was called (process-wide, for tests and benchmarks comparing the
//!   two paths).
//!
//! The switch can only *remove* the fast path, never enable it on a CPU without the features.
//!
//! # What differs between the two paths
//!
//! Kernels whose AVX2 build only lets the compiler vectorise independent lanes (Rust never
//! contracts `a * b + c` into an FMA on its own) compute bit-identical results on both paths.
//! Kernels written with explicit FMA intrinsics (Batch-OMP's and ORMP's correlation update)
//! round once where the portable code rounds twice, so their results agree to a few ulps of the
//! quantities involved; each such site says so.
//!
//! ```
//! use sparse_core::simd::Avx2Fma;
//!
//! fn sum(simd: Option<Avx2Fma>, x: &[f64]) -> f64 {
//!     // A site would run its `#[target_feature]` build when `simd` is `Some`.
//!     let _ = simd;
//!     x.iter().sum()
//! }
//! assert_eq!(sum(Avx2Fma::detect(), &[1.0, 2.0]), sum(None, &[1.0, 2.0]));
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Name of the environment variable that forces the portable kernels.
pub const PORTABLE_ENV: &str = "SPARSELAND_PORTABLE";

/// Proof that the running CPU supports AVX2 and FMA: kernels compiled with
/// `#[target_feature(enable = "avx2,fma")]` may be called while one is held.
///
/// The field is private, so a value exists only when [`Avx2Fma::detect`] or
/// [`Avx2Fma::hardware`] checked the CPU (never on other architectures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx2Fma {
    _proof: (),
}

impl Avx2Fma {
    /// The token when the CPU supports AVX2 and FMA and the portable path is not forced
    /// (see the [module docs](self)); `None` otherwise. Cheap (cached feature bits and one
    /// atomic load): sites may call it on every invocation.
    #[inline]
    pub fn detect() -> Option<Self> {
        if portable_forced() {
            None
        } else {
            Self::hardware()
        }
    }

    /// The token when the CPU supports AVX2 and FMA, whatever the switch says (for tests that
    /// run both paths in one process).
    #[inline]
    pub fn hardware() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Some(Self { _proof: () });
            }
        }
        None
    }
}

/// Proof that the running CPU supports AVX-512 F and VL on top of AVX2 and FMA: kernels
/// compiled with `#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]` may be called while
/// one is held. The portable switch removes it with [`Avx2Fma`] (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx512 {
    _proof: (),
}

impl Avx512 {
    /// The token when the CPU supports AVX-512 F + VL, AVX2 and FMA and neither the portable
    /// path nor the 256-bit kernels ([`force_avx2`]) are forced; `None` otherwise. Cheap, as
    /// [`Avx2Fma::detect`].
    #[inline]
    pub fn detect() -> Option<Self> {
        if portable_forced() || NARROW.load(Ordering::Relaxed) {
            None
        } else {
            Self::hardware()
        }
    }

    /// The token when the CPU supports AVX-512 F + VL, AVX2 and FMA, whatever the switch says.
    #[inline]
    pub fn hardware() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            if Avx2Fma::hardware().is_some()
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Some(Self { _proof: () });
            }
        }
        None
    }

    /// The AVX2 + FMA token this one implies.
    #[inline]
    pub fn avx2(self) -> Avx2Fma {
        Avx2Fma { _proof: () }
    }
}

static FORCED: AtomicBool = AtomicBool::new(false);
static NARROW: AtomicBool = AtomicBool::new(false);

fn env_forced() -> bool {
    static ENV: OnceLock<bool> = OnceLock::new();
    *ENV.get_or_init(|| std::env::var_os(PORTABLE_ENV).is_some_and(|v| !(v.is_empty() || v == "0")))
}

/// Whether the portable kernels are forced: by the cargo feature `portable`, by the
/// environment variable [`PORTABLE_ENV`] (read once), or by [`force_portable`].
#[inline]
pub fn portable_forced() -> bool {
    cfg!(feature = "portable") || FORCED.load(Ordering::Relaxed) || env_forced()
}

/// Forces (`true`) or stops forcing (`false`) the portable kernels in the whole process, from
/// the next kernel call on. `false` does not override the environment variable or the cargo
/// feature. Meant for tests and benchmarks that compare the two paths; results of concurrent
/// solves may mix both paths while it changes.
pub fn force_portable(on: bool) {
    FORCED.store(on, Ordering::Relaxed);
}

/// Forces (`true`) or stops forcing (`false`) the 256-bit kernels where an AVX-512 build
/// exists: [`Avx512::detect`] returns `None` while it is on, [`Avx2Fma::detect`] is unchanged.
/// Process-wide, from the next solver call on; for tests and benchmarks that compare the two
/// builds (the AVX-512 builds of ORMP compute bit-identical results).
pub fn force_avx2(on: bool) {
    NARROW.store(on, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_removes_the_token_and_only_that() {
        let hw = Avx2Fma::hardware();
        let hw512 = Avx512::hardware();
        // AVX-512 implies the AVX2 + FMA token.
        assert!(hw512.is_none() || hw.is_some());
        assert_eq!(hw512.map(Avx512::avx2), hw512.and(hw));
        force_portable(true);
        assert_eq!(Avx2Fma::detect(), None);
        assert_eq!(Avx512::detect(), None);
        assert!(portable_forced());
        force_portable(false);
        if !cfg!(feature = "portable") && !env_forced() {
            assert_eq!(Avx2Fma::detect(), hw);
            assert_eq!(Avx512::detect(), hw512);
            force_avx2(true);
            assert_eq!(Avx2Fma::detect(), hw);
            assert_eq!(Avx512::detect(), None);
            force_avx2(false);
            assert_eq!(Avx512::detect(), hw512);
        }
    }
}
