//! Worked answer to lesson 02's second-half Try-it: a second `.await` is a
//! second suspended state.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use evloop::time::{sleep, Sleep};
use evloop::Runtime;

// ANCHOR: answer
/// The `async fn`, with two awaits.
async fn task(name: &'static str, seconds: Duration) -> &'static str {
    println!("Task {name} started");
    sleep(seconds).await;
    println!("Task {name} finished");
    sleep(seconds).await;
    println!("Task {name} done");
    name
}

/// The same, by hand: one variant per await, each holding what is used after it.
enum TaskByHand {
    Start {
        name: &'static str,
        seconds: Duration,
    },
    First {
        name: &'static str,
        seconds: Duration,
        sleep: Sleep,
    },
    Second {
        name: &'static str,
        sleep: Sleep,
    }, // `seconds` is not needed any more
    Done,
}

impl Future for TaskByHand {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        let this = self.get_mut(); // every field is Unpin
        loop {
            match this {
                TaskByHand::Start { name, seconds } => {
                    let (name, seconds) = (*name, *seconds);
                    println!("Task {name} started");
                    *this = TaskByHand::First {
                        name,
                        seconds,
                        sleep: sleep(seconds),
                    };
                }
                TaskByHand::First {
                    name,
                    seconds,
                    sleep: inner,
                } => {
                    if Pin::new(inner).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let (name, seconds) = (*name, *seconds);
                    println!("Task {name} finished");
                    *this = TaskByHand::Second {
                        name,
                        sleep: sleep(seconds),
                    };
                }
                TaskByHand::Second { name, sleep: inner } => {
                    if Pin::new(inner).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let name = *name;
                    println!("Task {name} done");
                    *this = TaskByHand::Done;
                    return Poll::Ready(name);
                }
                TaskByHand::Done => panic!("`async fn` resumed after completion"),
            }
        }
    }
}
// ANCHOR_END: answer

/// Spawn A, B and C made by `make` on a paused, tracing runtime; the timeline.
fn timeline<F>(make: impl Fn(&'static str) -> F) -> String
where
    F: Future<Output = &'static str> + Send + 'static,
{
    let rt = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .unwrap();
    let handles: Vec<_> = ["A", "B", "C"].map(|n| rt.spawn_named(n, make(n))).into();
    let names = rt.block_on(evloop::join_all(handles));
    assert_eq!(
        names.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        ["A", "B", "C"]
    );
    assert_eq!(
        rt.elapsed(),
        Duration::from_secs(4),
        "two 2-second sleeps in a row"
    );
    rt.trace().timeline()
}

#[test]
fn two_awaits_two_suspended_states_same_trace() {
    let two = Duration::from_secs(2);
    let compiled = timeline(|n| task(n, two));
    let by_hand = timeline(|n| TaskByHand::Start {
        name: n,
        seconds: two,
    });
    assert_eq!(compiled, by_hand);
    // Three polls per task, and two clock jumps.
    assert_eq!(compiled.matches("poll   A →").count(), 3);
    assert_eq!(compiled.matches("clock  jumps").count(), 2);
}
