//! (filled in by the Lasso work)
