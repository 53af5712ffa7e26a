//! The file readers of `mlcsc` on hostile input — IDX (MNIST), the digits CSV, model and
//! network JSON — : seeded mutations of small valid files (byte and bit flips, insertions,
//! deletions, truncations, header and field edits, gzip of mutated contents) and the examples
//! of issue 12 (a gzip bomb, huge IDX counts, a `1e300` label, a 2^32 x 2^32 dictionary). Every
//! read must return (no panic) within a time bound, allocate no more than the input can
//! justify, and an `Ok` must have sane sizes.

use std::time::{Duration, Instant};

use csc::{ConvDictionary, Grid};
use faer::Mat;
use mlcsc::data::{read_digits_csv, read_digits_csv_from_bytes, read_mnist, read_mnist_from_bytes};
use mlcsc::supervised::{LayerSpec, TrainState, UnfoldedNet, Unfolding, MAX_UNFOLDINGS};
use mlcsc::{Layer, MlModel, ValidGeometry};
use rand::Rng;
use serde_json::Value;
use sparse_core::{generate, Dictionary};
use testkit::{guarded, gzip, mutate, Mutations, Peak, TIME_BOUND};

#[global_allocator]
static ALLOC: Peak = Peak;

fn tmp(name: &str) -> std::path::PathBuf {
    testkit::tmp("mlcsc", name)
}

