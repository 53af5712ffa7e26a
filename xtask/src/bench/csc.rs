//! `cargo xtask bench csc` (not implemented yet).

use super::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`bench csc` is not implemented yet".into())
}
