//! Result tables that read well in both places they are shown: as Markdown in a terminal (the
//! command line prints [`Table::markdown`]) and as an HTML table in JupyterLab (the notebooks
//! show [`Table::html`] through evcxr's display protocol, [`Table::evcxr_content`]).
//!
//! The reports of [`crate::experiments`] build one [`Table`] and hand it to both, so the two
//! views never disagree: each implements [`Report`] (one method, [`Report::table`]) and gets
//! [`Report::markdown`], [`Report::html`] and [`Report::evcxr_display`] from it. Every piece of
//! text is escaped for HTML ([`escape_html`]).
//!
//! ```
//! use head_ct::table::{Align, Cell, Table};
//!
//! let mut t = Table::new([("seed", Align::Right), ("accuracy", Align::Right)]);
//! t.row(["1", "0.84"]);
//! t.row([Cell::strong("mean"), Cell::from("0.84")]);
//! assert_eq!(t.markdown(), "| seed | accuracy |\n|---:|---:|\n| 1 | 0.84 |\n| **mean** | 0.84 |\n");
//! assert!(t.html().contains("<strong>mean</strong></td>"));
//! ```

use std::fmt::{self, Write as _};

/// A result that shows as a [`Table`]: the reports of [`crate::experiments`]
/// ([`CrossValReport`](crate::experiments::CrossValReport),
/// [`SeedSpreadReport`](crate::experiments::SeedSpreadReport)).
///
/// Implement [`Report::table`]; the Markdown for the command line, the HTML for a notebook and
/// the notebook display all come from that one table, so they never disagree. Bring the trait
/// into scope to call them: `use head_ct::table::Report;` (also re-exported as
/// `head_ct::experiments::Report`).
///
/// ```
/// use head_ct::table::{Align, Report, Table};
///
/// struct Scores(Vec<(u64, f64)>);
///
/// impl Report for Scores {
///     fn table(&self) -> Table {
///         let mut t = Table::new([("seed", Align::Right), ("accuracy", Align::Right)]);
///         for (seed, accuracy) in &self.0 {
///             t.row([seed.to_string(), format!("{accuracy:.2}")]);
///         }
///         t
///     }
/// }
///
/// let scores = Scores(vec![(1, 0.84)]);
/// assert_eq!(scores.markdown(), "| seed | accuracy |\n|---:|---:|\n| 1 | 0.84 |\n");
/// assert_eq!(scores.table().to_string(), scores.markdown());
/// assert!(scores.html().starts_with("<table>"));
/// ```
pub trait Report {
    /// The report as one table, the source of every view below.
    fn table(&self) -> Table;

    /// [`Table::markdown`] of [`Report::table`]: what the command line prints (it reads well
    /// in a terminal).
    fn markdown(&self) -> String {
        self.table().markdown()
    }

    /// [`Table::html`] of [`Report::table`]: the table as a notebook shows it.
    fn html(&self) -> String {
        self.table().html()
    }

    /// Shows [`Report::table`] as an HTML table in a Jupyter notebook with the evcxr kernel
    /// ([`Table::evcxr_display`]).
    ///
    /// evcxr calls `evcxr_display` by itself on a cell's last expression, but only when it
    /// compiles there; without this trait in scope it silently prints the `Debug` form instead.
    /// The reports therefore also have an inherent `evcxr_display` that calls this one.
    fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

/// How a column's text lines up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text and intervals.
    Left,
    /// Plain numbers.
    Right,
}

/// One cell: its text, in bold when it names a summary row (`mean`, `pooled`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    pub text: String,
    pub strong: bool,
}

impl Cell {
    /// A bold cell.
    pub fn strong(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            strong: true,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self {
            text,
            strong: false,
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        text.to_string().into()
    }
}

/// A table: named, aligned columns, then rows of cells. A row shorter than the header is padded
/// with empty cells; a longer one is cut to the header's width.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<Cell>>,
    caption: Option<String>,
}