/// Seeded mutations with the header-field `edits` of one reader.
fn how<'a>(edits: &'a [&'a [u8]]) -> Mutations<'a> {
    Mutations {
        edits,
        edit_window: usize::MAX,
        extremes: &[u32::MAX, 0x8000_0000, 0x0001_0000, 0, 60_000],
        little_endian: false,
    }
}

/// A small IDX pair: `n` images of `rows x cols` and their labels.
fn idx(n: u32, rows: u32, cols: u32) -> (Vec<u8>, Vec<u8>) {
    let mut im = 2051u32.to_be_bytes().to_vec();
    for d in [n, rows, cols] {
        im.extend(d.to_be_bytes());
    }
    im.extend((0..n * rows * cols).map(|k| (k * 7 % 256) as u8));
    let mut lb = 2049u32.to_be_bytes().to_vec();
    lb.extend(n.to_be_bytes());
    lb.extend((0..n).map(|k| (k % 10) as u8));
    (im, lb)
}

#[test]
fn idx_mutations_never_panic_hang_or_overallocate() {
    let (im, lb) = idx(3, 4, 5);
    let ok = read_mnist_from_bytes(&im, &lb).unwrap();
    assert_eq!((ok.images.nrows(), ok.len(), ok.shape), (20, 3, (4, 5)));
    assert_eq!(read_mnist_from_bytes(&gzip(&im), &gzip(&lb)).unwrap(), ok);
    let edits: &[&[u8]] = &[
        b"\x00\x00\x08\x03",
        b"\x00\x00\x08\x01",
        b"\xff\xff\xff\xff",
        b"\x1f\x8b",
    ];
    let mut rng = generate::rng(12);
    let (mut oks, mut total) = (0usize, 0usize);
    let start = Instant::now();
    for round in 0..10_000 {
        // Mutate the images or the labels; raw, gzipped after mutation, or the gzip itself.
        let (mut a, mut b) = (im.clone(), lb.clone());
        let target = if round % 2 == 0 { &mut a } else { &mut b };
        *target = match round % 6 {
            0 | 1 => mutate(target, &mut rng, &how(edits)),
            2 | 3 => gzip(&mutate(target, &mut rng, &how(edits))),
            _ => mutate(&gzip(target), &mut rng, &how(edits)),
        };
        let (r, dt, largest) = guarded(|| read_mnist_from_bytes(&a, &b));
        let r = r.unwrap_or_else(|| panic!("read_mnist panicked on {a:?} / {b:?}"));
        assert!(dt < TIME_BOUND, "{dt:?}");
        let len = a.len() + b.len();
        // f64 per byte, faer's padding to 8 rows, what deflate can expand to, gzip's buffers.
        assert!(
            largest <= 64 * 1032 * len + (1 << 20),
            "{largest} bytes for {len}"
        );
        match r {
            Ok(d) => {
                oks += 1;
                assert_eq!(d.images.ncols(), d.len());
                assert!(d.images.nrows() * d.len() <= 1032 * len);
                assert!(d.labels.iter().all(|&l| l < 256));
            }
            Err(e) => {
                let s = e.to_string();
                assert!(!s.contains('\n') && s.contains("<bytes>"), "{s}");
            }
        }
        total += 1;
    }
    for n in 0..im.len() {
        let (r, _, _) = guarded(|| read_mnist_from_bytes(&im[..n], &lb));
        assert!(r.expect("panic on a truncation").is_err());
        total += 1;
    }
    eprintln!(
        "idx: {total} mutated or truncated pairs, {oks} read Ok, in {:?}",
        start.elapsed()
    );
}

#[test]
fn idx_gzip_bomb_and_huge_counts_are_refused_before_allocating() {
    // The bomb of the issue: a header declaring 4,000,000 images of 28 x 28 (3.1 GB) and a
    // gzip stream of zeros. Refused at the header.
    let mut im = 2051u32.to_be_bytes().to_vec();
    for d in [4_000_000u32, 28, 28] {
        im.extend(d.to_be_bytes());
    }
    im.extend(std::iter::repeat_n(0u8, 16 << 20));
    let bomb = gzip(&im);
    let (_, lb) = idx(1, 1, 1);
    let (pi, pl) = (tmp("bomb-images.gz"), tmp("labels"));
    std::fs::write(&pi, &bomb).unwrap();
    std::fs::write(&pl, &lb).unwrap();
    let (r, dt, largest) = guarded(|| read_mnist(&pi, &pl));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(
        e.contains("bomb-images.gz") && e.contains("MAX_IDX_BYTES"),
        "{e}"
    );
    assert!(
        dt < Duration::from_millis(200) && largest < (1 << 20),
        "{dt:?} {largest}"
    );
    // A header within the limit over a stream that decompresses to far more: reading stops
    // one byte past the declared size.
    let mut im = 2051u32.to_be_bytes().to_vec();
    for d in [10u32, 28, 28] {
        im.extend(d.to_be_bytes());
    }
    im.extend(std::iter::repeat_n(0u8, 64 << 20));
    let (_, lb) = idx(10, 1, 1);
    let (r, _, largest) = guarded(|| read_mnist_from_bytes(&gzip(&im), &lb));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(e.contains("more data than the 7840 bytes"), "{e}");
    assert!(largest < (1 << 20), "{largest}");
    // Counts whose product overflows, in the images and the labels.
    let mut im = 2051u32.to_be_bytes().to_vec();
    for _ in 0..3 {
        im.extend(u32::MAX.to_be_bytes());
    }
    let e = read_mnist_from_bytes(&im, &lb).unwrap_err().to_string();
    assert!(e.contains("MAX_IDX_BYTES"), "{e}");
    let (im, _) = idx(2, 3, 3);
    let mut lb = 2049u32.to_be_bytes().to_vec();
    lb.extend(u32::MAX.to_be_bytes());
    let e = read_mnist_from_bytes(&im, &lb).unwrap_err().to_string();
    assert!(e.contains("MAX_IDX_BYTES"), "{e}");
    // A label count within the limit but past the end of the data.
    let mut lb = 2049u32.to_be_bytes().to_vec();
    lb.extend(1000u32.to_be_bytes());
    lb.extend([1, 2]);
    let e = read_mnist_from_bytes(&im, &lb).unwrap_err().to_string();
    assert!(
        e.contains("truncated") && e.contains("declares 1000 bytes"),
        "{e}"
    );
    // Images of no pixel, and label counts that differ.
    let (im, lb) = idx(2, 0, 3);
    assert!(read_mnist_from_bytes(&im, &lb).is_err());
    let (im, _) = idx(2, 3, 3);
    let (_, lb) = idx(3, 3, 3);
    let e = read_mnist_from_bytes(&im, &lb).unwrap_err().to_string();
    assert!(e.contains("3 labels for the 2 images"), "{e}");
}

fn digits_csv(lines: usize) -> String {
    (0..lines)
        .map(|k| {
            let px: Vec<String> = (0..64).map(|p| ((p * 3 + k) % 17).to_string()).collect();
            format!("{},{}\n", px.join(","), k % 10)
        })
        .collect()
}

#[test]
fn digits_csv_mutations_never_panic_hang_or_overallocate() {
    let base = digits_csv(4);
    let ok = read_digits_csv_from_bytes(base.as_bytes()).unwrap();
    assert_eq!((ok.images.nrows(), ok.len(), ok.n_classes()), (64, 4, 4));
    let edits: &[&[u8]] = &[
        b"1e300",
        b"-1",
        b"NaN",
        b"inf",
        b"99999999999999999999",
        b"0.5",
        b",",
        b"\n",
        b"\xff",
        b"17",
    ];
    let mut rng = generate::rng(1212);
    let (mut oks, mut total) = (0usize, 0usize);
    let start = Instant::now();
    let gz = gzip(base.as_bytes());
    for round in 0..10_000 {
        let f = match round % 3 {
            0 | 1 => mutate(base.as_bytes(), &mut rng, &how(edits)),
            _ => mutate(&gz, &mut rng, &how(edits)),
        };
        let (r, dt, largest) = guarded(|| read_digits_csv_from_bytes(&f));
        let r = r.unwrap_or_else(|| panic!("read_digits_csv panicked on {f:?}"));
        assert!(dt < TIME_BOUND, "{dt:?}");
        assert!(largest <= 64 * 1032 * f.len() + (1 << 20), "{largest}");
        match r {
            Ok(d) => {
                oks += 1;
                assert!(d.labels.iter().all(|&l| l <= 9));
                assert!(d.images.norm_max() <= 1.0);
            }
            Err(e) => {
                let s = e.to_string();
                assert!(!s.contains('\n') && s.contains("<bytes>"), "{s}");
            }
        }
        total += 1;
    }
    eprintln!(
        "csv: {total} mutated files, {oks} read Ok, in {:?}",
        start.elapsed()
    );
}

#[test]
fn digits_csv_bad_labels_and_bomb() {
    let mut text = digits_csv(3);
    // The label of line 2 becomes 1e300 (it panicked: usize::MAX + 1 classes).
    let lines: Vec<&str> = text.lines().collect();
    let l2 = lines[1].rsplit_once(',').unwrap().0.to_string() + ",1e300";
    text = [lines[0], &l2, lines[2]].join("\n");
    let p = tmp("digits.csv");
    std::fs::write(&p, &text).unwrap();
    let e = read_digits_csv(&p).unwrap_err().to_string();
    assert!(
        e.contains("digits.csv") && e.contains("line 2") && e.contains("1e300"),
        "{e}"
    );
    for bad in ["-1", "0.5", "10", "NaN", "inf", "99999999999999999999"] {
        let t = text.replace("1e300", bad);
        let e = read_digits_csv_from_bytes(t.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{bad}: {e}");
    }
    // A grey level out of range, and a huge field, in one line each.
    let t = text.replacen("1e300", "3", 1).replacen(",16,", ",1e9,", 1);
    let e = read_digits_csv_from_bytes(t.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("grey level"), "{e}");
    let t = text.replacen("1e300", &"x".repeat(100_000), 1);
    let e = read_digits_csv_from_bytes(t.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.len() < 300, "{}", e.len());
    // A gzip bomb: 80 MiB of text (0.1 MB gzipped) is refused after MAX_CSV_BYTES.
    let bomb = gzip(&vec![b'0'; 80 << 20]);
    let (r, dt, largest) = guarded(|| read_digits_csv_from_bytes(&bomb));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(e.contains("limit"), "{e}");
    assert!(
        largest <= 2 * mlcsc::data::MAX_CSV_BYTES as usize,
        "{largest}"
    );
    assert!(dt < Duration::from_secs(2), "{dt:?}");
}

fn models() -> Vec<String> {
    let mut rng = generate::rng(3);
    let dense = MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(6, 8, &mut rng).unwrap()),
        Layer::sparse_random(8, 5, 2, &mut rng).unwrap(),
    ])
    .unwrap();
    let d1 = ConvDictionary::random(Grid::d2(3, 3), 1, 2, &mut rng).unwrap();
    let conv = MlModel::new(vec![Layer::conv(d1, Grid::d2(4, 4), 2).unwrap()]).unwrap();
    let g = ValidGeometry::new(1, (5, 4), (2, 2), 1, 2).unwrap();
    let f = Mat::from_fn(4, 2, |i, j| (i + 2 * j) as f64 + 0.5);
    let valid = MlModel::new(vec![Layer::valid(g, f.as_ref()).unwrap()]).unwrap();
    [dense, conv, valid]
        .iter()
        .map(|m| m.to_json().unwrap())
        .collect()
}

