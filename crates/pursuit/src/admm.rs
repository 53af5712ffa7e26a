//! (filled in by the Basis Pursuit work)
