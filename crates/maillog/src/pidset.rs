//! A set of process ids, for the split scan's "this pid started a session in this half"
//! question, asked once per smtpd line: a bitmap over the pids Linux hands out (below
//! [`BITMAP_PIDS`], 512 KiB at most, grown as larger pids appear), a hash set for the rest.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use crate::hash::FxHasher;

/// Pids below this are held in the bitmap (Linux's `pid_max` is at most 2^22).
pub const BITMAP_PIDS: u32 = 1 << 22;

/// A set of `u32` process ids.
#[derive(Debug, Default)]
pub(crate) struct PidSet {
    bits: Vec<u64>,
    large: HashSet<u32, BuildHasherDefault<FxHasher>>,
}

impl PidSet {
    /// Whether `pid` is in the set.
    #[inline]
    pub(crate) fn contains(&self, pid: u32) -> bool {
        if pid < BITMAP_PIDS {
            self.bits
                .get((pid >> 6) as usize)
                .is_some_and(|w| w & (1 << (pid & 63)) != 0)
        } else {
            self.large.contains(&pid)
        }
    }

    /// Adds `pid`.
    pub(crate) fn insert(&mut self, pid: u32) {
        if pid < BITMAP_PIDS {
            let word = (pid >> 6) as usize;
            if word >= self.bits.len() {
                // Grow geometrically (bounded by the bitmap's size) so that rising pids cost
                // amortised constant time.
                let want = (word + 1)
                    .max(self.bits.len() * 2)
                    .min((BITMAP_PIDS >> 6) as usize);
                self.bits.resize(want, 0);
            }
            self.bits[word] |= 1 << (pid & 63);
        } else {
            self.large.insert(pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_hashset() {
        let mut s = PidSet::default();
        let mut m = HashSet::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Small pids, pids around the bitmap's end, and arbitrary u32 values.
            let pid = match x % 3 {
                0 => (x >> 8) as u32 % 70_000,
                1 => BITMAP_PIDS - 64 + (x >> 8) as u32 % 128,
                _ => (x >> 16) as u32,
            };
            if x & (1 << 40) != 0 {
                s.insert(pid);
                m.insert(pid);
            }
            assert_eq!(s.contains(pid), m.contains(&pid), "pid {pid}");
        }
        for pid in [0, 1, 63, 64, BITMAP_PIDS - 1, BITMAP_PIDS, u32::MAX] {
            assert_eq!(s.contains(pid), m.contains(&pid), "pid {pid}");
        }
        assert!(s.bits.len() <= (BITMAP_PIDS >> 6) as usize);
    }
}
