//! The API shared by the unfolded Lasso networks (LISTA, learned FISTA, FacNet), written once.

/// The public API every unfolded Lasso network shares, generated once for a type with fields
/// `d: Dictionary`, `lambda`, `layers`, `par`, `params` and a method
/// `run(y, par, trace) -> Mat<f64>` that computes the codes `z_T`: the accessors, `codes`,
/// `forward`, `loss`, `gradient`, `train` and the workspace's [`Solve`](crate::Solve) protocol.
macro_rules! unfolded_lasso_api {
    ($t:ident) => {
        impl $t {
            /// Number of layers `T`.
            pub fn layers(&self) -> usize {
                self.layers
            }

            /// The Lasso penalty `lambda` of the objective.
            pub fn lambda(&self) -> f64 {
                self.lambda
            }

            /// The dictionary of the objective.
            pub fn dictionary(&self) -> &sparse_core::Dictionary {
                &self.d
            }

            /// The flat parameter vector (layout in [`blocks`](Self::blocks)).
            pub fn params(&self) -> &[f64] {
                &self.params
            }

            /// The flat parameter vector, mutable (for finite differences or hand-set weights;
            /// training restores the network's constraints after every step).
            pub fn params_mut(&mut self) -> &mut [f64] {
                &mut self.params
            }

            /// Sets the parallelism of `codes`, `forward`, `loss` and `gradient`.
            pub fn set_par(&mut self, par: faer::Par) {
                self.par = par;
            }

            fn check_input(&self, y: faer::MatRef<'_, f64>) -> $crate::error::Result<()> {
                $crate::learned::train::check_signals("y", y, &self.d)
            }

            /// The codes `z_T` of the columns of `y` (`signal_len x n`).
            pub fn codes(&self, y: faer::MatRef<'_, f64>) -> $crate::error::Result<faer::Mat<f64>> {
                self.check_input(y)?;
                Ok(self.run(y, self.par, None))
            }

            /// The codes with their diagnostics (Lasso objective, residual norm and relative
            /// duality gap per signal; `iterations` is the number of layers, `converged` is
            /// always true: a network runs a fixed number of layers).
            pub fn forward(
                &self,
                y: faer::MatRef<'_, f64>,
            ) -> $crate::error::Result<$crate::result::Solution> {
                let z = self.codes(y)?;
                Ok($crate::learned::train::coding_result(
                    &self.d,
                    y,
                    z,
                    self.lambda,
                    self.layers,
                    self.par,
                ))
            }

            /// Mean Lasso objective `1/n sum_j F(z_T(y_j))` over the columns of `y`.
            pub fn loss(&self, y: faer::MatRef<'_, f64>) -> $crate::error::Result<f64> {
                self.check_input(y)?;
                Ok($crate::learned::train::mean_loss(self, y, self.par))
            }

            /// The mean objective and its (Euclidean) gradient with respect to
            /// [`params`](Self::params), by back-propagation (exact wherever no
            /// pre-activation sits on a threshold kink, see
            /// [`kink_margin`](Self::kink_margin)).
            pub fn gradient(
                &self,
                y: faer::MatRef<'_, f64>,
            ) -> $crate::error::Result<(f64, Vec<f64>)> {
                use $crate::learned::train::Net as _;
                self.check_input(y)?;
                let mut g = vec![0.0; self.params.len()];
                let loss = self.loss_grad(y, &mut g, self.par);
                Ok((loss, g))
            }

            /// Trains the network further on the columns of `y_train` (see
            /// [`Training`](crate::learned::Training)).
            pub fn train(
                &mut self,
                y_train: faer::MatRef<'_, f64>,
                training: &$crate::learned::Training,
                observer: &mut dyn FnMut(&$crate::learned::EpochReport),
            ) -> $crate::error::Result<()> {
                self.check_input(y_train)?;
                $crate::learned::train::train(self, y_train, training, observer)
            }
        }

        impl $crate::Solve<sparse_core::Dictionary> for $t {
            type Output = $crate::result::Solution;
            type Error = $crate::error::Error;

            /// Codes `y` with the network; `d` must be the dictionary it was built for.
            fn solve(
                &self,
                d: &sparse_core::Dictionary,
                y: faer::MatRef<'_, f64>,
            ) -> $crate::error::Result<$crate::result::Solution> {
                $crate::learned::train::check_same_dictionary(d, &self.d)?;
                self.forward(y)
            }
        }
    };
}
