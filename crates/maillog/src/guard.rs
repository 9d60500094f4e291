//! The `apply --guard` / `rollback --if-drop` decision: compare the window before a change with
//! the window after it, and roll back only on sufficient evidence.
//!
//! # The rule
//!
//! Two windows of equal length `T` (see [`plan_windows`]): `before = [change - T, change)`,
//! `after = [change, change + T)`. With confidence `c` (default 95 %), `alpha = 1 - c`:
//!
//! * **Drop rule.** `b` / `a` accepted messages before / after. Under the hypothesis "the rate
//!   fell by at most `max_drop_pct` = `d`", and given `n = a + b`, the after count is at least
//!   `Binomial(n, p0)` with `p0 = (1 - d) / (2 - d)` (the share of the after window in the
//!   total when the after rate is exactly `(1 - d)` times the before rate). The rule fires when
//!   `P(X <= a) < alpha` (one-sided exact binomial test, the conditional test of two Poisson
//!   rates). It is *inconclusive* when `b < min_messages`, or when even `a = 0` would not be
//!   significant (`(1 - p0)^b >= alpha`): not enough mail to tell a drop from chance.
//! * **Failure rule.** `f` failures (TLS handshake failures + 530 refusals) in `m` inbound
//!   attempts after the change; the reference rate is `p0 = max(max_failure_rate_pct, the
//!   before-window's failure rate)`. It fires when the after rate exceeds `p0` and
//!   `P(X >= f) < alpha` for `X ~ Binomial(m, p0)`. Inconclusive when `m < min_attempts` or
//!   when even `f = m` would not be significant.
//!
//! The verdict is `rollback` when a rule fires, else `inconclusive` when a rule could not be
//! applied (the change stays; text and JSON say why, with the counts), else `keep`. A window
//! the log does not cover (see [`WindowPlan::problem`]) makes the verdict `inconclusive`
//! before any rule is applied.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::report::ser_time;
use crate::stats::{binom_cdf, binom_sf};
use crate::window::WindowStats;

/// Default `--max-drop`: the drop rule tests for a fall of the accepted-message rate by more
/// than this.
pub const DEFAULT_MAX_DROP_PCT: f64 = 50.0;
/// Default `--max-failure-rate`: the failure rule tests for an inbound failure rate above
/// this (and above the rate before the change).
pub const DEFAULT_MAX_FAILURE_RATE_PCT: f64 = 10.0;
/// Default `--min-messages`: accepted messages the before-window needs for the drop rule.
pub const DEFAULT_MIN_MESSAGES: u64 = 10;
/// Default `--min-attempts`: inbound attempts the after-window needs for the failure rule.
pub const DEFAULT_MIN_ATTEMPTS: u64 = 10;
/// Default `--confidence`: a rule fires only when its test is significant at this level.
pub const DEFAULT_CONFIDENCE_PCT: f64 = 95.0;

/// The parameters of the decision rule (every one has a CLI flag).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecisionRule {
    /// Drop rule threshold, percent.
    pub max_drop_pct: f64,
    /// Failure rule threshold, percent of attempts; `None` = the failure rule is not applied
    /// (`rollback --if-drop`).
    pub max_failure_rate_pct: Option<f64>,
    /// Minimum accepted messages before the change for the drop rule.
    pub min_messages: u64,
    /// Minimum inbound attempts after the change for the failure rule.
    pub min_attempts: u64,
    /// Confidence of the tests, percent (50 < c < 100).
    pub confidence_pct: f64,
}

impl Default for DecisionRule {
    fn default() -> Self {
        DecisionRule {
            max_drop_pct: DEFAULT_MAX_DROP_PCT,
            max_failure_rate_pct: Some(DEFAULT_MAX_FAILURE_RATE_PCT),
            min_messages: DEFAULT_MIN_MESSAGES,
            min_attempts: DEFAULT_MIN_ATTEMPTS,
            confidence_pct: DEFAULT_CONFIDENCE_PCT,
        }
    }
}

