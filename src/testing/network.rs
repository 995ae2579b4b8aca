//! Where simulated connections are made: the seeded latency of every packet.
//!
//! Part of `testing::duplex` (see `duplex.rs` for the stream itself): a
//! [`Network`] hands out connected [`DuplexStream`] pairs and draws each
//! packet's latency from one seeded generator, so the same seed gives the
//! same deliveries on every run. [`duplex`] is the plain pair: no latency.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::duplex::{lock, DuplexStream};
use super::wire::Wire;
use super::Rng;

/// Bytes a direction holds (on the wire and unread) before a writer waits.
pub const DEFAULT_CAPACITY: usize = 64 * 1024;

/// A pair of connected in-memory streams with no latency and no faults:
/// what one writes, the other reads at once (tokio's `io::duplex`). For a
/// seeded latency, make the pair with a [`Network`].
///
/// ```
/// evloop::Runtime::builder().start_paused(true).build().unwrap().block_on(async {
///     let (mut a, mut b) = evloop::testing::duplex(1024);
///     a.write_all(b"ping").await.unwrap();
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"ping");
/// });
/// ```
pub fn duplex(capacity: usize) -> (DuplexStream, DuplexStream) {
    Network::new(0)
        .latency(Duration::ZERO, Duration::ZERO)
        .capacity(capacity)
        .pair()
}

/// Where simulated connections are made: it draws every packet's latency
/// from one seeded generator, so the same seed gives the same deliveries.
///
/// ```
/// use std::time::Duration;
/// use evloop::testing::Network;
/// use evloop::time::Instant;
/// let rt = evloop::Runtime::builder().start_paused(true).seed(3).build().unwrap();
/// rt.block_on(async {
///     let net = Network::new(3).latency(Duration::from_millis(1), Duration::from_millis(20));
///     let (mut client, mut server) = net.pair();
///     let sent = Instant::now();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     let took = sent.elapsed(); // virtual time: 1 to 20 ms, as the seed drew it
///     assert!(took >= Duration::from_millis(1) && took <= Duration::from_millis(20));
/// });
/// ```
#[derive(Clone)]
pub struct Network {
    rng: Arc<Mutex<Rng>>,
    /// Each packet's latency is drawn from `min..=max`, in whole milliseconds
    /// (the timer wheel's tick).
    min: Duration,
    max: Duration,
    capacity: usize,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("latency", &(self.min..=self.max))
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// A network whose latencies come from `seed`: 0 to 5 ms per packet,
    /// 64 KiB per direction. In `explore`, pass the run's seed.
    pub fn new(seed: u64) -> Network {
        Network {
            // A different stream of numbers from the scheduler's, though the
            // seed is the same: the two must not move in lockstep.
            rng: Arc::new(Mutex::new(Rng::new(seed ^ 0x6E65_7477_6F72_6B00))),
            min: Duration::ZERO,
            max: Duration::from_millis(5),
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// Each packet takes between `min` and `max` to arrive (whole milliseconds).
    pub fn latency(mut self, min: Duration, max: Duration) -> Network {
        assert!(
            min <= max,
            "Network::latency: min ({min:?}) > max ({max:?})"
        );
        (self.min, self.max) = (min, max);
        self
    }

    /// Bytes one direction holds before its writer waits for the reader.
    pub fn capacity(mut self, bytes: usize) -> Network {
        assert!(
            bytes > 0,
            "Network::capacity: a connection must hold a byte"
        );
        self.capacity = bytes;
        self
    }

    /// A new connection: two streams, each reading what the other writes.
    pub fn pair(&self) -> (DuplexStream, DuplexStream) {
        let a_to_b = Arc::new(Mutex::new(Wire::new(self.capacity)));
        let b_to_a = Arc::new(Mutex::new(Wire::new(self.capacity)));
        let a = DuplexStream::new(b_to_a.clone(), a_to_b.clone(), self.clone());
        let b = DuplexStream::new(a_to_b, b_to_a, self.clone());
        (a, b)
    }

    /// The next packet's latency.
    pub(super) fn draw(&self) -> Duration {
        let (min, max) = (self.min.as_millis() as u64, self.max.as_millis() as u64);
        let spread = lock(&self.rng).below(max - min + 1);
        Duration::from_millis(min + spread)
    }
}
