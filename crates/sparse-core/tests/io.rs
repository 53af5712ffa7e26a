//! Round trips through `.npy`, PNG and patches.
#![cfg(feature = "io")]

use faer::Mat;
use sparse_core::io::patches::{extract_patches, PatchGrid};
use sparse_core::io::{
    read_npy, read_png_gray, write_npy, write_npy_f32, write_npy_with, write_png_gray,
};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sparse-core-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn npy_round_trip_all_orders_and_dtypes() {
    let m = Mat::<f64>::from_fn(3, 5, |i, j| (i * 10 + j) as f64 + 0.25);
    for (name, order) in [("c.npy", npyz::Order::C), ("f.npy", npyz::Order::Fortran)] {
        let p = tmp(name);
        write_npy_with(&p, m.as_ref(), order).unwrap();
        assert_eq!(read_npy(&p).unwrap(), m);
    }
    let p = tmp("d.npy");
    write_npy(&p, m.as_ref()).unwrap();
    assert_eq!(read_npy(&p).unwrap(), m);
    let p = tmp("f32.npy");
    write_npy_f32(&p, m.as_ref()).unwrap();
    assert_eq!(read_npy(&p).unwrap(), m); // exactly representable in f32
    assert!(read_npy(tmp("missing.npy")).is_err());
}

#[test]
fn png_round_trip_and_shipped_image() {
    let img = Mat::<f64>::from_fn(7, 11, |i, j| ((i * 31 + j * 7) % 256) as f64);
    let p = tmp("x.png");
    write_png_gray(&p, img.as_ref()).unwrap();
    assert_eq!(read_png_gray(&p).unwrap(), img);
    let asset = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/camera.png");
    let cam = read_png_gray(asset).unwrap();
    assert_eq!((cam.nrows(), cam.ncols()), (512, 512));
}

#[test]
fn patches_reassemble_exactly_for_any_stride() {
    let img = Mat::<f64>::from_fn(13, 17, |i, j| (i as f64).sin() + (j as f64) * 0.1);
    for stride in [1, 2, 3, 4] {
        let (p, grid) = extract_patches(img.as_ref(), 4, 6, stride).unwrap();
        assert_eq!(p.nrows(), 24);
        let back = grid.assemble(p.as_ref()).unwrap();
        assert!((back - &img).norm_max() < 1e-14, "stride {stride}");
        // Every pixel is covered at least once.
        let (_, count) = grid.accumulate(p.as_ref()).unwrap();
        assert!((0..13).all(|i| (0..17).all(|j| count[(i, j)] >= 1.0)));
    }
    // Column-major vectorisation: entry e of a patch at origin (r, c) is pixel (r + e % ph, c + e / ph).
    let (p, grid) = extract_patches(img.as_ref(), 4, 6, 3).unwrap();
    let (r, c) = grid.origin(5);
    assert_eq!(p[(9, 5)], img[(r + 1, c + 2)]);
    assert!(PatchGrid::new(5, 5, 6, 2, 1).is_err());
    assert!(PatchGrid::new(5, 5, 2, 2, 0).is_err());
    assert!(extract_patches(img.as_ref(), 4, 6, 5).is_err()); // would leave gaps
}
