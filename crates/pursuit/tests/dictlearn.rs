//! Dictionary learning: the synthetic experiment of the K-SVD paper (Aharon, Elad & Bruckstein
//! 2006, Sec. V-A), monotonicity, online statistics, and input validation.

use faer::{Mat, MatRef, Par};
use pursuit::dictlearn::{
    AtomUpdate, Forgetting, InitDict, Ksvd, LearnedDictionary, MiniBatchStats, Mod,
    OnlineDictLearning, OnlineLearner, SufficientStats,
};
use pursuit::{Omp, Solve, Stop};
use rand::Rng;
use sparse_core::{generate, Dictionary, LinearOperator, Noise};

/// The paper's set-up: a random 20 x 50 dictionary, signals that are combinations of 3 atoms
/// with random coefficients, optionally noisy.
fn planted(n_signals: usize, noise: Noise, seed: u64) -> (Dictionary, Mat<f64>) {
    let mut rng = generate::rng(seed);
    let d = Dictionary::random_gaussian(20, 50, &mut rng).unwrap();
    // "uniformly distributed i.i.d. coefficients in random and independent locations"
    let mut x = Mat::<f64>::zeros(50, n_signals);
    for j in 0..n_signals {
        for i in rand::seq::index::sample(&mut rng, 50, 3).iter() {
            x[(i, j)] = rng.random_range(-1.0..1.0);
        }
    }
    let y = generate::signals(&d, x.as_ref(), noise, &mut rng)
        .unwrap()
        .noisy;
    (d, y)
}

/// Fraction of true atoms `d` with a learned atom `e` such that `1 - |<d, e>| < 0.01`.
fn recovered(truth: &Dictionary, learned: &Dictionary) -> f64 {
    let g = truth.matrix().transpose() * learned.matrix();
    let hits = (0..g.nrows())
        .filter(|&i| (0..g.ncols()).any(|j| 1.0 - g[(i, j)].abs() < 0.01))
        .count();
    hits as f64 / truth.n_atoms() as f64
}

fn rmse_of(learned: &LearnedDictionary, y: MatRef<'_, f64>) -> f64 {
    let r = y - learned
        .dictionary
        .apply(learned.codes.to_dense().as_ref())
        .unwrap();
    (r.squared_norm_l2() / (y.nrows() * y.ncols()) as f64).sqrt()
}

