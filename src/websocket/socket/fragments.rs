//! Reassembling a fragmented message, checking its UTF-8 as it comes.

use crate::websocket::{CloseCode, CloseReason};

/// A message arriving in several frames, being put back together.
#[derive(Debug)]
pub(super) struct Fragments {
    pub(super) text: bool,
    pub(super) data: Vec<u8>,
    /// For text: how far `data` is known to be valid UTF-8. Checked as each
    /// fragment arrives, so bad text fails at once, not after 16 MiB.
    pub(super) valid_up_to: usize,
}

/// Text that is not UTF-8: close code 1007.
pub(super) const BAD_UTF8: CloseReason =
    CloseReason::new(CloseCode::InvalidPayload, "text message is not valid UTF-8");

/// Check the UTF-8 of a text message as its fragments arrive. A character
/// may be split across two fragments, so an *incomplete* sequence at the end
/// is fine — unless this was the last fragment.
pub(super) fn check_utf8(mut fragments: Fragments, last: bool) -> Result<Fragments, CloseReason> {
    if !fragments.text {
        return Ok(fragments);
    }
    match std::str::from_utf8(&fragments.data[fragments.valid_up_to..]) {
        Ok(_) => fragments.valid_up_to = fragments.data.len(),
        // `error_len() == None`: the bytes so far are fine, just cut short.
        Err(e) if e.error_len().is_none() && !last => fragments.valid_up_to += e.valid_up_to(),
        Err(_) => return Err(BAD_UTF8),
    }
    Ok(fragments)
}
