//! Riding out a failing `accept`: wait longer each time, and say so rarely.
//!
//! `accept(2)` fails for reasons that are not the listener's fault: the
//! process is out of file descriptors (`EMFILE`), the system is (`ENFILE`),
//! the kernel is short of socket memory (`ENOBUFS`, `ENOMEM`). The waiting
//! connection stays in the kernel's backlog, so the listener stays readable
//! and the next `accept` fails the same way at once. An accept loop that
//! retries on a fixed short sleep and logs every failure writes a hundred
//! lines a second and spends its time failing — while the cure (connections
//! closing, descriptors freed) takes seconds.
//!
//! So [`serve`](super::serve) backs off the way a client retries a busy
//! server: wait 10 ms after the first failure, twice as long after each
//! failure in a row, never more than 1 s; the first success starts again at
//! 10 ms. And it logs at most one line a second, with the number of
//! failures it did not print. The wait is a timer — [`sleep`] on the
//! runtime's clock — so the connections already accepted are served
//! meanwhile: the backoff pauses only the accept loop's own task.
//!
//! [`AcceptBackoff::failed`] decides, as a pure function of the time it is
//! given; [`AcceptBackoff::pause`] carries the decision out on the loop. Any
//! accept loop can use them — the blocking one of lesson 11's
//! thread-per-connection server does, with `std::thread::sleep`.

use std::io;
use std::time::{Duration, Instant};

use crate::runtime::log::warn;
use crate::time::sleep;

/// What to do after a failed `accept`: how long to wait before the next
/// one, and whether to log this failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptPause {
    /// Wait this long before accepting again.
    pub wait: Duration,
    /// `Some(n)`: log this failure, and say that `n` failures since the last
    /// line were not logged. `None`: a line went out less than
    /// [`AcceptBackoff::LOG_EVERY`] ago; stay quiet (the failure is counted).
    pub log: Option<u64>,
}

/// The state of an accept loop's backoff: the next wait, and when it last
/// logged. One per accept loop.
///
/// ```
/// use std::time::{Duration, Instant};
/// use evloop::http::AcceptBackoff;
///
/// let mut backoff = AcceptBackoff::new();
/// let t = Instant::now();
/// let first = backoff.failed(t);
/// assert_eq!((first.wait, first.log), (Duration::from_millis(10), Some(0)));
/// let second = backoff.failed(t + Duration::from_millis(10));
/// assert_eq!((second.wait, second.log), (Duration::from_millis(20), None));
/// backoff.succeeded(); // the next failure waits 10 ms again
/// assert_eq!(backoff.failed(t + Duration::from_millis(30)).wait, Duration::from_millis(10));
/// ```
#[derive(Debug, Clone)]
pub struct AcceptBackoff {
    /// How long the next failure waits: doubles per failure, reset by success.
    next_wait: Duration,
    /// When the last line was logged (`None`: never), for the rate limit.
    last_logged: Option<Instant>,
    /// Failures not logged since that line.
    unlogged: u64,
}

impl AcceptBackoff {
    /// The wait after the first failure in a row: short, since one failure
    /// may be a single connection reset before it was taken.
    pub const FIRST_WAIT: Duration = Duration::from_millis(10);
    /// The longest wait: a server out of descriptors still tries once a
    /// second, so it recovers within a second of one being freed.
    pub const MAX_WAIT: Duration = Duration::from_secs(1);
    /// At most one log line per this long.
    pub const LOG_EVERY: Duration = Duration::from_secs(1);

    /// No failure yet.
    pub fn new() -> AcceptBackoff {
        AcceptBackoff {
            next_wait: AcceptBackoff::FIRST_WAIT,
            last_logged: None,
            unlogged: 0,
        }
    }

    /// An `accept` succeeded: the next failure starts at
    /// [`FIRST_WAIT`](Self::FIRST_WAIT) again. (The log's rate limit is not
    /// reset: a server flapping between success and failure still logs at
    /// most once a second.)
    pub fn succeeded(&mut self) {
        self.next_wait = AcceptBackoff::FIRST_WAIT;
    }

    /// An `accept` failed at `now`: how long to wait, and whether to log.
    pub fn failed(&mut self, now: Instant) -> AcceptPause {
        let wait = self.next_wait;
        self.next_wait = (wait * 2).min(AcceptBackoff::MAX_WAIT);
        let quiet = self
            .last_logged
            .is_some_and(|last| now.saturating_duration_since(last) < AcceptBackoff::LOG_EVERY);
        let log = if quiet {
            self.unlogged += 1;
            None
        } else {
            self.last_logged = Some(now);
            Some(std::mem::take(&mut self.unlogged))
        };
        AcceptPause { wait, log }
    }

    /// [`failed`](Self::failed) on the runtime's clock, then carry it out:
    /// log through the runtime's non-blocking logger (an `eprintln!` here
    /// would block the whole loop on a stderr pipe nobody reads), and sleep.
    /// `what` names the server in the log line.
    pub async fn pause(&mut self, what: &str, error: &io::Error) {
        let pause = self.failed(crate::time::Instant::now().into_std());
        if let Some(unlogged) = pause.log {
            let more = match unlogged {
                0 => String::new(),
                n => format!(" ({n} more since the last line)"),
            };
            warn(format_args!(
                "{what}: accept failed: {error}{more}; trying again in {:?}",
                pause.wait
            ));
        }
        sleep(pause.wait).await;
    }
}

impl Default for AcceptBackoff {
    fn default() -> AcceptBackoff {
        AcceptBackoff::new()
    }
}
