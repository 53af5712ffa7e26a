//! Test-only harness of the workspace: the machinery shared by every crate's bad-input battery
//! (`tests/bad_input.rs`) and reader mutation test (`tests/readers_mutation.rs`) of issue 12.
//!
//! - [`Log`] runs one call under [`std::panic::catch_unwind`] and records whether it did what
//!   was expected ([`Expect`]): an `Err` naming the argument in one line, or a sane `Ok`
//!   ([`Sane`]: no `converged = true` at a non-finite state);
//! - [`bits`] compares matrices bit for bit (inputs are never mutated);
//! - [`Peak`] (a counting global allocator) and [`guarded`] measure the largest single
//!   allocation and the time of one read; [`mutate`] makes seeded byte-level mutations of a
//!   valid file; [`gzip`] and [`tmp`] build inputs.
//!
//! ```
//! use testkit::{Expect, Log};
//! let mut log = Log::default();
//! log.check_plain("parse", Expect::Err("count"), || {
//!     "x".parse::<u8>().map_err(|e| format!("count: {e}"))
//! });
//! log.check_plain("parse", Expect::Ok, || "7".parse::<u8>());
//! log.finish(2);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use faer::{Mat, MatRef};
use rand::Rng;
use sparse_core::{Diagnostics, Dictionary, Solution, SparseCodes};

/// What a call must do.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// Fail with a one-line message that contains this argument name.
    Err(&'static str),
    /// Succeed (sanely).
    Ok,
    /// Either succeed sanely or fail naming something (documented both ways).
    Either,
}

impl From<Option<&'static str>> for Expect {
    /// `Some(name)`: an `Err` naming `name`; `None`: a sane `Ok`.
    fn from(e: Option<&'static str>) -> Self {
        e.map_or(Expect::Ok, Expect::Err)
    }
}

/// Whether a successful result is sane.
pub trait Sane {
    /// Why the result is not sane, or `None`.
    fn insane(&self) -> Option<String>;
}

/// Why a batch of diagnostics claims convergence at a non-finite state, or `None`.
pub fn insane_diagnostics(d: &[Diagnostics]) -> Option<String> {
    d.iter().enumerate().find_map(|(j, d)| {
        let finite = d.objective.is_finite()
            && d.residual_norm.is_finite()
            && d.duality_gap.is_none_or(|g| g.is_finite());
        (d.converged && !finite)
            .then(|| format!("signal {j} converged at a non-finite state: {d:?}"))
    })
}

impl Sane for Solution<Mat<f64>> {
    fn insane(&self) -> Option<String> {
        insane_diagnostics(&self.diagnostics).or_else(|| {
            self.diagnostics.iter().enumerate().find_map(|(j, d)| {
                let finite = self.codes.col(j).iter().all(|v| v.is_finite());
                (d.converged && !finite)
                    .then(|| format!("signal {j} converged with non-finite codes"))
            })
        })
    }
}

impl Sane for Solution<SparseCodes> {
    fn insane(&self) -> Option<String> {
        insane_diagnostics(&self.diagnostics)
    }
}

impl Sane for () {
    fn insane(&self) -> Option<String> {
        None
    }
}

impl Sane for Dictionary {
    fn insane(&self) -> Option<String> {
        let m = self.matrix();
        (0..m.ncols()).find_map(|j| {
            let c = m.col(j);
            let norm = c.norm_l2();
            (!(c.iter().all(|v| v.is_finite()) && (norm - 1.0).abs() < 1e-9))
                .then(|| format!("atom {j} is not a finite unit vector (norm {norm})"))
        })
    }
}

impl Sane for Mat<f64> {
    fn insane(&self) -> Option<String> {
        (!self.col_iter().all(|c| c.iter().all(|v| v.is_finite())))
            .then(|| "non-finite entries".to_string())
    }
}

/// The record of a battery: how many calls ran and which did not do what they should.
#[derive(Default)]
pub struct Log {
    /// Calls made.
    pub calls: usize,
    /// One line per call that panicked, failed unexpectedly, succeeded unexpectedly, failed
    /// with a badly worded message or returned an insane result.
    pub failures: Vec<String>,
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

impl Log {
    /// Runs `f` and checks its result against `expect`; an `Ok` must also be [`Sane`].
    pub fn check<T: Sane, E: Display>(
        &mut self,
        label: &str,
        expect: impl Into<Expect>,
        f: impl FnOnce() -> Result<T, E>,
    ) {
        self.check_with(label, expect, f, T::insane)
    }

    /// [`check`](Self::check) for results with no sanity rule of their own.
    pub fn check_plain<T, E: Display>(
        &mut self,
        label: &str,
        expect: impl Into<Expect>,
        f: impl FnOnce() -> Result<T, E>,
    ) {
        self.check_with(label, expect, f, |_| None)
    }

