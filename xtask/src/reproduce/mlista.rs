//! `cargo xtask reproduce mlista` (not implemented yet).

use crate::bench::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`reproduce mlista` is not implemented yet".into())
}
