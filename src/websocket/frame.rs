//! Frames on the wire: parsing a header, writing a frame, masking.
//!
//! The layout is drawn in the [module doc](super). This file only turns
//! bytes into a [`Header`] and back; what a frame *means* (fragments, pings,
//! close) is decided in `socket/receive.rs`.

use std::sync::Arc;

/// What a frame carries (its 4-bit opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// `0`: the next fragment of a text or binary message.
    Continuation,
    /// `1`: a text message (or its first fragment).
    Text,
    /// `2`: a binary message (or its first fragment).
    Binary,
    /// `8`: the close handshake.
    Close,
    /// `9`: "are you there?" — answered with a pong carrying the same bytes.
    Ping,
    /// `10`: the answer to a ping (or an unsolicited heartbeat).
    Pong,
}

impl OpCode {
    /// The opcode for these 4 bits; `None` for the reserved 3–7 and 11–15.
    pub fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4 bits on the wire.
    pub fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0,
            OpCode::Text => 1,
            OpCode::Binary => 2,
            OpCode::Close => 8,
            OpCode::Ping => 9,
            OpCode::Pong => 10,
        }
    }

    /// Close, ping and pong are *control* frames: at most 125 bytes, never fragmented.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A parsed frame header (everything before the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub fin: bool,
    /// RSV1–3, as the three bits `0b0111_0000` of the first byte.
    pub rsv: u8,
    /// The raw 4 bits, so a reserved opcode can be reported rather than lost.
    pub opcode_bits: u8,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
    /// How many bytes the header itself took (2 to 14).
    pub header_len: usize,
}

/// Parse a header from the front of `buf`. `None`: not all of it is here yet
/// (we loop because one read may return only part of a frame — even part of
/// its header).
pub(crate) fn parse_header(buf: &[u8]) -> Option<Header> {
    if buf.len() < 2 {
        return None;
    }
    let (b0, b1) = (buf[0], buf[1]);
    let masked = b1 & 0x80 != 0;
    let (payload_len, mut at) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as u64,
            4,
        ),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?), 10),
        n => (n as u64, 2),
    };
    let mask = if masked {
        let key: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    Some(Header {
        fin: b0 & 0x80 != 0,
        rsv: b0 & 0x70,
        opcode_bits: b0 & 0x0f,
        mask,
        payload_len,
        header_len: at,
    })
}

/// Append one whole frame (header, then the payload, masked if `mask` is
/// given) to `out`.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    out.reserve(14 + payload.len());
    out.push(if fin { 0x80 } else { 0 } | opcode.bits());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    // The shortest length encoding that fits, as the RFC requires.
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(payload);
            apply_mask(&mut out[start..], key, 0);
        }
        None => out.extend_from_slice(payload),
    }
}

/// XOR `data` with the masking key, as if `data` started `offset` bytes into
/// the payload. Masking and unmasking are the same operation.
///
/// ```
/// use evloop::websocket::apply_mask;
/// let key = [1, 2, 3, 4];
/// let mut data = *b"hello";
/// apply_mask(&mut data, key, 0);
/// assert_ne!(&data, b"hello");
/// apply_mask(&mut data, key, 0); // twice gives the original back
/// assert_eq!(&data, b"hello");
/// ```
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    // Rotate the key so that key[0] lines up with data[0]; then the loop is a
    // plain `i % 4`, which the compiler turns into wide XORs.
    let key = [
        key[offset % 4],
        key[(offset + 1) % 4],
        key[(offset + 2) % 4],
        key[(offset + 3) % 4],
    ];
    for (i, byte) in data.iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// A message encoded once as a server frame, to send to many clients.
///
/// Server frames are not masked, so the same bytes are right for every
/// client: a chat room encodes each line once and hands every outbox a
/// cheap `Arc` clone, instead of encoding it a thousand times.
/// [`WebSocket::send_prepared`](super::WebSocket::send_prepared) writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    bytes: Arc<[u8]>,
}

impl Prepared {
    /// Encode a text message as one unmasked, final frame.
    pub fn text(text: &str) -> Prepared {
        Prepared::new(OpCode::Text, text.as_bytes())
    }

    /// Encode a binary message as one unmasked, final frame.
    pub fn binary(data: &[u8]) -> Prepared {
        Prepared::new(OpCode::Binary, data)
    }

    fn new(opcode: OpCode, payload: &[u8]) -> Prepared {
        let mut out = Vec::new();
        encode(&mut out, true, opcode, payload, None);
        Prepared { bytes: out.into() }
    }

    /// The frame's bytes, header included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A small random-number generator for masking keys and handshake nonces.
///
/// xorshift64*, seeded from std's per-process random hashing keys and the
/// clock. Not a cryptographic generator; good enough that a web page cannot
/// predict the mask, which is the point of masking (see the module doc).
#[derive(Debug, Clone)]
pub(crate) struct MaskRng(u64);

impl MaskRng {
    pub(crate) fn new() -> MaskRng {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        MaskRng(hasher.finish() | 1) // never zero: zero is xorshift's fixed point
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    pub(crate) fn mask(&mut self) -> [u8; 4] {
        self.next_u32().to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_for_each_length_encoding() {
        for len in [0usize, 5, 125, 126, 65535, 65536, 100_000] {
            let payload = vec![7u8; len];
            for mask in [None, Some([9, 8, 7, 6])] {
                let mut out = Vec::new();
                encode(&mut out, true, OpCode::Binary, &payload, mask);
                let h = parse_header(&out).unwrap();
                assert_eq!(h.payload_len, len as u64);
                assert_eq!(h.mask, mask);
                assert_eq!(out.len(), h.header_len + len);
                // A header cut short is "not yet", never a wrong answer.
                assert_eq!(parse_header(&out[..h.header_len - 1]), None);
                let mut body = out[h.header_len..].to_vec();
                if let Some(key) = mask {
                    apply_mask(&mut body, key, 0);
                }
                assert_eq!(body, payload);
            }
        }
    }

    #[test]
    fn the_rfc_examples() {
        // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
        let mut out = Vec::new();
        encode(&mut out, true, OpCode::Text, b"Hello", None);
        assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        // ... and the same, masked with key 37 fa 21 3d.
        let mut out = Vec::new();
        encode(
            &mut out,
            true,
            OpCode::Text,
            b"Hello",
            Some([0x37, 0xfa, 0x21, 0x3d]),
        );
        assert_eq!(
            out,
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn masking_from_an_offset_matches_masking_in_one_go() {
        let key = [1, 2, 3, 4];
        let mut whole = *b"abcdefghij";
        apply_mask(&mut whole, key, 0);
        let mut parts = *b"abcdefghij";
        let (a, b) = parts.split_at_mut(3);
        apply_mask(a, key, 0);
        apply_mask(b, key, 3);
        assert_eq!(whole, parts);
    }
}
