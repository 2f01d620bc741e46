//! Buffers that our layers keep for themselves between the forward and the backward pass (the
//! copy of a block's input, the winners of its pooling windows), recycled without being zeroed.
//!
//! [`CachedBuf`](super::CachedBuf) borrows from dfdx's tensor cache, which zero-fills every
//! buffer it hands out (`try_alloc_len`). That is needed for buffers that become tensors, but a
//! saved input is overwritten by a copy right away and the winners by the pooling: zeroing them
//! cost 1 ms of a 10 ms forward pass of the teaching net (a 2.7 MB memset before a 2.7 MB copy
//! in the first block alone). These buffers never become tensors, so they can come from a pool
//! of our own, bounded in size.

use std::sync::Mutex;

use dfdx::{
    prelude::{Cpu, CpuError, Tensor},
    shapes::{HasShape, Shape},
    tensor_ops::ReshapeTo,
};

/// At most this many bytes wait in a pool; a buffer given back beyond it is freed. The teaching
/// net keeps 11 MB of saved inputs and 1.6 MB of winners per training batch of 10.
const MAX_POOLED_BYTES: usize = 64 << 20;

/// Element types with a pool of their own.
pub(crate) trait Recyclable: Copy + Default + Send + 'static {
    fn pool() -> &'static Mutex<Vec<Vec<Self>>>;
}

impl Recyclable for f32 {
    fn pool() -> &'static Mutex<Vec<Vec<f32>>> {
        static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
        &POOL
    }
}

impl Recyclable for u8 {
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
                .map(|at| pool.swap_remove(at))
        };
        Self {
            vec: reused.unwrap_or_else(|| vec![E::default(); len]),
        }
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
        let mut pool = E::pool().lock().unwrap_or_else(|e| e.into_inner());
        if pool.iter().map(bytes).sum::<usize>() + bytes(&vec) <= MAX_POOLED_BYTES {
            pool.push(vec);
        }
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

    /// A buffer comes back with its length and old values; the pool never holds more than its
    /// bound. (u8 buffers of unusual lengths, so that other tests' buffers do not interfere.)
    #[test]
    fn buffers_come_back_with_old_values_and_the_pool_is_bounded() {
        let mut a = Recycled::<u8>::for_overwrite(12_345);
        assert_eq!(a.len(), 12_345);
        a.fill(7);
        drop(a);
        let b = Recycled::<u8>::for_overwrite(12_345);
        assert_eq!(b.len(), 12_345);
        // Another test may have taken the buffer in between; then this one is fresh (zeros).
        assert!(b.iter().all(|&v| v == 7) || b.iter().all(|&v| v == 0));
        drop(b);
        let big: Vec<_> = (0..3)
            .map(|_| Recycled::<u8>::for_overwrite(MAX_POOLED_BYTES / 2 + 1))
            .collect();
        drop(big);
        let pooled: usize = u8::pool().lock().unwrap().iter().map(Vec::len).sum();
        assert!(pooled <= MAX_POOLED_BYTES, "{pooled} bytes pooled");
    }
}