fn nets() -> Vec<String> {
    let dense = UnfoldedNet::new(&[6, 5, 4], 3, 2, Unfolding::Ista, 1).unwrap();
    let specs = [
        LayerSpec::Conv {
            maps: 2,
            kernel: (3, 2),
            stride: 2,
        },
        LayerSpec::Dense(3),
    ];
    let conv = UnfoldedNet::convolutional((1, 7, 6), &specs, 2, 1, Unfolding::Fista, 2).unwrap();
    let state = TrainState::new(dense.clone());
    vec![
        serde_json::to_string(&dense).unwrap(),
        serde_json::to_string(&conv).unwrap(),
        serde_json::to_string(&state).unwrap(),
    ]
}

/// Replaces one random number (or array) of a JSON tree by an extreme value.
fn edit_json(v: &mut Value, rng: &mut impl Rng) {
    let mut numbers = 0usize;
    count(v, &mut numbers);
    if numbers == 0 {
        return;
    }
    let target = rng.random_range(0..numbers);
    let mut k = 0usize;
    let choice = rng.random_range(0..10);
    replace(v, target, &mut k, choice, rng.random());
}

fn count(v: &Value, n: &mut usize) {
    match v {
        Value::Number(_) => *n += 1,
        Value::Array(a) => {
            *n += 1;
            a.iter().for_each(|x| count(x, n));
        }
        Value::Object(o) => o.values().for_each(|x| count(x, n)),
        _ => {}
    }
}

