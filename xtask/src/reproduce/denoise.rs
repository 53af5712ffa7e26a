//! `cargo xtask reproduce denoise` (not implemented yet).

use crate::bench::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`reproduce denoise` is not implemented yet".into())
}
