//! Every vector path this CPU has trains the teaching net, bit-reproducibly on each path.
//!
//! The path is fixed per process (`HEAD_CT_VECTOR_PATH`, see `head_ct::model::kernels::cpu`), so
//! the test runs itself as child processes: for each path the CPU supports, two children train
//! the same seeded model for two epochs on the same phantoms and print a fingerprint of the
//! weights and the history; the two must be identical, and AVX-512 must give AVX2's model (its
//! kernels only widen AVX2's, in the same order). Paths the CPU lacks are named as skipped. (The layers' tests against naive references and finite differences run on every
//! path too: `.ci/run` repeats `cargo test --lib` and `cargo test --test all -- layers:: model::` with
//! `HEAD_CT_VECTOR_PATH` set to each lower path.)

use std::process::Command;

use dfdx::nn::SaveToSafetensors;
use head_ct::{
    data::{phantoms::phantom_splits, prepare::SplitCounts},
    model::kernels::{cpu::VECTOR_PATH_VARIABLE, VectorPath},
    training::{observer::Silent, train_model, Recipe},
};

/// Its full name in the test program (`tests/all/`: module path, then the test).
const CHILD: &str = "vector_paths::child_prints_a_training_fingerprint";

/// Runs [`child_prints_a_training_fingerprint`] in a child process on `path`; returns the
/// fingerprint line it printed.
fn fingerprint_on(path: VectorPath) -> String {
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            CHILD,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(VECTOR_PATH_VARIABLE, path.name())
        .output()
        .expect("run the test binary as a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child on the {path} path failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.rsplit_once("fingerprint ").map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("no fingerprint from the {path} child:\n{stdout}"))
        .to_string()
}

#[test]
fn every_path_this_cpu_has_trains_bit_reproducibly() {
    let mut ran = Vec::new();
    let mut fingerprints = std::collections::HashMap::new();
    for path in VectorPath::ALL {
        if !path.is_supported() {
            eprintln!("skipped the {path} path: this CPU does not have it");
            continue;
        }
        let (first, second) = (fingerprint_on(path), fingerprint_on(path));
        assert!(
            first.starts_with(&format!("{path} ")),
            "the child ran another path than asked: {first}"
        );
        assert_eq!(first, second, "two seeded runs on the {path} path differ");
        eprintln!("{first}");
        fingerprints.insert(path, first.split_once(' ').unwrap().1.to_string());
        ran.push(path);
    }
    // The AVX-512 path runs the same fused multiply-adds in the same order as AVX2 (only wider):
    // it must give the same model.
    if let (Some(avx2), Some(avx512)) = (
        fingerprints.get(&VectorPath::Avx2Fma),
        fingerprints.get(&VectorPath::Avx512),
    ) {
        assert_eq!(
            avx2, avx512,
            "the AVX-512 path trained another model than AVX2"
        );
    }
    assert!(ran.contains(&VectorPath::Portable));
    assert!(ran.contains(&VectorPath::best_supported()));
}

/// Not a test on its own (ignored): the child of the test above. Trains two epochs of the
/// teaching recipe on 16 + 8 phantoms with seed 3 and prints `fingerprint <path> <hash>`, the
/// hash covering the saved weights' bytes and the history.
#[test]
#[ignore]
fn child_prints_a_training_fingerprint() {
    let data = phantom_splits(
        3,
        SplitCounts {
            train: 8,
            validate: 4,
            test: 0,
        },
    )
    .into_seed_data();
    let (train, validate) = (data.train, data.validate);
    let recipe = Recipe {
        epochs: 2,
        ..Recipe::TEACHING
    };
    let trained = train_model(&train, &validate, &recipe, 3, &mut Silent).expect("training");
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.safetensors");
    trained.model.save_safetensors(&weights).unwrap();
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes.extend(trained.history.to_csv().into_bytes());
    // FNV-1a, 64 bits: enough to tell two weight files apart.
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    println!("fingerprint {} {hash:016x}", VectorPath::active());
}
