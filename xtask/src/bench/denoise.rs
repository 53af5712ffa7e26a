//! `cargo xtask bench denoise` (not implemented yet).

use super::BoxResult;

pub fn run(_args: &[String]) -> BoxResult<()> {
    Err("`bench denoise` is not implemented yet".into())
}
