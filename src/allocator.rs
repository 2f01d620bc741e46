//! The memory allocator of the `head-ct` command and the benchmarks: mimalloc, told to keep the
//! memory it frees.
//!
//! A training step frees and allocates the same large buffers again and again. By default,
//! mimalloc hands freed memory back to the system 10 ms later ("purging"), and the next step
//! faults it in again: with transparent huge pages, each fault makes the kernel zero 2 MiB.
//! In a 10-epoch run that was about 1,900 page faults; without purging, about 280 (measured with
//! `/usr/bin/time` on `benches/fit_compare.rs`). The process keeps its peak memory until it
//! ends, which for a training run is the memory it needs anyway.

/// mimalloc's `mi_option_purge_delay` (position 15 of `mi_option_e` in mimalloc v2 and v3; the
/// Rust bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to hand freed memory back to the system. Call it first thing in `main`
/// of a program whose global allocator is `mimalloc::MiMalloc`; elsewhere it changes nothing.
pub fn keep_freed_memory() {
    // SAFETY: sets one integer option (-1 is mimalloc's documented "no purging"); not thread
    // safe, hence "first thing in `main`", before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}
