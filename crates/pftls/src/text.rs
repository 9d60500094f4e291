//! Text layout for terminal output: the width to wrap to, word wrapping with hanging indents,
//! single-line display of Postfix values, and tables whose columns stay aligned when a value is
//! long.

use std::io::IsTerminal;

/// The width used when stdout is not a terminal and `$COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 80;
/// Narrower than this, wrapping would make output unreadable; it is clamped.
const MIN_WIDTH: usize = 40;

/// The output width: `$COLUMNS` when it is a number, else the terminal's width when stdout is
/// a terminal, else 80.
pub fn width() -> usize {
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w > 0)
    {
        return w.max(MIN_WIDTH);
    }
    if std::io::stdout().is_terminal() {
        if let Some(w) = tty_width() {
            return w.max(MIN_WIDTH);
        }
    }
    DEFAULT_WIDTH
}

fn tty_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; fd 1 is open (it is
    // stdout, which was just checked to be a terminal).
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// A Postfix value on one line: continuation lines and runs of whitespace become one space
/// (what Postfix itself does when it joins a logical line).
pub fn one_line(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Display width of a string (characters; the output is ASCII apart from a few symbols).
fn len(s: &str) -> usize {
    s.chars().count()
}

/// Word-wraps `text` to `width`: the first line starts with `first`, later lines with `indent`
/// spaces (a hanging indent). Words are never split; a word longer than a line stands alone.
pub fn wrap(text: &str, width: usize, first: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::from(first);
    let mut col = len(first);
    let mut at_start = true;
    for word in text.split_whitespace() {
        let w = len(word);
        if !at_start && col + 1 + w > width {
            out.push('\n');
            out.push_str(&pad);
            col = indent;
            at_start = true;
        }
        if !at_start {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += w;
        at_start = false;
    }
    out
}

/// A table: every column but the last is aligned; the last wraps with a hanging indent at its
/// column. A cell wider than its column's cap is printed in full and the row continues on the
/// next line at the aligned position, so one long value never shifts the other rows.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
    indent: usize,
    /// Share of the line the columns before the last may take together (numerator, denominator).
    share: (usize, usize),
}

impl Table {
    /// A table indented by `indent` spaces.
    pub fn new(indent: usize) -> Table {
        Table {
            rows: Vec::new(),
            indent,
            share: (3, 5),
        }
    }

    /// Lets the columns before the last take up to `num/den` of the line (default 3/5).
    pub fn max_share(mut self, num: usize, den: usize) -> Table {
        self.share = (num, den.max(1));
        self
    }

    /// Adds a row.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders the table for `width` columns; each line ends with a newline.
    pub fn render(&self, width: usize) -> String {
        let ncols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        if ncols == 0 {
            return String::new();
        }
        // Columns other than the last take their widest cell, but together at most their share
        // of the line (3/5 unless set), so that the last column keeps room to be read: the widest column
        // gives way first, and a cell wider than its column goes on a line of its own.
        let mut widths: Vec<usize> = (0..ncols.saturating_sub(1))
            .map(|c| {
                self.rows
                    .iter()
                    .filter(|r| c + 1 < r.len())
                    .filter_map(|r| r.get(c))
                    .map(|cell| len(cell))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let budget =
            (width * self.share.0 / self.share.1).saturating_sub(self.indent + 2 * widths.len());
        while widths.iter().sum::<usize>() > budget {
            let Some(widest) = (0..widths.len()).max_by_key(|&i| widths[i]) else {
                break;
            };
            if widths[widest] <= 8 {
                break;
            }
            widths[widest] -= 1;
        }
        let mut out = String::new();
        for r in &self.rows {
            let mut line = " ".repeat(self.indent);
            let mut col = self.indent;
            for (c, cell) in r.iter().enumerate() {
                let is_last = c + 1 == r.len();
                if is_last {
                    let start = col;
                    out.push_str(&wrap(cell, width, &line, start));
                    out.push('\n');
                    line.clear();
                    break;
                }
                let target: usize = self.indent + widths[..=c].iter().sum::<usize>() + 2 * (c + 1);
                line.push_str(cell);
                col += len(cell);
                if col + 2 > target {
                    // Too long for its column: the rest of the row continues below, aligned.
                    out.push_str(line.trim_end());
                    out.push('\n');
                    line = " ".repeat(target);
                } else {
                    line.push_str(&" ".repeat(target - col));
                }
                col = target;
            }
            if !line.trim().is_empty() {
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_hanging_indent_never_mid_word() {
        let t = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda";
        let w = wrap(t, 20, "  - ", 4);
        for l in w.lines() {
            assert!(len(l) <= 20, "{l:?}");
        }
        assert!(w.starts_with("  - alpha"));
        assert!(w
            .lines()
            .skip(1)
            .all(|l| l.starts_with("    ") && !l.starts_with("     ")));
        assert_eq!(one_line(&w.replace("  - ", "")), t);
        let long = wrap("a supercalifragilistic b", 10, "", 2);
        assert_eq!(long, "a\n  supercalifragilistic\n  b");
    }

    #[test]
    fn one_line_joins_continuations() {
        assert_eq!(one_line("a,\n    b,\n\tc  d"), "a, b, c d");
    }

    #[test]
    fn long_cells_keep_alignment() {
        let mut t = Table::new(2);
        t.row(["main", "smtpd_tls_security_level", "may"]);
        t.row(["main", &"x".repeat(60), "encrypt"]);
        t.row(["submission/inet", "smtpd_tls_loglevel", "1"]);
        let s = t.render(80);
        let lines: Vec<&str> = s.lines().collect();
        // The value column starts at the same place on every line that has one.
        let pos = |l: &str, v: &str| l.find(v).unwrap();
        assert_eq!(pos(lines[0], "may"), pos(lines[2], "encrypt"));
        assert_eq!(pos(lines[0], "may"), pos(lines[3], "1"));
        assert!(lines[1].ends_with(&"x".repeat(60)));
    }
}
