//! Windows: how a range of CT numbers becomes grey levels, and which windows fill the model's
//! three input channels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A display window on CT numbers: `level` (window centre) and `width`, both in Hounsfield
/// units (HU). CT numbers below `level - width/2` show black, above `level + width/2` white,
/// and the grey levels between them spread over that range.
///
/// [`Window::grey`] is the LINEAR function of DICOM PS3.3 C.11.2.1.2.1, with its 0.5 offsets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Window centre, HU.
    pub level: f32,
    /// Window width, HU; at least 1 (DICOM PS3.3 C.11.2.1.2.1).
    pub width: f32,
}

impl Window {
    /// Brain window, level 40 HU, width 80 HU: grey and white matter (about 20–45 HU) apart,
    /// fresh blood (about 50–90 HU) bright. Radiopaedia, "Windowing (CT)"; the standard first
    /// window for head CT.
    pub const BRAIN: Window = Window {
        level: 40.0,
        width: 80.0,
    };
    /// Subdural window, level 80 HU, width 200 HU (Radiopaedia gives width 130–300, level
    /// 50–100; 80/200 is the subdural channel of the well-known RSNA 2019 intracranial
    /// hemorrhage solutions): a thin bleed against the skull stays grey where the brain window
    /// saturates it together with the bone.
    pub const SUBDURAL: Window = Window {
        level: 80.0,
        width: 200.0,
    };
    /// Bone window, level 600 HU, width 2800 HU (Radiopaedia, "Windowing (CT)"): the skull
    /// and its fractures; brain and blood are nearly one grey.
    pub const BONE: Window = Window {
        level: 600.0,
        width: 2800.0,
    };

    /// The named windows, with their names.
    pub const PRESETS: [(&'static str, Window); 3] = [
        ("brain", Window::BRAIN),
        ("subdural", Window::SUBDURAL),
        ("bone", Window::BONE),
    ];

    /// A window with this level and width (HU). Errors unless both are finite and the width
    /// is at least 1 HU.
    pub fn new(level: f32, width: f32) -> Result<Window> {
        if !level.is_finite() || !width.is_finite() || width < 1.0 {
            return Err(Error::InvalidInput(format!(
                "a window needs a finite level and a width of at least 1 HU, not level {level}, \
                 width {width}"
            )));
        }
        Ok(Window { level, width })
    }

    /// The grey level of CT number `hu`, in `[0, 1]` (0 black, 1 white): DICOM's LINEAR
    /// function (PS3.3 C.11.2.1.2.1) with output range 0–1,
    ///
    /// ```text
    /// hu <= level - 0.5 - (width-1)/2  ->  0
    /// hu >  level - 0.5 + (width-1)/2  ->  1
    /// otherwise                        ->  (hu - (level - 0.5)) / (width - 1) + 0.5
    /// ```
    ///
    /// The 0.5 offsets make the window's centre fall between two integer CT numbers: for the
    /// brain window, HU 40 gives 0.5 + 0.5/79 = 0.50633, not exactly 0.5.
    pub fn grey(&self, hu: f32) -> f32 {
        let c = self.level - 0.5;
        let half = (self.width - 1.0) / 2.0;
        if hu <= c - half {
            0.0
        } else if hu > c + half {
            1.0
        } else {
            ((hu - c) / (self.width - 1.0) + 0.5).clamp(0.0, 1.0)
        }
    }

    /// The preset's name (`"brain"`), or `None` for another window.
    pub fn preset_name(&self) -> Option<&'static str> {
        Window::PRESETS
            .iter()
            .find(|(_, w)| w == self)
            .map(|(name, _)| *name)
    }
}

impl fmt::Display for Window {
    /// `brain (level 40, width 80)` for a preset, `level 50, width 120` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.preset_name() {
            Some(name) => write!(f, "{name} (level {}, width {})", self.level, self.width),
            None => write!(f, "level {}, width {}", self.level, self.width),
        }
    }
}

impl FromStr for Window {
    type Err = Error;

    /// A preset name (`brain`, `subdural`, `bone`) or `LEVEL/WIDTH` in HU (`40/80`, `-600/1500`).
    fn from_str(text: &str) -> Result<Window> {
        let text = text.trim();
        if let Some((_, w)) = Window::PRESETS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
        {
            return Ok(*w);
        }
        let bad = || {
            Error::InvalidInput(format!(
                "{text:?} is not a window: give brain, subdural, bone, or LEVEL/WIDTH in \
                 Hounsfield units (e.g. 40/80)"
            ))
        };
        let (level, width) = text.split_once('/').ok_or_else(bad)?;
        let level: f32 = level.trim().parse().map_err(|_| bad())?;
        let width: f32 = width.trim().parse().map_err(|_| bad())?;
        Window::new(level, width)
    }
}

/// Which window fills each of the model's three input channels (red, green, blue) when the
/// input is CT numbers (DICOM). A setting of the model: recorded in `model.json` through the
/// recipe, and applied to every DICOM file the model sees.
///
/// - one window (the default, [`Window::BRAIN`]): the same grey image in all three channels,
///   as the display PNGs of the Kaggle set give;
/// - three windows ([`InputWindows::THREE`]: brain, subdural, bone): each channel shows the
///   slice in another window, as the best-known RSNA 2019 solutions feed their networks.
///
/// Display images (PNG, JPEG, ...) were windowed by whoever exported them: the windows do not
/// apply to them, and a model with any window but the brain window refuses them (see
/// [`crate::data`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InputWindows {
    /// The windows of channels 0, 1, 2.
    pub channels: [Window; 3],
}

