//! The one resize: every decoder (display images at 8 or 16 bits, DICOM slices in each window)
//! brings its picture to the model's side here, with the input's filter.

use image::{ImageBuffer, Pixel};

use super::ModelInput;

/// `img` resized to `input.side x input.side` with `input.resize_filter`; an image of that size
/// already is returned as it is (not resampled, so its values stay exact).
pub fn to_input_side<P>(
    img: ImageBuffer<P, Vec<P::Subpixel>>,
    input: &ModelInput,
) -> ImageBuffer<P, Vec<P::Subpixel>>
where
    P: Pixel + 'static,
    P::Subpixel: 'static,
{
    let side = input.side as u32;
    if img.dimensions() == (side, side) {
        img
    } else {
        image::imageops::resize(&img, side, side, input.resize_filter.filter_type())
    }
}

/// One grey plane (`columns x rows` values in `[0, 1]`, row-major) resized to the input's side
/// and written into `out` (`side x side` values), each value clamped to `[0, 1]` (a filter with
/// negative lobes can overshoot).
pub fn grey_plane_into(
    grey: Vec<f32>,
    columns: usize,
    rows: usize,
    input: &ModelInput,
    out: &mut [f32],
) {
    let img: ImageBuffer<image::Luma<f32>, Vec<f32>> =
        ImageBuffer::from_raw(columns as u32, rows as u32, grey).expect("rows x columns values");
    let small = to_input_side(img, input);
    for (d, v) in out.iter_mut().zip(small.as_raw()) {
        *d = v.clamp(0.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_of_the_input_side_is_kept_exactly_and_others_are_resized() {
        let input = ModelInput::TEACHING;
        let exact: Vec<f32> = (0..150 * 150).map(|i| (i % 7) as f32 / 7.0).collect();
        let mut out = vec![0.0; 150 * 150];
        grey_plane_into(exact.clone(), 150, 150, &input, &mut out);
        assert_eq!(out, exact);
        // A uniform 300x200 plane stays uniform at 150x150.
        let mut out = vec![0.0; 150 * 150];
        grey_plane_into(vec![0.25; 300 * 200], 300, 200, &input, &mut out);
        assert!(out.iter().all(|&v| (v - 0.25).abs() < 1e-6));
    }
}
