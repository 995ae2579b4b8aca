//! `ReadBuf`: the bytes read from the socket but not yet parsed into frames.
//!
//! A frame may arrive in many reads, and one read may hold many frames, so
//! the parser works on a buffer, not on the socket. The buffer is reused
//! read after read: it is zero-filled once, when it grows, never per read —
//! a chat server wakes each client task a million times, and a 16 KiB
//! `memset` per wake-up was once the hottest line of the whole server.
//!
//! But a buffer that grew for one big frame must not keep its size for the
//! rest of the connection: a client that sent one 16 MiB message would pin
//! 16 MiB for hours. So a big payload *takes* the buffer with it (the
//! message is the buffer, no copy), and after every frame [`release`]
//! gives back whatever grew past [`IDLE_CAPACITY`].
//!
//! [`release`]: ReadBuf::release

use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncRead;

/// The smallest read we ask the kernel for.
const MIN_READ: usize = 16 * 1024;
/// The largest: a 16 MiB message is read in 1 MiB gulps.
const MAX_READ: usize = 1024 * 1024;
/// What a buffer may keep between frames. Small frames never grow it past
/// this (a read asks for [`MIN_READ`]); a bigger buffer was grown for one big
/// frame, and zero-filling the next big one again costs less than holding
/// the memory of every connection that ever sent one.
pub(crate) const IDLE_CAPACITY: usize = 64 * 1024;

#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    /// Every byte is initialised; `buf[start..end]` is unparsed data.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// Start with bytes that were read before the WebSocket existed (past
    /// the handshake).
    pub(crate) fn new(leftover: Vec<u8>) -> ReadBuf {
        let end = leftover.len();
        ReadBuf {
            buf: leftover,
            start: 0,
            end,
        }
    }

    /// Where the unparsed bytes begin, as an index into [`bytes`](Self::bytes).
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The unparsed bytes.
    pub(crate) fn unparsed(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The whole buffer, for indexes taken before a [`consume`](Self::consume):
    /// consumed bytes stay where they are until the next read.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Mark `n` bytes as parsed.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(self.start + n <= self.end);
        self.start += n;
        if self.start == self.end {
            // Everything parsed (the common case): start again at the front.
            self.start = 0;
            self.end = 0;
        }
    }

    /// The payload at `range` (indexes into [`bytes`](Self::bytes), already
    /// consumed), as an owned `Vec`. A small one is copied. A big one takes
    /// the whole buffer, which was grown for it: the message *is* the buffer,
    /// so one 16 MiB message costs 16 MiB, not 32; the bytes read past it (the
    /// next frame's beginning, if any) move to a fresh buffer.
    pub(crate) fn take(&mut self, range: Range<usize>) -> Vec<u8> {
        if range.len() < IDLE_CAPACITY {
            return self.buf[range].to_vec();
        }
        let rest = self.unparsed().to_vec();
        (self.start, self.end) = (0, rest.len());
        let mut payload = std::mem::replace(&mut self.buf, rest);
        payload.truncate(range.end);
        payload.drain(..range.start); // the header: a few bytes moved, nothing allocated
        if payload.capacity() - payload.len() > IDLE_CAPACITY {
            // Growing doubled the capacity; the message need not carry that around.
            payload.shrink_to_fit();
        }
        payload
    }

    /// A frame was handled: if the buffer grew past [`IDLE_CAPACITY`] for
    /// it, give that memory back, keeping only the bytes not parsed yet.
    /// One comparison when it did not (the common case).
    pub(crate) fn release(&mut self) {
        if self.buf.capacity() > IDLE_CAPACITY {
            self.buf = self.unparsed().to_vec();
            (self.start, self.end) = (0, self.buf.len());
        }
    }

    /// Bytes of memory the buffer holds (its capacity), parsed or not.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Forget everything and free the memory (the connection is closed).
    pub(crate) fn clear(&mut self) {
        *self = ReadBuf::default();
    }

    /// Read once from `stream`, wanting `wanted` more bytes (0: unknown).
    /// `Ok(0)` is end of stream. Cancel-safe: nothing changes unless the
    /// read returns bytes, and then they are kept in the same poll.
    pub(crate) fn poll_fill<S: AsyncRead + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut S,
        wanted: usize,
    ) -> Poll<io::Result<usize>> {
        let window = wanted.clamp(MIN_READ, MAX_READ);
        if self.buf.len() - self.end < window {
            // Make room: first by moving the unparsed bytes to the front,
            // then, if that is not enough, by growing (zero-filled once).
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end < window {
                self.buf.resize(self.end + window, 0);
            }
        }
        let end = self.end;
        let result = Pin::new(stream).poll_read(cx, &mut self.buf[end..]);
        if let Poll::Ready(Ok(n)) = result {
            self.end += n;
        }
        result
    }
}