impl InputWindows {
    /// The brain window in every channel.
    pub const BRAIN: InputWindows = InputWindows::one(Window::BRAIN);
    /// Brain, subdural and bone windows in channels 0, 1, 2.
    pub const THREE: InputWindows = InputWindows {
        channels: [Window::BRAIN, Window::SUBDURAL, Window::BONE],
    };

    /// One window in all three channels.
    pub const fn one(window: Window) -> InputWindows {
        InputWindows {
            channels: [window, window, window],
        }
    }

    /// True when the three channels show the same window.
    pub fn is_single(&self) -> bool {
        self.channels[0] == self.channels[1] && self.channels[1] == self.channels[2]
    }

    /// The short form, read back by [`FromStr`]: `brain`, `three` (brain, subdural, bone),
    /// `40/80`, or three windows joined by commas (`brain,subdural,40/80`).
    pub fn name(&self) -> String {
        let one = |w: &Window| {
            w.preset_name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}/{}", w.level, w.width))
        };
        if *self == InputWindows::THREE {
            "three".into()
        } else if self.is_single() {
            one(&self.channels[0])
        } else {
            self.channels.iter().map(one).collect::<Vec<_>>().join(",")
        }
    }

    /// For people: `the brain window (level 40, width 80) in all three channels`, or `three
    /// windows: brain (level 40, width 80), subdural (...), bone (...)`.
    pub fn describe(&self) -> String {
        if self.is_single() {
            let w = self.channels[0];
            match w.preset_name() {
                Some(name) => format!(
                    "the {name} window (level {}, width {}) in all three channels",
                    w.level, w.width
                ),
                None => format!(
                    "one window (level {}, width {}) in all three channels",
                    w.level, w.width
                ),
            }
        } else {
            format!(
                "three windows, one per channel: {}, {}, {}",
                self.channels[0], self.channels[1], self.channels[2]
            )
        }
    }
}

impl Default for InputWindows {
    fn default() -> Self {
        InputWindows::BRAIN
    }
}

impl fmt::Display for InputWindows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for InputWindows {
    type Err = Error;

    /// `brain`, `subdural`, `bone`, `LEVEL/WIDTH` (one window in all channels), `three`
    /// (brain, subdural, bone), or three windows joined by commas.
    fn from_str(text: &str) -> Result<InputWindows> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("three") {
            return Ok(InputWindows::THREE);
        }
        let parts: Vec<&str> = text.split(',').collect();
        match parts.as_slice() {
            [one] => Ok(InputWindows::one(one.parse()?)),
            [a, b, c] => Ok(InputWindows {
                channels: [a.parse()?, b.parse()?, c.parse()?],
            }),
            _ => Err(Error::InvalidInput(format!(
                "{text:?}: give one window (brain, subdural, bone or LEVEL/WIDTH), `three`, or \
                 three windows joined by commas"
            ))),
        }
    }
}

impl TryFrom<String> for InputWindows {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

/// `model.json` keeps the values, not the preset names (`40/80,80/200,600/2800`), so that a
/// model keeps its meaning should a preset ever change; names are still read.
impl From<InputWindows> for String {
    fn from(w: InputWindows) -> String {
        w.channels
            .iter()
            .map(|c| format!("{}/{}", c.level, c.width))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_follows_the_dicom_formula() {
        let w = Window::BRAIN;
        // Edges: HU <= 0 is black, HU > 79 is white (level 40, width 80, 0.5 offsets).
        assert_eq!(w.grey(-40.0), 0.0);
        assert_eq!(w.grey(0.0), 0.0);
        assert_eq!(w.grey(79.5), 1.0);
        assert_eq!(w.grey(120.0), 1.0);
        assert!((w.grey(40.0) - (0.5 + 0.5 / 79.0)).abs() < 1e-6);
        // Monotone inside.
        let mut last = 0.0;
        for hu in 0..=80 {
            let g = w.grey(hu as f32);
            assert!(g >= last, "not monotone at {hu}");
            last = g;
        }
    }

    #[test]
    fn windows_parse_and_print_back() {
        for text in [
            "brain",
            "three",
            "subdural",
            "40/80.5",
            "brain,bone,-600/1500",
        ] {
            let w: InputWindows = text.parse().unwrap();
            let again: InputWindows = w.name().parse().unwrap();
            assert_eq!(w, again, "{text}");
        }
        assert_eq!(
            "40/80".parse::<InputWindows>().unwrap(),
            InputWindows::BRAIN
        );
        assert_eq!(
            "brain,subdural,bone"
                .parse::<InputWindows>()
                .unwrap()
                .name(),
            "three"
        );
        for bad in ["", "brian", "40", "40/0", "40/nan", "brain,bone"] {
            assert!(bad.parse::<InputWindows>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            InputWindows::BRAIN.describe(),
            "the brain window (level 40, width 80) in all three channels"
        );
        assert!(InputWindows::THREE.describe().starts_with("three windows"));
    }
}
