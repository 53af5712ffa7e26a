//! Learned (unfolded) solvers: LISTA (Gregor & LeCun 2010), FacNet / adaptive ISTA and learned FISTA (Moreau & Bruna 2017).
