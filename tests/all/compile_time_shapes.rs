//! Compile-time shapes: a model whose layers do not fit together must not compile, and the
//! compiler's message must say why in words a learner can read.
//!
//! Each file in `tests/compile/` is built as its own program against this library, in a small
//! Cargo project under the target folder. `pass_*` files must build; `fail_*` files must fail,
//! and the compiler's output must contain the sentences listed below for them. (Matching
//! sentences rather than a snapshot of the whole message keeps the test true across compiler
//! versions, and whether or not the `rust-src` component is installed, which changes how much
//! of the standard library's source rustc quotes.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sentences each failing case must produce.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "fail_dense_size_mismatch",
        &["Dense<IN, OUT> after Flatten: IN must equal channels x height x width of the block before Flatten"],
    ),
    (
        "fail_image_too_small",
        &[
            "a 3x3 convolution needs a side of at least 3 pixels",
            "this layer's input is too small for a 3x3 convolution",
            "each Conv2D removes 2 pixels and each MaxPool2D halves the side",
        ],
    ),
];

fn cases(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A Cargo project with one binary per case, depending on this crate by path.
fn write_project(root: &Path, cases_dir: &Path, names: &[String]) -> PathBuf {
    let project = root.join("compile-time-shapes");
    std::fs::create_dir_all(&project).unwrap();
    let mut manifest = format!(
        "[package]\nname = \"compile-time-shapes\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[dependencies]\nhead-ct = {{ path = {:?} }}\n\n\
         # Not part of any workspace above it.\n[workspace]\n\n\
         [profile.dev]\ndebug = false\n\n",
        env!("CARGO_MANIFEST_DIR")
    );
    for name in names {
        manifest.push_str(&format!(
            "[[bin]]\nname = {name:?}\npath = {:?}\n\n",
            cases_dir.join(format!("{name}.rs"))
        ));
    }
    std::fs::write(project.join("Cargo.toml"), manifest).unwrap();
    project
}

fn build(project: &Path, target: &Path, bin: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--color", "never", "--bin", bin])
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("cargo runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn shape_errors_are_caught_by_the_compiler() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases_dir = manifest_dir.join("tests/compile");
    let names = cases(&cases_dir);
    assert!(names.iter().any(|n| n.starts_with("pass_")), "{names:?}");
    let target_root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| {
            if t.is_absolute() {
                t
            } else {
                manifest_dir.join(t)
            }
        })
        .unwrap_or_else(|| manifest_dir.join("target"))
        .join("tests");
    let project = write_project(&target_root, &cases_dir, &names);
    let target = target_root.join("compile-time-shapes-target");

    let mut problems = Vec::new();
    for name in &names {
        let (built, stderr) = build(&project, &target, name);
        if name.starts_with("pass_") {
            if !built {
                problems.push(format!("{name} must compile, but:\n{stderr}"));
            }
            continue;
        }
        let expected = EXPECTED
            .iter()
            .find(|(case, _)| case == name)
            .unwrap_or_else(|| panic!("{name}.rs has no expected sentences in EXPECTED"))
            .1;
        if built {
            problems.push(format!("{name} must not compile, but it did"));
            continue;
        }
        for sentence in expected {
            if !stderr.contains(sentence) {
                problems.push(format!(
                    "{name}: the compiler did not say {sentence:?}:\n{stderr}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
