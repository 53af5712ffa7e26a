//! Streaming batch dictionary learning (`ConvDictLearn::learn_streaming`, `CodeStatistics`):
//! the update from the statistics equals the batch update (`update_dictionary`, iterated
//! Sherman–Morrison on the codes) on every operator configuration; statistics merge; the
//! functional decreases; bad input.

mod common;

use csc::{Cbpdn, CodeStatistics, ConvDictLearn, ConvDictionary, Grid, Solve};
use faer::Mat;

fn max_diff(a: &ConvDictionary, b: &ConvDictionary) -> f64 {
    (0..a.n_filters())
        .flat_map(|i| {
            let (x, y) = (a.filter(i).unwrap(), b.filter(i).unwrap());
            x.iter()
                .zip(y)
                .map(|(u, v)| (u - v).abs())
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max)
}

#[test]
fn the_update_from_statistics_equals_the_batch_update() {
    for (label, fg, cd, sg, sc, m) in common::configurations() {
        let mut rng = sparse_core::generate::rng(5);
        let dict = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
        let op = dict.operator_with_channels(sg, sc).unwrap();
        let y = common::gaussian(op.signal_len(), 5, 9);
        let codes = Cbpdn::new(0.05)
            .max_iter(60)
            .solve(&op, y.as_ref())
            .unwrap()
            .codes;
        let learner = ConvDictLearn::new(0.05).dict_iter(15);
        let batch = learner
            .update_dictionary(&dict, sg, sc, y.as_ref(), codes.as_ref())
            .unwrap();
        // Statistics from two batches, merged, and from one.
        let mut a = CodeStatistics::new(&dict, sg, sc).unwrap();
        a.accumulate(&op, y.as_ref().subcols(0, 2), codes.as_ref().subcols(0, 2))
            .unwrap();
        let mut b = CodeStatistics::new(&dict, sg, sc).unwrap();
        b.accumulate(&op, y.as_ref().subcols(2, 3), codes.as_ref().subcols(2, 3))
            .unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.signals(), 5);
        let streamed = learner.update_from_statistics(&dict, &a).unwrap();
        let d = max_diff(&batch, &streamed);
        assert!(d < 1e-9, "{label}: {d:e}");
        assert!(
            max_diff(&batch, &dict) > 1e-4,
            "{label}: the update moved the filters"
        );
    }
}

#[test]
fn streaming_learning_lowers_the_functional_and_fetches_each_batch_once_per_pass() {
    let mut rng = sparse_core::generate::rng(2);
    let init = ConvDictionary::random(Grid::d2(4, 4), 1, 6, &mut rng).unwrap();
    let sg = Grid::d2(16, 16);
    let data: Vec<Mat<f64>> = (0..4).map(|k| common::gaussian(256, 2, 30 + k)).collect();
    let mut calls = vec![0usize; 4];
    let mut seen = Vec::new();
    let res = ConvDictLearn::new(0.1)
        .iterations(5)
        .coding_iter(50)
        .dict_iter(20)
        .learn_streaming(
            &init,
            sg,
            1,
            4,
            |k| {
                calls[k] += 1;
                Ok(data[k].clone())
            },
            |it, f| seen.push((it, f)),
        )
        .unwrap();
    assert_eq!(calls, vec![6; 4]);
    assert_eq!(res.objective.len(), 6);
    assert_eq!(seen.len(), 6);
    let (first, last) = (res.objective[0], res.objective[5]);
    assert!(last < 0.95 * first, "{:?}", res.objective);
    assert!(res.statistics_bytes >= (16 / 2 + 1) * 16 * 21 * 16);
}

#[test]
fn bad_input_is_an_error_naming_the_argument() {
    let mut rng = sparse_core::generate::rng(3);
    let dict = ConvDictionary::random(Grid::d1(4), 1, 3, &mut rng).unwrap();
    let op = dict.operator(Grid::d1(20)).unwrap();
    let mut st = CodeStatistics::new(&dict, Grid::d1(20), 1).unwrap();
    let y = common::gaussian(20, 1, 1);
    let e = st
        .accumulate(&op, y.as_ref(), Mat::<f64>::zeros(59, 1).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("codes"), "{e}");
    let other = dict.operator(Grid::d1(21)).unwrap();
    let e = st
        .accumulate(
            &other,
            common::gaussian(21, 1, 1).as_ref(),
            Mat::<f64>::zeros(63, 1).as_ref(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("op"), "{e}");
    let e = ConvDictLearn::new(0.1)
        .learn_streaming(
            &dict,
            Grid::d1(20),
            1,
            1,
            |_| Ok(Mat::<f64>::zeros(19, 1)),
            |_, _| {},
        )
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let bigger = ConvDictionary::random(Grid::d1(4), 1, 4, &mut rng).unwrap();
    let e = ConvDictLearn::new(0.1)
        .update_from_statistics(&bigger, &st)
        .unwrap_err();
    assert!(e.to_string().contains("stats"), "{e}");
}
