//! TLS handshake failure reasons, normalised into a small fixed set of categories, each with
//! one sample line (the earliest; ties broken by the text, so that the choice does not depend
//! on reading order and a split scan picks the same one), so that the report stays bounded
//! whatever the input.

use std::collections::BTreeMap;

use memchr::memmem;

/// Longest sample kept, bytes (cut at a character boundary).
pub const MAX_SAMPLE: usize = 512;

/// The categories, in report order. Matching is on the OpenSSL reason or Postfix status text,
/// case-insensitively, first match wins:
///
/// | category | texts |
/// |---|---|
/// | `no shared cipher` | `no shared cipher`, `no cipher`, `no suitable signature algorithm`, `no shared signature`, `no suitable key share`, `handshake failure` |
/// | `unsupported or too low protocol` | `unsupported protocol`, `version too low`, `wrong version number`, `no protocols available`, `protocol version`, `inappropriate fallback`, `http request` |
/// | `certificate unknown` | `certificate` (unknown, bad, expired, revoked, unknown ca), `unknown ca` |
/// | `lost connection` | `lost connection`, `unexpected eof`, `connection reset`, `broken pipe`, `eof` |
/// | `timeout` | `timed out`, `timeout` |
/// | `other` | anything else, and an `SSL_accept error ... -1` with no `TLS library problem` line after it |
pub const CATEGORIES: [&str; 6] = [
    "no shared cipher",
    "unsupported or too low protocol",
    "certificate unknown",
    "lost connection",
    "timeout",
    "other",
];

const OTHER: usize = 5;

const NEEDLES: [(&str, usize); 21] = [
    ("no shared cipher", 0),
    ("no cipher", 0),
    ("no suitable signature", 0),
    ("no shared signature", 0),
    ("no suitable key share", 0),
    ("unsupported protocol", 1),
    ("version too low", 1),
    ("wrong version number", 1),
    ("no protocols available", 1),
    ("protocol version", 1),
    ("inappropriate fallback", 1),
    ("http request", 1),
    ("unknown ca", 2),
    ("certificate", 2),
    ("lost connection", 3),
    ("unexpected eof", 3),
    ("connection reset", 3),
    ("broken pipe", 3),
    ("timed out", 4),
    ("timeout", 4),
    ("handshake failure", 0),
];

/// The category index of a reason text.
pub fn categorize(reason: &[u8]) -> usize {
    let lower: Vec<u8> = reason
        .iter()
        .take(4096)
        .map(u8::to_ascii_lowercase)
        .collect();
    for (needle, cat) in NEEDLES {
        if memmem::find(&lower, needle.as_bytes()).is_some() {
            return cat;
        }
    }
    if memmem::find(&lower, b"eof").is_some() {
        return 3;
    }
    OTHER
}

/// Most reason texts whose category [`Reasons`] remembers (OpenSSL and Postfix use a few
/// dozen distinct texts; a log full of distinct ones just categorises each afresh).
const MEMO: usize = 64;

/// Reasons longer than this are not remembered (they are not OpenSSL's short texts).
const MEMO_LEN: usize = 96;

/// Counts per category and the first sample line of each.
#[derive(Debug, Default, Clone)]
pub struct Reasons {
    counts: [u64; 6],
    samples: [Option<(i64, String)>; 6],
    /// (reason text, category) of texts seen: a failure costs a short comparison, not 22
    /// substring searches over a lowercased copy.
    memo: Vec<(Box<[u8]>, u8)>,
}

impl Reasons {
    /// Counts `reason` (the text that decides the category); `sample` is the log message kept
    /// as the category's example when it is the first.
    pub fn bump(&mut self, reason: &[u8], ts: i64, sample: &[u8]) {
        let cat = match self.memo.iter().find(|(r, _)| **r == *reason) {
            Some(&(_, cat)) => usize::from(cat),
            None => {
                let cat = categorize(reason);
                if self.memo.len() < MEMO && reason.len() <= MEMO_LEN {
                    // Categories are < 6, so the index fits a byte.
                    self.memo.push((reason.into(), cat as u8));
                }
                cat
            }
        };
        self.bump_category(cat, ts, sample);
    }

    /// Counts a failure without a reason text (category `other`).
    pub fn bump_other(&mut self, ts: i64, sample: &[u8]) {
        self.bump_category(OTHER, ts, sample);
    }

