//! The wrapper around the `gemm` crate's matrix product (0.18, single-threaded per call), and
//! the depth up to which it sums each output in one block, which the direct kernels follow to
//! give its bits.

/// Up to this depth (products per output), gemm 0.18.2 sums each output in one depth block
/// (`gemm-common`'s `kernel_params`: its depth block is at least 512), one fused multiply-add
/// at a time from +0.0. That is what lets the direct kernels (`direct.rs`,
/// `input_gradient.rs`) give the GEMM's bits; `Cargo.toml` pins gemm to that version, and the
/// kernels' tests compare bit for bit.
pub(super) const ONE_DEPTH_BLOCK: usize = 512;

/// `dst (m x n, row-major) = [dst +] lhs (m x k) * rhs (k x n)`, single-threaded.
/// Strides are given as (row stride, column stride) for each operand.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
) {
    // The last element a (rows x cols) matrix with these strides touches, if it has any and the
    // index does not overflow (an overflow must fail the check, not wrap past it).
    let last = |rows: usize, cols: usize, (row_stride, col_stride): (usize, usize)| {
        if rows == 0 || cols == 0 {
            return Some(None);
        }
        let at = (rows - 1).checked_mul(row_stride)?;
        at.checked_add((cols - 1).checked_mul(col_stride)?)
            .map(Some)
    };
    let fits = |len: usize, last: Option<Option<usize>>| match last {
        Some(Some(at)) => at < len,
        Some(None) => true,
        None => false,
    };
    assert!(fits(dst.len(), last(m, n, (n, 1))), "matmul: dst too short");
    assert!(
        k == 0 || fits(lhs.len(), last(m, k, lhs_strides)),
        "matmul: lhs too short"
    );
    assert!(
        k == 0 || fits(rhs.len(), last(k, n, rhs_strides)),
        "matmul: rhs too short"
    );
    // SAFETY: the asserts above keep every index that gemm reads or writes inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_strides.1 as isize,
            lhs_strides.0 as isize,
            rhs.as_ptr(),
            rhs_strides.1 as isize,
            rhs_strides.0 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}
