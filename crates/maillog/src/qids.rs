//! The window of recently counted queue IDs, for de-duplicating `message-id=` lines: exact
//! set semantics over the last [`QID_WINDOW`] distinct IDs inserted, oldest evicted first.
//!
//! Every accepted message does one insert (and, once the window is full, one eviction), so
//! this is on the hot path, and its cost is cache misses. The keys live once, in a ring
//! (1 MiB, touched in order); the index is a linear-probing table of `u64` slots that hold
//! the key's ring position and the rest of its hash, so a probe reads the ring only when 47
//! hash bits match, and a deletion (backward shift) recomputes no home slot from the ring.
//!
//! Even so, on a full scan the log streaming through the caches evicts the index between two
//! messages, so each insert would wait for two memory loads (its own probe and the evicted
//! key's). [`QidWindow::push`] therefore works a few messages behind: it prefetches the slots
//! the new ID and its future victim will need, and inserts the ID pushed [`DEPTH`] before
//! it, whose slots arrived meanwhile. The order of inserts, and so every result, is
//! unchanged.

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
    /// IDs pushed but not inserted yet (with the caller's timestamps), oldest at `first`.
    queue: [(QidKey, i64); DEPTH],
    first: usize,
    queued: usize,
}

/// How many IDs [`QidWindow::push`] keeps waiting while their slots are fetched.
const DEPTH: usize = 4;

/// An ID taken from the queue and inserted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inserted {
    pub(crate) key: QidKey,
    /// The timestamp given to [`QidWindow::push`].
    pub(crate) ts: i64,
    /// It was not in the window (so it counts).
    pub(crate) new: bool,
}

impl Default for QidWindow {
    fn default() -> Self {
        QidWindow {
            ring: Vec::new(),
            head: 0,
            // Zeroed allocation: pages are mapped only when touched.
            slots: vec![0; SLOTS],
            queue: [(0, 0); DEPTH],
            first: 0,
            queued: 0,
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

    /// Queues `key` (seen at `ts`); once [`DEPTH`] IDs wait, inserts the oldest of them and
    /// returns it. Call [`QidWindow::pop`] until `None` before reading results.
    #[inline]
    pub(crate) fn push(&mut self, key: QidKey, ts: i64) -> Option<Inserted> {
        let done = if self.queued == DEPTH {
            self.pop()
        } else {
            None
        };
        prefetch(self.slots.get(home(tag_of(key))));
        if self.ring.len() == QID_WINDOW {
            // The ID this one will evict if all those queued before it are new.
            let victim = (self.head + self.queued) % QID_WINDOW;
            prefetch(self.slots.get(home(tag_of(self.ring[victim]))));
            // The ring is read in order, but too slowly for the hardware to notice: fetch
            // the victims of a few messages from now.
            prefetch(self.ring.get((victim + 8) % QID_WINDOW));
        }
        self.queue[(self.first + self.queued) % DEPTH] = (key, ts);
        self.queued += 1;
        done
    }

    /// Inserts the oldest queued ID, if any, and returns it.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Inserted> {
        if self.queued == 0 {
            return None;
        }
        let (key, ts) = self.queue[self.first];
        self.first = (self.first + 1) % DEPTH;
        self.queued -= 1;
        let new = self.insert(key);
        Some(Inserted { key, ts, new })
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

    /// Inserts `key` now (bypassing the queue of [`QidWindow::push`]): `true` if it was not
    /// held (then, with the window full, the oldest ID is evicted), `false` if it was
    /// (nothing changes).
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

/// Asks the CPU to start loading the cache line of `r` (a hint only: no effect on results).
#[inline]
fn prefetch<T>(r: Option<&T>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = r {
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it is in the target's
        // baseline features); a prefetch never faults and reads nothing into the program, and
        // the address is that of a live value anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(r).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
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

    /// The prefetching queue gives the same decisions, in the same order, as inserting
    /// directly, with each key's own timestamp.
    #[test]
    fn queued_pushes_equal_direct_inserts() {
        let mut direct = QidWindow::default();
        let mut queued = QidWindow::default();
        let mut got = Vec::new();
        let mut want = Vec::new();
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        for step in 0..300_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = u128::from(x % 90_000);
            want.push((key, step, direct.insert(key)));
            if let Some(i) = queued.push(key, step) {
                got.push((i.key, i.ts, i.new));
            }
            if step % 50_000 == 0 {
                // A partial drain in the middle (as a merge does) changes nothing.
                while let Some(i) = queued.pop() {
                    got.push((i.key, i.ts, i.new));
                }
            }
        }
        while let Some(i) = queued.pop() {
            got.push((i.key, i.ts, i.new));
        }
        assert_eq!(got, want);
        assert!(queued.iter().eq(direct.iter()));
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
