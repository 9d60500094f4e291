//! Human-readable text for reports, with sparklines so that a drop is visible at a glance.

use std::fmt::Write as _;

use crate::report::{Counts, LogReport};
use crate::window::{AroundReport, Change};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Sparklines longer than this are down-sampled (adjacent values summed).
pub const SPARK_WIDTH: usize = 72;

/// A sparkline (`▁▂▃▄▅▆▇█`) of `values`, scaled to their maximum; at most [`SPARK_WIDTH`]
/// characters (longer series are summed in groups).
pub fn sparkline(values: &[f64]) -> String {
    let group = values.len().div_ceil(SPARK_WIDTH).max(1);
    let vals: Vec<f64> = values.chunks(group).map(|c| c.iter().sum()).collect();
    let max = vals.iter().copied().fold(0.0_f64, f64::max);
    vals.iter()
        .map(|&v| {
            if max <= 0.0 || !v.is_finite() || v <= 0.0 {
                BARS[0]
            } else {
                // Scaled into 0..=7; the cast is safe because the value is clamped.
                let i = ((v / max) * 7.0).round().clamp(0.0, 7.0) as usize;
                BARS[i]
            }
        })
        .collect()
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn series(report: &LogReport, f: impl Fn(&Counts) -> u64) -> String {
    let v: Vec<f64> = report.buckets.iter().map(|b| f(&b.counts) as f64).collect();
    sparkline(&v)
}

/// Renders a [`LogReport`] as text.
pub fn render_report(r: &LogReport) -> String {
    let mut s = String::new();
    let t = &r.totals;
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".to_string(), |t| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
    };
    let _ = writeln!(
        s,
        "{} lines, {} from Postfix, {} unparsed; {} .. {}",
        r.lines,
        r.postfix_lines,
        r.unparsed_lines,
        time(&r.first),
        time(&r.last)
    );
    let _ = writeln!(
        s,
        "inbound:  {} connections, {} TLS sessions, {} plaintext sessions",
        t.connections, t.tls_sessions, t.plaintext_sessions
    );
    let _ = writeln!(
        s,
        "          {} TLS established, {} TLS handshake failures, {} refused for lack of STARTTLS (530)",
        t.tls_established, t.tls_handshake_failures, t.starttls_required_rejects
    );
    let _ = writeln!(s, "messages: {} accepted", t.messages_accepted);
    let _ = writeln!(
        s,
        "outbound: {} sent, {} deferred ({} for TLS), {} bounced, {} TLS established",
        t.deliveries_sent,
        t.deliveries_deferred,
        t.tls_deferrals,
        t.deliveries_bounced,
        t.tls_established_outbound
    );
    let labels = |m: &std::collections::BTreeMap<String, u64>, total: u64| {
        let mut v: Vec<_> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        v.iter()
            .take(8)
            .map(|(k, n)| format!("{k} {n} ({})", pct(**n, total)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !r.tls_protocols.is_empty() {
        let _ = writeln!(
            s,
            "TLS protocols: {}",
            labels(&r.tls_protocols, t.tls_established)
        );
        let _ = writeln!(
            s,
            "TLS ciphers:   {}",
            labels(&r.tls_ciphers, t.tls_established)
        );
    }
    if !r.failure_reasons.is_empty() {
        let _ = writeln!(
            s,
            "failure reasons: {}",
            labels(&r.failure_reasons, t.tls_handshake_failures)
        );
        for (cat, sample) in &r.failure_samples {
            let _ = writeln!(s, "  e.g. {cat}: {sample}");
        }
    }
    if !r.deliveries_by_transport.is_empty() {
        let by: Vec<String> = r
            .deliveries_by_transport
            .iter()
            .map(|(n, c)| format!("{n} {}/{}/{}", c.sent, c.deferred, c.bounced))
            .collect();
        let _ = writeln!(
            s,
            "deliveries by transport (sent/deferred/bounced): {}",
            by.join(", ")
        );
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    if !r.by_client.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<48} {:>8} {:>8} {:>8} {:>8}",
            "client", "conn", "tls", "fail", "530"
        );
        for c in &r.by_client {
            let _ = writeln!(
                s,
                "{:<48} {:>8} {:>8} {:>8} {:>8}",
                c.client,
                c.connections,
                c.tls_established,
                c.tls_handshake_failures,
                c.starttls_required_rejects
            );
        }
    }
    if !r.by_domain.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<40} {:>8} {:>8} {:>8} {:>8}",
            "domain", "sent", "deferred", "tls-def", "bounced"
        );
        for d in &r.by_domain {
            let _ = writeln!(
                s,
                "{:<40} {:>8} {:>8} {:>8} {:>8}",
                d.domain, d.sent, d.deferred, d.tls_deferrals, d.bounced
            );
        }
    }
    if !r.buckets.is_empty() {
        let _ = writeln!(
            s,
            "\nper {} s bucket ({} buckets):",
            r.bucket_seconds,
            r.buckets.len()
        );
        let _ = writeln!(s, "  messages   {}", series(r, |c| c.messages_accepted));
        let _ = writeln!(
            s,
            "  tls fail   {}",
            series(r, |c| c.tls_handshake_failures)
        );
        let _ = writeln!(
            s,
            "  530        {}",
            series(r, |c| c.starttls_required_rejects)
        );
        let _ = writeln!(s, "  tls defer  {}", series(r, |c| c.tls_deferrals));
    }
    s
}

fn change_row(s: &mut String, name: &str, c: &Change) {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let ch = c
        .change_pct
        .map_or("n/a (no basis)".to_string(), |p| format!("{p:+.1}%"));
    let _ = writeln!(
        s,
        "  {name:<22} {:>12} {:>12} {:>16}",
        f(c.before),
        f(c.after),
        ch
    );
}

/// Renders an [`AroundReport`] as text: a before/after table and sparklines with `│` at the
/// change.
pub fn render_around(a: &AroundReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "change at {}; {} s before vs {} s after",
        a.change.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        a.window_seconds,
        a.window_seconds
    );
    let _ = writeln!(
        s,
        "  {:<22} {:>12} {:>12} {:>16}",
        "", "before", "after", "change"
    );
    change_row(&mut s, "messages/hour", &a.messages_per_hour);
    change_row(&mut s, "TLS failure rate %", &a.failure_rate_pct);
    change_row(&mut s, "530 refusals", &a.starttls_required_rejects);
    let half = a.series.len() / 2;
    let line = |f: &dyn Fn(&Counts) -> u64| {
        let v: Vec<f64> = a.series.iter().map(|b| f(&b.counts) as f64).collect();
        let spark: Vec<char> = sparkline(&v).chars().collect();
        // Place the marker proportionally when the series was down-sampled.
        let cut = if v.is_empty() {
            0
        } else {
            half * spark.len() / v.len()
        };
        let (l, r) = spark.split_at(cut.min(spark.len()));
        format!(
            "{}│{}",
            l.iter().collect::<String>(),
            r.iter().collect::<String>()
        )
    };
    let _ = writeln!(s, "  messages   {}", line(&|c| c.messages_accepted));
    let _ = writeln!(s, "  tls fail   {}", line(&|c| c.tls_handshake_failures));
    let _ = writeln!(s, "  530        {}", line(&|c| c.starttls_required_rejects));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales() {
        assert_eq!(sparkline(&[0.0, 1.0, 7.0]), "▁▂█");
        assert_eq!(sparkline(&[0.0, 0.0]), "▁▁");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&vec![1.0; 1000]).chars().count(), 72);
    }
}
