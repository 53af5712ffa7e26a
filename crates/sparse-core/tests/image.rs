//! Area resampling against block means, mass conservation and the identity.

use faer::Mat;
use sparse_core::image::{area_resize, area_weights};

#[test]
fn area_weights_rows_sum_to_one_and_columns_carry_equal_mass() {
    for (from, to) in [(28usize, 17usize), (17, 28), (9, 3), (5, 5), (1, 4)] {
        let w = area_weights(from, to).unwrap();
        for o in 0..to {
            let sum: f64 = (0..from).map(|i| w[(o, i)]).sum();
            assert!((sum - 1.0).abs() < 1e-12, "{from} -> {to}, row {o}");
        }
        // Each input pixel spreads its unit of length over outputs of length s = from / to.
        let s = from as f64 / to as f64;
        for i in 0..from {
            let mass: f64 = (0..to).map(|o| w[(o, i)] * s).sum();
            assert!((mass - 1.0).abs() < 1e-12, "{from} -> {to}, column {i}");
        }
    }
    assert_eq!(area_weights(6, 6).unwrap(), Mat::<f64>::identity(6, 6));
    assert!(area_weights(0, 3).unwrap_err().to_string().contains("from"));
    assert!(area_weights(3, 0).unwrap_err().to_string().contains("to"));
}

#[test]
fn area_resize_by_an_integer_factor_is_the_block_mean() {
    let (h, w) = (6usize, 9usize);
    let imgs = Mat::<f64>::from_fn(h * w, 2, |k, j| ((k * 7 + j * 3) % 11) as f64);
    let out = area_resize(imgs.as_ref(), (h, w), (3, 3)).unwrap();
    for j in 0..2 {
        for c in 0..3 {
            for r in 0..3 {
                let mut s = 0.0;
                for a in 0..2 {
                    for b in 0..3 {
                        s += imgs[((2 * r + a) + h * (3 * c + b), j)];
                    }
                }
                assert!((out[(r + 3 * c, j)] - s / 6.0).abs() < 1e-12);
            }
        }
    }
    // Orientation: the top-left pixel of a 28 x 28 image lands in the top-left of 17 x 17,
    // the bottom-left one in the bottom-left.
    let mut img = Mat::<f64>::zeros(28 * 28, 2);
    img[(0, 0)] = 1.0;
    img[(27, 1)] = 1.0;
    let small = area_resize(img.as_ref(), (28, 28), (17, 17)).unwrap();
    let peak = |j: usize| {
        (0..289)
            .max_by(|&a, &b| small[(a, j)].total_cmp(&small[(b, j)]))
            .unwrap()
    };
    assert_eq!((peak(0), peak(1)), (0, 16));
    let e = area_resize(img.as_ref(), (28, 27), (17, 17)).unwrap_err();
    assert!(e.to_string().contains("images"), "{e}");
}
