//! Timestamp parsing for every format Postfix log lines appear in, and year inference for the
//! year-less traditional syslog format.
//!
//! Times are handled as Unix seconds (`i64`) on the hot path; chrono is only used at the API
//! boundary. Sub-second precision is dropped: buckets are at least one second wide.

use chrono::{DateTime, Datelike, Local, Offset, TimeZone, Utc};

/// How to place year-less (traditional syslog) timestamps on the time line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearHint {
    /// A time at or after the end of the log (the file's mtime, or now). The first year-less
    /// line is put in the latest year that does not make it later than this (+1 day of slack).
    pub reference: DateTime<Utc>,
    /// Offset of the local time zone the year-less timestamps were written in, in seconds
    /// east of UTC (the log carries no zone; DST changes inside one log are not modelled).
    pub utc_offset_secs: i32,
}

impl YearHint {
    /// Reference = now, offset = this machine's local offset now.
    pub fn now() -> Self {
        Self::at(Utc::now())
    }

    /// Reference = `reference`, offset = this machine's local offset at that time.
    pub fn at(reference: DateTime<Utc>) -> Self {
        let utc_offset_secs = Local
            .from_utc_datetime(&reference.naive_utc())
            .offset()
            .fix()
            .local_minus_utc();
        YearHint {
            reference,
            utc_offset_secs,
        }
    }

