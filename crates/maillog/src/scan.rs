//! Small byte-scanning helpers for the per-line hot path: a byte-class table and a
//! word-at-a-time (SWAR) byte search for short fields, where a SIMD `memchr` call costs more
//! in setup than it saves.

/// [`CLASS`] bit: program-name byte (ASCII alphanumeric, `-`, `_`).
pub const C_TAG: u8 = 1;
/// [`CLASS`] bit: ASCII alphanumeric.
pub const C_ALNUM: u8 = 2;

/// Byte classes, one table lookup per byte instead of several range comparisons.
pub static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            t[c] = C_TAG | C_ALNUM;
        } else if b == b'-' || b == b'_' {
            t[c] = C_TAG;
        }
        c += 1;
    }
    t
};

/// Whether `c` has class bit `bit`.
#[inline]
pub fn is(c: u8, bit: u8) -> bool {
    CLASS[usize::from(c)] & bit != 0
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Position of the first `needle` in `hay`, 8 bytes per step.
///
/// For each word, `(x - 0x01..) & !x & 0x80..` (with `x = word ^ needle*0x01..`) has its
/// lowest set bit exactly at the first zero byte of `x` (bits above it may be spurious,
/// from borrows, but they are never the lowest), so `trailing_zeros / 8` is the answer.
#[inline(always)]
pub fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pat = u64::from(needle).wrapping_mul(LO);
    let mut i = 0;
    while let Some(w) = hay.get(i..i + 8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let x = u64::from_le_bytes(a) ^ pat;
        let t = x.wrapping_sub(LO) & !x & HI;
        if t != 0 {
            return Some(i + (t.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    hay.get(i..)?
        .iter()
        .position(|&c| c == needle)
        .map(|p| i + p)
}

/// The leading ASCII digits of `b` as (value, count), 8 bytes at once; `None` when fewer than
/// 8 bytes are available or all 8 are digits (the caller then uses a byte loop).
///
/// `sub = word - 0x30..` is exact on the bytes below the first non-digit (digits never
/// borrow); that byte gets bit 7 set by `(sub + 0x76..) | sub` (a digit maps to 0x76..=0x7f,
/// anything else to >= 0x80), and carries only move upward, so the lowest set bit is exact.
/// The digits are then shifted to the top and combined pairwise (the classic 8-digit SWAR
/// conversion), with zeros (`'0' - '0'`) as leading digits.
#[inline(always)]
pub fn leading_digits(b: &[u8]) -> Option<(u32, usize)> {
    let mut a = [0u8; 8];
    a.copy_from_slice(b.get(..8)?);
    let sub = u64::from_le_bytes(a).wrapping_sub(0x3030_3030_3030_3030);
    let non_digit = (sub.wrapping_add(0x7676_7676_7676_7676) | sub) & HI;
    if non_digit == 0 {
        return None;
    }
    let n = (non_digit.trailing_zeros() / 8) as usize;
    if n == 0 {
        return Some((0, 0));
    }
    let mut v = sub << (8 * (8 - n));
    v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    v = (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32;
    // At most 7 digits here, so the value fits in u32.
    Some((v as u32, n))
}

/// The non-empty space-separated words of a byte string (as `split(' ')` without the empty
/// pieces), found with [`find_byte`].
pub struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    /// The words of `b`.
    #[inline]
    pub fn new(b: &'a [u8]) -> Self {
        Words { rest: b }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    #[inline(always)]
    fn next(&mut self) -> Option<&'a [u8]> {
        while let Some(r) = self.rest.strip_prefix(b" ") {
            self.rest = r;
        }
        if self.rest.is_empty() {
            return None;
        }
        let (word, rest) = match find_byte(self.rest, b' ') {
            Some(sp) => (&self.rest[..sp], &self.rest[sp + 1..]),
            None => (self.rest, &b""[..]),
        };
        self.rest = rest;
        Some(word)
    }
}

/// Byte-string equality, inline, 8 bytes per step (the last step overlapping): for the short
/// keys of the per-line path (a client `host[addr]`), where a `memcmp` call costs more than the
/// comparison.
#[inline(always)]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal to `==` for every pair of lengths up to 40 and a difference at every position.
    #[test]
    fn bytes_eq_agrees_with_slice_eq() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            assert!(bytes_eq(&a, &a.clone()));
            for m in 0..40usize {
                let b: Vec<u8> = (0..m).map(|i| (i * 7 + 3) as u8).collect();
                assert_eq!(bytes_eq(&a, &b), a == b, "{n} {m}");
            }
            for k in 0..n {
                let mut b = a.clone();
                b[k] ^= 0x20;
                assert!(!bytes_eq(&a, &b), "{n} {k}");
            }
        }
    }

    #[test]
    fn find_byte_matches_position() {
        let base: Vec<u8> = (0u8..=255).cycle().take(40).collect();
        for len in 0..40 {
            for at in 0..len + 1 {
                let mut h = base[..len].to_vec();
                // Bytes right below and above the needle exercise the borrow path.
                for v in h.iter_mut() {
                    if *v == b' ' {
                        *v = b'!';
                    }
                }
                if at < len {
                    h[at] = b' ';
                    if at + 1 < len {
                        h[at + 1] = b' ';
                    }
                }
                let want = h.iter().position(|&c| c == b' ');
                assert_eq!(find_byte(&h, b' '), want, "len {len} at {at}");
            }
        }
        assert_eq!(find_byte(b"\x00\x01\x1f\x21 ", b' '), Some(4));
        assert_eq!(
            find_byte(b"\x21\x20\x00\x00\x00\x00\x00\x00\x20", b' '),
            Some(1)
        );
    }

    #[test]
    fn leading_digits_matches_loop() {
        let tails = [
            "]: x",
            "]",
            "x",
            "]]]]]]]]]",
            "\x00\x00",
            "/",
            ":",
            "\u{ff}\u{7f}",
        ];
        for digits in [
            "", "0", "7", "12", "1234", "99999", "123456", "4194304", "12345678",
        ] {
            for tail in tails {
                let s = format!("{digits}{tail}");
                let b = s.as_bytes();
                let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let want = digits.parse::<u32>().unwrap_or(0);
                match leading_digits(b) {
                    Some(got) => assert_eq!(got, (want, n), "{s:?}"),
                    None => assert!(b.len() < 8 || n >= 8, "{s:?}"),
                }
            }
        }
        // Every byte value right after a digit run.
        for c in 0u8..=255 {
            let b = [b'4', b'2', c, b'9', b'9', b'9', b'9', b'9', b'9'];
            let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
            if n < 8 {
                let want: u32 = std::str::from_utf8(&b[..n]).unwrap().parse().unwrap();
                assert_eq!(leading_digits(&b), Some((want, n)), "byte {c}");
            }
        }
    }

    #[test]
    fn words_match_split() {
        for s in [
            "",
            " ",
            "a",
            " TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            "  a  b   c ",
            "averyveryverylongword  x",
        ] {
            let want: Vec<&[u8]> = s
                .as_bytes()
                .split(|&c| c == b' ')
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(Words::new(s.as_bytes()).collect::<Vec<_>>(), want, "{s:?}");
        }
    }

    #[test]
    fn classes() {
        for c in 0u8..=255 {
            assert_eq!(is(c, C_ALNUM), c.is_ascii_alphanumeric());
            assert_eq!(
                is(c, C_TAG),
                c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
            );
        }
    }
}