impl DecisionRule {
    /// Checks the parameters: percentages in 0..=100, confidence strictly between 50 and 100.
    /// The message names the offending parameter (callers map it to a usage error).
    pub fn validate(&self) -> Result<(), String> {
        let pct = |name: &str, v: f64| {
            if v.is_finite() && (0.0..=100.0).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "{name} {v}: must be a percentage between 0 and 100"
                ))
            }
        };
        pct("max drop", self.max_drop_pct)?;
        if let Some(f) = self.max_failure_rate_pct {
            pct("max failure rate", f)?;
        }
        let c = self.confidence_pct;
        if !(c.is_finite() && c > 50.0 && c < 100.0) {
            return Err(format!(
                "confidence {c}: must be a percentage above 50 and below 100"
            ));
        }
        Ok(())
    }

    fn alpha(&self) -> f64 {
        1.0 - self.confidence_pct / 100.0
    }
}

/// The outcome of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Enough evidence, and no rule fired: the change stays.
    Keep,
    /// A rule fired: restore the snapshot.
    Rollback,
    /// Not enough evidence (too little mail, or a window the log does not cover): the change
    /// stays.
    Inconclusive,
}

/// What one rule concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Significant: this rule asks for a rollback.
    Fired,
    /// Tested, not significant.
    Passed,
    /// Not enough data to test.
    Inconclusive,
    /// Not applied (failure rule of `--if-drop`, or the windows are not covered).
    NotApplied,
}

/// One rule's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    /// What it concluded.
    pub status: RuleStatus,
    /// The test's p-value, when it was computed.
    pub p_value: Option<f64>,
    /// One sentence with the counts.
    pub detail: String,
}

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
    /// had no accepted message.
    pub drop_pct: Option<f64>,
    /// Failure rate before (handshake failures + 530 refusals, percent of attempts).
    pub failure_rate_before_pct: Option<f64>,
    /// Failure rate after.
    pub failure_rate_after_pct: Option<f64>,
    /// The rule's parameters.
    pub rule: DecisionRule,
    /// The drop rule's result.
    pub drop_rule: RuleResult,
    /// The failure rule's result.
    pub failure_rule: RuleResult,
    /// Notes on how the windows were measured (shortened, log span, ...).
    pub notes: Vec<String>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// `keep`, `rollback` or `inconclusive`.
    pub verdict: Outcome,
    /// Whether to restore the snapshot (`verdict == rollback`).
    pub rollback: bool,
    /// Why a rollback (empty otherwise).
    pub reasons: Vec<String>,
    /// Why inconclusive (empty otherwise), starting with `not enough mail` or `log does not
    /// cover`.
    pub inconclusive: Vec<String>,
    /// The figures behind the decision.
    pub evidence: Evidence,
}

/// Decides on two measured windows. `plan_problem` is [`WindowPlan::problem`]: when set, the
/// verdict is `inconclusive` and no rule is applied.
pub fn decide(
    before: &WindowStats,
    after: &WindowStats,
    rule: &DecisionRule,
    plan_problem: Option<&str>,
    notes: Vec<String>,
) -> Verdict {
    let rb = before.messages_per_hour();
    let ra = after.messages_per_hour();
    let drop_pct = (before.counts.messages_accepted > 0).then(|| (rb - ra) / rb * 100.0);
    let (drop_rule, failure_rule) = match plan_problem {
        Some(p) => {
            let na = |_| RuleResult {
                status: RuleStatus::NotApplied,
                p_value: None,
                detail: format!("not applied: {p}"),
            };
            (na(()), na(()))
        }
        None => (
            drop_test(before, after, rule),
            failure_test(before, after, rule),
        ),
    };
    let mut reasons = Vec::new();
    let mut inconclusive = Vec::new();
    if let Some(p) = plan_problem {
        inconclusive.push(format!("log does not cover the windows: {p}"));
    }
    for r in [&drop_rule, &failure_rule] {
        match r.status {
            RuleStatus::Fired => reasons.push(r.detail.clone()),
            RuleStatus::Inconclusive => inconclusive.push(r.detail.clone()),
            _ => {}
        }
    }
    let verdict = if !reasons.is_empty() {
        inconclusive.clear();
        Outcome::Rollback
    } else if !inconclusive.is_empty() {
        Outcome::Inconclusive
    } else {
        Outcome::Keep
    };
    Verdict {
        verdict,
        rollback: verdict == Outcome::Rollback,
        reasons,
        inconclusive,
        evidence: Evidence {
            before: *before,
            after: *after,
            messages_per_hour_before: rb,
            messages_per_hour_after: ra,
            drop_pct,
            failure_rate_before_pct: before.failure_rate_pct(),
            failure_rate_after_pct: after.failure_rate_pct(),
            rule: *rule,
            drop_rule,
            failure_rule,
            notes,
        },
    }
}