    /// Reference = `reference`, year-less timestamps are UTC (what tests want).
    pub fn utc(reference: DateTime<Utc>) -> Self {
        YearHint {
            reference,
            utc_offset_secs: 0,
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Converts Unix seconds to a chrono UTC time (saturating at the representable range).
pub fn to_datetime(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[inline]
fn digit(b: u8) -> Option<u32> {
    if b.is_ascii_digit() {
        Some(u32::from(b - b'0'))
    } else {
        None
    }
}

#[inline]
fn two(b: &[u8], i: usize) -> Option<u32> {
    Some(digit(*b.get(i)?)? * 10 + digit(*b.get(i + 1)?)?)
}

/// `Jan`..`Dec` to 1..=12.
#[inline]
fn month(b: &[u8]) -> Option<u32> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// `HH:MM:SS` at `i`, as seconds of the day.
#[inline]
fn hms(b: &[u8], i: usize) -> Option<i64> {
    let h = two(b, i)?;
    let m = two(b, i + 3)?;
    let s = two(b, i + 6)?;
    if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(i64::from(h * 3600 + m * 60 + s.min(59)))
}

/// A traditional `Mmm dd HH:MM:SS ` prefix: (month, day, seconds of day, bytes consumed
/// including the trailing space). The day may be space-padded, zero-padded or one digit.
#[inline]
pub fn parse_traditional(b: &[u8]) -> Option<(u32, u32, i64, usize)> {
    let mon = month(b.get(..3)?)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let mut day = digit(*b.get(i)?)?;
    i += 1;
    if let Some(d2) = b.get(i).and_then(|&c| digit(c)) {
        day = day * 10 + d2;
        i += 1;
    }
    if b.get(i) != Some(&b' ') || day == 0 || day > 31 {
        return None;
    }
    let secs = hms(b, i + 1)?;
    i += 9;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    Some((mon, day, secs, i + 1))
}

/// An RFC 3339 / ISO 8601 timestamp followed by a space: `YYYY-MM-DDTHH:MM:SS[.frac]` then
/// `Z`, `+hh:mm` or `+hhmm`. Returns (Unix seconds, bytes consumed including the space).
/// `cache` holds the last seen 19-byte date-time prefix and its value without offset, so that
/// consecutive lines of the same second skip the calendar arithmetic.
#[inline]
pub fn parse_rfc3339(b: &[u8], cache: &mut IsoCache) -> Option<(i64, usize)> {
    // A fixed-size array compares inline (no memcmp call).
    let head: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    if cache.valid && cache.key == *head {
        // Fast path: same second as the previous line and the same layout after it
        // (fraction length and offset text), e.g. `.123456+00:00 `.
        let off = 19 + cache.frac_len;
        let end = off + cache.off_len;
        if b.get(end) == Some(&b' ')
            && same_offset(b, off, cache)
            && (cache.frac_len == 0 || b[19] == b'.')
        {
            return Some((cache.value - cache.off_secs, end + 1));
        }
    }
    // Until this line parses completely, the fast path must not match anything.
    cache.off_len = usize::MAX / 2;
    let base = if cache.valid && cache.key == *head {
        cache.value
    } else {
        // A new second, usually of the same day: the date (and its calendar arithmetic) is
        // memoised on its own 11 bytes (`YYYY-MM-DDT`), only the time of day is parsed.
        let date: &[u8; 11] = b.get(..11)?.try_into().ok()?;
        let day = if cache.day_valid && cache.day_key == *date {
            cache.day_secs
        } else {
            let y = two(b, 0)? * 100 + two(b, 2)?;
            let mo = two(b, 5)?;
            let d = two(b, 8)?;
            if b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
                return None;
            }
            if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
                return None;
            }
            let day = days_from_civil(i64::from(y), mo, d) * 86_400;
            cache.day_key = *date;
            cache.day_secs = day;
            cache.day_valid = true;
            day
        };
        let v = day + hms(b, 11)?;
        cache.key.copy_from_slice(head);
        cache.value = v;
        cache.valid = true;
        v
    };
    let mut i = 19;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let frac_end = i;
    let offset = match b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        &c @ (b'+' | b'-') => {
            let h = two(b, i + 1)?;
            let (m, len) = if b.get(i + 3) == Some(&b':') {
                (two(b, i + 4)?, 6)
            } else {
                (two(b, i + 3)?, 5)
            };
            i += len;
            let o = i64::from(h * 3600 + m * 60);
            if c == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    if b.get(i) != Some(&b' ') {
        return None;
    }
    // Remember the layout for the fast path (only a `.` fraction qualifies).
    let off_len = i - frac_end;
    if off_len <= cache.off_text.len() && (frac_end == 19 || b[19] == b'.') {
        cache.frac_len = frac_end - 19;
        cache.off_len = off_len;
        cache.off_text[..off_len].copy_from_slice(&b[frac_end..i]);
        cache.off_secs = offset;
    }
    Some((base - offset, i + 1))
}

/// Whether `b[off..off + cache.off_len]` is the cached offset text. Compared as one masked
/// 8-byte word when 8 bytes are available (always, on a real line: the host follows), which
/// avoids a `memcmp` call per line; the caller has checked that `b[off + off_len]` exists.
#[inline]
fn same_offset(b: &[u8], off: usize, cache: &IsoCache) -> bool {
    let n = cache.off_len;
    match b.get(off..off + 8) {
        Some(w) if n <= 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            let mask = if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            };
            (u64::from_le_bytes(a) ^ u64::from_le_bytes(cache.off_text)) & mask == 0
        }
        _ => b.get(off..off + n) == cache.off_text.get(..n),
    }
}

/// Memo of the last RFC 3339 date-time prefix (see [`parse_rfc3339`]).
#[derive(Debug, Clone, Default)]
pub struct IsoCache {
    key: [u8; 19],
    value: i64,
    valid: bool,
    /// The last valid date prefix `YYYY-MM-DDT` and its midnight in Unix seconds.
    day_key: [u8; 11],
    day_secs: i64,
    day_valid: bool,
    frac_len: usize,
    off_len: usize,
    off_text: [u8; 8],
    off_secs: i64,
}

/// Places year-less dates on the time line, one instance per input file.
///
/// The first line gets the latest year that does not put it after the reference time (+1 day
/// of slack for clock skew); after that the year only moves forward: a month that drops by 6
/// or more (Dec -> Jan) starts the next year, a month that jumps up by 6 or more (a stray Dec
/// line after Jan) belongs to the previous year without changing the state. So a log that
/// runs Dec 31 -> Jan 1 never jumps back a year.
#[derive(Debug, Clone)]
pub struct YearTracker {
    /// Latest acceptable time: the reference plus one day of slack.
    ref_limit: i64,
    ref_year: i32,
    ref_ordinal: u32,
    offset: i64,
    year: i32,
    prev_month: u32,
    started: bool,
}

impl YearTracker {
    /// A tracker for one file whose end is at or before `hint.reference`.
    pub fn new(hint: &YearHint) -> Self {
        let local = hint.reference + chrono::Duration::seconds(i64::from(hint.utc_offset_secs));
        YearTracker {
            ref_limit: hint.reference.timestamp() + 86_400,
            ref_year: local.year(),
            ref_ordinal: local.month() * 32 + local.day(),
            offset: i64::from(hint.utc_offset_secs),
            year: local.year(),
            prev_month: 0,
            started: false,
        }
    }

