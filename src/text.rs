//! Text that stays readable wherever a file name ends up: a terminal line, a CSV cell, a figure
//! caption. File names may hold line breaks, tabs, commas, quotes or any script.

use std::path::Path;

/// `text` with every control character (line break, tab, escape, ...) written as its Rust
/// escape (`\n`, `\t`, `\u{1b}`), so that a file name can never break or recolour an output
/// line. Everything else, including any script, is kept as it is.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// A path for printing: [`printable`] of its (lossy UTF-8) display form.
pub fn printable_path(path: &Path) -> String {
    printable(&path.display().to_string())
}

/// A CSV field (RFC 4180): [`printable`], then quoted, with quotes doubled, when it holds a
/// comma or a quote.
pub fn csv_field(text: &str) -> String {
    let text = printable(text);
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `text` shortened in the middle to at most `max_chars` characters, with `…` where the middle
/// was: the start and the end of a file name (its folder and its extension) stay readable.
pub fn shorten_middle(text: &str, max_chars: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max_chars || max_chars < 3 {
        return text.to_string();
    }
    let keep = max_chars - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_other_scripts_kept() {
        assert_eq!(printable("a\nb\tc\u{1b}[31m"), "a\\nb\\tc\\u{1b}[31m");
        assert_eq!(printable("出血_001.png"), "出血_001.png");
        assert_eq!(csv_field("x,y.png"), "\"x,y.png\"");
        assert_eq!(csv_field("say \"hi\"\n.png"), "\"say \"\"hi\"\"\\n.png\"");
        assert_eq!(csv_field("plain.png"), "plain.png");
    }

    #[test]
    fn shortening_keeps_both_ends_and_the_length() {
        let long = "hemorrhage/a_very_long_scan_name_from_the_export_0001.png";
        let short = shorten_middle(long, 20);
        assert_eq!(short.chars().count(), 20);
        assert!(short.starts_with("hemorrhage"), "{short}");
        assert!(short.ends_with("01.png"), "{short}");
        assert!(short.contains('…'));
        assert_eq!(shorten_middle("short.png", 20), "short.png");
        assert_eq!(shorten_middle("出血出血出血出血出血", 5), "出血…出血");
    }
}
