//! `cargo xtask reproduce csc` (not implemented yet).

use crate::bench::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`reproduce csc` is not implemented yet".into())
}
