//! The rectifier, as the ReLU layer, the pooling and the fused block apply it.

/// `max(x, 0)` that lets NaN through (`f32::max` would turn it into 0): a NaN in the input must
/// reach the loss, where training stops with a clear message, instead of being silently erased.
#[inline(always)]
pub(crate) fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}
