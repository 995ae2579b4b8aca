//! Shared by the tests of the sync primitives and `JoinSet`: run a test body
//! on a paused-clock runtime, on its own thread, so that a hang fails the
//! test after 10 s instead of stalling the whole run.

use std::future::Future;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Run `body` on a paused-clock runtime on its own thread; fail after 10 s.
pub fn guarded<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let rt = evloop::Runtime::builder()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(body());
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("test body hung or panicked");
}
