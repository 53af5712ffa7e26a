//! `DataInit` against brute force on tiny images: every first-layer filter is a normalised
//! patch of some image, every intermediate filter has the promised support size, every deepest
//! filter is the normalised top part of some image's back-projection.

use faer::Mat;
use mlcsc::{DataInit, Layer, ValidGeometry};
use sparse_core::LinearOperator;

fn filters(layer: &Layer) -> Mat<f64> {
    match layer {
        Layer::Valid(v) => v.filters().to_owned(),
        _ => panic!("a valid layer"),
    }
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn data_init_filters_come_from_the_images() {
    let mut rng = sparse_core::generate::rng(1);
    let (h, w, n) = (8usize, 7usize, 6usize);
    // Images in [0, 1]; the last one blank (never an accepted patch).
    let mut images =
        Mat::<f64>::from_fn(h * w, n, |_, _| rand::Rng::random_range(&mut rng, 0.0..1.0));
    images.col_mut(n - 1).iter_mut().for_each(|v| *v = 0.0);
    let g1 = ValidGeometry::new(1, (h, w), (3, 2), 1, 4).unwrap();
    let g2 = ValidGeometry::new(4, g1.out(), (3, 3), 1, 5).unwrap();
    let g3 = ValidGeometry::new(5, g2.out(), g2.out(), 1, 6).unwrap();
    let init = DataInit::new(9).middle_density(0.25).last_density(0.1);
    let model = init.init(&[g1, g2, g3], images.as_ref()).unwrap();
    let again = init.init(&[g1, g2, g3], images.as_ref()).unwrap();
    for i in 1..=3 {
        assert_eq!(
            filters(model.layer(i).unwrap()),
            filters(again.layer(i).unwrap()),
            "seeded"
        );
    }

    // D_1: each filter equals patch / ||patch|| for some image and position.
    let f1 = filters(model.layer(1).unwrap());
    let patches: Vec<Vec<f64>> = (0..n)
        .flat_map(|img| (0..=h - 3).flat_map(move |r| (0..=w - 2).map(move |c| (img, r, c))))
        .map(|(img, r, c)| {
            let p: Vec<f64> = (0..6)
                .map(|e| images[(r + e % 3 + h * (c + e / 3), img)])
                .collect();
            let nrm = p.iter().map(|v| v * v).sum::<f64>().sqrt();
            if nrm >= 1.0 {
                p.iter().map(|v| v / nrm).collect()
            } else {
                vec![]
            }
        })
        .collect();
    for q in 0..4 {
        let f: Vec<f64> = f1.col(q).iter().copied().collect();
        assert!(
            patches.iter().any(|p| close(p, &f, 1e-14)),
            "filter {q} of D_1"
        );
    }

    // D_2: floor(0.25 * 36) = 9 non-zeros, unit norm.
    let f2 = filters(model.layer(2).unwrap());
    for q in 0..5 {
        assert_eq!(f2.col(q).iter().filter(|v| **v != 0.0).count(), 9);
        assert!((f2.col(q).norm_l2() - 1.0).abs() < 1e-14);
    }

    // D_3: floor(0.1 * patch_len) entries of D_2^T D_1^T y for some image y, normalised.
    let keep = (0.1 * g3.patch_len() as f64).floor() as usize;
    let (l1, l2) = (model.layer(1).unwrap(), model.layer(2).unwrap());
    let back = l2
        .apply_adjoint(l1.apply_adjoint(images.as_ref()).unwrap().as_ref())
        .unwrap();
    let f3 = filters(model.layer(3).unwrap());
    for q in 0..6 {
        let f: Vec<f64> = f3.col(q).iter().copied().collect();
        assert_eq!(f.iter().filter(|v| **v != 0.0).count(), keep);
        let found = (0..n).any(|img| {
            let b: Vec<f64> = back.col(img).iter().copied().collect();
            let mut order: Vec<usize> = (0..b.len()).collect();
            order.sort_by(|&x, &y| b[y].abs().total_cmp(&b[x].abs()));
            let mut t = vec![0.0; b.len()];
            for &e in &order[..keep] {
                t[e] = b[e];
            }
            let nrm = t.iter().map(|v| v * v).sum::<f64>().sqrt();
            nrm > 0.0 && close(&t.iter().map(|v| v / nrm).collect::<Vec<_>>(), &f, 1e-12)
        });
        assert!(found, "filter {q} of D_3");
    }
}

#[test]
fn data_init_rejects_bad_input_by_name() {
    let g1 = ValidGeometry::new(1, (6, 6), (3, 3), 1, 2).unwrap();
    let g2 = ValidGeometry::new(2, g1.out(), (2, 2), 1, 3).unwrap();
    let images = Mat::<f64>::from_fn(36, 3, |i, j| ((i + j) % 5) as f64 / 4.0);
    let msg = |r: mlcsc::Result<mlcsc::MlModel>| r.unwrap_err().to_string();
    let init = DataInit::default();
    assert!(msg(init.init(&[g1], images.as_ref())).contains("geometries"));
    assert!(msg(init.init(&[g2, g1], images.as_ref())).contains("geometries"));
    assert!(msg(init.init(&[g1, g2], images.as_ref().subrows(0, 30))).contains("images"));
    assert!(msg(init
        .clone()
        .middle_density(0.0)
        .init(&[g1, g2], images.as_ref()))
    .contains("middle_density"));
    assert!(msg(init
        .clone()
        .last_density(1.5)
        .init(&[g1, g2], images.as_ref()))
    .contains("last_density"));
    // No patch of a blank image reaches the norm: an error, not an endless loop.
    let blank = Mat::<f64>::zeros(36, 2);
    assert!(msg(init.init(&[g1, g2], blank.as_ref())).contains("images"));
}
