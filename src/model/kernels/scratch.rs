//! Thread-local scratch buffers for the kernels: each grows once to the largest size asked of it
//! and is reused, so the hot loop does not allocate.

use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static GRAD_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static ACTIVATION_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static TRANSPOSE_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with the calling thread's buffer for per-image weight gradients, `len` floats
/// (contents unspecified): a fresh multi-megabyte `Vec` per backward pass cost page faults.
/// Falls back to a fresh buffer if the thread is already inside this function (a rayon
/// worker that picked up another backward pass while waiting).
pub(super) fn with_grad_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    GRAD_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// Runs `f` with a thread-local scratch slice of `len` floats (contents unspecified), for the
/// im2col matrix of one image.
pub(super) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_local(&SCRATCH, len, f)
}

/// Runs `f` with a second thread-local scratch slice (contents unspecified), for one image's
/// activations or their gradient in the fused block, while [`with_scratch`] holds the columns.
pub(super) fn with_activation_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_local(&ACTIVATION_SCRATCH, len, f)
}

/// Runs `f` with a third thread-local scratch slice of `len` floats (contents unspecified), for
/// the transposed weight gradient of one image while [`with_scratch`] holds its columns.
pub(super) fn with_transpose_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_local(&TRANSPOSE_SCRATCH, len, f)
}

/// Runs `f` with the buffer of `key`, grown to at least `len` floats, cut to `len`.
fn with_local<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    key.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}
