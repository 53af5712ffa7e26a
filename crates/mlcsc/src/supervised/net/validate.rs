//! Validation of a deserialised [`UnfoldedNet`]: a hand-edited or corrupted file is refused
//! with an error naming the field, never accepted with a layout that would index out of the
//! parameter vector or overflow.

use serde::Deserialize;

use super::{Kind, LayerAt, UnfoldedNet, Unfolding};
use crate::error::{invalid, Error, Result};
use crate::model::{checked_geometry, MAX_FILE_LEN};

/// The serialised fields of an [`UnfoldedNet`], as written by its `Serialize`.
#[derive(Deserialize)]
pub(super) struct NetData {
    dims: Vec<usize>,
    classes: usize,
    unfoldings: usize,
    kind: Unfolding,
    params: Vec<f64>,
    layers: Vec<LayerAt>,
    w: usize,
    w0: usize,
}

impl TryFrom<NetData> for UnfoldedNet {
    type Error = Error;
    fn try_from(d: NetData) -> Result<Self> {
        let net = UnfoldedNet {
            dims: d.dims,
            classes: d.classes,
            unfoldings: d.unfoldings,
            kind: d.kind,
            params: d.params,
            layers: d.layers,
            w: d.w,
            w0: d.w0,
        };
        net.validate()?;
        Ok(net)
    }
}

/// `a + b`, or an error naming `field` when it overflows.
fn add(field: &'static str, a: usize, b: usize) -> Result<usize> {
    a.checked_add(b)
        .ok_or_else(|| invalid(field, format!("{a} + {b}"), "offsets that fit in usize"))
}

impl UnfoldedNet {
    /// Checks every invariant the constructors establish (see the type's documentation).
    pub(crate) fn validate(&self) -> Result<()> {
        let dims = &self.dims;
        if dims.len() < 2 {
            return Err(invalid(
                "dims",
                format!("{dims:?}"),
                "the input length and at least one layer",
            ));
        }
        if let Some(&bad) = dims.iter().find(|&&n| n == 0 || n > MAX_FILE_LEN) {
            return Err(invalid(
                "dims",
                bad,
                format!("lengths in 1..={MAX_FILE_LEN} (MAX_FILE_LEN)"),
            ));
        }
        if self.layers.len() != dims.len() - 1 {
            return Err(invalid(
                "layers",
                format!("{} layers", self.layers.len()),
                format!("{} (one per entry of dims after the first)", dims.len() - 1),
            ));
        }
        if self.classes == 0 || self.classes > MAX_FILE_LEN {
            return Err(invalid(
                "classes",
                self.classes,
                format!("an integer in 1..={MAX_FILE_LEN}"),
            ));
        }
        sparse_core::check::count("unfoldings", self.unfoldings, super::MAX_UNFOLDINGS)?;
        // The layout `build` produces: per layer D_i, c_i, b_i back to back, then W, w_0.
        let mut off = 0usize;
        let mut prev: Option<crate::valid::ValidGeometry> = None;
        let mut seen_dense = false;
        for (l, at) in self.layers.iter().enumerate() {
            let (n, m) = (dims[l], dims[l + 1]);
            let (d_len, nbias) = match at.kind {
                Kind::Dense => {
                    seen_dense = true;
                    prev = None;
                    let d_len = n.checked_mul(m).ok_or_else(|| {
                        invalid::<Error>(
                            "dims",
                            format!("{n} x {m} (layer {})", l + 1),
                            "a dictionary whose size fits in usize",
                        )
                    })?;
                    (d_len, m)
                }
                Kind::Valid(g) => {
                    let layer = format!("layer {}", l + 1);
                    if seen_dense {
                        return Err(invalid(
                            "layers",
                            layer,
                            "convolutional layers only before dense ones",
                        ));
                    }
                    let (input_len, patch_len, code_len) = checked_geometry(&g, "layers")?;
                    if input_len != n || code_len != m {
                        return Err(invalid(
                            "layers",
                            format!(
                                "{layer}: a geometry of {input_len} inputs and {code_len} codes"
                            ),
                            format!("{n} inputs and {m} codes (dims)"),
                        ));
                    }
                    if let Some(p) = prev {
                        let (oh, ow) = p.out();
                        if (g.channels, g.input) != (p.maps, (oh, ow)) {
                            return Err(invalid(
                                "layers",
                                format!("{layer}: input {} x {:?}", g.channels, g.input),
                                format!("the previous layer's output {} x {:?}", p.maps, (oh, ow)),
                            ));
                        }
                    }
                    prev = Some(g);
                    // patch_len * maps <= code_len * patch_len is checked by checked_geometry.
                    let d_len = patch_len.checked_mul(g.maps).ok_or_else(|| {
                        invalid::<Error>("layers", layer, "filters whose size fits in usize")
                    })?;
                    (d_len, g.maps)
                }
            };
            let c = add("layers", off, d_len)?;
            let b = add("layers", c, 1)?;
            if (at.d, at.c, at.b) != (off, c, b) {
                return Err(invalid(
                    "layers",
                    format!(
                        "layer {} at offsets d = {}, c = {}, b = {}",
                        l + 1,
                        at.d,
                        at.c,
                        at.b
                    ),
                    format!("d = {off}, c = {c}, b = {b} (the canonical layout)"),
                ));
            }
            off = add("layers", b, nbias)?;
        }
        if self.w != off {
            return Err(invalid(
                "w",
                self.w,
                format!("{off} (after the last layer)"),
            ));
        }
        let nl = dims[dims.len() - 1];
        let w_len = self.classes.checked_mul(nl).ok_or_else(|| {
            invalid::<Error>(
                "classes",
                self.classes,
                "a classifier whose size fits in usize",
            )
        })?;
        let w0 = add("w0", off, w_len)?;
        if self.w0 != w0 {
            return Err(invalid("w0", self.w0, format!("{w0} (after W)")));
        }
        let np = add("params", w0, self.classes)?;
        if self.params.len() != np {
            return Err(crate::error::mismatch(
                "params",
                format!("{np} entries (the layout of dims, layers and classes)"),
                format!("{} entries", self.params.len()),
            ));
        }
        sparse_core::check::finite_slice("params", &self.params)?;
        Ok(())
    }
}
