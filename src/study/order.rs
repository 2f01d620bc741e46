//! Grouping DICOM images into studies and series, and putting each series in slice order.

use std::collections::BTreeMap;

use super::{inventory::Skipped, Series, SliceRef, SlicesOrderedBy, Study};
use crate::ct::DicomHeader;

/// Two slice normals closer than this (cosine of about 2.6°) are the same orientation: gantry
/// tilt and rounding in the stored cosines stay well inside it, a reformatted or scout plane
/// (90°) far outside.
const SAME_ORIENTATION_COSINE: f64 = 0.999;

/// Two positions along the normal closer than this, mm, are the same position.
const SAME_POSITION_MM: f64 = 0.01;

/// A gap between neighbouring slices is uneven when it differs from the series' median gap by
/// more than this fraction of it (and by more than [`SAME_POSITION_MM`]).
const UNEVEN_GAP_FRACTION: f64 = 0.1;

/// Groups `images` by StudyInstanceUID and SeriesInstanceUID and orders every series along its
/// slice normal (module docs of [`super`]). Images left out (copies with a SOPInstanceUID seen
/// before, localizers, slices at an orientation unlike their series', modalities other than CT)
/// go to `skipped` with a reason. Studies come in StudyInstanceUID order, series by
/// SeriesNumber, then SeriesInstanceUID.
pub fn order_studies(images: Vec<DicomHeader>, skipped: &mut Vec<Skipped>) -> Vec<Study> {
    let mut seen: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    let mut studies: BTreeMap<String, BTreeMap<String, Vec<DicomHeader>>> = BTreeMap::new();
    let mut images = images;
    images.sort_by(|a, b| a.path.cmp(&b.path));
    for h in images {
        if let Some(m) = h.modality.as_deref().filter(|m| *m != "CT") {
            skipped.push(Skipped::new(
                &h.path,
                format!("modality {m}, not CT: its values are not CT numbers"),
            ));
            continue;
        }
        if h.is_localizer() {
            skipped.push(Skipped::new(
                &h.path,
                "localizer (scout) image (ImageType LOCALIZER): not an axial slice",
            ));
            continue;
        }
        if let Some(uid) = &h.sop_instance_uid {
            if let Some(first) = seen.get(uid) {
                skipped.push(Skipped::new(
                    &h.path,
                    format!(
                        "same SOPInstanceUID as {}: a copy of that image, read once",
                        first.display()
                    ),
                ));
                continue;
            }
            seen.insert(uid.clone(), h.path.clone());
        }
        let study = h.study_uid.clone().unwrap_or_default();
        let series = h.series_uid.clone().unwrap_or_default();
        studies
            .entry(study)
            .or_default()
            .entry(series)
            .or_default()
            .push(h);
    }
    studies
        .into_iter()
        .map(|(uid, series)| {
            let mut series: Vec<Series> = series
                .into_iter()
                .map(|(series_uid, slices)| order_series(series_uid, slices, skipped))
                .filter(|s| !s.slices.is_empty())
                .collect();
            series.sort_by(|a, b| {
                (a.number.unwrap_or(i64::MAX), &a.uid).cmp(&(b.number.unwrap_or(i64::MAX), &b.uid))
            });
            let date = series
                .iter()
                .flat_map(|s| &s.slices)
                .find_map(|s| s.header.study_date.clone());
            Study { uid, date, series }
        })
        .filter(|s| !s.series.is_empty())
        .collect()
}

