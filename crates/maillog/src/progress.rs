//! Progress bar for large inputs on a terminal. It counts raw (compressed) bytes per `read`
//! call of the underlying file (reads are 32 KiB..1 MiB), never per line.

use std::io::{IsTerminal, Read};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs smaller than this never show a bar.
pub const PROGRESS_MIN_BYTES: u64 = 256 << 20;

/// A bar when stderr is a terminal, `quiet` is off and the input is large; else `None`.
pub fn maybe_bar(total: u64, quiet: bool) -> Option<ProgressBar> {
    if quiet || total < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

/// A reader that advances a progress bar by the bytes it reads.
pub struct Counting<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R> Counting<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, bar: ProgressBar) -> Self {
        Counting { inner, bar }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}
