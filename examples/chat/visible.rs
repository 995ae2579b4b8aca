//! Text as a chat may show it: every control character made visible.
//!
//! A chat line is shown to other people, in browsers and in terminals. A
//! newline in it would start a second line that looks like anything — `*
//! alice left` — and in a terminal, ESC starts a command (clear the screen,
//! move the cursor, retitle the window), BEL rings, NUL may cut the line. So
//! the server passes lines through [`visible`] before broadcasting them, and
//! lesson 16's terminal client does it again before printing (it cannot know
//! that every server does). Used by `chat/room.rs` and `16_chat_client.rs`.

use std::borrow::Cow;

// ANCHOR: visible
/// `text` with each control character replaced by a visible stand-in: the
/// Unicode "control pictures" for C0 (`\n` → `␊`, ESC → `␛`, BEL → `␇`,
/// NUL → `␀`), `␡` for DEL, `␤` for the Unicode line and paragraph
/// separators, and `�` for the C1 controls (U+0080–U+009F: U+009B is a
/// one-character "ESC [" on some terminals). Tabs stay: they move the
/// cursor, but cannot forge a line. Everything else is left as it was.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text); // the usual case: no copy
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                // U+2400 is the picture of NUL, U+2401 of SOH, and so on.
                '\0'..='\x1f' if c != '\t' => char::from_u32(0x2400 + c as u32).unwrap_or('�'),
                '\x7f' => '␡',
                '\u{2028}' | '\u{2029}' => '␤',
                c if c.is_control() && c != '\t' => '�',
                c => c,
            })
            .collect(),
    )
}

fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}
// ANCHOR_END: visible