/// Mean fraction of recovered atoms over `trials` planted problems (the paper averages over
/// trials: a single run may stop in a local minimum with two atoms merged).
fn mean_recovery(
    trials: u64,
    noise: Noise,
    learn: impl Fn(MatRef<'_, f64>, u64) -> LearnedDictionary,
) -> f64 {
    let mut total = 0.0;
    for seed in 1..=trials {
        let (truth, y) = planted(1500, noise, seed);
        let learned = learn(y.as_ref(), seed);
        // The returned codes belong to the returned dictionary.
        let last = learned.final_rmse();
        assert!((rmse_of(&learned, y.as_ref()) - last).abs() <= 1e-9 * (1.0 + last));
        total += recovered(&truth, &learned.dictionary);
    }
    total / trials as f64
}

#[test]
fn ksvd_recovers_the_planted_dictionary_noise_free_and_at_20db() {
    for noise in [Noise::None, Noise::SnrDb(20.0)] {
        let rate = mean_recovery(8, noise, |y, seed| {
            Ksvd::new(50, Stop::Sparsity(3))
                .iterations(50)
                .seed(seed)
                .fit(y)
                .unwrap()
        });
        assert!(
            rate >= 0.9,
            "K-SVD recovered {rate} of the atoms ({noise:?})"
        );
    }
}

#[test]
fn mod_recovers_the_planted_dictionary_noise_free_and_at_20db() {
    for noise in [Noise::None, Noise::SnrDb(20.0)] {
        let rate = mean_recovery(8, noise, |y, seed| {
            Mod::new(50, Stop::Sparsity(3))
                .iterations(50)
                .seed(seed)
                .fit(y)
                .unwrap()
        });
        assert!(rate >= 0.9, "MOD recovered {rate} of the atoms ({noise:?})");
    }
}

#[test]
fn approximate_ksvd_recovers_most_atoms() {
    let rate = mean_recovery(6, Noise::SnrDb(20.0), |y, seed| {
        Ksvd::new(50, Stop::Sparsity(3))
            .update(AtomUpdate::Approximate)
            .iterations(50)
            .seed(seed)
            .fit(y)
            .unwrap()
    });
    assert!(
        rate >= 0.85,
        "approximate K-SVD recovered {rate} of the atoms"
    );
}

#[test]
fn ksvd_with_plain_omp_and_any_init_runs() {
    let (truth, y) = planted(600, Noise::None, 6);
    for init in [InitDict::RandomGaussian, InitDict::Given(truth.clone())] {
        let learned = Ksvd::new(50, Stop::Sparsity(3))
            .coder(Omp::new(Stop::Sparsity(3)))
            .init(init)
            .iterations(3)
            .fit(y.as_ref())
            .unwrap();
        assert_eq!(learned.history.len(), 3);
        assert_eq!((learned.codes.nrows(), learned.codes.ncols()), (50, 600));
    }
    // Started at the truth, K-SVD stays there (up to the few signals OMP gets wrong).
    let learned = Ksvd::new(50, Stop::Sparsity(3))
        .init(InitDict::Given(truth.clone()))
        .iterations(3)
        .fit(y.as_ref())
        .unwrap();
    let signal_rms = (y.squared_norm_l2() / (20.0 * 600.0)).sqrt();
    assert!(
        learned.final_rmse() < 0.1 * signal_rms,
        "{:?}",
        learned.history
    );
    assert_eq!(recovered(&truth, &learned.dictionary), 1.0);
}

/// With OMP at a fixed sparsity, no atom replacement and the keep-the-better-code safeguard,
/// each iteration's error (codes of the iteration, dictionary after its update) does not
/// increase: every stage of MOD and K-SVD minimises the same objective.
#[test]
fn representation_error_decreases_monotonically() {
    let (_, y) = planted(1500, Noise::SnrDb(20.0), 7);
    let runs: Vec<(&str, Vec<f64>)> = vec![
        (
            "MOD",
            Mod::new(50, Stop::Sparsity(3))
                .replace_unused(false)
                .replace_duplicates(false)
                .keep_better_codes(true)
                .iterations(25)
                .fit(y.as_ref())
                .unwrap()
                .history
                .iter()
                .map(|r| r.rmse)
                .collect(),
        ),
        (
            "K-SVD",
            Ksvd::new(50, Stop::Sparsity(3))
                .replace_unused(false)
                .replace_duplicates(false)
                .keep_better_codes(true)
                .iterations(25)
                .fit(y.as_ref())
                .unwrap()
                .history
                .iter()
                .map(|r| r.rmse)
                .collect(),
        ),
        (
            "approximate K-SVD",
            Ksvd::new(50, Stop::Sparsity(3))
                .update(AtomUpdate::Approximate)
                .replace_unused(false)
                .replace_duplicates(false)
                .keep_better_codes(true)
                .iterations(25)
                .fit(y.as_ref())
                .unwrap()
                .history
                .iter()
                .map(|r| r.rmse)
                .collect(),
        ),
    ];
    for (name, h) in runs {
        for w in h.windows(2) {
            assert!(
                w[1] <= w[0] + 1e-12,
                "{name}: error went up {} -> {}: {h:?}",
                w[0],
                w[1]
            );
        }
        assert!(h[h.len() - 1] < 0.5 * h[0], "{name}: {h:?}");
    }
}

#[test]
fn observer_sees_every_iteration() {
    let (_, y) = planted(400, Noise::None, 8);
    let mut seen = Vec::new();
    let learned = Ksvd::new(50, Stop::Sparsity(3))
        .iterations(4)
        .fit_observed(y.as_ref(), |r| seen.push(*r))
        .unwrap();
    assert_eq!(seen, learned.history);
    assert_eq!(
        seen.iter().map(|r| r.iteration).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(seen
        .iter()
        .all(|r| r.mean_sparsity <= 3.0 && r.rmse.is_finite()));
}

#[test]
fn duplicate_and_unused_atoms_are_replaced() {
    let (truth, y) = planted(600, Noise::None, 9);
    // Atom 1 duplicates atom 0 and atom 2 is orthogonal to every signal's span: both are replaced.
    let mut m = truth.matrix().to_owned();
    let a0 = m.col(0).to_owned();
    m.col_mut(1).copy_from(&a0);
    let d = Dictionary::from_matrix(m.as_ref()).unwrap();
    let learned = Ksvd::new(50, Stop::Sparsity(3))
        .init(InitDict::Given(d))
        .iterations(2)
        .fit(y.as_ref())
        .unwrap();
    assert!(learned.history[0].replaced_atoms >= 1);
    assert_eq!(
        learned.history[1].replaced_atoms, 0,
        "none after the last iteration"
    );
    let g = learned.dictionary.gram();
    assert!(g[(0, 1)].abs() < 0.99);
}

#[test]
fn online_statistics_merge_like_the_concatenated_batch() {
    let (truth, y) = planted(900, Noise::SnrDb(30.0), 10);
    let x = Omp::new(Stop::Sparsity(3))
        .solve(&truth, y.as_ref())
        .unwrap()
        .codes;
    let whole = SufficientStats::from_codes(y.as_ref(), x.as_ref()).unwrap();
    let parts: Vec<SufficientStats> = (0..3)
        .map(|p| {
            let (yc, xc) = (y.subcols(300 * p, 300), x.subcols(300 * p, 300));
            SufficientStats::from_codes(yc, xc).unwrap()
        })
        .collect();
    let mut merged = parts[0].clone();
    merged.merge(&parts[1]).unwrap();
    let merged = (merged + &parts[2]).unwrap();
    let tol = 1e-12 * (1.0 + whole.a.norm_max());
    assert!((&merged.a - &whole.a).norm_max() <= tol);
    assert!((&merged.b - &whole.b).norm_max() <= 1e-12 * (1.0 + whole.b.norm_max()));
    assert_eq!(merged.weight, 900.0);
    // Explicit formulas: A = X X^T, B = Y X^T.
    assert!((&whole.a - &x * x.transpose()).norm_max() <= tol);
    assert!((&whole.b - &y * x.transpose()).norm_max() <= 1e-12 * (1.0 + whole.b.norm_max()));
    // Shapes must agree.
    let other = SufficientStats::zeros(20, 49);
    assert!((merged.clone() + other).is_err());
}

#[test]
fn online_learning_streams_and_learns() {
    let (truth, y) = planted(3000, Noise::SnrDb(30.0), 11);
    let config = OnlineDictLearning::new(50, Stop::Sparsity(3))
        .batch_size(50)
        .seed(11);
    // Streaming: mini-batches arrive one by one, 10 passes over the data.
    let mut learner = config.learner().unwrap();
    let mut epoch_rmse = Vec::new();
    for _epoch in 0..10 {
        let mut sse = 0.0;
        for b in 0..60 {
            let rep = learner.partial_fit(y.subcols(50 * b, 50)).unwrap();
            sse += rep.rmse * rep.rmse;
        }
        epoch_rmse.push((sse / 60.0).sqrt());
    }
    assert_eq!(learner.steps(), 600);
    assert!(epoch_rmse[9] < 0.5 * epoch_rmse[0], "{epoch_rmse:?}");
    let d = learner.dictionary().unwrap();
    let rate = recovered(&truth, &d);
    assert!(rate >= 0.8, "online learning recovered {rate} of the atoms");
    // fit() over epochs, in a shuffled order.
    let learned = config.iterations(4).fit(y.as_ref()).unwrap();
    assert_eq!(learned.history.len(), 4);
    assert!(learned.final_rmse() < learned.history[0].rmse);
    assert_eq!((learned.codes.nrows(), learned.codes.ncols()), (50, 3000));
    // Forgetting rules.
    assert_eq!(Forgetting::None.beta(5, 10), 1.0);
    assert!((Forgetting::MiniBatch.beta(1, 10) - 1.0 / 11.0).abs() < 1e-15);
    assert_eq!(Forgetting::Power(1.0).beta(4, 1), 0.75);
}

#[test]
fn online_workers_merge_statistics() {
    let (_, y) = planted(800, Noise::None, 12);
    let config = OnlineDictLearning::new(50, Stop::Sparsity(3)).forgetting(Forgetting::None);
    let mut learner = config.learner().unwrap();
    learner.partial_fit(y.subcols(0, 200)).unwrap();
    // Two workers code their shards with the current dictionary; the master applies the sum.
    let d = learner.dictionary().unwrap();
    let omp = pursuit::BatchOmp::new(Stop::Sparsity(3)).par(Par::Seq);
    let shard = |c: usize| {
        let ys = y.subcols(c, 300);
        let x = omp.solve(&d, ys).unwrap().codes;
        SufficientStats::from_codes(ys, x.as_ref()).unwrap()
    };
    let total = (shard(200) + shard(500)).unwrap();
    let before = learner.stats().unwrap().clone();
    learner.apply_stats(&total, 600).unwrap();
    let after = learner.stats().unwrap();
    assert!((&after.a - (&before.a + &total.a)).norm_max() < 1e-9);
    assert_eq!(after.weight, 800.0);
}

#[test]
fn bad_input_is_an_error_naming_the_argument() {
    let (_, y) = planted(100, Noise::None, 13);
    let ksvd = Ksvd::new(50, Stop::Sparsity(3));
    let msg = |e: pursuit::Error| e.to_string();
    assert!(msg(ksvd.fit(Mat::<f64>::zeros(20, 0).as_ref()).unwrap_err()).contains("`y`"));
    let mut bad = y.clone();
    bad[(3, 4)] = f64::NAN;
    assert!(msg(ksvd.fit(bad.as_ref()).unwrap_err()).contains("`y`"));
    assert!(msg(Ksvd::new(0, Stop::Sparsity(3)).fit(y.as_ref()).unwrap_err()).contains("n_atoms"));
    assert!(msg(ksvd.clone().iterations(0).fit(y.as_ref()).unwrap_err()).contains("iterations"));
    assert!(msg(Mod::new(50, Stop::Sparsity(0)).fit(y.as_ref()).unwrap_err()).contains("`k`"));
    let wrong = Dictionary::random_gaussian(20, 40, &mut generate::rng(0)).unwrap();
    assert!(msg(ksvd
        .clone()
        .init(InitDict::Given(wrong))
        .fit(y.as_ref())
        .unwrap_err())
    .contains("init"));
    let e = ksvd
        .clone()
        .init(InitDict::OvercompleteDct)
        .fit(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("init"));
    let e = ksvd
        .clone()
        .duplicate_threshold(1.5)
        .fit(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("duplicate_threshold"));
    let online = OnlineDictLearning::new(50, Stop::Sparsity(3));
    assert!(msg(online.clone().batch_size(0).learner().unwrap_err()).contains("batch_size"));
    let e = online
        .clone()
        .forgetting(Forgetting::Power(-1.0))
        .learner()
        .unwrap_err();
    assert!(msg(e).contains("rho"));
    let mut learner = online.learner().unwrap();
    let stats = SufficientStats::zeros(20, 50);
    assert!(msg(learner.apply_stats(&stats, 10).unwrap_err()).contains("stats"));
    learner.partial_fit(y.as_ref()).unwrap();
    let e = learner
        .partial_fit(Mat::<f64>::zeros(21, 5).as_ref())
        .unwrap_err();
    assert!(msg(e).contains("batch"));
    let mut s = SufficientStats::zeros(20, 50);
    assert!(msg(s.scale(2.0).unwrap_err()).contains("beta"));
    assert!(s
        .accumulate(y.as_ref(), Mat::<f64>::zeros(49, 100).as_ref())
        .is_err());
}

/// A learner resumed from its saved dictionary, statistics and step count continues exactly
/// as the uninterrupted one (bit for bit), and a state of the wrong shape is refused.
#[test]
fn online_learner_resumes_exactly_from_its_state() {
    let mut rng = generate::rng(31);
    let d = Dictionary::random_gaussian(16, 32, &mut rng).unwrap();
    let x = generate::sparseland_codes(32, 3, 300, 0.5, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    let config = OnlineDictLearning::new(24, Stop::Sparsity(3));
    let batch = |k: usize| y.as_ref().subcols(100 * k, 100);
    let mut a = config.learner().unwrap();
    a.partial_fit(batch(0)).unwrap();
    let mut b = OnlineLearner::resume(
        &config,
        a.atoms().unwrap(),
        a.stats().unwrap().clone(),
        a.steps(),
    )
    .unwrap();
    for k in 1..3 {
        let (ra, rb) = (
            a.partial_fit(batch(k)).unwrap(),
            b.partial_fit(batch(k)).unwrap(),
        );
        assert_eq!(ra, rb);
        assert!(a.dictionary().unwrap().matrix() == b.dictionary().unwrap().matrix());
        assert!(a.stats().unwrap().a == b.stats().unwrap().a);
    }
    let wrong = SufficientStats::zeros(16, 23);
    let err = OnlineLearner::resume(&config, a.atoms().unwrap(), wrong, 1).unwrap_err();
    assert!(err.to_string().contains("stats.a"), "{err}");
}

/// A mini-batch split into parts coded separately (as by workers holding the same dictionary),
/// merged in order and applied, takes the step `partial_fit` takes on the whole batch: same
/// candidates bit for bit, same sums up to summation order, same atoms — including the steps
/// that replace unused and duplicate atoms (24 atoms drawn from 16-dimensional signals, with
/// a dictionary that starts with duplicates).
#[test]
fn online_step_from_merged_parts_equals_the_whole_batch() {
    let mut rng = generate::rng(41);
    let d = Dictionary::random_gaussian(16, 32, &mut rng).unwrap();
    let x = generate::sparseland_codes(32, 3, 1200, 0.5, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.05), &mut rng)
        .unwrap()
        .noisy;
    // Duplicated first atoms, so that the first steps replace some.
    let mut d0 = Mat::<f64>::from_fn(16, 24, |i, j| y[(i, 7 * j)]);
    for j in 0..24 {
        let nrm = d0.col(j).norm_l2();
        d0.col_mut(j).iter_mut().for_each(|v| *v /= nrm);
    }
    for j in 12..24 {
        let c = d0.col(j - 12).to_owned();
        d0.col_mut(j).copy_from(&c);
    }
    let config = OnlineDictLearning::new(24, Stop::Sparsity(3)).init(InitDict::Given(
        Dictionary::from_matrix(d0.as_ref()).unwrap(),
    ));
    let (mut whole, mut parts) = (config.learner().unwrap(), config.learner().unwrap());
    let mut replaced = 0;
    for step in 0..6 {
        let batch = y.as_ref().subcols(200 * step, 200);
        let rw = whole.partial_fit(batch).unwrap();
        parts.initialize(batch).unwrap();
        // Three unequal parts, coded independently, merged in batch order.
        let cuts = [0, 37, 120, 200];
        let mut merged: Option<MiniBatchStats> = None;
        for w in cuts.windows(2) {
            let part = parts.batch_stats(batch.subcols(w[0], w[1] - w[0])).unwrap();
            match merged.as_mut() {
                None => merged = Some(part),
                Some(m) => m.merge(&part).unwrap(),
            }
        }
        let merged = merged.unwrap();
        let one = parts.batch_stats(batch).unwrap();
        assert_eq!(merged.candidates, one.candidates, "step {step}");
        assert_eq!((merged.count, merged.nonzeros), (one.count, one.nonzeros));
        assert!((&merged.stats.a - &one.stats.a).norm_max() <= 1e-12 * one.stats.a.norm_max());
        assert!((&merged.stats.b - &one.stats.b).norm_max() <= 1e-12 * one.stats.b.norm_max());
        let rp = parts.apply(&merged).unwrap();
        assert_eq!(rp.replaced_atoms, rw.replaced_atoms, "step {step}");
        assert!((rp.rmse - rw.rmse).abs() <= 1e-12 * rw.rmse);
        replaced += rw.replaced_atoms;
        let (a, b) = (whole.atoms().unwrap(), parts.atoms().unwrap());
        assert!(
            (a - b).norm_max() < 1e-10,
            "step {step}: {}",
            (a - b).norm_max()
        );
        assert_eq!(parts.steps(), whole.steps());
    }
    assert!(replaced >= 12, "the duplicates were replaced ({replaced})");
    // Before a dictionary, statistics are refused, naming the batch.
    let fresh = config.learner().unwrap();
    let err = fresh.batch_stats(y.as_ref().subcols(0, 10)).unwrap_err();
    assert!(err.to_string().contains("batch"), "{err}");
}