fn order_series(uid: String, mut slices: Vec<DicomHeader>, skipped: &mut Vec<Skipped>) -> Series {
    let number = slices.iter().find_map(|s| s.series_number);
    let description = slices.iter().find_map(|s| s.series_description.clone());
    let mut notes = Vec::new();
    let name = match number {
        Some(n) => format!("series {n}"),
        None => "its series".to_string(),
    };

    // The series' orientation: the normal most of its slices share.
    let normals: Vec<Option<[f64; 3]>> = slices.iter().map(DicomHeader::slice_normal).collect();
    let normal = normals
        .iter()
        .flatten()
        .max_by_key(|n| {
            normals
                .iter()
                .flatten()
                .filter(|m| same_orientation(n, m))
                .count()
        })
        .copied();
    if let Some(normal) = normal {
        let mut kept = Vec::with_capacity(slices.len());
        for (h, n) in slices.into_iter().zip(normals) {
            match n {
                Some(n) if !same_orientation(&n, &normal) => skipped.push(Skipped::new(
                    &h.path,
                    format!(
                        "orientation unlike the rest of {name} (slice normal {} against {}): \
                         a localizer or a reformatted image",
                        vector(&n),
                        vector(&normal)
                    ),
                )),
                _ => kept.push(h),
            }
        }
        slices = kept;
    }

    let positions: Option<Vec<f64>> = match normal {
        Some(n) => slices
            .iter()
            .map(|h| h.image_position_mm.map(|p| dot(&p, &n)))
            .collect(),
        None => None,
    };
    let uid_of = |h: &DicomHeader| h.sop_instance_uid.clone().unwrap_or_default();
    let (ordered_by, refs): (SlicesOrderedBy, Vec<SliceRef>) = match positions {
        Some(positions) => {
            let mut refs: Vec<SliceRef> = slices
                .into_iter()
                .zip(positions)
                .map(|(header, p)| SliceRef {
                    header,
                    position_mm: Some(p),
                })
                .collect();
            refs.sort_by(|a, b| {
                a.position_mm
                    .partial_cmp(&b.position_mm)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| uid_of(&a.header).cmp(&uid_of(&b.header)))
            });
            (SlicesOrderedBy::Position, refs)
        }
        None => {
            if slices.len() > 1 {
                notes.push(
                    "ImagePositionPatient or ImageOrientationPatient missing: slices ordered by \
                     InstanceNumber, which scanners do not always number along the body"
                        .to_string(),
                );
            }
            slices.sort_by(|a, b| {
                (a.instance_number.unwrap_or(i64::MAX), uid_of(a))
                    .cmp(&(b.instance_number.unwrap_or(i64::MAX), uid_of(b)))
            });
            let refs = slices
                .into_iter()
                .map(|header| SliceRef {
                    header,
                    position_mm: None,
                })
                .collect();
            (SlicesOrderedBy::InstanceNumber, refs)
        }
    };
    notes.extend(spacing_notes(&refs));
    notes.extend(size_notes(&refs));
    if refs.len() == 1 {
        notes.push("one slice: no slice order and no neighbours to compare".to_string());
    }
    Series {
        uid,
        number,
        description,
        ordered_by,
        slices: refs,
        notes,
    }
}

/// Notes on duplicated positions and uneven gaps between neighbouring slices.
fn spacing_notes(slices: &[SliceRef]) -> Vec<String> {
    let positions: Vec<f64> = slices.iter().filter_map(|s| s.position_mm).collect();
    if positions.len() < 2 || positions.len() != slices.len() {
        return Vec::new();
    }
    let gaps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
    let mut notes = Vec::new();
    let duplicated = gaps.iter().filter(|&&g| g < SAME_POSITION_MM).count();
    if duplicated > 0 {
        notes.push(format!(
            "{duplicated} slice{} at the same position as a neighbour (two acquisitions in one \
             series?): kept, ordered by SOPInstanceUID",
            if duplicated == 1 { "" } else { "s" }
        ));
    }
    let mut real: Vec<f64> = gaps
        .into_iter()
        .filter(|&g| g >= SAME_POSITION_MM)
        .collect();
    if real.len() >= 2 {
        real.sort_by(f64::total_cmp);
        let median = real[real.len() / 2];
        let (low, high) = (real[0], real[real.len() - 1]);
        let off =
            |g: f64| (g - median).abs() > (UNEVEN_GAP_FRACTION * median).max(SAME_POSITION_MM);
        if off(low) || off(high) {
            notes.push(format!(
                "uneven spacing: gaps between neighbouring slices from {low:.2} to {high:.2} mm \
                 (median {median:.2} mm): slices may be missing"
            ));
        }
    }
    notes
}

/// A note when slices differ in size from most of the series (they are resized alike).
fn size_notes(slices: &[SliceRef]) -> Vec<String> {
    let mut sizes: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for s in slices {
        *sizes.entry((s.header.columns, s.header.rows)).or_default() += 1;
    }
    if sizes.len() < 2 {
        return Vec::new();
    }
    let (&(c, r), _) = sizes.iter().max_by_key(|(_, &n)| n).unwrap();
    let odd: Vec<String> = slices
        .iter()
        .enumerate()
        .filter(|(_, s)| (s.header.columns, s.header.rows) != (c, r))
        .map(|(i, s)| format!("slice {} is {}x{}", i + 1, s.header.columns, s.header.rows))
        .collect();
    vec![format!(
        "{} while the series is {c}x{r} pixels: every slice is resized to the model's input alike",
        odd.join(", ")
    )]
}

fn same_orientation(a: &[f64; 3], b: &[f64; 3]) -> bool {
    dot(a, b).abs() >= SAME_ORIENTATION_COSINE
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn vector(v: &[f64; 3]) -> String {
    format!("({:.2}, {:.2}, {:.2})", v[0], v[1], v[2])
}
