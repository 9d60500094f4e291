//! Text rendering of the handshake simulation (`simulate`, and the plan's impact section):
//! the matrix side by side when it fits the terminal width, stacked otherwise.

use host::simulate::MEANING_CONFIG_ERROR;
use host::simulate::{ClientRow, Impact, Matrix, ServerSide};
use pftls_tls::server_model::{FAILURE_ENCRYPT, FAILURE_MAY, FAILURE_NONE};
use pftls_tls::HandshakeOutcome;

use crate::output::bold;

/// The impact section of a plan (starts with a newline).
pub fn impact_text(i: &Impact, color: bool) -> String {
    let mut out = format!("\n{}\n", bold("Handshake impact (client profiles):", color));
    out.push_str(&matrix_text(&i.matrix, color));
    out
}

/// The readable table: per service, one line per client, before (and after).
pub fn matrix_text(m: &Matrix, color: bool) -> String {
    let mut out = String::new();
    for s in &m.services {
        let level = |side: &Option<ServerSide>| {
            side.as_ref()
                .map(ServerSide::level)
                .unwrap_or_else(|| "(absent)".into())
        };
        let head = if m.planned {
            format!(
                "{}: {} -> {}",
                s.service.describe(),
                level(&s.before),
                level(&s.after)
            )
        } else {
            format!("{}: {}", s.service.describe(), level(&s.before))
        };
        out.push_str(&format!("\n{}\n", bold(&head, color)));
        out.push_str(&render_rows(&s.clients, m.planned, color));
        let summary = summary_line(&s.clients, m.planned);
        out.push_str(&crate::text::wrap(&summary, crate::text::width(), "  ", 4));
        out.push('\n');
    }
    out
}

/// `ok/total` counts of a column.
fn count(rows: &[ClientRow], after: bool) -> (usize, usize, usize) {
    let mut tls = 0;
    let mut refused = 0;
    for r in rows {
        let (o, m) = if after {
            match (&r.after, &r.meaning_after) {
                (Some(o), Some(m)) => (o, m.as_str()),
                _ => continue,
            }
        } else {
            (&r.before, r.meaning_before.as_str())
        };
        if o.ok {
            tls += 1;
        } else if m == FAILURE_ENCRYPT || m == MEANING_CONFIG_ERROR || m == "no such service" {
            refused += 1;
        }
    }
    (tls, refused, rows.len())
}

fn summary_line(rows: &[ClientRow], planned: bool) -> String {
    let part = |after: bool| {
        let (tls, refused, total) = count(rows, after);
        format!(
            "{tls}/{total} over TLS, {} in plaintext, {refused} refused",
            total - tls - refused
        )
    };
    if planned {
        format!("current: {}; planned: {}", part(false), part(true))
    } else {
        format!("current: {}", part(false))
    }
}

/// One table cell: its text and how to colour it.
struct Cell {
    text: String,
    ok: bool,
    refused: bool,
}

/// A table cell: `TLSv1.3 TLS_AES_256_GCM_SHA384`, or `REFUSED: reason` / `plaintext: reason`.
fn cell(o: &HandshakeOutcome, meaning: &str) -> Cell {
    if o.ok {
        let text = format!(
            "{} {}",
            o.protocol.as_deref().unwrap_or("?"),
            o.cipher.as_deref().unwrap_or("?")
        );
        return Cell {
            text,
            ok: true,
            refused: false,
        };
    }
    let plaintext = meaning == FAILURE_MAY || meaning == FAILURE_NONE;
    let what = if plaintext { "plaintext" } else { "REFUSED" };
    Cell {
        text: format!("{what}: {}", o.error.as_deref().unwrap_or("failed")),
        ok: false,
        refused: !plaintext,
    }
}

/// The cell padded to `width`, green (TLS), yellow (plaintext) or red (refused) with colour.
fn paint(c: &Cell, width: usize, color: bool) -> String {
    let padded = format!("{:<width$}", c.text);
    if !color {
        return padded;
    }
    let code = match (c.ok, c.refused) {
        (true, _) => "32",
        (false, true) => "31",
        (false, false) => "33",
    };
    format!("\x1b[{code}m{padded}\x1b[0m")
}

fn render_rows(rows: &[ClientRow], planned: bool, color: bool) -> String {
    let cells: Vec<(&str, Cell, Option<Cell>)> = rows
        .iter()
        .map(|r| {
            let after = match (&r.after, &r.meaning_after) {
                (Some(o), Some(m)) if planned => Some(cell(o, m)),
                _ => None,
            };
            (r.client.as_str(), cell(&r.before, &r.meaning_before), after)
        })
        .collect();
    let w_id = cells.iter().map(|c| c.0.len()).max().unwrap_or(6).max(6);
    let w_b = cells
        .iter()
        .map(|c| c.1.text.len())
        .max()
        .unwrap_or(7)
        .clamp(7, 64);
    let w_a = cells
        .iter()
        .filter_map(|c| c.2.as_ref().map(|a| a.text.len()))
        .max()
        .unwrap_or(0);
    if planned && 2 + w_id + 2 + w_b + 2 + w_a > crate::text::width() {
        // Too wide for the terminal side by side: the planned outcome goes under the current
        // one, aligned, so that no line runs past the width.
        let mut out = format!(
            "  {:<w_id$}  current\n  {:<w_id$}  -> planned\n",
            "client", ""
        );
        for (id, before, after) in &cells {
            out.push_str(&format!("  {id:<w_id$}  {}\n", paint(before, 0, color)));
            if let Some(a) = after {
                out.push_str(&format!("  {:<w_id$}  -> {}\n", "", paint(a, 0, color)));
            }
        }
        return out;
    }
    let mut out = if planned {
        format!("  {:<w_id$}  {:<w_b$}  planned\n", "client", "current")
    } else {
        format!("  {:<w_id$}  current\n", "client")
    };
    for (id, before, after) in &cells {
        match after {
            Some(a) => out.push_str(&format!(
                "  {id:<w_id$}  {}  {}\n",
                paint(before, w_b, color),
                paint(a, 0, color)
            )),
            None => out.push_str(&format!("  {id:<w_id$}  {}\n", paint(before, 0, color))),
        }
    }
    out
}
