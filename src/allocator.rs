//! The memory allocator of the `head-ct` command and the benchmarks: mimalloc, told to keep the
//! memory it frees.
//!
//! A training step frees and allocates the same large buffers again and again. By default,
//! mimalloc (v3, which the `mimalloc` crate builds) hands memory that stays free for a second
//! back to the system ("purging"), and a later step faults it in again; with transparent huge
//! pages each fault makes the kernel zero 2 MiB. A 10-epoch fit took 1,300–2,100 page faults;
//! without purging, about 270 (measured with `/usr/bin/time` on `benches/fit_compare.rs`). The process keeps its peak memory until it
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The option's position is hard-coded above: before the call it must read mimalloc v3's
    /// default for `purge_delay`, 1000 ms (its neighbours default to other values), and after
    /// it -1. Fails if mimalloc renumbers its options.
    #[test]
    fn purging_is_switched_off() {
        // SAFETY: reads and sets one option; no other test touches mimalloc's options.
        let read = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                read(),
                1000,
                "option 15 is not purge_delay (default 1000 ms)"
            );
        }
        keep_freed_memory();
        assert_eq!(read(), -1);
    }
}
