//! Compile-time shapes: a model whose layers do not fit together must not compile, and the
//! compiler's message must say why in words a learner can read.
//!
//! The expected messages live next to each case in `tests/compile/*.stderr`. After an
//! intentional change of wording, regenerate them with `TRYBUILD=overwrite cargo test --test
//! compile_time_shapes` and review the diff.

#[test]
fn shape_errors_are_caught_by_the_compiler() {
    let t = trybuild::TestCases::new();
    // A passing case makes trybuild run `cargo build` rather than `cargo check`: the Dense size
    // check is a constant evaluated when the model's code is generated, which `check` skips.
    t.pass("tests/compile/pass_teaching_net.rs");
    t.compile_fail("tests/compile/fail_*.rs");
}
