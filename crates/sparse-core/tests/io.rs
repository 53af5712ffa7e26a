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
    let (r, c) = grid.origin(5).unwrap();
    assert!(grid.origin(grid.len()).is_err());
    assert_eq!(p[(9, 5)], img[(r + 1, c + 2)]);
    assert!(PatchGrid::new(5, 5, 6, 2, 1).is_err());
    assert!(PatchGrid::new(5, 5, 2, 2, 0).is_err());
    assert!(extract_patches(img.as_ref(), 4, 6, 5).is_err()); // would leave gaps
}

/// The `.npy` format by hand (NEP 1): magic, version, header length, a Python-dict header
/// naming dtype, order and shape, then the values little-endian in C order.
#[test]
fn npy_nd_writer_follows_the_format_and_round_trips_matrices() {
    use sparse_core::io::write_npy_nd;
    let shape = [2usize, 3, 4];
    let data: Vec<f64> = (0..24).map(|k| k as f64 * 0.5 - 3.0).collect();
    let p = tmp("nd.npy");
    write_npy_nd(&p, &shape, &data).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let (major, hlen) = (bytes[6], u16::from_le_bytes([bytes[8], bytes[9]]) as usize);
    assert_eq!(major, 1);
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("'descr': '<f8'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    // The shape is a Python tuple (a trailing comma is allowed): `(2, 3, 4)` or `(2, 3, 4, )`.
    let tuple = header
        .split("'shape': (")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap();
    let dims: Vec<usize> = tuple
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().unwrap())
        .collect();
    assert_eq!(dims, shape, "{header}");
    assert_eq!((10 + hlen) % 16, 0, "header aligned");
    let body = &bytes[10 + hlen..];
    assert_eq!(body.len(), 8 * data.len());
    for (k, v) in data.iter().enumerate() {
        let b: [u8; 8] = body[8 * k..8 * k + 8].try_into().unwrap();
        assert_eq!(f64::from_le_bytes(b), *v);
    }
    // A 2-D array read back by the matrix reader: entry (i, j) is data[i * cols + j].
    let m = Mat::<f64>::from_fn(3, 5, |i, j| (i * 10 + j) as f64);
    let flat: Vec<f64> = (0..3)
        .flat_map(|i| (0..5).map(move |j| (i * 10 + j) as f64))
        .collect();
    let p2 = tmp("nd2.npy");
    write_npy_nd(&p2, &[3, 5], &flat).unwrap();
    assert_eq!(read_npy(&p2).unwrap(), m);
    // A length that does not match the shape is an error naming `data`.
    let err = write_npy_nd(tmp("bad.npy"), &[2, 3], &[1.0; 5]).unwrap_err();
    assert!(err.to_string().contains("`data`"), "{err}");
}