    /// Unix seconds of a year-less local date and time.
    #[inline]
    pub fn resolve(&mut self, mon: u32, day: u32, secs_of_day: i64) -> i64 {
        let year = if !self.started {
            self.started = true;
            self.prev_month = mon;
            self.year = if mon * 32 + day > self.ref_ordinal + 1 {
                self.ref_year - 1
            } else {
                self.ref_year
            };
            self.year
        } else if mon == self.prev_month {
            self.year
        } else if mon + 6 <= self.prev_month {
            self.year += 1;
            self.prev_month = mon;
            self.year
        } else if mon >= self.prev_month + 6 {
            self.year - 1
        } else {
            self.prev_month = mon;
            self.year
        };
        let ts = days_from_civil(i64::from(year), mon, day) * 86_400 + secs_of_day - self.offset;
        if ts <= self.ref_limit {
            return ts;
        }
        // Never a date after the reference: a concatenation of logs out of order (a newer
        // file, then an older one whose months drop) must not move into the next year.
        // The year the state moved to was wrong: go back one, for this line and the next.
        if self.year >= year {
            self.year = year - 1;
        }
        days_from_civil(i64::from(year - 1), mon, day) * 86_400 + secs_of_day - self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_matches_chrono() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2024, 12, 31),
            (2025, 1, 1),
            (1969, 12, 31),
        ] {
            let c = chrono::NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|n| n.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc().timestamp());
            assert_eq!(Some(days_from_civil(i64::from(y), m, d) * 86_400), c);
        }
    }

    #[test]
    fn traditional_paddings() {
        assert_eq!(
            parse_traditional(b"Nov  3 01:02:03 mx"),
            Some((11, 3, 3723, 16))
        );
        assert_eq!(
            parse_traditional(b"Nov 03 01:02:03 mx"),
            Some((11, 3, 3723, 16))
        );
        assert_eq!(
            parse_traditional(b"Nov 3 01:02:03 mx"),
            Some((11, 3, 3723, 15))
        );
        assert_eq!(
            parse_traditional(b"Nov 30 23:59:59 mx").map(|t| t.1),
            Some(30)
        );
        assert_eq!(parse_traditional(b"Foo 30 23:59:59 mx"), None);
        assert_eq!(parse_traditional(b"Nov 30 25:59:59 mx"), None);
        assert_eq!(parse_traditional(b"Nov 3"), None);
    }

    #[test]
    fn iso_offsets() {
        let mut c = IsoCache::default();
        let base = days_from_civil(2024, 11, 30) * 86_400 + 3723;
        for (s, want) in [
            ("2024-11-30T01:02:03.123456+00:00 x", base),
            ("2024-11-30T01:02:03+0000 x", base),
            ("2024-11-30T01:02:03Z x", base),
            ("2024-11-30T02:02:03.5+01:00 x", base),
            ("2024-11-29T23:02:03-0200 x", base),
        ] {
            assert_eq!(
                parse_rfc3339(s.as_bytes(), &mut c).map(|t| t.0),
                Some(want),
                "{s}"
            );
        }
        assert_eq!(parse_rfc3339(b"2024-11-30T01:02:03 x", &mut c), None);
        assert_eq!(
            parse_rfc3339(b"2024-13-30T01:02:03Z x", &mut IsoCache::default()),
            None
        );
    }

    #[test]
    fn year_wrap_dec_to_jan() {
        let r = to_datetime(days_from_civil(2025, 1, 1) * 86_400 + 7200);
        let mut t = YearTracker::new(&YearHint::utc(r));
        let dec = t.resolve(12, 31, 86_399);
        let jan = t.resolve(1, 1, 0);
        assert_eq!(dec, days_from_civil(2024, 12, 31) * 86_400 + 86_399);
        assert_eq!(jan, dec + 1);
        // a stray December line after January stays in 2024
        assert_eq!(t.resolve(12, 31, 86_399), dec);
        assert_eq!(t.resolve(1, 1, 1), jan + 1);
    }

    #[test]
    fn never_in_the_future() {
        // Reference 2026-12-02: November 2026 lines, then (an older file appended) March:
        // the month drop must not make it March 2027.
        let r = to_datetime(days_from_civil(2026, 12, 2) * 86_400);
        let mut t = YearTracker::new(&YearHint::utc(r));
        assert_eq!(t.resolve(11, 30, 0), days_from_civil(2026, 11, 30) * 86_400);
        assert_eq!(t.resolve(3, 1, 0), days_from_civil(2026, 3, 1) * 86_400);
        assert_eq!(t.resolve(3, 2, 0), days_from_civil(2026, 3, 2) * 86_400);
        // and a genuine Dec -> Jan wrap still moves forward when the reference allows it
        let r = to_datetime(days_from_civil(2027, 1, 2) * 86_400);
        let mut t = YearTracker::new(&YearHint::utc(r));
        assert_eq!(t.resolve(12, 31, 0), days_from_civil(2026, 12, 31) * 86_400);
        assert_eq!(t.resolve(1, 1, 0), days_from_civil(2027, 1, 1) * 86_400);
    }

    #[test]
    fn year_from_reference() {
        let r = to_datetime(days_from_civil(2026, 3, 1) * 86_400);
        let mut t = YearTracker::new(&YearHint::utc(r));
        assert_eq!(t.resolve(6, 1, 0), days_from_civil(2025, 6, 1) * 86_400);
        let mut t = YearTracker::new(&YearHint::utc(r));
        assert_eq!(t.resolve(3, 2, 0), days_from_civil(2026, 3, 2) * 86_400);
    }
}
