//! The `apply --guard` decision: compare the window before a change with the window after it.

use serde::Serialize;

use crate::window::WindowStats;

/// Default `--max-drop`: roll back when the accepted-message rate falls by more than this.
pub const DEFAULT_MAX_DROP_PCT: f64 = 50.0;
/// Default `--max-failure-rate`: roll back when the inbound failure rate exceeds this (and
/// rose).
pub const DEFAULT_MAX_FAILURE_RATE_PCT: f64 = 10.0;

/// What the decision was based on (for JSON output and the operator).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The window before the change.
    pub before: WindowStats,
    /// The window after the change.
    pub after: WindowStats,
    /// Accepted messages per hour before.
    pub messages_per_hour_before: f64,
    /// Accepted messages per hour after.
    pub messages_per_hour_after: f64,
    /// Fall of the message rate in percent (negative = rise); `None` when the before window
    /// had no accepted message (no basis: the drop rule is not applied).
    pub drop_pct: Option<f64>,
    /// Failure rate before (handshake failures + 530 refusals, percent of attempts).
    pub failure_rate_before_pct: Option<f64>,
    /// Failure rate after.
    pub failure_rate_after_pct: Option<f64>,
    /// The drop threshold applied.
    pub max_drop_pct: f64,
    /// The failure-rate threshold applied.
    pub max_failure_rate_pct: f64,
    /// Human-readable notes on rules that could not be applied or did not fire.
    pub notes: Vec<String>,
}

/// The guard's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Whether to restore the snapshot.
    pub rollback: bool,
    /// Why (empty when `rollback` is false).
    pub reasons: Vec<String>,
    /// The figures behind the decision.
    pub evidence: Evidence,
}

/// Decides whether a change must be rolled back.
///
/// * Drop rule: with `rb`/`ra` the accepted messages per hour before/after, the drop is
///   `(rb - ra) / rb * 100`; rollback when it exceeds `max_drop_pct`. When the before window
///   had no accepted messages there is no basis: the rule is not applied and the evidence
///   says so.
/// * Failure rule: the failure rate is (TLS handshake failures + 530 refusals) / attempts
///   (see [`WindowStats::attempts`]); rollback when the after rate exceeds
///   `max_failure_rate_pct` **and** is higher than the before rate (a rate that was already
///   that high before the change is not blamed on it). No attempts after = no basis.
pub fn guard_verdict(
    before: &WindowStats,
    after: &WindowStats,
    max_drop_pct: f64,
    max_failure_rate_pct: f64,
) -> Verdict {
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    let rb = before.messages_per_hour();
    let ra = after.messages_per_hour();
    let drop_pct = if before.counts.messages_accepted == 0 {
        notes.push(
            "no basis for the drop rule: the before window had no accepted messages, so a \
             drop cannot be measured and does not cause a rollback"
                .to_string(),
        );
        None
    } else {
        let d = (rb - ra) / rb * 100.0;
        if d > max_drop_pct {
            reasons.push(format!(
                "accepted messages dropped by {d:.1}% ({rb:.1}/h before, {ra:.1}/h after), \
                 more than the allowed {max_drop_pct}%"
            ));
        }
        Some(d)
    };
    let fb = before.failure_rate_pct();
    let fa = after.failure_rate_pct();
    match fa {
        None => notes.push(
            "no basis for the failure rule: no inbound TLS attempts after the change".to_string(),
        ),
        Some(a) if a > max_failure_rate_pct => {
            let b = fb.unwrap_or(0.0);
            if a > b {
                reasons.push(format!(
                    "inbound TLS failure rate rose to {a:.1}% (from {b:.1}%), above the \
                     allowed {max_failure_rate_pct}% ({} handshake failures, {} STARTTLS-required \
                     refusals in {} attempts)",
                    after.counts.tls_handshake_failures,
                    after.counts.starttls_required_rejects,
                    after.attempts()
                ));
            } else {
                notes.push(format!(
                    "failure rate {a:.1}% is above {max_failure_rate_pct}% but was already \
                     {b:.1}% before the change"
                ));
            }
        }
        Some(_) => {}
    }
    Verdict {
        rollback: !reasons.is_empty(),
        reasons,
        evidence: Evidence {
            before: *before,
            after: *after,
            messages_per_hour_before: rb,
            messages_per_hour_after: ra,
            drop_pct,
            failure_rate_before_pct: fb,
            failure_rate_after_pct: fa,
            max_drop_pct,
            max_failure_rate_pct,
            notes,
        },
    }
}
