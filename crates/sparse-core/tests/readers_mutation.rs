//! The `.npy` and PNG readers on hostile input: seeded mutations (byte and bit flips,
//! insertions, deletions, truncations, header-field edits) of small valid files, and the
//! examples of issue 12. Every read must return (no panic) within a time bound, allocate no
//! more than the file can justify, and an `Ok` must have sane sizes.
#![cfg(feature = "io")]

use std::time::{Duration, Instant};

use faer::Mat;
use rand::{Rng, RngCore};
use sparse_core::io::{
    read_npy, read_npy_from_bytes, read_png_gray, read_png_gray_from_bytes, write_npy,
    write_npy_f32, write_npy_nd, write_npy_with, write_png_gray, MAX_IMAGE_PIXELS,
};
use testkit::{guarded, mutate, Mutations, Peak, TIME_BOUND};

#[global_allocator]
static ALLOC: Peak = Peak;

fn tmp(name: &str) -> std::path::PathBuf {
    testkit::tmp("sparse-core", name)
}

/// Seeded mutations with the header-field `edits` of one reader.
fn how<'a>(edits: &'a [&'a [u8]]) -> Mutations<'a> {
    Mutations {
        edits,
        edit_window: 128,
        extremes: &[u32::MAX, 0x8000_0000, 0x0001_0000, 0, 100_000],
        little_endian: true,
    }
}

fn npy_bases() -> Vec<Vec<u8>> {
    let m = Mat::<f64>::from_fn(3, 4, |i, j| (i * 4 + j) as f64 - 2.5);
    let mut out = Vec::new();
    // One file per call: tests run in parallel and each builds its bases.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = tmp(&format!("base-{k}.npy"));
    write_npy(&p, m.as_ref()).unwrap();
    out.push(std::fs::read(&p).unwrap());
    write_npy_with(&p, m.as_ref(), npyz::Order::Fortran).unwrap();
    out.push(std::fs::read(&p).unwrap());
    write_npy_f32(&p, m.as_ref()).unwrap();
    out.push(std::fs::read(&p).unwrap());
    write_npy_nd(&p, &[5], &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    out.push(std::fs::read(&p).unwrap());
    out.push(npy_by_hand(2, "'|u1'", "(2, 3)", &[1, 2, 3, 4, 5, 6]));
    out.push(npy_by_hand(
        3,
        "'>i4'",
        "(2,)",
        &[0, 0, 0, 7, 255, 255, 255, 255],
    ));
    out
}

/// A `.npy` file of format `version` with the given header fields and data bytes.
fn npy_by_hand(version: u8, descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}\n");
    npy_raw(version, header.as_bytes(), data)
}

fn npy_raw(version: u8, header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = b"\x93NUMPY".to_vec();
    v.extend([version, 0]);
    if version == 1 {
        v.extend((header.len() as u16).to_le_bytes());
    } else {
        v.extend((header.len() as u32).to_le_bytes());
    }
    v.extend(header);
    v.extend(data);
    v
}

#[test]
fn npy_bases_read_back() {
    let b = npy_bases();
    let m = Mat::<f64>::from_fn(3, 4, |i, j| (i * 4 + j) as f64 - 2.5);
    for f in &b[..3] {
        assert_eq!(read_npy_from_bytes(f).unwrap(), m);
    }
    assert_eq!(read_npy_from_bytes(&b[3]).unwrap().nrows(), 5);
    let u = read_npy_from_bytes(&b[4]).unwrap();
    assert_eq!(u, Mat::from_fn(2, 3, |i, j| (i * 3 + j + 1) as f64));
    let i = read_npy_from_bytes(&b[5]).unwrap();
    assert_eq!((i[(0, 0)], i[(1, 0)]), (7.0, -1.0));
}

#[test]
fn npy_mutations_never_panic_hang_or_overallocate() {
    let edits: &[&[u8]] = &[
        b"(4294967296, 4294967296)",
        b"(18446744073709551615,)",
        b"(99999999999999999999999999, 1)",
        b"{{{{{{{{{{{{{{{{{{{{",
        b"((((((((((((((((",
        b"'descr': '<c16', ",
        b"'shape': (), ",
        b"\\'\"",
        b"True",
        b"\xff\xff\xff\xff",
    ];
    let mut rng = sparse_core::generate::rng(12);
    let bases = npy_bases();
    let (mut ok, mut total) = (0usize, 0usize);
    let start = Instant::now();
    for round in 0..20_000 {
        let base = &bases[round % bases.len()];
        let f = mutate(base, &mut rng, &how(edits));
        let (r, dt, largest) = guarded(|| read_npy_from_bytes(&f));
        let r = r.unwrap_or_else(|| panic!("read_npy panicked on {f:?}"));
        assert!(dt < TIME_BOUND, "{dt:?} on {f:?}");
        // The file itself plus at most 8 bytes of f64 per byte of data.
        // f64 per byte of data (u1), times faer's padding of each column to 8 rows.
        assert!(
            largest <= 64 * f.len() + 4096,
            "{largest} bytes for {} bytes",
            f.len()
        );
        match r {
            Ok(m) => {
                ok += 1;
                assert!(m.nrows() * m.ncols() <= f.len());
            }
            Err(e) => {
                let s = e.to_string();
                assert!(!s.contains('\n') && s.contains("<bytes>"), "{s}");
            }
        }
        total += 1;
    }
    // Every truncation of every base, too.
    for base in &bases {
        for n in 0..base.len() {
            let (r, dt, _) = guarded(|| read_npy_from_bytes(&base[..n]));
            assert!(r.expect("panic on a truncation").is_err());
            assert!(dt < TIME_BOUND);
            total += 1;
        }
    }
    eprintln!(
        "npy: {total} mutated or truncated files, {ok} read Ok, in {:?}",
        start.elapsed()
    );
    assert!(total > 20_000);
}

#[test]
fn npy_issue_examples() {
    // 30 bytes of `{`: npyz's grammar took exponential time (14 braces: 15 s).
    let p = tmp("braces.npy");
    std::fs::write(&p, npy_raw(1, &[b'{'; 30], &[])).unwrap();
    let (r, dt, _) = guarded(|| read_npy(&p));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(dt < Duration::from_millis(100), "{dt:?}");
    assert!(
        e.contains("braces.npy") && e.contains("malformed header"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    // 30,000 braces: still linear.
    let (r, dt, _) = guarded(|| read_npy_from_bytes(&npy_raw(2, &[b'{'; 30_000], &[])));
    assert!(
        r.unwrap().is_err() && dt < Duration::from_millis(100),
        "{dt:?}"
    );

    // A declared shape (2^32, 2^32) overflowed in npyz.
    let f = npy_by_hand(1, "'<f8'", "(4294967296, 4294967296)", &[0; 8]);
    let e = read_npy_from_bytes(&f).unwrap_err().to_string();
    assert!(e.contains("overflows"), "{e}");
    // A shape that does not match the data, and one whose dimension exceeds usize.
    let f = npy_by_hand(1, "'<f8'", "(3, 3)", &[0; 64]);
    let e = read_npy_from_bytes(&f).unwrap_err().to_string();
    assert!(e.contains("needs 72 data bytes, the file has 64"), "{e}");
    let f = npy_by_hand(1, "'<f8'", "(123456789012345678901234567890,)", &[]);
    let e = read_npy_from_bytes(&f).unwrap_err().to_string();
    assert!(e.contains("does not fit"), "{e}");
    // An empty array with an absurd dimension.
    let f = npy_by_hand(1, "'<f8'", "(0, 18446744073709551615)", &[]);
    assert!(read_npy_from_bytes(&f).is_err());
    let f = npy_by_hand(1, "'<f8'", "(0, 7)", &[]);
    assert_eq!(read_npy_from_bytes(&f).unwrap().ncols(), 7);

    // A v2 header declaring 4 GiB was allocated before validation.
    let mut f = b"\x93NUMPY\x02\x00\xff\xff\xff\xff".to_vec();
    f.extend(b"{'descr': '<f8'");
    let (r, dt, largest) = guarded(|| read_npy_from_bytes(&f));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(e.contains("exceeds the limit"), "{e}");
    assert!(
        dt < Duration::from_millis(100) && largest < 4096,
        "{dt:?} {largest}"
    );
    // The same on disk names the file.
    let p = tmp("v2-4gib.npy");
    std::fs::write(&p, &f).unwrap();
    let e = read_npy(&p).unwrap_err().to_string();
    assert!(e.contains("v2-4gib.npy"), "{e}");
    // Other shapes and dtypes the reader refuses, in one line each.
    for (descr, shape) in [
        ("'<c16'", "(1,)"),
        ("'<f8'", "()"),
        ("'<f8'", "(1, 1, 1)"),
        ("[('a', '<f8')]", "(1,)"),
        ("'|f8'", "(1,)"),
    ] {
        let e = read_npy_from_bytes(&npy_by_hand(1, descr, shape, &[0; 8]))
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\n'), "{e}");
    }
}

/// CRC-32 (ISO-HDLC, as PNG uses it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A PNG chunk with its length and CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    v.extend(kind);
    v.extend(data);
    let mut crc_in = kind.to_vec();
    crc_in.extend(data);
    v.extend(crc32(&crc_in).to_be_bytes());
    v
}

/// Splits a PNG into its signature and chunks `(kind, data)`.
fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 12 <= png.len() {
        let n = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = png[at + 4..at + 8].try_into().unwrap();
        out.push((kind, png[at + 8..at + 8 + n].to_vec()));
        at += 12 + n;
    }
    out
}

fn assemble(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    for (k, d) in chunks {
        v.extend(chunk(k, d));
    }
    v
}

fn png_bases() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let img = Mat::<f64>::from_fn(9, 13, |i, j| ((i * 37 + j * 11) % 256) as f64);
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = tmp(&format!("base-{k}.png"));
    write_png_gray(&p, img.as_ref()).unwrap();
    out.push(std::fs::read(&p).unwrap());
    // RGB 8-bit, 16-bit grey and a palette image, through the png encoder.
    for (color, depth, bytes_per_px) in [
        (png::ColorType::Rgb, png::BitDepth::Eight, 3),
        (png::ColorType::Grayscale, png::BitDepth::Sixteen, 2),
        (png::ColorType::Indexed, png::BitDepth::Eight, 1),
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight, 2),
    ] {
        let mut buf = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut buf, 5, 4);
            enc.set_color(color);
            enc.set_depth(depth);
            if color == png::ColorType::Indexed {
                enc.set_palette((0..=255u8).flat_map(|v| [v, v, v]).collect::<Vec<u8>>());
            }
            let mut w = enc.write_header().unwrap();
            let data: Vec<u8> = (0..5 * 4 * bytes_per_px).map(|k| (k * 13) as u8).collect();
            w.write_image_data(&data).unwrap();
        }
        out.push(buf);
    }
    out
}

