//! Worked answers to the book's "Try it" exercises, compiled and checked.
//!
//! Each chapter shows its answers collapsed under its "Try it" list, included
//! from `tests/book_answers/<chapter>.rs` through `ANCHOR:` lines, so what the
//! reader opens is code that `cargo test --test book_answers` has just run.
//! Every answer is a `#[test]` that does what the exercise says and asserts
//! what the exercise claims: on the paused clock wherever time is the claim,
//! on the real clock (lower bounds only) where the claim is that a thread
//! really blocks.
//!
//! All the answer modules are listed here, one per chapter: a new chapter's
//! answers get a file in `tests/book_answers/` and a `mod` line below.

use std::time::Duration;

use evloop::Runtime;

/// Lesson 15's chat server, for the answers of lessons 15 and 16.
#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod chat_server;

#[path = "book_answers/lesson01.rs"]
mod lesson01;
#[path = "book_answers/lesson02.rs"]
mod lesson02;
#[path = "book_answers/lesson03.rs"]
mod lesson03;
#[path = "book_answers/lesson04.rs"]
mod lesson04;
#[path = "book_answers/lesson05.rs"]
mod lesson05;
#[path = "book_answers/lesson06.rs"]
mod lesson06;
#[path = "book_answers/lesson07.rs"]
mod lesson07;
#[path = "book_answers/lesson08.rs"]
mod lesson08;
#[path = "book_answers/lesson09.rs"]
mod lesson09;
#[path = "book_answers/lesson10.rs"]
mod lesson10;
#[path = "book_answers/lesson11.rs"]
mod lesson11;
#[path = "book_answers/lesson12.rs"]
mod lesson12;
#[path = "book_answers/lesson13.rs"]
mod lesson13;
#[path = "book_answers/lesson14.rs"]
mod lesson14;
#[path = "book_answers/lesson15.rs"]
mod lesson15;
#[path = "book_answers/lesson16.rs"]
mod lesson16;
#[path = "book_answers/lesson17.rs"]
mod lesson17;
#[path = "book_answers/lesson18.rs"]
mod lesson18;
#[path = "book_answers/lesson19.rs"]
mod lesson19;
#[path = "book_answers/lesson20.rs"]
mod lesson20;
#[path = "book_answers/new_02_coroutine.rs"]
mod new_02_coroutine;
#[path = "book_answers/new_06_task_group.rs"]
mod new_06_task_group;
#[path = "book_answers/new_15_line_chat.rs"]
mod new_15_line_chat;
#[path = "book_answers/new_leaf_future.rs"]
mod new_leaf_future;
#[path = "book_answers/new_pin.rs"]
mod new_pin;
#[path = "book_answers/new_send_and_static.rs"]
mod new_send_and_static;
#[path = "book_answers/reactor.rs"]
mod reactor;
#[path = "book_answers/timer_wheel.rs"]
mod timer_wheel;
#[path = "book_answers/work_stealing.rs"]
mod work_stealing;

/// A runtime on a virtual clock that records everything: the lessons' setting.
pub fn paused() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

/// How many lines of `rt`'s timeline contain `needle`, with runs of spaces
/// counted as one: `count(&rt, "wake A ← timer")`.
pub fn count(rt: &Runtime, needle: &str) -> usize {
    timeline(rt)
        .lines()
        .filter(|line| line.contains(needle))
        .count()
}

/// `rt`'s timeline with each run of spaces made one, so lines read
/// `2.000s wake A ← timer`.
pub fn timeline(rt: &Runtime) -> String {
    rt.trace()
        .timeline()
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whole seconds, for readable assertions.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Every "Try it" list in the book has one worked answer per exercise,
/// included from this binary's modules.
#[test]
fn every_try_it_exercise_has_a_worked_answer() {
    let lessons = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    for entry in std::fs::read_dir(&lessons).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(path.extension(), Some(ext) if ext == "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Every "Try it" list: `## Try it`, or `### Try it (second half)`
        // in a lesson told in two halves.
        let mut exercises = 0;
        for section in text.split("\n#").skip(1) {
            let heading = section.lines().next().unwrap_or("");
            if !heading
                .trim_start_matches('#')
                .trim_start()
                .starts_with("Try it")
            {
                continue;
            }
            // The numbered items of the list, up to the answers.
            let list = section.split("\n<details>").next().unwrap();
            exercises += list
                .lines()
                .filter(|line| {
                    let digits = line.chars().take_while(char::is_ascii_digit).count();
                    digits > 0 && line[digits..].starts_with(". ")
                })
                .count();
        }
        if exercises == 0 {
            continue;
        }
        let answers = text.matches("{{#include ../tests/book_answers/").count();
        assert_eq!(
            answers,
            exercises,
            "{}: {exercises} exercises, {answers} worked answers",
            path.display()
        );
    }
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one event loop (a poll that blocks it, its turns).
    workers::rerun_on_workers(&[
        "lesson01::a_third_blocking_task_adds_a_third_slow_poll",
        "lesson01::short_blocks_still_run_one_after_the_other_but_do_not_warn",
        "lesson08::a_50ms_block_hides_under_100ms_and_shows_over_10ms",
        "lesson08::real_work_warns_on_the_loop_and_not_on_the_pool",
        "lesson10::a_service_that_blocks_answers_one_request_after_another",
        "lesson13::blocking_in_the_supervisor_freezes_the_spinner_and_names_main",
        // The ten SETs of one turn in one write: the one loop's batching.
        "lesson14::the_pipeline_keeps_every_stored_record_in_redis",
        "lesson16::a_blocking_read_line_in_the_loop_freezes_the_incoming_lines",
    ]);
}