fn drop_test(before: &WindowStats, after: &WindowStats, rule: &DecisionRule) -> RuleResult {
    let b = before.counts.messages_accepted;
    let a = after.counts.messages_accepted;
    let alpha = rule.alpha();
    let keep = 1.0 - rule.max_drop_pct / 100.0;
    // Share of the after window in the total under "the rate fell by exactly max_drop".
    let (tb, ta) = (before.seconds() as f64, after.seconds() as f64);
    let p0 = ta * keep / (ta * keep + tb);
    let counts = format!("{b} accepted messages before, {a} after");
    if b < rule.min_messages {
        return RuleResult {
            status: RuleStatus::Inconclusive,
            p_value: None,
            detail: format!(
                "not enough mail for the drop rule: {counts}; at least {} before are needed",
                rule.min_messages
            ),
        };
    }
    if binom_cdf(0, b, p0) >= alpha {
        return RuleResult {
            status: RuleStatus::Inconclusive,
            p_value: None,
            detail: format!(
                "not enough mail for the drop rule: {counts}; even no message after would not \
                 show a drop of more than {}% at {}% confidence",
                rule.max_drop_pct, rule.confidence_pct
            ),
        };
    }
    let p = binom_cdf(a, a + b, p0);
    let rb = before.messages_per_hour();
    let ra = after.messages_per_hour();
    let d = (rb - ra) / rb * 100.0;
    if p < alpha {
        RuleResult {
            status: RuleStatus::Fired,
            p_value: Some(p),
            detail: format!(
                "accepted messages dropped by {d:.1}% ({rb:.1}/h before, {ra:.1}/h after; \
                 {counts}), more than the allowed {}% at {}% confidence (p = {p:.2e})",
                rule.max_drop_pct, rule.confidence_pct
            ),
        }
    } else {
        RuleResult {
            status: RuleStatus::Passed,
            p_value: Some(p),
            detail: format!(
                "no significant drop of more than {}%: {counts} (p = {p:.3})",
                rule.max_drop_pct
            ),
        }
    }
}

