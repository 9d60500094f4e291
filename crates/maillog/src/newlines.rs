//! Newline positions of a buffer, 64 bytes at a time: one comparison per 16 bytes gives a
//! bitmask of the `\n` bytes, and each line end is then one `trailing_zeros`.
//!
//! The line splitter runs this over every byte of a full scan. `memchr_iter` is the
//! general tool, but a call per line (lines are ~150 bytes) spent ~110 instructions per
//! line in call setup, alignment and the iterator; this is about half of that.

/// Calls `f(i)` for the index `i` of every `\n` in `hay`, in order.
#[inline(always)]
pub fn for_each_newline(hay: &[u8], mut f: impl FnMut(usize)) {
    let mut blocks = hay.chunks_exact(64);
    let mut base = 0;
    for block in &mut blocks {
        let mut mask = newline_mask(block);
        while mask != 0 {
            f(base + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
        base += 64;
    }
    for i in memchr::memchr_iter(b'\n', blocks.remainder()) {
        f(base + i);
    }
}

/// Bit `k` set where `block[k] == b'\n'` (`block` is 64 bytes).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn newline_mask(block: &[u8]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    debug_assert_eq!(block.len(), 64);
    let mut mask = 0u64;
    for (k, part) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is in every x86_64 CPU's baseline features, so the intrinsics are
        // available; `part` is 16 readable bytes (a `chunks_exact(16)` piece) and the load
        // is an unaligned one.
        let bits = unsafe {
            let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)))
        };
        // movemask sets the low 16 bits of an i32 (one per byte), the rest are 0.
        mask |= u64::from(bits as u32 & 0xFFFF) << (16 * k);
    }
    mask
}

/// Bit `k` set where `block[k] == b'\n'` (portable fallback).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn newline_mask(block: &[u8]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |m, (k, &c)| m | (u64::from(c == b'\n') << k))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same positions as a byte-by-byte scan, for every length and alignment around the
    /// 64-byte blocks, with newlines dense, sparse, at block edges and absent.
    #[test]
    fn agrees_with_a_byte_scan() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        for len in 0..300 {
            for density in [0u64, 2, 7, 60, 1000] {
                let hay: Vec<u8> = (0..len)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let edge = i % 64 == 0 || i % 64 == 63;
                        if density != 0 && (x.is_multiple_of(density) || (edge && density == 2)) {
                            b'\n'
                        } else {
                            // Any byte (a `\n` among them by chance is expected too), many
                            // with the high bit set: movemask reads that bit.
                            ((x >> 8) as u8) | (0x80 * ((x >> 20) as u8 & 1))
                        }
                    })
                    .collect();
                let mut got = Vec::new();
                for_each_newline(&hay, |i| got.push(i));
                let want: Vec<usize> = hay
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c == b'\n')
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(got, want, "len {len} density {density}");
            }
        }
    }
}