    /// [`check`](Self::check) with the sanity rule `insane` (why the `Ok` is not sane).
    pub fn check_with<T, E: Display>(
        &mut self,
        label: &str,
        expect: impl Into<Expect>,
        f: impl FnOnce() -> Result<T, E>,
        insane: impl FnOnce(&T) -> Option<String>,
    ) {
        let expect = expect.into();
        self.calls += 1;
        match catch_unwind(AssertUnwindSafe(f)) {
            Err(p) => self
                .failures
                .push(format!("{label}: PANIC {}", panic_message(p.as_ref()))),
            Ok(Err(e)) => {
                let msg = e.to_string();
                match expect {
                    Expect::Ok => self.failures.push(format!("{label}: unexpected Err {msg}")),
                    Expect::Err(name) if !msg.contains(name) => self
                        .failures
                        .push(format!("{label}: Err does not name `{name}`: {msg}")),
                    _ => {}
                }
                // The user's own value may be echoed; a bound of `usize::MAX` says nothing.
                let max = usize::MAX;
                let bound = [
                    format!("={max}"),
                    format!("<= {max}"),
                    format!("most {max}"),
                ];
                if msg.contains('\n') || bound.iter().any(|b| msg.contains(b.as_str())) {
                    self.failures
                        .push(format!("{label}: badly worded Err: {msg}"));
                }
            }
            Ok(Ok(v)) => {
                if let Expect::Err(name) = expect {
                    self.failures.push(format!(
                        "{label}: Ok where an Err naming `{name}` was expected"
                    ));
                }
                if let Some(why) = insane(&v) {
                    self.failures.push(format!("{label}: {why}"));
                }
            }
        }
    }

    /// Records a failure found outside [`check`](Self::check) (a mutated input, say).
    pub fn fail(&mut self, why: String) {
        self.failures.push(why);
    }

    /// Panics with every failure if there is one, and checks that at least `min_calls` calls
    /// ran (a battery that silently skipped its cases would pass otherwise).
    pub fn finish(self, min_calls: usize) {
        assert!(
            self.failures.is_empty(),
            "{} of {} calls misbehaved:\n{}",
            self.failures.len(),
            self.calls,
            self.failures.join("\n")
        );
        assert!(
            self.calls >= min_calls,
            "only {} calls ran, expected at least {min_calls}",
            self.calls
        );
    }
}

/// The bit patterns of a matrix, column by column (for "inputs never mutated").
pub fn bits(m: MatRef<'_, f64>) -> Vec<u64> {
    (0..m.ncols())
        .flat_map(|j| m.col(j).iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        .collect()
}

/// A global allocator that records the largest single allocation of the current thread
/// (tests run in parallel). Install it in a test binary with
/// `#[global_allocator] static ALLOC: testkit::Peak = testkit::Peak;`.
pub struct Peak;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every method forwards to `System` unchanged; the bookkeeping touches only a
// thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

/// Runs `f`, returning its result (or `None` on a panic), its time and the largest single
/// allocation it made on this thread (meaningful only where [`Peak`] is the global allocator).
pub fn guarded<T>(f: impl FnOnce() -> T) -> (Option<T>, Duration, usize) {
    LARGEST.with(|l| l.set(0));
    let t = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(f)).ok();
    (r, t.elapsed(), LARGEST.with(|l| l.get()))
}

/// The time one read of a small mutated file may take.
pub const TIME_BOUND: Duration = Duration::from_secs(1);

/// A path for `name` in a per-process temporary directory of the test binary `prefix`.
pub fn tmp(prefix: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-mut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir.join(name)
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("in-memory write");
    e.finish().expect("in-memory write")
}

/// How [`mutate`] edits a file.
#[derive(Clone, Copy)]
pub struct Mutations<'a> {
    /// Header-field edits (huge numbers, brackets, keywords) spliced in.
    pub edits: &'a [&'a [u8]],
    /// Edits are spliced in the first `edit_window` bytes (`usize::MAX`: anywhere).
    pub edit_window: usize,
    /// Extreme 32-bit integers written over 4 bytes.
    pub extremes: &'a [u32],
    /// Whether extremes are also written little-endian (big-endian always).
    pub little_endian: bool,
}

/// One seeded random mutation of `base`: 1 to 3 of byte and bit flips, insertions,
/// deletions, truncations, header-field edits, extreme integers and duplicated chunks.
pub fn mutate(base: &[u8], rng: &mut impl Rng, how: &Mutations<'_>) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.random_range(0..3) {
        let n = v.len().max(1);
        match rng.random_range(0..8) {
            0 => {
                let i = rng.random_range(0..n);
                if let Some(b) = v.get_mut(i) {
                    *b = rng.random();
                }
            }
            1 => {
                let i = rng.random_range(0..n);
                if let Some(b) = v.get_mut(i) {
                    *b ^= 1 << rng.random_range(0..8);
                }
            }
            2 => {
                let i = rng.random_range(0..=v.len());
                let ins: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
                v.splice(i..i, ins);
            }
            3 => {
                let i = rng.random_range(0..n);
                let k = rng.random_range(1..16).min(v.len().saturating_sub(i));
                if i < v.len() {
                    v.drain(i..i + k);
                }
            }
            4 => v.truncate(rng.random_range(0..=v.len())),
            5 if !how.edits.is_empty() => {
                let e = how.edits[rng.random_range(0..how.edits.len())];
                let i = rng.random_range(0..=v.len().min(how.edit_window));
                let k = rng.random_range(0..8).min(v.len() - i);
                v.splice(i..i + k, e.iter().copied());
            }
            6 if !how.extremes.is_empty() => {
                let i = rng.random_range(0..n);
                let x = how.extremes[rng.random_range(0..how.extremes.len())];
                let b = if how.little_endian && rng.random() {
                    x.to_le_bytes()
                } else {
                    x.to_be_bytes()
                };
                for (k, byte) in b.iter().enumerate() {
                    if let Some(t) = v.get_mut(i + k) {
                        *t = *byte;
                    }
                }
            }
            _ => {
                // Duplicate a chunk.
                let i = rng.random_range(0..n);
                let k = rng.random_range(1..64).min(v.len().saturating_sub(i));
                if i < v.len() {
                    let chunk = v[i..i + k].to_vec();
                    let at = rng.random_range(0..=v.len());
                    v.splice(at..at, chunk);
                }
            }
        }
    }
    v
}
