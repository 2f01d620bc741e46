//! Buffers that our layers keep for themselves between the forward and the backward pass (the
//! copy of a block's input, the winners of its pooling windows), recycled without being zeroed.
//!
//! [`CachedBuf`](super::CachedBuf) borrows from dfdx's tensor cache, which zero-fills every
//! buffer it hands out (`try_alloc_len`). That is needed for buffers that become tensors, but a
//! saved input is overwritten by a copy right away and the winners by the pooling, and the
//! teaching net zeroed 10 MB of them per batch of 10 (8.7 MB of inputs, 1.5 MB of winners) on
//! one thread. These buffers never become tensors, so they come from pools of our own, one per
//! element type, each bounded in size. Measured: the model's forward pass went from 9.9 to 9.7
//! ms per batch (`docs/BENCHMARKS.md`, "Every CPU").

use std::sync::Mutex;

use dfdx::{
    prelude::{Cpu, CpuError, Tensor},
    shapes::{HasShape, Shape},
    tensor_ops::ReshapeTo,
};

/// At most this many bytes wait in each pool; when a buffer given back would go beyond it, the
/// oldest waiting buffers are freed first (those of lengths no longer asked for, such as a last
/// partial batch, leave that way). The teaching net keeps 8.7 MB of saved inputs and 1.5 MB of
/// winners per training batch of 10.
const MAX_POOLED_BYTES: usize = 64 << 20;

/// Element types with a pool of their own.
pub(crate) trait Recyclable: Copy + Default + Send + 'static {
    /// A value no caller should ever read from a recycled buffer: in debug builds (and so in
    /// the tests) every buffer is handed out filled with it, so that a value read before it was
    /// written shows (a NaN, or a winner code that names no window).
    const POISON: Self;
    fn pool() -> &'static Mutex<Vec<Vec<Self>>>;
}

impl Recyclable for f32 {
    const POISON: f32 = f32::NAN;
    fn pool() -> &'static Mutex<Vec<Vec<f32>>> {
        static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
        &POOL
    }
}

impl Recyclable for u8 {
    const POISON: u8 = 0xEE;
    fn pool() -> &'static Mutex<Vec<Vec<u8>>> {
        static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
        &POOL
    }
}

/// A buffer of `len` values whose contents are left from an earlier use: for a caller that
/// overwrites every value before reading any. Given back to its pool when dropped.
pub(crate) struct Recycled<E: Recyclable> {
    vec: Vec<E>,
}

impl<E: Recyclable> Recycled<E> {
    /// A buffer of exactly `len` values, from the pool when one of that length waits there (its
    /// old values still in it), else newly allocated.
    pub(crate) fn for_overwrite(len: usize) -> Self {
        let reused = {
            let mut pool = E::pool().lock().unwrap_or_else(|e| e.into_inner());
            pool.iter()
                .position(|v| v.len() == len)
                .map(|at| pool.remove(at))
        };
        let mut vec = reused.unwrap_or_else(|| vec![E::default(); len]);
        if cfg!(debug_assertions) {
            vec.fill(E::POISON);
        }
        Self { vec }
    }
}

impl Recycled<f32> {
    /// A copy of a tensor's values in row-major order (one `memcpy` when it is contiguous), in
    /// a recycled buffer.
    pub(crate) fn copy_of<S: Shape>(t: &Tensor<S, f32, Cpu>) -> Result<Self, CpuError> {
        let t = t.clone().try_contiguous()?;
        let mut buf = Self::for_overwrite(t.shape().num_elements());
        t.copy_into(&mut buf);
        Ok(buf)
    }
}

impl<E: Recyclable> Drop for Recycled<E> {
    fn drop(&mut self) {
        let vec = std::mem::take(&mut self.vec);
        let bytes = |v: &Vec<E>| v.len() * std::mem::size_of::<E>();
        if bytes(&vec) > MAX_POOLED_BYTES {
            return;
        }
        let mut pool = E::pool().lock().unwrap_or_else(|e| e.into_inner());
        let mut pooled: usize = pool.iter().map(bytes).sum();
        // Oldest first: the pool is kept in the order the buffers came back.
        while pooled + bytes(&vec) > MAX_POOLED_BYTES {
            pooled -= bytes(&pool.remove(0));
        }
        pool.push(vec);
    }
}

impl<E: Recyclable> std::ops::Deref for Recycled<E> {
    type Target = [E];
    fn deref(&self) -> &[E] {
        &self.vec
    }
}

impl<E: Recyclable> std::ops::DerefMut for Recycled<E> {
    fn deref_mut(&mut self) -> &mut [E] {
        &mut self.vec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer comes back with its length (and, in debug builds, poisoned); the pool never
    /// holds more than its bound, and makes room by freeing its oldest buffers. (u8 buffers of
    /// unusual lengths, so that other tests' buffers do not interfere.)
    #[test]
    fn buffers_come_back_with_their_length_and_the_pool_is_bounded() {
        let mut a = Recycled::<u8>::for_overwrite(12_345);
        assert_eq!(a.len(), 12_345);
        if cfg!(debug_assertions) {
            assert!(a.iter().all(|&v| v == u8::POISON));
        }
        a.fill(7);
        drop(a);
        let b = Recycled::<u8>::for_overwrite(12_345);
        assert_eq!(b.len(), 12_345);
        drop(b);
        let big: Vec<_> = (0..3)
            .map(|_| Recycled::<u8>::for_overwrite(MAX_POOLED_BYTES / 2 - 1))
            .collect();
        drop(big);
        let pool = u8::pool().lock().unwrap();
        let pooled: usize = pool.iter().map(Vec::len).sum();
        assert!(pooled <= MAX_POOLED_BYTES, "{pooled} bytes pooled");
        // Other tests running at the same time may have given buffers back since: look for
        // ours among them, not at the end of the pool.
        let ours = pool
            .iter()
            .filter(|v| v.len() == MAX_POOLED_BYTES / 2 - 1)
            .count();
        assert!(
            (1..=2).contains(&ours),
            "the newest buffers stay, the oldest go: {ours} of 3 pooled"
        );
    }
}