fn replace(v: &mut Value, target: usize, k: &mut usize, choice: u32, coin: bool) {
    let hit = matches!(v, Value::Number(_) | Value::Array(_)) && *k == target;
    if matches!(v, Value::Number(_) | Value::Array(_)) {
        *k += 1;
    }
    if hit {
        let new = match choice {
            0 => Value::from(0u64),
            1 => Value::from(1u64 << 32),
            2 => Value::from(u64::MAX),
            3 => Value::from(-1i64),
            4 => Value::from(1e300),
            5 => Value::Null,
            6 => Value::from(u32::MAX),
            7 => Value::from(1u64 << 26),
            8 => match v {
                // Drop or duplicate an array's last entry.
                Value::Array(a) if coin => {
                    a.pop();
                    return;
                }
                Value::Array(a) => {
                    if let Some(x) = a.last().cloned() {
                        a.push(x);
                    }
                    return;
                }
                _ => Value::from(2u64),
            },
            _ => Value::from(3u64),
        };
        *v = new;
        return;
    }
    match v {
        Value::Array(a) => a
            .iter_mut()
            .for_each(|x| replace(x, target, k, choice, coin)),
        Value::Object(o) => o
            .values_mut()
            .for_each(|x| replace(x, target, k, choice, coin)),
        _ => {}
    }
}

/// Reads `text` as every JSON type of the crate, returning whether any accepted it; checks the
/// accepted values are sane.
fn read_all(text: &str) -> bool {
    let mut any = false;
    if let Ok(m) = MlModel::from_json(text) {
        any = true;
        assert!(m
            .dims()
            .iter()
            .all(|&n| (1..=mlcsc::MAX_FILE_LEN).contains(&n)));
    }
    if let Ok(n) = serde_json::from_str::<UnfoldedNet>(text) {
        any = true;
        assert!(n
            .dims()
            .iter()
            .all(|&d| (1..=mlcsc::MAX_FILE_LEN).contains(&d)));
        // A forward pass ends in bounded time.
        assert!((1..=MAX_UNFOLDINGS).contains(&n.unfoldings()));
        // Every accessor indexes within the parameters.
        for i in 1..=n.depth() {
            n.dictionary(i).unwrap();
            n.step(i).unwrap();
            n.bias(i).unwrap();
        }
        n.classifier();
        n.model().ok();
    }
    if let Ok(s) = serde_json::from_str::<TrainState>(text) {
        any = true;
        assert!(s
            .net
            .dims()
            .iter()
            .all(|&d| (1..=mlcsc::MAX_FILE_LEN).contains(&d)));
        assert!((1..=MAX_UNFOLDINGS).contains(&s.net.unfoldings()));
    }
    any
}

