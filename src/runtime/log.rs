//! The runtime's one way to warn: a line on stderr that never blocks the loop.
//!
//! The loop must never block except in step 4 — and `eprintln!` can: when
//! stderr is a pipe nobody reads, a write waits until the reader catches up,
//! and when stderr is closed, `eprintln!` panics. So warnings (a slow poll, a
//! destructor that panicked) go through here instead: the loop formats the
//! line and hands it to one background thread over a bounded channel, and
//! that thread does the blocking write. A full channel drops the line (and
//! counts it); a failed write is ignored. The loop's cost is a `try_send`.
//!
//! `flush` waits, briefly, for the lines already handed over: a runtime
//! calls it when dropped, so a program's last warning is not lost at exit.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// Lines waiting for the writer thread, at most. A loop that warns faster
/// than stderr drains loses lines rather than time.
const CAPACITY: usize = 1024;

/// How long [`flush`] waits for the writer at most.
const FLUSH_WAIT: Duration = Duration::from_millis(200);

struct Logger {
    lines: Sender<Line>,
    /// Lines handed over and not yet written (or dropped by the writer).
    pending: AtomicU64,
    /// Lines dropped because the channel was full or the writer is gone.
    dropped: AtomicU64,
}

enum Line {
    Text(String),
}

/// Started by the first warning: a program that never warns has no thread.
static LOGGER: OnceLock<Logger> = OnceLock::new();

fn logger() -> &'static Logger {
    LOGGER.get_or_init(|| {
        let (lines, receiver) = crossbeam_channel::bounded(CAPACITY);
        // If the OS refuses a thread, every line is counted as dropped.
        let _ = std::thread::Builder::new()
            .name("evloop-log".into())
            .spawn(move || write_lines(receiver));
        Logger {
            lines,
            pending: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    })
}

/// The writer thread: one blocking write per line, errors ignored.
fn write_lines(receiver: Receiver<Line>) {
    for Line::Text(text) in receiver {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
        let _ = stderr.flush();
        drop(stderr);
        logger().pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Warn on stderr without ever blocking or panicking (see the module doc).
///
/// For code on the loop's thread — a server's accept loop, a protocol
/// handler — that must report something and must not stall every task if
/// stderr is a pipe nobody reads:
///
/// ```
/// evloop::runtime::log::warn(format_args!("accept failed: {}", "too many open files"));
/// ```
pub fn warn(message: fmt::Arguments<'_>) {
    let log = logger();
    log.pending.fetch_add(1, Ordering::AcqRel);
    match log.lines.try_send(Line::Text(message.to_string())) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
            log.pending.fetch_sub(1, Ordering::AcqRel);
            log.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Lines lost so far because stderr could not keep up (or the writer
/// thread could not be started).
pub fn dropped() -> u64 {
    logger().dropped.load(Ordering::Relaxed)
}

/// Wait up to a fifth of a second for the lines already handed over to be
/// written. Called when a runtime is dropped.
pub(crate) fn flush() {
    let Some(log) = LOGGER.get() else {
        return; // nothing was ever logged
    };
    let deadline = Instant::now() + FLUSH_WAIT;
    while log.pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}
