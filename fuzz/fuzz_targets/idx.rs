//! IDX (MNIST) reader: the input is split into an image file and a label file (the first two
//! bytes, little-endian, give the length of the image part), each gzipped or not. Any bytes
//! give `Ok` with sizes the data could hold, or an `Err`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let k = (u16::from_le_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
    let (images, labels) = data[2..].split_at(k);
    if let Ok(d) = mlcsc::data::read_mnist_from_bytes(images, labels) {
        assert_eq!(d.images.ncols(), d.labels.len());
        assert_eq!(d.images.nrows(), d.shape.0 * d.shape.1);
        // Deflate expands at most 1032-fold.
        assert!(d.images.nrows() * d.len() <= 1032 * data.len() + 1032);
    }
});
