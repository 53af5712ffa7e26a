//! JSON model files: the same text read as an `MlModel`, an `UnfoldedNet`, a `TrainState` and a
//! `Dictionary`. Any text gives `Ok` with sizes within `MAX_FILE_LEN` whose accessors all
//! work, or an `Err`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlcsc::supervised::{TrainState, UnfoldedNet};
use mlcsc::{MlModel, MAX_FILE_LEN};
use sparse_core::LinearOperator;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = MlModel::from_json(text) {
        assert!(m.dims().iter().all(|&n| (1..=MAX_FILE_LEN).contains(&n)));
        for i in 1..=m.depth() {
            let l = m.layer(i).unwrap();
            assert_eq!(l.nrows(), m.code_len(i - 1).unwrap());
        }
        m.to_json().unwrap();
    }
    let check_net = |n: &UnfoldedNet| {
        assert!(n.dims().iter().all(|&d| (1..=MAX_FILE_LEN).contains(&d)));
        for i in 1..=n.depth() {
            n.dictionary(i).unwrap();
            n.step(i).unwrap();
            n.bias(i).unwrap();
            n.geometry(i).unwrap();
        }
        n.classifier();
        let _ = n.model();
    };
    if let Ok(n) = serde_json::from_str::<UnfoldedNet>(text) {
        check_net(&n);
    }
    if let Ok(s) = serde_json::from_str::<TrainState>(text) {
        check_net(&s.net);
    }
    if let Ok(d) = serde_json::from_str::<sparse_core::Dictionary>(text) {
        assert!(d.signal_len() * d.n_atoms() <= data.len());
    }
});
