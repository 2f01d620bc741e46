//! im2col and its adjoint: the 3x3 neighbourhoods of one image laid out as the columns of a
//! `(C*9) x (OH*OW)` matrix, so that one GEMM computes a convolution, and back.

use std::ops::Range;

use super::dims::{ConvDims, KERNEL};

/// Lays out the 3x3 neighbourhoods of one image as columns:
/// `col[(c*3 + ky)*3 + kx][oy*OW + ox] = image[c][oy + ky][ox + kx]`.
pub(super) fn im2col(d: &ConvDims, image: &[f32], col: &mut [f32]) {
    im2col_rows(d, image, 0..d.out_height(), col);
}

/// [`im2col`] for the output rows `rows` only: `col` has `rows.len() * OW` columns.
pub(super) fn im2col_rows(d: &ConvDims, image: &[f32], rows: Range<usize>, col: &mut [f32]) {
    let (h, w, ow) = (d.height, d.width, d.out_width());
    let n = rows.len() * ow;
    let mut col_rows = col.chunks_exact_mut(n);
    for c in 0..d.in_channels {
        let plane = &image[c * h * w..(c + 1) * h * w];
        for ky in 0..KERNEL {
            for kx in 0..KERNEL {
                let col_row = col_rows.next().expect("col has patch_len rows");
                for (oy, dst) in rows.clone().zip(col_row.chunks_exact_mut(ow)) {
                    let start = (oy + ky) * w + kx;
                    dst.copy_from_slice(&plane[start..start + ow]);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each column entry back onto the pixel it came from.
pub(super) fn col2im_add(d: &ConvDims, col: &[f32], image: &mut [f32]) {
    let (h, w, oh, ow) = (d.height, d.width, d.out_height(), d.out_width());
    let n = oh * ow;
    let mut rows = col.chunks_exact(n);
    for c in 0..d.in_channels {
        let plane = &mut image[c * h * w..(c + 1) * h * w];
        for ky in 0..KERNEL {
            for kx in 0..KERNEL {
                let row = rows.next().expect("col has patch_len rows");
                for (oy, src) in row.chunks_exact(ow).enumerate() {
                    let start = (oy + ky) * w + kx;
                    for (dst, s) in plane[start..start + ow].iter_mut().zip(src) {
                        *dst += s;
                    }
                }
            }
        }
    }
}
