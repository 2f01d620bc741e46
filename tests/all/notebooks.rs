//! The committed notebooks: clean (no outputs, so diffs stay readable and no pixels of the data
//! set enter the repository), on the Rust kernel, and using this library by path. Running them
//! is scripts/run-notebooks.py's job (with the real kernel, in .ci/run).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn notebooks() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("notebooks");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    found.sort();
    found
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn source(cell: &Value) -> String {
    match &cell["source"] {
        Value::String(s) => s.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

#[test]
fn the_lessons_are_all_there_in_order() {
    let names: Vec<String> = notebooks()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "01-explore-data.ipynb",
        "02-build-the-cnn.ipynb",
        "03-train.ipynb",
        "04-predict-and-explain.ipynb",
        "05-how-sure-can-we-be.ipynb",
        "06-ct-numbers-and-windows.ipynb",
        "07-a-whole-scan.ipynb",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
}

#[test]
fn committed_notebooks_carry_no_outputs() {
    for path in notebooks() {
        let nb = read(&path);
        for (i, cell) in nb["cells"].as_array().unwrap().iter().enumerate() {
            if cell["cell_type"] != "code" {
                continue;
            }
            let outputs = cell["outputs"].as_array().map_or(0, Vec::len);
            assert_eq!(
                outputs,
                0,
                "{} cell {i} has outputs: clear them before committing",
                path.display()
            );
            assert!(
                cell["execution_count"].is_null(),
                "{} cell {i} has an execution count: clear outputs before committing",
                path.display()
            );
        }
    }
}

#[test]
fn notebooks_run_on_the_rust_kernel_with_this_library_by_path() {
    for path in notebooks() {
        let nb = read(&path);
        assert_eq!(
            nb["metadata"]["kernelspec"]["name"],
            "head-ct",
            "{}",
            path.display()
        );
        let cells = nb["cells"].as_array().unwrap();
        assert_eq!(
            cells[0]["cell_type"],
            "markdown",
            "{} starts with its aims",
            path.display()
        );
        let first_code = cells.iter().find(|c| c["cell_type"] == "code").unwrap();
        assert!(
            source(first_code)
                .contains(r#":dep head-ct = { path = "..", default-features = false }"#),
            "{}: the first code cell must use the library by path, without the command line's dependencies",
            path.display()
        );
        // Every code cell follows a plain-language Markdown cell or another code cell of the
        // same step; no notebook is code only.
        let markdown = cells
            .iter()
            .filter(|c| c["cell_type"] == "markdown")
            .count();
        let code = cells.len() - markdown;
        assert!(
            markdown * 2 >= code,
            "{}: {markdown} Markdown cells for {code} code cells",
            path.display()
        );
        for cell in cells {
            let tags = cell["metadata"]["tags"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if tags.iter().any(|t| t == "raises-exception") {
                assert!(
                    cell["metadata"]["head_ct"]["expect_error"].is_string(),
                    "{}: a cell that fails on purpose says which error it expects",
                    path.display()
                );
            }
        }
    }
}

/// The learner's code reads like the lesson: the data and device come from `Lesson::open()`,
/// settings print as sentences, tables show as tables, and no cell builds paths by hand.
#[test]
fn code_cells_read_like_the_lesson() {
    for path in notebooks() {
        let nb = read(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let code: Vec<String> = nb["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["cell_type"] == "code")
            .map(source)
            .collect();
        for (i, cell) in code.iter().enumerate().skip(1) {
            for plumbing in [
                "Path::new(",
                "find_lesson_data",
                "Cpu::seed_from_u64",
                "Cpu::default()",
                ":?}",
                "{:#?}",
                ".table()",
                "std::env",
                "../",
                // A side length the crate names (IMAGE_SIZE, IMAGE_LEN), and the loaders that
                // took their input apart from the recipe's.
                "150 * 150",
                "_with(",
                // One image's heat map is one call (`explain::heat_map`).
                ".remove(0)",
            ] {
                assert!(
                    !cell.contains(plumbing),
                    "{name}, code cell {i} holds `{plumbing}`:\n{cell}"
                );
            }
        }
        if !name.starts_with("06-") {
            assert!(
                code.iter()
                    .any(|c| c.contains("let lesson = Lesson::open()?;")),
                "{name} opens its lesson with Lesson::open()"
            );
        }
    }
}

#[test]
fn the_kernel_config_leaves_the_build_folder_to_the_head_ct_kernel() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let toml = std::fs::read_to_string(root.join("notebooks/evcxr.toml")).unwrap();
    // A `tmpdir` there would win over the per-notebook folder scripts/notebook-kernel.py gives.
    assert!(
        !toml.lines().any(|l| l.trim_start().starts_with("tmpdir")),
        "{toml}"
    );
    assert!(toml.contains(r#"opt_level = "2""#), "{toml}");
    let launcher = std::fs::read_to_string(root.join("scripts/notebook-kernel.py")).unwrap();
    for setting in [
        r#""CARGO_PROFILE_DEV_OPT_LEVEL": "3""#,
        r#""CARGO_PROFILE_DEV_DEBUG_ASSERTIONS": "false""#,
        r#""CARGO_PROFILE_DEV_OVERFLOW_CHECKS": "false""#,
    ] {
        assert!(launcher.contains(setting), "{setting} missing");
    }
    // The repository itself carries no cargo configuration: `cargo test` keeps its checks.
    assert!(!root.join(".cargo").exists());
}