    fn bump_category(&mut self, cat: usize, ts: i64, sample: &[u8]) {
        self.counts[cat] += 1;
        let sample = &sample[..sample.len().min(MAX_SAMPLE)];
        let better = match &self.samples[cat] {
            None => true,
            Some((t, s)) => (ts, sample) < (*t, s.as_bytes()),
        };
        if better {
            let mut s = String::from_utf8_lossy(sample).into_owned();
            // from_utf8_lossy may have grown a cut character; keep the bound.
            while s.len() > MAX_SAMPLE {
                s.pop();
            }
            self.samples[cat] = Some((ts, s));
        }
    }

    /// Adds another counter's figures (the earlier sample of each category wins).
    pub fn merge(&mut self, o: Reasons) {
        for (i, s) in o.samples.into_iter().enumerate() {
            self.counts[i] += o.counts[i];
            let better = match (&self.samples[i], &s) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(a), Some(b)) => (b.0, b.1.as_bytes()) < (a.0, a.1.as_bytes()),
            };
            if better {
                self.samples[i] = s;
            }
        }
    }

    /// (category → count, category → sample) of the categories seen.
    pub fn into_maps(self) -> (BTreeMap<String, u64>, BTreeMap<String, String>) {
        let mut counts = BTreeMap::new();
        let mut samples = BTreeMap::new();
        for (i, s) in self.samples.into_iter().enumerate() {
            if self.counts[i] > 0 {
                counts.insert(CATEGORIES[i].to_string(), self.counts[i]);
                if let Some((_, s)) = s {
                    samples.insert(CATEGORIES[i].to_string(), s);
                }
            }
        }
        (counts, samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_of_real_openssl_reasons() {
        for (r, want) in [
            ("no shared cipher", "no shared cipher"),
            ("unsupported protocol", "unsupported or too low protocol"),
            ("version too low", "unsupported or too low protocol"),
            ("wrong version number", "unsupported or too low protocol"),
            ("sslv3 alert certificate unknown", "certificate unknown"),
            ("tlsv1 alert unknown ca", "certificate unknown"),
            ("lost connection", "lost connection"),
            ("unexpected eof while reading", "lost connection"),
            ("Connection timed out", "timeout"),
            ("bad key share", "other"),
        ] {
            assert_eq!(CATEGORIES[categorize(r.as_bytes())], want, "{r}");
        }
    }

    /// Counting through the memo gives the categories `categorize` gives, for repeated
    /// texts, texts that differ only in case, more distinct texts than the memo holds, and
    /// texts too long for it; and the memo stays bounded.
    #[test]
    fn memo_agrees_with_categorize() {
        let mut texts: Vec<Vec<u8>> = NEEDLES
            .iter()
            .flat_map(|(n, _)| [n.as_bytes().to_vec(), n.to_ascii_uppercase().into_bytes()])
            .collect();
        texts.extend((0..200).map(|i| format!("reason {i} eof").into_bytes()));
        texts.extend((0..200).map(|i| format!("reason {i}").into_bytes()));
        texts.push(vec![b'y'; MEMO_LEN + 1]);
        let mut r = Reasons::default();
        let mut want = [0u64; 6];
        for round in 0..3 {
            for t in &texts {
                r.bump(t, round, t);
                want[categorize(t)] += 1;
            }
        }
        assert_eq!(r.counts, want);
        assert!(r.memo.len() <= MEMO);
        assert!(r.memo.iter().all(|(t, c)| usize::from(*c) == categorize(t)));
    }

    #[test]
    fn bounded_and_first_sample_kept() {
        let mut r = Reasons::default();
        let long = vec![b'x'; 100_000];
        for _ in 0..1000 {
            r.bump(&long, 5, &long);
        }
        r.bump(b"no shared cipher", 2, b"second");
        r.bump(b"no shared cipher", 1, b"first");
        r.bump(b"no shared cipher", 1, b"later text");
        let (c, s) = r.into_maps();
        assert_eq!(c.len(), 2);
        assert_eq!(c["other"], 1000);
        assert_eq!(s["other"].len(), MAX_SAMPLE);
        assert_eq!(s["no shared cipher"], "first");
    }
}
