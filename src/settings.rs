//! The environment, read in one place: every variable head-ct understands, what it means, and
//! the one type that holds their values.
//!
//! The library's functions take values (a [`Limits`], a data folder, a file); only the programs
//! read the environment, through [`Settings::from_env`]: the `head-ct` command once at start,
//! and [`crate::lesson::Lesson::open`] for the notebooks. A test or a library user builds a
//! [`Settings`] from any lookup ([`Settings::from_lookup`]) without touching the process.
//!
//! The one variable read where it is used is [`VECTOR_PATH_VARIABLE`]: the vector path is one
//! choice for the whole process (every kernel of a run must take the same path), made the first
//! time a kernel runs ([`crate::model::kernels::VectorPath::active`]), through
//! [`requested_vector_path`] here.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{input::Limits, Error, Result};

/// The folder of the data: a Kaggle-style folder (`labels.csv` + images), a folder in the seed
/// layout (`train/`, `validate/`), or the word `phantoms` (the synthetic images even where real
/// data is present). Read by the notebooks ([`crate::lesson`]) and the tests; the command line
/// takes `--data` instead.
pub const DATA_VARIABLE: &str = "HEAD_CT_DATA";

/// The largest image read, in pixels (width x height), a positive whole number; by default
/// 4096 x 4096 ([`Limits::DEFAULT_MAX_IMAGE_PIXELS`]).
pub const MAX_PIXELS_VARIABLE: &str = "HEAD_CT_MAX_PIXELS";

/// One DICOM slice of your own, for notebook 06 to show instead of its phantom.
pub const DICOM_VARIABLE: &str = "HEAD_CT_DICOM";

/// A vector path below this CPU's best for our kernels (`avx2` or `portable`), to compare paths;
/// a path the CPU lacks, or another word, is ignored with a warning.
pub const VECTOR_PATH_VARIABLE: &str = "HEAD_CT_VECTOR_PATH";

/// Every variable, with its meaning in one line (README lists the same).
pub const VARIABLES: [(&str, &str); 4] = [
    (
        DATA_VARIABLE,
        "the notebooks' data: a Kaggle folder (labels.csv + images), a prepared folder \
         (train/, validate/), or `phantoms`",
    ),
    (
        MAX_PIXELS_VARIABLE,
        "the largest image read, in pixels (default 16777216 = 4096 x 4096)",
    ),
    (
        DICOM_VARIABLE,
        "one DICOM slice of your own for notebook 06",
    ),
    (
        VECTOR_PATH_VARIABLE,
        "`avx2` or `portable`: run our kernels on a lower vector path than the CPU's best",
    ),
];

/// The values of the environment variables, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// [`DATA_VARIABLE`]; `None` when unset or empty.
    pub data: Option<PathBuf>,
    /// [`MAX_PIXELS_VARIABLE`], or the default limits.
    pub limits: Limits,
    /// [`DICOM_VARIABLE`]; `None` when unset or empty.
    pub dicom: Option<PathBuf>,
}

impl Settings {
    /// The settings of this process's environment. Errors, naming the variable, when a value
    /// cannot be used (a pixel limit that is not a positive whole number).
    pub fn from_env() -> Result<Settings> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// The settings that `lookup` (a variable's name to its value) gives, for tests and for
    /// programs that keep their settings elsewhere.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Settings> {
        let path = |name| lookup(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let limits = match lookup(MAX_PIXELS_VARIABLE) {
            None => Limits::default(),
            Some(text) => {
                let text = text.to_string_lossy();
                match text.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Limits::max_pixels(n)?,
                    _ => {
                        return Err(Error::InvalidInput(format!(
                            "{MAX_PIXELS_VARIABLE}={text:?} is not a positive whole number of \
                             pixels"
                        )))
                    }
                }
            }
        };
        Ok(Settings {
            data: path(DATA_VARIABLE),
            limits,
            dicom: path(DICOM_VARIABLE),
        })
    }
}

/// The vector path asked for by [`VECTOR_PATH_VARIABLE`], as written (`None` when unset).
pub(crate) fn requested_vector_path() -> Option<String> {
    std::env::var(VECTOR_PATH_VARIABLE).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn nothing_set_gives_the_defaults() {
        assert_eq!(
            Settings::from_lookup(lookup(&[])).unwrap(),
            Settings::default()
        );
        assert_eq!(Settings::default().limits, Limits::default());
    }

    #[test]
    fn every_variable_is_read_and_a_bad_limit_is_refused_by_name() {
        let s = Settings::from_lookup(lookup(&[
            (DATA_VARIABLE, "phantoms"),
            (MAX_PIXELS_VARIABLE, " 1000 "),
            (DICOM_VARIABLE, ""),
        ]))
        .unwrap();
        assert_eq!(s.data, Some(PathBuf::from("phantoms")));
        assert_eq!(s.limits.max_image_pixels, Some(1000));
        assert_eq!(s.dicom, None, "an empty value is no value");
        for bad in ["many", "0", "-5", ""] {
            let e = Settings::from_lookup(lookup(&[(MAX_PIXELS_VARIABLE, bad)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{MAX_PIXELS_VARIABLE}={bad:?}")), "{e}");
        }
    }
}