#[test]
fn png_mutations_never_panic_hang_or_overallocate() {
    let edits: &[&[u8]] = &[
        b"\x00\x01\x86\xa0",
        b"\xff\xff\xff\xff",
        b"IDAT",
        b"IEND",
        b"\x00\x00",
    ];
    let mut rng = sparse_core::generate::rng(1212);
    let bases = png_bases();
    for b in &bases {
        read_png_gray_from_bytes(b).unwrap();
    }
    let (mut ok, mut total) = (0usize, 0usize);
    let start = Instant::now();
    for round in 0..20_000 {
        let base = &bases[round % bases.len()];
        // Half the mutants get their chunk CRCs repaired so that the decoder looks further:
        // mutate a chunk's contents (IHDR dimensions, depth, colour type; IDAT data).
        let f = if round % 2 == 0 {
            mutate(base, &mut rng, &how(edits))
        } else {
            let mut cs = chunks(base);
            let k = rng.random_range(0..cs.len());
            cs[k].1 = mutate(&cs[k].1, &mut rng, &how(edits));
            if rng.random_range(0..4) == 0 && cs[0].1.len() >= 8 {
                // Huge dimensions in IHDR.
                let w: u32 = rng.random_range(1..=200_000);
                let h: u32 = rng.random_range(1..=200_000);
                cs[0].1[..4].copy_from_slice(&w.to_be_bytes());
                cs[0].1[4..8].copy_from_slice(&h.to_be_bytes());
            }
            assemble(&cs)
        };
        let (r, dt, largest) = guarded(|| read_png_gray_from_bytes(&f));
        let r = r.unwrap_or_else(|| panic!("read_png_gray panicked on {f:?}"));
        assert!(dt < TIME_BOUND, "{dt:?} on {f:?}");
        // At most: the pixel data `f.len()` bytes can inflate to (1032-fold), as f64 per 1-bit
        // pixel, times faer's padding of each column to 8 rows.
        let bound = 512 * (1032 * f.len() + 65536) + 4096;
        assert!(largest <= bound, "{largest} bytes for {} bytes", f.len());
        match r {
            Ok(m) => {
                ok += 1;
                assert!((m.nrows() * m.ncols()) as u64 <= MAX_IMAGE_PIXELS);
            }
            Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
        }
        total += 1;
    }
    for base in &bases {
        for n in 0..base.len() {
            let (r, dt, _) = guarded(|| read_png_gray_from_bytes(&base[..n]));
            // A truncation may still decode when only IEND is cut.
            r.expect("panic on a truncation").ok();
            assert!(dt < TIME_BOUND);
            total += 1;
        }
    }
    eprintln!(
        "png: {total} mutated or truncated files, {ok} read Ok, in {:?}",
        start.elapsed()
    );
}

