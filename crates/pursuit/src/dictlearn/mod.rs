//! Dictionary learning: MOD, K-SVD, online (Mairal et al.), and patch-based image denoising built on them.
