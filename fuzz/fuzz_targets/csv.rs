//! Digits CSV reader: any bytes (gzipped or not) give `Ok` with labels in `0..=9` and pixels
//! in `[0, 1]`, or an `Err` naming the line.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = mlcsc::data::read_digits_csv_from_bytes(data) {
        assert!(d.labels.iter().all(|&l| l <= mlcsc::data::MAX_DIGIT_LABEL));
        assert_eq!(d.images.nrows(), 64);
        assert!(d.images.norm_max() <= 1.0);
    }
});
