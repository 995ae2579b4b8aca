//! One direction of a simulated connection: the bytes on the wire, when each
//! arrives, and the faults injected into it.
//!
//! Part of `testing::duplex`: a [`DuplexStream`](super::DuplexStream) writes
//! into one `Wire` and reads from another. Each write becomes a *packet*
//! stamped with the (virtual) time it arrives: now plus a latency the
//! [`Network`](super::Network) draws from its seeded generator, never before
//! the packet written ahead of it (a connection keeps its order, as TCP does;
//! two connections do not, so their messages interleave differently under
//! different seeds). A reader takes only packets that have arrived, and waits
//! for the next one on an ordinary evloop timer.
//!
//! A wire is shared by its two ends behind a `Mutex` (the streams are `Send`,
//! like a `TcpStream`); wakers are taken out under the lock and woken after it.

use std::collections::VecDeque;
use std::task::Waker;

use crate::time::Instant;

/// Bytes written in one call, and when they reach the reader.
struct Packet {
    data: Vec<u8>,
    /// How much of `data` the reader has taken.
    taken: usize,
    arrives: Instant,
}

/// One direction of a connection (see the module doc).
pub(super) struct Wire {
    packets: VecDeque<Packet>,
    /// Bytes written and not yet read (on the wire or arrived): what the
    /// capacity bounds, so a writer waits for a slow reader (backpressure).
    pub(super) queued: usize,
    pub(super) capacity: usize,
    /// When the last packet arrives: the next one may not arrive earlier.
    last_arrival: Option<Instant>,
    /// The writer shut down or was dropped: end of stream after the packets.
    pub(super) closed: bool,
    /// The writer vanished: after the packets that left before it did, the
    /// reader gets `ConnectionReset` instead of a clean end of stream.
    pub(super) reset: bool,
    /// The reader was dropped: writes fail with `BrokenPipe`.
    pub(super) reader_gone: bool,
    /// Nothing sent before this arrives before it (an injected stall).
    stalled_until: Option<Instant>,
    /// Bytes the writer may still send before it vanishes (an injected fault).
    pub(super) vanish_after: Option<usize>,
    pub(super) read_waker: Option<Waker>,
    pub(super) write_waker: Option<Waker>,
}

impl Wire {
    pub(super) fn new(capacity: usize) -> Wire {
        Wire {
            packets: VecDeque::new(),
            queued: 0,
            capacity,
            last_arrival: None,
            closed: false,
            reset: false,
            reader_gone: false,
            stalled_until: None,
            vanish_after: None,
            read_waker: None,
            write_waker: None,
        }
    }

    /// Put `data` on the wire, to arrive at `arrives` (or just after the
    /// packet ahead of it, whichever is later).
    pub(super) fn send(&mut self, data: &[u8], arrives: Instant) {
        let arrives = self.last_arrival.map_or(arrives, |last| arrives.max(last));
        let arrives = self
            .stalled_until
            .map_or(arrives, |until| arrives.max(until));
        self.last_arrival = Some(arrives);
        self.queued += data.len();
        self.packets.push_back(Packet {
            data: data.to_vec(),
            taken: 0,
            arrives,
        });
    }

    /// When the first packet not yet read arrives; `None` if nothing is on the wire.
    pub(super) fn next_arrival(&self) -> Option<Instant> {
        Some(self.packets.front()?.arrives)
    }

    /// Copy what has arrived by `now` into `buf`; how many bytes.
    pub(super) fn take(&mut self, buf: &mut [u8], now: Instant) -> usize {
        let mut n = 0;
        while n < buf.len() && self.next_arrival().is_some_and(|at| at <= now) {
            let Some(packet) = self.packets.front_mut() else {
                break;
            };
            let part = &packet.data[packet.taken..];
            let k = part.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&part[..k]);
            packet.taken += k;
            n += k;
            if packet.taken == packet.data.len() {
                self.packets.pop_front();
            }
        }
        self.queued -= n;
        n
    }

    /// Hold every delivery not yet arrived by `now` until `until`, and every
    /// packet sent before then. What arrived already stays readable.
    pub(super) fn stall(&mut self, now: Instant, until: Instant) {
        self.stalled_until = Some(self.stalled_until.map_or(until, |s| s.max(until)));
        for packet in self.packets.iter_mut().filter(|p| p.arrives > now) {
            packet.arrives = packet.arrives.max(until);
        }
        if let Some(last) = &mut self.last_arrival {
            *last = (*last).max(until);
        }
    }
}
