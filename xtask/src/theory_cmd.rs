//! `cargo xtask theory [--dict FILE.npy] [--k K]`: the coherence quantities and certificates of a
//! dictionary (not implemented yet).

use crate::bench::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`theory` is not implemented yet".into())
}
