//! Criterion benchmarks of the workspace live in `benches/`, one file per crate.
