//! The window of recently counted queue IDs, for de-duplicating `message-id=` lines: exact
//! set semantics over the last [`QID_WINDOW`] distinct IDs inserted, oldest evicted first.
//!
//! Every accepted message does one insert (and, once the window is full, one eviction), so
//! this is on the hot path, and its cost is cache misses. The keys live once, in a ring
//! (1 MiB, touched in order); the index is a linear-probing table of `u64` slots that hold
//! the key's ring position and the rest of its hash, so a probe reads the ring only when 47
//! hash bits match, and a deletion (backward shift) recomputes no home slot from the ring.

/// Queue IDs are de-duplicated within the last this-many distinct IDs counted (a repeated
/// `message-id=` line for the same queue ID comes right after the first in practice; a log
/// given twice, e.g. `maillog` and an overlapping copy, repeats IDs further apart).
pub const QID_WINDOW: usize = 1 << 16;

/// Index slots: twice the window, so the load factor never exceeds 1/2.
const SLOTS: usize = QID_WINDOW * 2;
const SLOT_BITS: u32 = SLOTS.trailing_zeros();
/// Low 17 bits of a slot: ring position + 1 (0 = empty slot); high 47 bits: the hash's top
/// 47 bits (whose top [`SLOT_BITS`] are the home slot).
const POS_BITS: u32 = 17;
const POS_MASK: u64 = (1 << POS_BITS) - 1;

/// A queue ID as an exact 128-bit key (see `analyzer::qid_key`).
pub(crate) type QidKey = u128;

/// The set of the last [`QID_WINDOW`] distinct queue IDs inserted.
#[derive(Debug, Clone)]
pub(crate) struct QidWindow {
    /// Keys in insertion order, circular once full: `ring[head]` is the oldest.
    ring: Vec<QidKey>,
    head: usize,
    slots: Vec<u64>,
}

impl Default for QidWindow {
    fn default() -> Self {
        QidWindow {
            ring: Vec::new(),
            head: 0,
            // Zeroed allocation: pages are mapped only when touched.
            slots: vec![0; SLOTS],
        }
    }
}

