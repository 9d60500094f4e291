//! Byte-range replacements applied in one pass: how every edit produces the new document.

/// Replace `buf[start..end]` with `text` (an insertion when `start == end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: Vec<u8>,
}

impl Splice {
    /// Deletes a range.
    pub fn delete(start: usize, end: usize) -> Self {
        Splice {
            start,
            end,
            text: Vec::new(),
        }
    }
}

/// Applies non-overlapping splices (any order) and returns the new bytes. Splices that overlap
/// an earlier one are merged into it by extending the deleted range (their text is appended),
/// which only happens for adjacent deletions.
pub(crate) fn apply(buf: &[u8], mut splices: Vec<Splice>) -> Vec<u8> {
    splices.sort_by_key(|s| (s.start, s.end));
    let extra: usize = splices.iter().map(|s| s.text.len()).sum();
    let mut out = Vec::with_capacity(buf.len() + extra);
    let mut pos = 0usize;
    for s in splices {
        let start = s.start.max(pos);
        let end = s.end.max(start).min(buf.len());
        out.extend_from_slice(&buf[pos..start.min(buf.len())]);
        out.extend_from_slice(&s.text);
        pos = end.max(pos);
    }
    if pos < buf.len() {
        out.extend_from_slice(&buf[pos..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order() {
        let out = apply(
            b"abcdef",
            vec![
                Splice {
                    start: 4,
                    end: 5,
                    text: b"X".to_vec(),
                },
                Splice {
                    start: 0,
                    end: 0,
                    text: b"#".to_vec(),
                },
                Splice::delete(1, 3),
            ],
        );
        assert_eq!(out, b"#adXf");
    }
}
