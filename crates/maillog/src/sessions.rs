//! Open smtpd sessions keyed by process id: a small open-addressing table (linear probing,
//! backward-shift deletion, so no tombstones) that replaces a general hash map on the hot
//! path. Pids are small integers, so one multiply spreads them; the table doubles up to a
//! fixed cap and never shrinks, and the caller bounds the number of entries.

/// What the analyser remembers about one open smtpd session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Session {
    /// TLS was established in this session.
    pub tls: bool,
    /// Hash of the client, so a session is never confused with another one of the same pid
    /// whose `connect` line is missing from the log.
    pub client: u64,
    /// Where the client's counters were (the analyser's per-client map slot), a hint that
    /// saves hashing the client again: it is used only after comparing that slot's key with
    /// the client's bytes, so a stale hint (e.g. from the other half of a split scan) just
    /// falls back to the hash.
    pub slot: u32,
}

/// One slot: `key` is `pid + 1` (0 = empty), so pid 0 is a valid key.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: u64,
    value: Session,
}

/// Pid-keyed session table.
#[derive(Debug)]
pub struct Sessions {
    slots: Vec<Slot>,
    len: usize,
}

/// Initial number of slots (a power of two).
const INITIAL: usize = 256;

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            slots: vec![Slot::default(); INITIAL],
            len: 0,
        }
    }
}

impl Sessions {
    /// Every (pid, session), in table order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Session)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.key != 0)
            // key = pid + 1 <= u32::MAX + 1, so key - 1 fits a u32.
            .map(|s| ((s.key - 1) as u32, s.value))
    }

    /// Number of sessions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Home slot of a key (Fibonacci hashing on the top bits).
    #[inline]
    fn home(&self, key: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// Slot index holding `pid`, if any.
    #[inline]
    fn find(&self, pid: u32) -> Option<usize> {
        let key = u64::from(pid) + 1;
        let mask = self.mask();
        let mut i = self.home(key);
        // The table is never full (load factor <= 1/2), so an empty slot ends every probe.
        loop {
            let k = self.slots[i].key;
            if k == key {
                return Some(i);
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether `pid` has a session.
    #[inline]
    pub fn contains_key(&self, pid: u32) -> bool {
        self.find(pid).is_some()
    }

    /// The session of `pid`.
    #[inline]
    pub fn get_mut(&mut self, pid: u32) -> Option<&mut Session> {
        let i = self.find(pid)?;
        Some(&mut self.slots[i].value)
    }

    /// Inserts or replaces the session of `pid`.
    #[inline]
    pub fn insert(&mut self, pid: u32, value: Session) {
        if let Some(i) = self.find(pid) {
            self.slots[i].value = value;
            return;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(u64::from(pid) + 1, value);
        self.len += 1;
    }

    /// Puts a key known to be absent into the first free slot of its probe sequence.
    fn place(&mut self, key: u64, value: Session) {
        let mask = self.mask();
        let mut i = self.home(key);
        while self.slots[i].key != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot { key, value };
    }

    fn grow(&mut self) {
        let bigger = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        for s in old.into_iter().filter(|s| s.key != 0) {
            self.place(s.key, s.value);
        }
    }

    /// Removes and returns the session of `pid`.
    #[inline]
    pub fn remove(&mut self, pid: u32) -> Option<Session> {
        let mut hole = self.find(pid)?;
        let value = self.slots[hole].value;
        let mask = self.mask();
        // Backward-shift deletion: move later entries of the cluster into the hole when
        // their home slot does not lie cyclically in (hole, j].
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let k = self.slots[j].key;
            if k == 0 {
                break;
            }
            let home = self.home(k);
            let dist_home = j.wrapping_sub(home) & mask;
            let dist_hole = j.wrapping_sub(hole) & mask;
            if dist_home >= dist_hole {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
        }
        self.slots[hole] = Slot::default();
        self.len -= 1;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Random operations agree with `HashMap` (xorshift sequence, pids in a small range so
    /// that collisions, clusters and wrap-around all happen).
    #[test]
    fn agrees_with_hashmap() {
        let mut t = Sessions::default();
        let mut m: HashMap<u32, Session> = HashMap::new();
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for step in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pid = (x % 3000) as u32;
            let v = Session {
                tls: x & 1 == 1,
                client: step,
                slot: step as u32,
            };
            match (x >> 20) % 4 {
                0 | 1 => {
                    t.insert(pid, v);
                    m.insert(pid, v);
                }
                2 => assert_eq!(t.remove(pid), m.remove(&pid), "step {step}"),
                _ => {
                    assert_eq!(t.get_mut(pid).copied(), m.get(&pid).copied());
                    assert_eq!(t.contains_key(pid), m.contains_key(&pid));
                }
            }
            assert_eq!(t.len(), m.len());
        }
        for pid in 0..3000 {
            assert_eq!(t.get_mut(pid).copied(), m.get(&pid).copied(), "pid {pid}");
        }
        assert!(t.insert_remove_zero_and_max());
    }

    impl Sessions {
        fn insert_remove_zero_and_max(&mut self) -> bool {
            let v = Session {
                tls: true,
                client: 7,
                slot: 3,
            };
            self.insert(0, v);
            self.insert(u32::MAX, v);
            self.remove(0) == Some(v) && self.remove(u32::MAX) == Some(v) && !self.contains_key(0)
        }
    }
}
