//! The sizes of a 3x3 convolution call ([`ConvDims`]) and the lengths of its buffers.

/// Side of the square convolution kernel.
pub const KERNEL: usize = 3;

/// The sizes of one convolution call: a batch of `in_channels x height x width` images
/// convolved into `out_channels x (height-2) x (width-2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvDims {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ConvDims {
    pub fn out_height(&self) -> usize {
        self.height - (KERNEL - 1)
    }
    pub fn out_width(&self) -> usize {
        self.width - (KERNEL - 1)
    }
    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    pub fn patch_len(&self) -> usize {
        self.in_channels * KERNEL * KERNEL
    }
    /// Columns of the im2col matrix: one per output pixel.
    pub(super) fn out_pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }
    pub fn input_len(&self) -> usize {
        self.in_channels * self.height * self.width
    }
    pub fn output_len(&self) -> usize {
        self.out_channels * self.out_pixels()
    }
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }
    /// Whether the output sides do not wrap and every length the direct kernels index by (input,
    /// weights, output) fits in a `usize`: those kernels compute indices from the sizes, so the
    /// length checks before them must not wrap around.
    pub(super) fn lengths_fit(&self) -> bool {
        let fit = || -> Option<()> {
            let out_height = self.height.checked_sub(KERNEL - 1)?;
            let out_width = self.width.checked_sub(KERNEL - 1)?;
            self.in_channels
                .checked_mul(self.height)?
                .checked_mul(self.width)?;
            self.out_channels
                .checked_mul(self.in_channels)?
                .checked_mul(KERNEL * KERNEL)?;
            let out_pixels = out_height.checked_mul(out_width)?;
            self.out_channels.checked_mul(out_pixels).map(|_| ())
        };
        fit().is_some()
    }
}
