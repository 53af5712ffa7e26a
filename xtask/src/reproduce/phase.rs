//! `cargo xtask reproduce phase` (not implemented yet).

use crate::bench::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`reproduce phase` is not implemented yet".into())
}
