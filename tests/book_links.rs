//! The book holds together: what mdBook would only warn about (or silently
//! drop), checked as a test.
//!
//! - every chapter in `lessons/SUMMARY.md` exists, and every chapter file is
//!   in the summary (mdBook builds only what the summary lists);
//! - every `{{#include path:anchor}}` names a file that exists and an anchor
//!   (`ANCHOR: name` … `ANCHOR_END: name`) or line range inside it;
//! - every relative link and image resolves to a file;
//! - every numbered example `examples/NN_name.rs` is included by exactly one
//!   chapter (its own), so no lesson is missing and none is told twice;
//! - every chapter shows at least one picture or diagram.
//!
//! `.ci/book.sh` runs this before `mdbook build`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lessons() -> PathBuf {
    root().join("lessons")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The chapter files: every `lessons/*.md` but the summary, sorted.
fn chapters() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(lessons())
        .expect("lessons/ exists")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .filter(|path| !path.ends_with("SUMMARY.md"))
        .collect();
    files.sort();
    files
}

fn short(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `{{#include path}}` and `{{#include path:anchor}}` directives: (path, anchor).
fn includes(text: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        let directive = after[..end].trim();
        rest = &after[end + 2..];
        let Some(arg) = directive
            .strip_prefix("include ")
            .or_else(|| directive.strip_prefix("rustdoc_include "))
        else {
            continue;
        };
        let arg = arg.trim();
        match arg.split_once(':') {
            Some((path, anchor)) => found.push((path.to_string(), Some(anchor.to_string()))),
            None => found.push((arg.to_string(), None)),
        }
    }
    found
}

/// The text outside fenced code blocks and inline code spans: where links live.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop `code spans`: a `](` inside one is not a link.
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                out.push_str(part);
            }
        }
        out.push('\n');
    }
    out
}

/// Targets of `[text](target)`, `![alt](target)` and `<img src="target">`.
fn link_targets(prose: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = prose;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        targets.push(after[..end].to_string());
        rest = &after[end..];
    }
    let mut rest = prose;
    while let Some(start) = rest.find("src=\"") {
        let after = &rest[start + 5..];
        let Some(end) = after.find('"') else { break };
        targets.push(after[..end].to_string());
        rest = &after[end..];
    }
    targets
}

/// A link target that should name a file in the repository.
fn local_file(target: &str) -> Option<&str> {
    let target = target.split_whitespace().next().unwrap_or(""); // drop a "title"
    let target = target.split('#').next().unwrap_or("");
    let external = ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| target.starts_with(scheme));
    (!target.is_empty() && !external).then_some(target)
}

fn anchor_exists(source: &str, anchor: &str) -> bool {
    // A line range (`10`, `10:20`, `:20`, `10:`) rather than a name.
    if anchor
        .split(':')
        .all(|part| part.chars().all(|c| c.is_ascii_digit()))
    {
        let lines = source.lines().count();
        return anchor
            .split(':')
            .filter(|part| !part.is_empty())
            .all(|n| n.parse::<usize>().is_ok_and(|n| n >= 1 && n <= lines));
    }
    let marker = |word: &str| {
        source.lines().any(|line| {
            // The name is the word after the marker, as mdBook reads it: a
            // Markdown file writes `<!-- ANCHOR: name -->`.
            line.split_once(word)
                .is_some_and(|(_, name)| name.split_whitespace().next() == Some(anchor))
        })
    };
    marker("ANCHOR:") && marker("ANCHOR_END:")
}

#[test]
fn the_summary_lists_every_chapter_and_only_chapters_that_exist() {
    let summary = read(&lessons().join("SUMMARY.md"));
    let mut listed = Vec::new();
    for target in link_targets(&prose(&summary)) {
        if target.is_empty() {
            continue; // a draft chapter: listed, not written yet
        }
        let path = lessons().join(&target);
        assert!(
            path.is_file(),
            "SUMMARY.md lists {target}, which does not exist"
        );
        listed.push(path);
    }
    for chapter in chapters() {
        assert!(
            listed.contains(&chapter),
            "{} is not in lessons/SUMMARY.md, so mdBook would not build it",
            short(&chapter)
        );
    }
}

#[test]
fn every_include_names_a_file_and_an_anchor_that_exist() {
    let mut broken = Vec::new();
    for chapter in chapters() {
        for (path, anchor) in includes(&read(&chapter)) {
            let file = lessons().join(&path);
            let Ok(source) = fs::read_to_string(&file) else {
                broken.push(format!("{}: no file {path}", short(&chapter)));
                continue;
            };
            if let Some(anchor) = anchor {
                if !anchor_exists(&source, &anchor) {
                    broken.push(format!(
                        "{}: no anchor `{anchor}` in {path}",
                        short(&chapter)
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken includes:\n{}", broken.join("\n"));
}

#[test]
fn every_relative_link_and_image_resolves() {
    let mut broken = Vec::new();
    for chapter in chapters() {
        for target in link_targets(&prose(&read(&chapter))) {
            if let Some(file) = local_file(&target) {
                if !lessons().join(file).exists() {
                    broken.push(format!("{}: {target}", short(&chapter)));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links or images:\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_numbered_example_is_in_exactly_one_chapter() {
    let mut examples: Vec<String> = fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .map(|entry| entry.expect("a readable entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs") && name.as_bytes()[..2].iter().all(u8::is_ascii_digit))
        .collect();
    examples.sort();
    let mut included_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for chapter in chapters() {
        let mut seen: Vec<String> = includes(&read(&chapter))
            .into_iter()
            .filter_map(|(path, _)| path.strip_prefix("../examples/").map(str::to_string))
            .collect();
        seen.sort();
        seen.dedup();
        for example in seen {
            included_by
                .entry(example)
                .or_default()
                .push(short(&chapter));
        }
    }
    let wrong: Vec<String> = examples
        .iter()
        .filter_map(|example| {
            let chapters = included_by.get(example).cloned().unwrap_or_default();
            (chapters.len() != 1).then(|| format!("examples/{example}: in {chapters:?}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "each numbered example belongs in exactly one chapter:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_chapter_has_a_picture_or_a_diagram() {
    let bare: Vec<String> = chapters()
        .iter()
        .filter(|chapter| {
            let text = prose(&read(chapter));
            !text.contains("![") && !text.contains("<img")
        })
        .map(|chapter| short(chapter))
        .collect();
    assert!(bare.is_empty(), "chapters with no picture: {bare:?}");
}
