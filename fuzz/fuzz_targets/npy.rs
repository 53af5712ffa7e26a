//! `.npy` reader: any bytes give `Ok` with a matrix the data could hold, or an `Err`; never a
//! panic, a hang or an allocation past the file's size.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = sparse_core::io::read_npy_from_bytes(data) {
        // Every value comes from at least one byte of the file.
        assert!(m.nrows().saturating_mul(m.ncols()) <= data.len());
    }
});