fn failure_test(before: &WindowStats, after: &WindowStats, rule: &DecisionRule) -> RuleResult {
    let Some(max) = rule.max_failure_rate_pct else {
        return RuleResult {
            status: RuleStatus::NotApplied,
            p_value: None,
            detail: "not applied (only the drop rule is used here)".into(),
        };
    };
    let f = after.counts.tls_handshake_failures + after.counts.starttls_required_rejects;
    let m = after.attempts();
    let fb = before.failure_rate_pct().unwrap_or(0.0);
    let p0 = (max.max(fb) / 100.0).clamp(0.0, 1.0);
    let counts = format!(
        "{f} failures ({} handshake failures, {} STARTTLS-required refusals) in {m} inbound \
         attempts after the change, {:.1}% before",
        after.counts.tls_handshake_failures, after.counts.starttls_required_rejects, fb
    );
    if m < rule.min_attempts {
        return RuleResult {
            status: RuleStatus::Inconclusive,
            p_value: None,
            detail: format!(
                "not enough mail for the failure rule: {counts}; at least {} attempts are needed",
                rule.min_attempts
            ),
        };
    }
    if binom_sf(m, m, p0) >= rule.alpha() {
        return RuleResult {
            status: RuleStatus::Inconclusive,
            p_value: None,
            detail: format!(
                "not enough mail for the failure rule: {counts}; even all attempts failing would \
                 not be significant"
            ),
        };
    }
    let rate = f as f64 * 100.0 / m as f64;
    let p = binom_sf(f, m, p0);
    if rate > p0 * 100.0 && p < rule.alpha() {
        RuleResult {
            status: RuleStatus::Fired,
            p_value: Some(p),
            detail: format!(
                "inbound TLS failure rate rose to {rate:.1}% (from {fb:.1}%), above the allowed \
                 {max}% at {}% confidence: {counts} (p = {p:.2e})",
                rule.confidence_pct
            ),
        }
    } else {
        RuleResult {
            status: RuleStatus::Passed,
            p_value: Some(p),
            detail: format!(
                "failure rate {rate:.1}% not significantly above {:.1}%: {counts}",
                p0 * 100.0
            ),
        }
    }
}

/// The two windows around a change, fitted to what the log covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowPlan {
    /// The change time.
    #[serde(serialize_with = "ser_time")]
    pub change: DateTime<Utc>,
    /// The window length asked for, seconds.
    pub requested_seconds: i64,
    /// The length used on both sides, seconds (0 when the log covers nothing usable).
    pub window_seconds: i64,
    /// Why the log cannot be judged (a stale log, a log that starts after the change), or
    /// `None`.
    pub problem: Option<String>,
    /// How the windows were fitted.
    pub notes: Vec<String>,
}

impl WindowPlan {
    /// `[change - T, change)`.
    pub fn before(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.change - self.len(), self.change)
    }

    /// `[change, change + T)`.
    pub fn after(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.change, self.change + self.len())
    }

    fn len(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.window_seconds)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Fits two equal windows of `requested` seconds around `change` to the log's span
/// `[first, last]` (times of its first and last Postfix lines):
///
/// * the log starts inside the before-window: both windows are shortened to `change - first`;
/// * `live` (the guard follows the log): the after-window keeps its length; the caller must
///   wait for a line at or past its end ([`after_window_covered`]) before deciding;
/// * not live (`--if-drop`): a log whose last line is before the change is stale: problem;
///   a log that ends inside the after-window shortens both windows to `last + 1 s - change`,
///   so that the after-window ends at the log's last line (covered).
pub fn plan_windows(
    change: DateTime<Utc>,
    requested: i64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    live: bool,
) -> WindowPlan {
    let mut notes = Vec::new();
    let mut w = requested.max(0);
    let mut problem = None;
    match first {
        None if !live => problem = Some("the log has no Postfix line".to_string()),
        None => {}
        Some(f) if f >= change => {
            problem = Some(format!(
                "the log starts at {}, at or after the change ({}): there is no before-window",
                rfc3339(f),
                rfc3339(change)
            ));
        }
        Some(f) if f > change - chrono::Duration::seconds(w) => {
            w = (change - f).num_seconds();
            notes.push(format!(
                "the log starts at {} (inside the before-window): both windows were shortened \
                 to {w} s",
                rfc3339(f)
            ));
        }
        Some(_) => {}
    }
    if !live && problem.is_none() {
        match last {
            Some(l) if l < change => {
                problem = Some(format!(
                    "the log ends at {}, before the change ({}): a stale or wrong file",
                    rfc3339(l),
                    rfc3339(change)
                ));
            }
            Some(l) if l + chrono::Duration::seconds(1) < change + chrono::Duration::seconds(w) => {
                w = (l - change).num_seconds() + 1;
                notes.push(format!(
                    "the log ends at {} (inside the after-window): both windows were shortened \
                     to {w} s so that the after-window is covered",
                    rfc3339(l)
                ));
            }
            Some(_) => {}
            None => problem = Some("the log has no Postfix line".to_string()),
        }
    }
    if problem.is_some() {
        w = 0;
    }
    WindowPlan {
        change,
        requested_seconds: requested,
        window_seconds: w,
        problem,
        notes,
    }
}