/// A network file asking for more unfoldings than [`MAX_UNFOLDINGS`] (a forward pass of hours)
/// is refused, naming the field; the largest allowed value is read.
#[test]
fn huge_unfoldings_in_a_network_file_are_refused() {
    for text in nets().iter().take(2) {
        let mut v: Value = serde_json::from_str(text).unwrap();
        for (k, ok) in [
            (MAX_UNFOLDINGS as u64, true),
            (MAX_UNFOLDINGS as u64 + 1, false),
            (1 << 40, false),
            (u64::MAX, false),
            (0, false),
        ] {
            v["unfoldings"] = Value::from(k);
            let r = serde_json::from_str::<UnfoldedNet>(&v.to_string());
            match (r, ok) {
                (Ok(n), true) => assert_eq!(n.unfoldings() as u64, k),
                (Err(e), false) => assert!(e.to_string().contains("unfoldings"), "{e}"),
                (r, _) => panic!("unfoldings = {k}: {r:?}"),
            }
        }
    }
    let net = UnfoldedNet::new(&[6, 5, 4], 3, 2, Unfolding::Ista, 1).unwrap();
    assert!(net.with_unfoldings(MAX_UNFOLDINGS + 1).is_err());
    assert!(UnfoldedNet::new(&[6, 5], 3, MAX_UNFOLDINGS + 1, Unfolding::Ista, 1).is_err());
}

#[test]
fn json_mutations_never_panic_hang_or_overallocate() {
    let mut rng = generate::rng(99);
    let mut bases = models();
    bases.extend(nets());
    for b in &bases {
        assert!(read_all(b));
    }
    let edits: &[&[u8]] = &[
        b"4294967296",
        b"18446744073709551615",
        b"-1",
        b"1e400",
        b"[",
        b"{",
        b"null",
    ];
    let (mut oks, mut total) = (0usize, 0usize);
    let start = Instant::now();
    for round in 0..6000 {
        let base = &bases[round % bases.len()];
        let text = if round % 3 == 0 {
            String::from_utf8_lossy(&mutate(base.as_bytes(), &mut rng, &how(edits))).into_owned()
        } else {
            let mut v: Value = serde_json::from_str(base).unwrap();
            for _ in 0..1 + rng.random_range(0..2) {
                edit_json(&mut v, &mut rng);
            }
            v.to_string()
        };
        let (r, dt, largest) = guarded(|| read_all(&text));
        let r = r.unwrap_or_else(|| panic!("a JSON reader panicked on {text}"));
        assert!(dt < TIME_BOUND, "{dt:?} on {text}");
        assert!(
            largest <= 64 * text.len() + (1 << 16),
            "{largest} bytes on {text}"
        );
        oks += usize::from(r);
        total += 1;
    }
    eprintln!(
        "json: {total} mutated files, {oks} read Ok, in {:?}",
        start.elapsed()
    );
}

