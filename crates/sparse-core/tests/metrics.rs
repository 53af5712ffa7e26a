//! Support metrics against brute force and hand-counted cases.

use faer::Mat;
use rand::{Rng, SeedableRng};
use sparse_core::metrics::{largest_support, support_recovery_rate, support_scores};

/// Every `k`-subset of `0..n`, in increasing order.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![vec![]];
    }
    (k - 1..n)
        .flat_map(|last| {
            subsets(last, k - 1).into_iter().map(move |mut s| {
                s.push(last);
                s
            })
        })
        .collect()
}

#[test]
fn largest_support_is_the_subset_of_largest_l1_mass() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..50 {
        let n = rng.random_range(1..8);
        let x: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        for k in 0..=n {
            // Distinct magnitudes (almost surely): the maximiser of sum_{i in S} |x_i| is unique.
            let mass = |s: &Vec<usize>| s.iter().map(|&i| x[i].abs()).sum::<f64>();
            let best = subsets(n, k)
                .into_iter()
                .max_by(|a, b| mass(a).total_cmp(&mass(b)))
                .unwrap();
            assert_eq!(largest_support(&x, k), best, "x = {x:?}, k = {k}");
        }
        assert_eq!(largest_support(&x, n + 3).len(), n);
    }
    // Ties go to the lower index.
    assert_eq!(largest_support(&[1.0, -1.0, 1.0, 0.5], 2), vec![0, 1]);
}

#[test]
fn support_recovery_rate_counts_by_hand() {
    // Truth: supports {0, 2}, {1}, {3}, {0, 1}.
    let truth = Mat::<f64>::from_fn(4, 4, |i, j| match (i, j) {
        (0, 0) => 1.0,
        (2, 0) => -0.5,
        (1, 1) => 2.0,
        (3, 2) => 1.0,
        (0, 3) | (1, 3) => 1.0,
        _ => 0.0,
    });
    let mut est = truth.clone();
    est[(1, 0)] = 1e-6; // tiny off-support entry: still a success
    est[(1, 1)] = 0.0; // support missed: failure
    est[(0, 1)] = 2.0;
    est[(3, 2)] = 0.9; // right support, 10% error: success at 0.2, failure at 1e-3
    est[(2, 3)] = 0.99; // an off-support entry below the true ones, relative error 0.7
    assert_eq!(
        support_recovery_rate(truth.as_ref(), est.as_ref(), 0.2).unwrap(),
        0.5
    );
    assert_eq!(
        support_recovery_rate(truth.as_ref(), est.as_ref(), 1e-3).unwrap(),
        0.25
    );
    assert_eq!(
        support_recovery_rate(truth.as_ref(), est.as_ref(), 1.0).unwrap(),
        0.75
    );
    // Equal codes recover everything; the exact-support score agrees.
    assert_eq!(
        support_recovery_rate(truth.as_ref(), truth.as_ref(), 0.0).unwrap(),
        1.0
    );
    assert_eq!(
        support_scores(truth.as_ref(), truth.as_ref(), 0.0)
            .unwrap()
            .exact,
        1.0
    );
    // Bad input names the argument.
    let e = support_recovery_rate(truth.as_ref(), est.as_ref(), -1.0).unwrap_err();
    assert!(e.to_string().contains("max_rel_error"), "{e}");
    let e = support_recovery_rate(truth.as_ref(), est.as_ref().subcols(0, 2), 0.1).unwrap_err();
    assert!(e.to_string().contains("estimate"), "{e}");
}
