//! `cargo xtask reproduce lista` (not implemented yet).

use crate::bench::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`reproduce lista` is not implemented yet".into())
}
