//! Worked answer to lesson 06's second-half Try-it: a task group that keeps
//! what succeeded before the first failure.

use std::future::Future;
use std::time::Duration;

use evloop::task::JoinSet;
use evloop::time::sleep;
use evloop::Runtime;

// ANCHOR: answer
/// The first failure, with every output that came in before the group stopped.
#[derive(Debug, PartialEq)]
pub struct Failed<T, E> {
    pub error: E,
    pub finished: Vec<T>,
}

pub async fn task_group<T, E, F>(
    children: impl IntoIterator<Item = F>,
) -> Result<Vec<T>, Failed<T, E>>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let mut set = JoinSet::new();
    for child in children {
        set.spawn(child);
    }
    let mut finished = Vec::new();
    let mut error = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(value)) => finished.push(value),
            Ok(Err(e)) if error.is_none() => {
                set.abort_all();
                error = Some(e);
            }
            Ok(Err(_later)) => {} // failed too, after the first: dropped
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_cancelled) => {}
        }
    }
    match error {
        Some(error) => Err(Failed { error, finished }),
        None => Ok(finished),
    }
}
// ANCHOR_END: answer

async fn cook(dish: &'static str, seconds: u64) -> Result<&'static str, String> {
    sleep(Duration::from_secs(seconds)).await;
    if dish == "eggs" {
        return Err(format!("dropped the {dish}"));
    }
    Ok(dish)
}

#[test]
fn the_toast_is_kept_when_the_eggs_fail() {
    let rt = Runtime::builder().start_paused(true).build().unwrap();
    let result = rt.block_on(task_group(
        [("toast", 1), ("eggs", 2), ("coffee", 3)].map(|(d, s)| cook(d, s)),
    ));
    assert_eq!(
        result,
        Err(Failed {
            error: "dropped the eggs".to_string(),
            finished: vec!["toast"]
        })
    );
    assert_eq!(rt.elapsed(), Duration::from_secs(2));
}
