//! Writing files so that nothing is ever half-written: a crash or a full disk leaves either the
//! old file or the new one, never a mix.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Error, Result};

/// A temporary name next to `dest` (same folder, so the final rename is atomic), unique within
/// this process and across processes.
pub(crate) fn temporary_path(dest: &Path) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    dest.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Produces `dest` through `write_to(temporary_path)`, then renames the temporary file onto
/// `dest`. On any failure the temporary file is removed and `dest` is left as it was.
pub(crate) fn replace_atomically(
    dest: &Path,
    write_to: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let tmp = temporary_path(dest);
    if let Err(e) = write_to(&tmp) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, dest).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        Error::Io {
            path: dest.to_path_buf(),
            source,
        }
    })
}

/// Writes `bytes` to `dest` atomically (temporary file, flushed to disk, then renamed).
pub(crate) fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<()> {
    replace_atomically(dest, |tmp| {
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(tmp)?;
            file.write_all(bytes)?;
            file.sync_all()
        };
        write().map_err(Error::io(tmp))
    })
}