/// Whether a log whose latest line is at `last` covers the plan's after-window (a line at or
/// past its end); else the reason.
pub fn after_window_covered(plan: &WindowPlan, last: Option<DateTime<Utc>>) -> Result<(), String> {
    let end = plan.after().1;
    match last {
        Some(l) if l >= end => Ok(()),
        Some(l) => Err(format!(
            "the log's last line is at {}, before the end of the after-window ({}): a stale log, \
             or Postfix stopped logging",
            rfc3339(l),
            rfc3339(end)
        )),
        None => Err(format!(
            "no line was logged up to the end of the after-window ({})",
            rfc3339(end)
        )),
    }
}

/// The verdict as text: a before/after table, the rule results, reasons and notes.
pub fn render_verdict(title: &str, v: &Verdict) -> String {
    let e = &v.evidence;
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}%"));
    let mut s = format!("{title}\n");
    s.push_str(&format!("  {:<26} {:>20} {:>20}\n", "", "before", "after"));
    let window =
        |w: &WindowStats| format!("{}..{}", w.from.format("%H:%M:%S"), w.to.format("%H:%M:%S"));
    let row = |name: &str, b: String, a: String| format!("  {name:<26} {b:>20} {a:>20}\n");
    s.push_str(&row("window (UTC)", window(&e.before), window(&e.after)));
    s.push_str(&row(
        "accepted messages",
        e.before.counts.messages_accepted.to_string(),
        e.after.counts.messages_accepted.to_string(),
    ));
    s.push_str(&row(
        "messages/hour",
        format!("{:.1}", e.messages_per_hour_before),
        format!("{:.1}", e.messages_per_hour_after),
    ));
    s.push_str(&row(
        "inbound attempts",
        e.before.attempts().to_string(),
        e.after.attempts().to_string(),
    ));
    s.push_str(&row(
        "TLS handshake failures",
        e.before.counts.tls_handshake_failures.to_string(),
        e.after.counts.tls_handshake_failures.to_string(),
    ));
    s.push_str(&row(
        "530 refusals",
        e.before.counts.starttls_required_rejects.to_string(),
        e.after.counts.starttls_required_rejects.to_string(),
    ));
    s.push_str(&row(
        "failure rate",
        pct(e.failure_rate_before_pct),
        pct(e.failure_rate_after_pct),
    ));
    s.push_str(&format!(
        "  rule: roll back on a drop > {}% or a failure rate > {} at {}% confidence (min {} messages before, {} attempts after)\n",
        e.rule.max_drop_pct,
        e.rule.max_failure_rate_pct.map_or("(not applied)".into(), |f| format!("{f}%")),
        e.rule.confidence_pct,
        e.rule.min_messages,
        e.rule.min_attempts
    ));
    s.push_str(&format!("  drop rule: {}\n", e.drop_rule.detail));
    if e.failure_rule.status != RuleStatus::NotApplied || e.rule.max_failure_rate_pct.is_some() {
        s.push_str(&format!("  failure rule: {}\n", e.failure_rule.detail));
    }
    for n in &e.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    match v.verdict {
        Outcome::Rollback => {
            for r in &v.reasons {
                s.push_str(&format!("  reason: {r}\n"));
            }
            s.push_str("Verdict: rollback.\n");
        }
        Outcome::Inconclusive => {
            let why = v
                .inconclusive
                .first()
                .map(String::as_str)
                .unwrap_or("not enough evidence");
            s.push_str(&format!(
                "Verdict: inconclusive: {why}; the change stays.\n"
            ));
        }
        Outcome::Keep => s.push_str("Verdict: keep; the change stays.\n"),
    }
    s
}
