//! head-ct's integration tests, as one test program: every file here is a module of it.
//!
//! One binary instead of one per file: the library's generic code (dfdx's tensors, the
//! teaching net) is compiled into a test program once, not 23 times, and linked once
//! (docs/BENCHMARKS.md, "A fast first contact"). Run one file's tests with its module name as
//! the filter, e.g. `cargo test --test all layers::` or `cargo test --test all -- explain::`.

mod common;

mod calibration;
mod checkpoint;
mod cli;
mod cli_calibration;
mod cli_crossval;
mod cli_dicom;
mod cli_explain;
mod compile_time_shapes;
mod crossval;
mod ct_dicom;
mod data_batches;
mod data_lesson;
mod data_load;
mod data_phantoms;
mod data_prepare;
mod data_real_world;
mod end_to_end;
mod explain;
mod inference;
mod layers;
mod metrics;
mod model;
mod notebooks;
mod phantom_studies;
mod plots;
mod study;
mod vector_paths;