/// 64 well-mixed bits of a key (Murmur3's finaliser over both halves).
#[inline]
fn mix(key: QidKey) -> u64 {
    let mut x = (key as u64) ^ ((key >> 64) as u64).rotate_left(31);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The hash bits a slot keeps (its high bits; a slot is empty by its position field, so any
/// hash is valid).
#[inline]
fn tag_of(key: QidKey) -> u64 {
    mix(key) & !POS_MASK
}

/// Home slot of a stored tag: its top bits.
#[inline]
fn home(tag: u64) -> usize {
    (tag >> (64 - SLOT_BITS)) as usize
}

impl QidWindow {
    /// Number of IDs held (at most [`QID_WINDOW`]).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ring.len()
    }

    /// The IDs held, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = QidKey> + '_ {
        let (newer, older) = self.ring.split_at(self.head);
        older.iter().chain(newer).copied()
    }

    /// Slot index holding the ring position `pos`, searched from `home`.
    #[inline]
    fn slot_of(&self, home: usize, pos: usize) -> Option<usize> {
        let want = pos as u64 + 1;
        let mut i = home;
        // At most half the slots are used, so an empty slot ends every probe.
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if s & POS_MASK == want {
                return Some(i);
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    /// Whether `key` is held.
    #[inline]
    pub(crate) fn contains(&self, key: QidKey) -> bool {
        let tag = tag_of(key);
        let mut i = home(tag);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return false;
            }
            // Positions stored are ring indices + 1, always < ring.len() + 1.
            if s & !POS_MASK == tag && self.ring[(s & POS_MASK) as usize - 1] == key {
                return true;
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    /// Inserts `key`: `true` if it was not held (then, with the window full, the oldest ID
    /// is evicted), `false` if it was (nothing changes).
    #[inline]
    pub(crate) fn insert(&mut self, key: QidKey) -> bool {
        if self.contains(key) {
            return false;
        }
        let pos = if self.ring.len() < QID_WINDOW {
            self.ring.push(key);
            self.ring.len() - 1
        } else {
            let pos = self.head;
            self.evict(pos);
            self.ring[pos] = key;
            self.head = (pos + 1) % QID_WINDOW;
            pos
        };
        let tag = tag_of(key);
        let mut i = home(tag);
        while self.slots[i] != 0 {
            i = (i + 1) & (SLOTS - 1);
        }
        self.slots[i] = tag | (pos as u64 + 1);
        true
    }

    /// Removes the index slot of ring position `pos` (backward-shift deletion: later entries
    /// of the cluster move into the hole unless their home lies cyclically in (hole, j]).
    fn evict(&mut self, pos: usize) {
        let Some(mut hole) = self.slot_of(home(tag_of(self.ring[pos])), pos) else {
            return;
        };
        let mut j = hole;
        loop {
            j = (j + 1) & (SLOTS - 1);
            let s = self.slots[j];
            if s == 0 {
                break;
            }
            let dist_home = j.wrapping_sub(home(s)) & (SLOTS - 1);
            let dist_hole = j.wrapping_sub(hole) & (SLOTS - 1);
            if dist_home >= dist_hole {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashSet, VecDeque};

    /// The obvious model: a set plus a FIFO of the same keys.
    #[derive(Default)]
    struct Model {
        set: HashSet<QidKey>,
        fifo: VecDeque<QidKey>,
    }

    impl Model {
        fn insert(&mut self, key: QidKey) -> bool {
            if !self.set.insert(key) {
                return false;
            }
            self.fifo.push_back(key);
            if self.fifo.len() > QID_WINDOW {
                let old = self.fifo.pop_front().unwrap();
                self.set.remove(&old);
            }
            true
        }
    }

    /// Random inserts over a key range a little wider than the window (so that keys are
    /// evicted and come back, clusters form and wrap) agree with the model at every step,
    /// and membership agrees afterwards for every key of the range.
    #[test]
    fn agrees_with_set_and_fifo() {
        let mut w = QidWindow::default();
        let mut m = Model::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let range = (QID_WINDOW as u64) * 5 / 4;
        for step in 0..600_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Some keys share their low or high half, as queue IDs with a common prefix do.
            let k = x % range;
            let key = if step % 3 == 0 {
                u128::from(k) << 64
            } else {
                u128::from(k) | (7u128 << 64)
            };
            assert_eq!(w.insert(key), m.insert(key), "step {step}");
            assert_eq!(w.len(), m.fifo.len());
        }
        for k in 0..range {
            for key in [u128::from(k) << 64, u128::from(k) | (7u128 << 64)] {
                assert_eq!(w.contains(key), m.set.contains(&key), "key {key:x}");
            }
        }
        assert!(w.iter().eq(m.fifo.iter().copied()));
    }

    #[test]
    fn eviction_is_oldest_first() {
        let mut w = QidWindow::default();
        for k in 0..QID_WINDOW as u128 {
            assert!(w.insert(k));
        }
        assert!(!w.insert(0), "still held: the window is exactly full");
        assert!(w.insert(QID_WINDOW as u128));
        assert!(!w.contains(0), "the oldest went first");
        assert!(w.contains(1));
        assert!(w.insert(0), "counted again once out of the window");
        assert_eq!(w.len(), QID_WINDOW);
    }
}

#[cfg(test)]
mod bench_tmp {
    use super::*;
    #[test]
    #[ignore]
    fn speed() {
        let mut w = QidWindow::default();
        let keys: Vec<u128> = (0..2_000_000u64).map(|k| {
            let s = format!("{:010X}aa", 0x1A2B3C4D02u64 + k * 3);
            let mut b = [0u8; 16];
            b[..s.len()].copy_from_slice(s.as_bytes());
            u128::from_le_bytes(b)}).collect();
        let t = std::time::Instant::now();
        let mut n = 0;
        for &k in &keys {
            if w.insert(k) { n += 1; }
        }
        eprintln!("{n} in {:?}", t.elapsed());
    }
}
