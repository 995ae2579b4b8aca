//! The dependency rules of ARCHITECTURE.md, checked on the source itself.
//!
//! - The drivers (`src/runtime/driver/`) are leaves: they import nothing from
//!   `crate::runtime` outside `driver`, so the turn composes them and never
//!   the other way round (no cycle runs through a driver).
//! - `sync`, `join` and `trace` import nothing from the crate but the leaves
//!   they are allowed: `sync`'s own waker helpers, `task::wait` (the
//!   thread-local note of what the polled task waits on) and `task::coop`
//!   (the cooperative budget).
//! - `testing` is a client of the runtime: only the public API, the
//!   `task::wait` leaf and the `Rng` it re-exports; nothing names it.
//! - The protocols only go down: `websocket → http → net → runtime/driver`;
//!   nothing below a protocol names it. `redis` stands beside `http`: it uses
//!   the public pieces (`net`, `sync`, `time`, `task`, `io`) and no other
//!   protocol, and nothing names it.
//!
//! A rule broken here is a design change: make it on purpose, and change the
//! rule and ARCHITECTURE.md with it.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (or `dir` itself, if it is a file).
fn sources(dir: &str) -> Vec<PathBuf> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.to_path_buf());
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    out.sort();
    out
}

/// The crate paths a file names (`crate::a::b`), comments and doc lines left out.
fn crate_paths(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut paths = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            paths.push(tail[..end].trim_end_matches(':').to_string());
            rest = &tail[end..];
        }
    }
    paths
}

/// Every `(file, path)` in `dir` whose path is not allowed by `ok`.
fn violations(dir: &str, ok: impl Fn(&str) -> bool) -> Vec<String> {
    let mut bad = Vec::new();
    for file in sources(dir) {
        for path in crate_paths(&file) {
            if !ok(&path) {
                bad.push(format!("{}: crate::{path}", file.display()));
            }
        }
    }
    bad
}

#[test]
fn drivers_import_nothing_from_the_runtime() {
    let bad = violations("src/runtime/driver", |path| {
        !path.starts_with("runtime") || path.starts_with("runtime::driver")
    });
    assert!(bad.is_empty(), "drivers must stay leaves: {bad:#?}");
}

#[test]
fn sync_join_and_trace_depend_only_on_leaves() {
    let leaf = |path: &str| {
        path.starts_with("task::wait")
            || path.starts_with("task::WaitReason")
            || path.starts_with("task::coop")
    };
    for dir in ["src/sync", "src/join.rs"] {
        // (`join!` names its own `$crate::join` items.)
        let bad = violations(dir, |p| {
            leaf(p) || p.starts_with("sync") || p.starts_with("join")
        });
        assert!(bad.is_empty(), "{dir}: {bad:#?}");
    }
    let bad = violations("src/trace", |p| p.starts_with("trace"));
    assert!(bad.is_empty(), "trace: {bad:#?}");
}

#[test]
fn the_leaves_themselves_import_nothing() {
    for file in ["src/task/wait.rs", "src/task/coop.rs"] {
        let bad = violations(file, |_| false);
        assert!(bad.is_empty(), "{file} must stay a leaf: {bad:#?}");
    }
}

#[test]
fn testing_is_a_client_of_the_runtime() {
    // `testing` (explore, duplex) uses what any user of the crate could,
    // plus the wait-reason leaf, the generator it re-exports, and the one
    // way the crate reads a panic's message.
    let public = |p: &str| {
        [
            "Runtime",
            "Builder",
            "time",
            "runtime::Stalled",
            "runtime::LIVELOCK_TURNS",
            "runtime::rng::Rng",
        ]
        .iter()
        .any(|ok| p == *ok || p.starts_with(&format!("{ok}::")))
            || p.starts_with("task::wait")
            || p.starts_with("task::WaitReason")
            || p == "task::panic_message"
    };
    let bad = violations("src/testing", public);
    assert!(
        bad.is_empty(),
        "testing reaches inside the runtime: {bad:#?}"
    );
    // And nothing below it names it.
    for dir in ["src/runtime", "src/task", "src/time", "src/net", "src/sync"] {
        let bad = violations(dir, |p| !p.starts_with("testing"));
        assert!(bad.is_empty(), "{dir} names testing: {bad:#?}");
    }
}

#[test]
fn protocols_only_go_down() {
    // Nothing below a protocol names it.
    for dir in ["src/runtime", "src/task", "src/time", "src/net", "src/sync"] {
        let bad = violations(dir, |p| {
            !(p.starts_with("http") || p.starts_with("websocket") || p.starts_with("redis"))
        });
        assert!(bad.is_empty(), "{dir} names a protocol: {bad:#?}");
    }
    // http does not know about websocket.
    let bad = violations("src/http", |p| !p.starts_with("websocket"));
    assert!(bad.is_empty(), "http names websocket: {bad:#?}");
    // Neither HTTP nor WebSocket knows about Redis.
    for dir in ["src/http", "src/websocket"] {
        let bad = violations(dir, |p| !p.starts_with("redis"));
        assert!(bad.is_empty(), "{dir} names redis: {bad:#?}");
    }
}

#[test]
fn redis_uses_only_the_public_pieces() {
    let allowed = ["redis", "net", "sync", "time", "task", "io"];
    let bad = violations("src/redis", |p| {
        allowed
            .iter()
            .any(|a| p == *a || p.starts_with(&format!("{a}::")))
    });
    assert!(
        bad.is_empty(),
        "redis reaches below the public API: {bad:#?}"
    );
    // The checker must see redis's own imports, or the rule is vacuous.
    let seen = crate_paths(Path::new(&format!(
        "{}/src/redis/mux.rs",
        env!("CARGO_MANIFEST_DIR")
    )));
    assert!(seen.iter().any(|p| p.starts_with("sync")), "{seen:?}");
}

#[test]
fn the_checker_sees_a_crate_path() {
    // The rules above pass vacuously if nothing is found: make sure this file's
    // own parser finds the paths it should.
    let paths = crate_paths(Path::new(&format!(
        "{}/src/runtime/core.rs",
        env!("CARGO_MANIFEST_DIR")
    )));
    assert!(paths.iter().any(|p| p.starts_with("task")), "{paths:?}");
}

#[test]
fn the_console_is_built_on_the_public_api_and_named_by_nobody() {
    // The console watches through `runtime::observe` and plugs in through
    // the start hooks; the loop's insides are not for it.
    let bad = violations("src/console", |p| {
        ![
            "core", "shared", "context", "driver", "turn", "owned", "hooks",
        ]
        .iter()
        .any(|inner| p.starts_with(&format!("runtime::{inner}")))
    });
    assert!(
        bad.is_empty(),
        "the console reaches into the runtime: {bad:#?}"
    );
    // Nothing else names it (lib.rs declares the module, with `mod`, not a path).
    for dir in [
        "src/runtime",
        "src/task",
        "src/time",
        "src/net",
        "src/sync",
        "src/trace",
        "src/http",
        "src/websocket",
    ] {
        let bad = violations(dir, |p| !p.starts_with("console"));
        assert!(bad.is_empty(), "{dir} names the console: {bad:#?}");
    }
}
