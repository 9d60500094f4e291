//! The time and duration grammar of `logs --since/--until/--around`, `apply --guard` and
//! `rollback --if-drop` (moved here from the CLI so that every caller parses the same way).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Longest accepted duration (`--bucket`, `--window`, `--guard`): a year, so that the time
/// arithmetic cannot overflow and every wait stays bounded.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

/// Parses a duration: `90s`, `10m`, `1h`, `2d`, `1h30m`, or plain seconds (`300`).
/// At most [`MAX_DURATION`]; zero is accepted (callers that need more say so).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration (expected e.g. 90s, 10m, 1h)".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = s.parse().map_err(|_| "number too large".to_string())?;
        return check_max(n);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "unknown unit {c:?} (use s, m, h or d, e.g. 90s, 10m, 1h)"
                ))
            }
        };
        if digits.is_empty() {
            return Err(format!("unit {c:?} without a number before it"));
        }
        let n: u64 = digits.parse().map_err(|_| "number too large".to_string())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "duration too long".to_string())?;
    }
    if !digits.is_empty() {
        return Err(format!(
            "number {digits} without a unit at the end (use e.g. 1h30m)"
        ));
    }
    check_max(total)
}

fn check_max(secs: u64) -> Result<Duration, String> {
    let d = Duration::from_secs(secs);
    if d > MAX_DURATION {
        return Err(format!(
            "longer than the maximum of {} days",
            MAX_DURATION.as_secs() / 86_400
        ));
    }
    Ok(d)
}

/// Parses a time: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (also with `T`; UTC), `YYYYMMDDTHHMMSSZ`
/// (a snapshot id's form), `now`, or relative to `now` (`-2h`, `-1h30m`, `-90s`).
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rel) = s.strip_prefix('-') {
        let d = parse_duration(rel)?;
        let d = chrono::Duration::from_std(d).map_err(|_| "duration too long".to_string())?;
        return now
            .checked_sub_signed(d)
            .ok_or_else(|| "time out of range".to_string());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y%m%dT%H%M%SZ",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(
        "not a time (expected RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] in UTC, or relative like -2h)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in [
            "",
            "h",
            "10x",
            "1h30",
            "-5s",
            "99999999999999999999",
            "400d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn times() {
        let t = |s| parse_time(s, now()).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2026-11-30T09:00:00+01:00").unwrap(),
            "2026-11-30T08:00:00+00:00"
        );
        assert_eq!(t("2026-11-30 08:01").unwrap(), "2026-11-30T08:01:00+00:00");
        assert_eq!(
            t("2026-11-30 08:01:02").unwrap(),
            "2026-11-30T08:01:02+00:00"
        );
        assert_eq!(t("2026-11-30").unwrap(), "2026-11-30T00:00:00+00:00");
        assert_eq!(t("20261130T080102Z").unwrap(), "2026-11-30T08:01:02+00:00");
        assert_eq!(t("-2h").unwrap(), "2026-11-30T10:00:00+00:00");
        assert_eq!(t("now").unwrap(), "2026-11-30T12:00:00+00:00");
        for bad in ["yesterday", "2026-13-01", "2026-11-30 25:00", "-2x", ""] {
            assert!(t(bad).is_err(), "{bad:?} must be rejected");
        }
    }
}
