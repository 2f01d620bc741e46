//! A walk over a DICOM file's element headers, before dicom-rs reads it.
//!
//! dicom-rs reserves and zero-fills whatever length an element header claims before it reads
//! the value: a 300-byte file that claims a 4 GB element takes 4 GB of memory. Every length
//! here must fit in the bytes that remain, which bounds what dicom-rs can allocate by the file's
//! size. The walk is flat: sequences and items are entered (their elements follow in the
//! bytes), the fragments of encapsulated pixel data are skipped.

use std::path::Path;

use crate::{Error, Result};

/// Explicit-VR value representations with a 4-byte length (PS3.5 7.1.2).
const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// An element's tag: (group, element).
type Tag = (u16, u16);
const PIXEL_DATA: Tag = (0x7FE0, 0x0010);

/// Implicit VR little endian, explicit VR big endian (retired) and deflated explicit VR
/// little endian: the transfer syntaxes whose dataset is not explicit VR little endian.
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

#[derive(Clone, Copy)]
struct Encoding {
    explicit: bool,
    big_endian: bool,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u16(&self, at: usize, big: bool) -> Option<u16> {
        let b = self.bytes.get(at..at + 2)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    }

    fn u32(&self, at: usize, big: bool) -> Option<u32> {
        let b = self.bytes.get(at..at + 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
}

/// Checks every element length of a DICOM file's bytes (preamble optional) against the bytes
/// that remain. Also refuses deflated files, whose inflated size no header bounds. Errors name
/// the file and the element; bytes that are not DICOM at all pass (dicom-rs then says so).
/// Returns whether a PixelData element (7FE0,0010) was met: a structured report, an RT
/// structure set or a presentation state has none.
pub(crate) fn check_element_lengths(path: &Path, bytes: &[u8]) -> Result<bool> {
    let raw = super::dicom::raw_dataset_transfer_syntax(bytes);
    let start = if super::has_dicom_marker(bytes) {
        132
    } else if bytes.starts_with(b"DICM") {
        4
    } else if raw.is_some() {
        0
    } else {
        return Ok(false);
    };
    let mut c = Cursor { bytes, pos: start };
    // The file meta group: explicit VR little endian, group 0002.
    let meta = Encoding {
        explicit: true,
        big_endian: false,
    };
    let mut transfer_syntax = raw.unwrap_or_default().to_string();
    while raw.is_none() && c.u16(c.pos, false) == Some(0x0002) {
        let (tag, value) = element(&mut c, meta, path)?;
        if let Some(range) = value {
            c.pos = range.end;
            if tag == (0x0002, 0x0010) {
                transfer_syntax = String::from_utf8_lossy(&bytes[range])
                    .trim_end_matches(['\0', ' '])
                    .to_string();
            }
        }
    }
    if transfer_syntax == DEFLATED {
        return Err(Error::data(
            path,
            format!(
                "deflated DICOM (transfer syntax {DEFLATED}) is not read: its inflated size is \
                 not known before inflating it; convert the file first (e.g. `dcmconv +te`)"
            ),
        ));
    }
    let dataset = Encoding {
        explicit: transfer_syntax != IMPLICIT_LE,
        big_endian: transfer_syntax == EXPLICIT_BE,
    };
    let mut in_fragments = false;
    let mut has_pixel_data = false;
    while c.pos < bytes.len() {
        let big = dataset.big_endian;
        let Some(group) = c.u16(c.pos, big) else {
            break;
        };
        if group == 0xFFFE {
            // Item (E000), item delimiter (E00D), sequence delimiter (E0DD): no VR.
            let elem = c.u16(c.pos + 2, big).unwrap_or(0);
            let Some(len) = c.u32(c.pos + 4, big) else {
                break;
            };
            c.pos += 8;
            if elem == 0xE000 && len != UNDEFINED {
                check_fits(path, (0xFFFE, elem), len, bytes.len() - c.pos)?;
                if in_fragments {
                    c.pos += len as usize;
                }
            } else if elem == 0xE0DD {
                in_fragments = false;
            }
            continue;
        }
        let (tag, value) = element(&mut c, dataset, path)?;
        has_pixel_data |= tag == PIXEL_DATA;
        match value {
            None if tag == PIXEL_DATA => in_fragments = true,
            // Undefined length (a sequence): its items follow.
            None => {}
            Some(range) => {
                let is_sequence = if dataset.explicit {
                    // SQ has a 4-byte length: its VR sits 8 bytes before the value.
                    bytes.get(range.start - 8..range.start - 6) == Some(&b"SQ"[..])
                } else {
                    // Implicit VR: a value that starts with an item tag is a sequence.
                    range.len() >= 8
                        && c.u16(range.start, big) == Some(0xFFFE)
                        && c.u16(range.start + 2, big) == Some(0xE000)
                };
                if !is_sequence {
                    c.pos = range.end;
                }
            }
        }
    }
    Ok(has_pixel_data)
}

/// Reads one element header at the cursor; returns its tag and the byte range of its value
/// (`None` for an undefined length), and moves the cursor to the value.
fn element(
    c: &mut Cursor,
    enc: Encoding,
    path: &Path,
) -> Result<(Tag, Option<std::ops::Range<usize>>)> {
    let big = enc.big_endian;
    let truncated = || Error::data(path, "DICOM file ends inside an element header: truncated");
    let group = c.u16(c.pos, big).ok_or_else(truncated)?;
    let elem = c.u16(c.pos + 2, big).ok_or_else(truncated)?;
    let (len, header) = if enc.explicit {
        let vr = c.bytes.get(c.pos + 4..c.pos + 6).ok_or_else(truncated)?;
        if !vr.iter().all(u8::is_ascii_uppercase) {
            return Err(Error::data(
                path,
                format!(
                    "DICOM element ({group:04X},{elem:04X}) has no valid value representation: \
                     damaged file"
                ),
            ));
        }
        if LONG_VRS.iter().any(|v| v.as_slice() == vr) {
            (c.u32(c.pos + 8, big).ok_or_else(truncated)?, 12)
        } else {
            (u32::from(c.u16(c.pos + 6, big).ok_or_else(truncated)?), 8)
        }
    } else {
        (c.u32(c.pos + 4, big).ok_or_else(truncated)?, 8)
    };
    c.pos += header;
    if len == UNDEFINED {
        return Ok(((group, elem), None));
    }
    check_fits(
        path,
        (group, elem),
        len,
        c.bytes.len().saturating_sub(c.pos),
    )?;
    Ok(((group, elem), Some(c.pos..c.pos + len as usize)))
}

fn check_fits(path: &Path, (group, elem): Tag, len: u32, left: usize) -> Result<()> {
    if len as usize > left {
        return Err(Error::data(
            path,
            format!(
                "DICOM element ({group:04X},{elem:04X}) claims {len} bytes, but only {left} \
                 remain: truncated or damaged file"
            ),
        ));
    }
    Ok(())
}