#[test]
fn json_issue_examples_name_the_field() {
    // A dictionary claiming 2^32 x 2^32 (the product overflows usize).
    let e = serde_json::from_str::<Dictionary>(
        r#"{"nrows": 4294967296, "ncols": 4294967296, "data": []}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("nrows"), "{e}");
    let model = r#"{"format": "mlcsc-model", "version": 1, "layers": [
        {"kind": "dense", "nrows": 4294967296, "ncols": 4294967296, "data": []}]}"#;
    let (r, dt, largest) = guarded(|| MlModel::from_json(model));
    let e = r.unwrap().unwrap_err().to_string();
    assert!(
        e.contains("layers[0] (dense)") && e.contains("`data`"),
        "{e}"
    );
    assert!(
        dt < Duration::from_millis(100) && largest < (1 << 16),
        "{largest}"
    );
    // A convolutional layer with no filters and an overflowing filter size, and one whose
    // signal grid overflows.
    let conv = |fr: &str, sr: &str, nf: usize, filters: &str| {
        format!(
            r#"{{"format": "mlcsc-model", "version": 1, "layers": [{{"kind": "conv",
            "filter_rows": {fr}, "filter_cols": {fr}, "channels": 1, "n_filters": {nf},
            "filters": {filters}, "signal_rows": {sr}, "signal_cols": {sr}, "stride": 1}}]}}"#
        )
    };
    let e = MlModel::from_json(&conv("4294967296", "8", 0, "[]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("filter_rows"), "{e}");
    let e = MlModel::from_json(&conv("1", "8589934592", 1, "[1.0]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("signal_rows"), "{e}");
    let e = MlModel::from_json(&conv("1", "100000", 1, "[1.0]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("MAX_FILE_LEN"), "{e}");
    // A valid convolution whose input overflows.
    let valid = r#"{"format": "mlcsc-model", "version": 1, "layers": [{"kind": "valid",
        "geometry": {"channels": 4294967296, "input": [4294967296, 4294967296],
        "kernel": [1, 1], "stride": 1, "maps": 1}, "filters": [1.0]}]}"#;
    let e = MlModel::from_json(valid).unwrap_err().to_string();
    assert!(e.contains("geometry"), "{e}");
    let e = MlModel::from_json(&model.replace("\"version\": 1", "\"version\": 7"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("version"), "{e}");

    // A network whose parameter vector is shorter than its layout, or whose offsets are off.
    let net = UnfoldedNet::new(&[6, 5, 4], 3, 2, Unfolding::Ista, 1).unwrap();
    let v = serde_json::to_value(&net).unwrap();
    let mut short = v.clone();
    short["params"].as_array_mut().unwrap().pop();
    let e = serde_json::from_value::<UnfoldedNet>(short)
        .unwrap_err()
        .to_string();
    assert!(e.contains("params"), "{e}");
    let mut off = v.clone();
    off["layers"][1]["d"] = Value::from(3);
    let e = serde_json::from_value::<UnfoldedNet>(off)
        .unwrap_err()
        .to_string();
    assert!(e.contains("layers") && e.contains("layer 2"), "{e}");
    let mut huge = v.clone();
    huge["dims"][1] = Value::from(1u64 << 32);
    let e = serde_json::from_value::<UnfoldedNet>(huge)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dims"), "{e}");
    let mut w = v.clone();
    w["w0"] = Value::from(u64::MAX);
    let e = serde_json::from_value::<UnfoldedNet>(w)
        .unwrap_err()
        .to_string();
    assert!(e.contains("w0"), "{e}");
    // A training state whose moments do not fit the network.
    let mut s = serde_json::to_value(TrainState::new(net)).unwrap();
    s["m2"].as_array_mut().unwrap().truncate(3);
    let e = serde_json::from_value::<TrainState>(s)
        .unwrap_err()
        .to_string();
    assert!(e.contains("m2"), "{e}");
}

/// The seed files of the fuzz targets (`fuzz/seeds/`) stay valid input for their readers.
#[test]
fn fuzz_seeds_are_valid_files() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let files = |t: &str| {
        let mut v: Vec<_> = std::fs::read_dir(seeds.join(t))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        v.sort();
        assert!(!v.is_empty(), "no seeds for {t}");
        v
    };
    for f in files("idx") {
        let k = u16::from_le_bytes([f[0], f[1]]) as usize;
        let (im, lb) = f[2..].split_at(k);
        read_mnist_from_bytes(im, lb).unwrap();
    }
    for f in files("csv") {
        read_digits_csv_from_bytes(&f).unwrap();
    }
    for f in files("json") {
        let text = std::str::from_utf8(&f).unwrap();
        let any = read_all(text) || serde_json::from_str::<Dictionary>(text).is_ok();
        assert!(any, "{text}");
    }
}

/// A real checkpoint of the long MNIST run (written before the validation existed) still
/// loads: the validation refuses only what the constructors cannot produce.
#[test]
fn real_training_checkpoint_still_loads() {
    use std::io::Read;
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../results/mlista-mnist/mlista-e100-d30-s0/state.json.gz");
    let Ok(f) = std::fs::File::open(&p) else {
        eprintln!("no checkpoint at {}: skipped", p.display());
        return;
    };
    let mut s = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut s)
        .unwrap();
    let state: TrainState = serde_json::from_str(&s).unwrap();
    assert_eq!(state.net.dims()[0], 784);
}
