#!/usr/bin/env bash
# Build the book (lessons/, configured by book/book.toml) with warnings as
# errors, on a fresh machine too: installs the pinned mdBook when it is missing.
#
# mdBook reports a missing {{#include}} file or a broken preprocessor as an
# ERROR or WARN line and still exits 0, so the log is checked as well. Every
# {{#include}} anchor, relative link and image, and "every example in exactly
# one chapter" are checked by `cargo test --test book_links` (run here too,
# so this script alone answers "does the book hold together?").
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK_VERSION=0.4.52

if [ "$(mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
    echo "installing mdbook $MDBOOK_VERSION (a few minutes, once per machine)"
    cargo install --locked mdbook --version "$MDBOOK_VERSION"
fi

cargo test --test book_links --quiet

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! mdbook build book 2>&1 | tee "$log"; then
    echo "book.sh: mdbook build failed" >&2
    exit 1
fi
if grep -E '\b(WARN|ERROR)\b' "$log" >/dev/null; then
    echo "book.sh: mdbook printed warnings or errors (see above); they count as failures" >&2
    exit 1
fi
echo "book.sh: the book builds cleanly (book/build/index.html)"