impl Table {
    /// A table with these columns (name, alignment) and no rows.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = (S, Align)>) -> Self {
        Self {
            columns: columns.into_iter().map(|(n, a)| (n.into(), a)).collect(),
            rows: Vec::new(),
            caption: None,
        }
    }

    /// A caption above the HTML table (a sentence saying what the rows are). The Markdown view
    /// leaves it out: the command line says it in its own words.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Adds a row.
    pub fn row<C: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = C>) {
        let mut cells: Vec<Cell> = cells.into_iter().map(Into::into).collect();
        cells.resize(self.columns.len(), Cell::default());
        self.rows.push(cells);
    }

    /// The number of rows (the header not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A Markdown (GitHub) table, which also reads well in a terminal: a header line, an
    /// alignment line (`---:` right, `---` left), one line per row; bold cells in `**`.
    /// Empty cells are `| |`. Ends with a line break.
    pub fn markdown(&self) -> String {
        let mut t = String::new();
        let line = |t: &mut String, cells: &mut dyn Iterator<Item = String>| {
            t.push('|');
            for c in cells {
                if c.is_empty() {
                    t.push_str(" |");
                } else {
                    let _ = write!(t, " {c} |");
                }
            }
            t.push('\n');
        };
        line(
            &mut t,
            &mut self.columns.iter().map(|(n, _)| markdown_text(n)),
        );
        t.push('|');
        for (_, align) in &self.columns {
            t.push_str(match align {
                Align::Right => "---:|",
                Align::Left => "---|",
            });
        }
        t.push('\n');
        for row in &self.rows {
            line(
                &mut t,
                &mut row.iter().map(|c| {
                    let text = markdown_text(&c.text);
                    if c.strong && !text.is_empty() {
                        format!("**{text}**")
                    } else {
                        text
                    }
                }),
            );
        }
        t
    }

    /// An HTML `<table>`: an optional `<caption>`, the column names in `<thead>`, the rows in
    /// `<tbody>`, right-aligned columns marked with `style="text-align: right"`, bold cells in
    /// `<strong>`. All text is escaped. One line per row, ending with a line break.
    pub fn html(&self) -> String {
        let style = |align: Align| match align {
            Align::Right => " style=\"text-align: right\"",
            Align::Left => " style=\"text-align: left\"",
        };
        let mut t = String::from("<table>\n");
        if let Some(caption) = &self.caption {
            let _ = writeln!(t, "<caption>{}</caption>", escape_html(caption));
        }
        t.push_str("<thead><tr>");
        for (name, align) in &self.columns {
            let _ = write!(t, "<th{}>{}</th>", style(*align), escape_html(name));
        }
        t.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            t.push_str("<tr>");
            for (cell, (_, align)) in row.iter().zip(&self.columns) {
                let text = escape_html(&cell.text);
                if cell.strong && !text.is_empty() {
                    let _ = write!(t, "<td{}><strong>{text}</strong></td>", style(*align));
                } else {
                    let _ = write!(t, "<td{}>{text}</td>", style(*align));
                }
            }
            t.push_str("</tr>\n");
        }
        t.push_str("</tbody>\n</table>\n");
        t
    }

    /// What a notebook's `evcxr_display` prints: evcxr's inline-content protocol with the
    /// [`Table::html`] (`text/html`, what JupyterLab shows) and the [`Table::markdown`]
    /// (`text/plain`, for front ends without HTML), each between `EVCXR_BEGIN_CONTENT <type>`
    /// and `EVCXR_END_CONTENT` lines.
    pub fn evcxr_content(&self) -> String {
        format!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT\n\
             EVCXR_BEGIN_CONTENT text/plain\n{}\nEVCXR_END_CONTENT\n",
            self.html().trim_end(),
            self.markdown().trim_end()
        )
    }

    /// Shows the table in a Jupyter notebook with the evcxr kernel ([`Table::evcxr_content`]).
    /// evcxr calls this by itself when a table is the value of a cell's last expression.
    pub fn evcxr_display(&self) {
        print!("{}", self.evcxr_content());
    }
}

/// The [`Table::markdown`] view, so `println!("{}", report.table())` prints the Markdown table.
impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.markdown())
    }
}

/// `text` safe inside HTML text and attribute values: `&`, `<`, `>`, `"` and `'` become
/// entities, and control characters are escaped as [`crate::text::printable`] does (a cell
/// never breaks evcxr's line-based protocol).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::text::printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Cell text for a Markdown table: control characters escaped (no line break inside a row)
/// and `|` escaped (it would end the cell).
fn markdown_text(text: &str) -> String {
    crate::text::printable(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new([("name", Align::Left), ("value", Align::Right)])
            .with_caption("Scores <of> \"A & B\"");
        t.row(["a<b>", "1 & 2"]);
        t.row([Cell::strong("mean"), Cell::from("")]);
        t.row(["only one"]);
        t
    }

    #[test]
    fn markdown_keeps_empty_cells_narrow_and_escapes_pipes() {
        let mut t = sample();
        t.row(["x|y", "line\nbreak"]);
        assert_eq!(
            t.markdown(),
            "| name | value |\n|---|---:|\n| a<b> | 1 & 2 |\n| **mean** | |\n| only one | |\n\
             | x\\|y | line\\nbreak |\n"
        );
    }

    #[test]
    fn html_rows_are_well_formed_and_escaped() {
        let t = sample();
        let html = t.html();
        assert!(html
            .starts_with("<table>\n<caption>Scores &lt;of&gt; &quot;A &amp; B&quot;</caption>\n"));
        assert!(html.contains(
            "<thead><tr><th style=\"text-align: left\">name</th><th style=\"text-align: right\">value</th></tr></thead>"
        ));
        assert!(html.contains("<td style=\"text-align: left\">a&lt;b&gt;</td><td style=\"text-align: right\">1 &amp; 2</td>"));
        assert!(html.contains("<strong>mean</strong>"));
        // Every body row has as many cells as the header.
        let rows: Vec<&str> = html.lines().filter(|l| l.starts_with("<tr>")).collect();
        assert_eq!(rows.len(), 3);
        for row in rows {
            assert!(row.ends_with("</tr>"), "{row}");
            assert_eq!(row.matches("<td").count(), 2, "{row}");
            assert_eq!(row.matches("</td>").count(), 2, "{row}");
        }
        assert!(html.ends_with("</tbody>\n</table>\n"));
        assert_eq!(escape_html("'&'"), "&#39;&amp;&#39;");
    }

    #[test]
    fn evcxr_content_carries_html_and_plain_text() {
        let content = sample().evcxr_content();
        let lines: Vec<&str> = content.lines().collect();
        assert_eq!(lines[0], "EVCXR_BEGIN_CONTENT text/html");
        assert_eq!(lines[1], "<table>");
        let end = lines
            .iter()
            .position(|l| *l == "EVCXR_END_CONTENT")
            .unwrap();
        assert_eq!(lines[end - 1], "</table>");
        assert_eq!(lines[end + 1], "EVCXR_BEGIN_CONTENT text/plain");
        assert_eq!(lines[end + 2], "| name | value |");
        assert_eq!(*lines.last().unwrap(), "EVCXR_END_CONTENT");
        assert_eq!(
            lines.iter().filter(|l| **l == "EVCXR_END_CONTENT").count(),
            2
        );
    }
}
