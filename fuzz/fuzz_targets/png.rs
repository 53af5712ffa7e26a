//! PNG reader: any bytes give `Ok` with an image within `MAX_IMAGE_PIXELS`, or an `Err`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = sparse_core::io::read_png_gray_from_bytes(data) {
        let px = (m.nrows() as u64) * (m.ncols() as u64);
        assert!(px <= sparse_core::io::MAX_IMAGE_PIXELS);
        assert!(m.nrows() > 0 && m.ncols() > 0);
    }
});
