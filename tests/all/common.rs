//! Helpers shared by the tests that run the `head-ct` binary from the outside.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `head-ct` with `args` in `cwd`.
pub fn head_ct(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_head-ct"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run head-ct")
}

/// Standard output then standard error, as a user would read them.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes synthetic phantoms into `cwd/ph` with `head-ct phantoms` (`train`, `validate` and
/// `test` images in all, half of each class) and checks that it worked.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn write_phantoms(cwd: &Path, train: usize, validate: usize, test: usize) {
    let (train, validate, test) = (train.to_string(), validate.to_string(), test.to_string());
    let out = head_ct(
        &[
            "phantoms",
            "--out",
            "ph",
            "--train",
            &train,
            "--validate",
            &validate,
            "--test",
            &test,
        ],
        cwd,
    );
    assert!(out.status.success(), "{}", text(&out));
}