#[test]
fn png_header_claiming_100000_squared_is_refused_before_allocating() {
    let mut ihdr = Vec::new();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, adaptive filter, no interlace
                                  // A tiny IDAT (zlib of nothing) and IEND, CRCs correct.
    let png = assemble(&[
        (*b"IHDR", ihdr.clone()),
        (
            *b"IDAT",
            vec![0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ),
        (*b"IEND", vec![]),
    ]);
    let p = tmp("huge.png");
    std::fs::write(&p, &png).unwrap();
    let (r, dt, largest) = guarded(|| read_png_gray(&p));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(
        e.contains("huge.png") && e.contains("MAX_IMAGE_PIXELS"),
        "{e}"
    );
    assert!(
        dt < Duration::from_millis(100) && largest < (1 << 20),
        "{dt:?} {largest}"
    );
    // Within MAX_IMAGE_PIXELS (4000 x 4000) but far more than 60 bytes can inflate to.
    ihdr[..8].copy_from_slice(&[0, 0, 0x0f, 0xa0, 0, 0, 0x0f, 0xa0]);
    let png = assemble(&[
        (*b"IHDR", ihdr),
        (
            *b"IDAT",
            vec![0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ),
        (*b"IEND", vec![]),
    ]);
    let (r, _, largest) = guarded(|| read_png_gray_from_bytes(&png));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(e.contains("can hold"), "{e}");
    assert!(largest < (1 << 20), "{largest}");
}

#[test]
fn random_bytes_are_refused() {
    let mut rng = sparse_core::generate::rng(7);
    for _ in 0..500 {
        let n = rng.random_range(0..256);
        let mut f = vec![0u8; n];
        rng.fill_bytes(&mut f);
        if rng.random() {
            f.splice(0..0, b"\x93NUMPY\x01\x00".iter().copied());
        }
        assert!(guarded(|| read_npy_from_bytes(&f)).0.unwrap().is_err());
        assert!(guarded(|| read_png_gray_from_bytes(&f)).0.unwrap().is_err());
    }
}

/// The seed files of the fuzz targets (`fuzz/seeds/`) stay valid input for their readers.
#[test]
fn fuzz_seeds_are_valid_files() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for (t, read) in [
        (
            "npy",
            read_npy_from_bytes as fn(&[u8]) -> sparse_core::Result<Mat<f64>>,
        ),
        ("png", read_png_gray_from_bytes),
    ] {
        let mut n = 0;
        for e in std::fs::read_dir(seeds.join(t)).unwrap() {
            let p = e.unwrap().path();
            read(&std::fs::read(&p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
        assert!(n > 0, "no seeds for {t}");
    }
}
