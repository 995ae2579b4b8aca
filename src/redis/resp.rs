//! RESP, the Redis wire format: parse a reply, encode a command. No I/O here.
//!
//! Every reply starts with one byte that says its type, and ends its header
//! line with `\r\n`:
//!
//! ```text
//! +OK\r\n                       simple string       → Value::Simple("OK")
//! -ERR unknown command\r\n      error               → Value::Error("ERR unknown command")
//! :42\r\n                       integer             → Value::Int(42)
//! $5\r\nhello\r\n               bulk string, 5 byts → Value::Bulk(b"hello")
//! $-1\r\n                       nil (RESP2)         → Value::Nil
//! *2\r\n$1\r\na\r\n:1\r\n       array of 2          → Value::Array([Bulk(b"a"), Int(1)])
//! _\r\n  #t\r\n  ,3.5\r\n       RESP3's null, boolean, double
//! ```
//!
//! A command goes the other way as an array of bulk strings
//! (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`): see [`encode`].
//!
//! [`parse`] looks at the bytes received so far and answers one of three
//! things: a whole reply and how many bytes it used; "not yet" (`Ok(None)`:
//! read more and call again); or an error — bytes that are not RESP, or a
//! length over the [`Limits`]. The connection code (`conn.rs`, `mux.rs`) does
//! the reading; keeping the parser apart lets the tests feed it every way a
//! reply can be cut into pieces, with no socket at all.

use super::Error;

/// One reply from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3): no value, e.g. `GET` of a missing key.
    Nil,
    /// `+OK`: a short status line.
    Simple(String),
    /// `-ERR …`: the server refused the command. At the top of a reply the
    /// clients turn it into [`Error::Server`]; inside an array it stays a value.
    Error(String),
    /// `:42`: an integer (`INCR`, `DEL`, `LPUSH` answer with one).
    Int(i64),
    /// `$n`: a binary-safe string of `n` bytes.
    Bulk(Vec<u8>),
    /// `*n`: `n` replies in a row (`BRPOP`, pub/sub messages).
    Array(Vec<Value>),
    /// `#t` / `#f` (RESP3).
    Bool(bool),
    /// `,3.5` (RESP3).
    Double(f64),
}

/// How large a reply may be. The server is trusted to speak RESP, not to be
/// small: a `$` header can announce any length, and we would reserve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest bulk string accepted, in bytes (16 MiB by default; Redis
    /// itself allows 512 MiB). A longer one is [`Error::TooLarge`].
    pub max_bulk: usize,
    /// The most elements an array may announce (1,048,576 by default).
    pub max_elements: usize,
    /// The longest header or simple line (64 KiB): a peer that sends bytes
    /// with no `\r\n` must not grow our buffer forever.
    pub max_line: usize,
    /// How deep arrays may nest (32): the parser recurses once per level.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bulk: 16 * 1024 * 1024,
            max_elements: 1024 * 1024,
            max_line: 64 * 1024,
            max_depth: 32,
        }
    }
}

/// Parse one reply from the front of `buf`.
///
/// `Ok(Some((value, used)))`: a whole reply took the first `used` bytes.
/// `Ok(None)`: the reply is not complete yet; read more, call again with the
/// longer buffer. `Err`: the bytes are not RESP, or break a limit; the
/// connection cannot be trusted after that.
///
/// ```
/// use evloop::redis::{parse, Limits, Value};
/// let limits = Limits::default();
/// assert_eq!(parse(b"$5\r\nhel", &limits).unwrap(), None); // half a reply
/// assert_eq!(
///     parse(b"$5\r\nhello\r\n:1\r\n", &limits).unwrap(),
///     Some((Value::Bulk(b"hello".to_vec()), 11)) // the `:1` waits for the next call
/// );
/// assert!(parse(b"HTTP/1.1 400 Bad Request\r\n", &limits).is_err());
/// ```
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(Value, usize)>, Error> {
    let mut at = 0;
    match parse_at(buf, &mut at, limits, 0)? {
        Some(value) => Ok(Some((value, at))),
        None => Ok(None),
    }
}

/// Parse the value starting at `*at`; on success move `*at` past it.
fn parse_at(
    buf: &[u8],
    at: &mut usize,
    limits: &Limits,
    depth: usize,
) -> Result<Option<Value>, Error> {
    let Some(line) = line(&buf[*at..], limits)? else {
        return Ok(None);
    };
    let (kind, text) = (line[0], &line[1..]);
    let mut next = *at + line.len() + 2;
    let value = match kind {
        b'+' => Value::Simple(utf8(text)?),
        b'-' => Value::Error(utf8(text)?),
        b':' => Value::Int(int(text)?),
        b'_' => Value::Nil,
        b'#' => match text {
            b"t" => Value::Bool(true),
            b"f" => Value::Bool(false),
            _ => return Err(not_resp("a boolean that is neither #t nor #f")),
        },
        b',' => Value::Double(
            utf8(text)?
                .parse()
                .map_err(|_| not_resp("a double that is not a number"))?,
        ),
        b'$' => {
            let len = int(text)?;
            if len < 0 {
                Value::Nil
            } else {
                let len = checked_len(len, limits.max_bulk, "bulk string")?;
                if buf.len() < next + len + 2 {
                    return Ok(None);
                }
                if &buf[next + len..next + len + 2] != b"\r\n" {
                    return Err(not_resp("a bulk string longer than its header said"));
                }
                let bytes = buf[next..next + len].to_vec();
                next += len + 2;
                Value::Bulk(bytes)
            }
        }
        b'*' => {
            let len = int(text)?;
            if len < 0 {
                Value::Nil
            } else {
                let len = checked_len(len, limits.max_elements, "array")?;
                if depth >= limits.max_depth {
                    return Err(not_resp("arrays nested deeper than the limit"));
                }
                // Reserve only what has arrived evidence for: each element
                // takes at least 3 bytes (`_\r\n`), so a header claiming a
                // million elements cannot make us allocate for them up front.
                let mut items = Vec::with_capacity(len.min((buf.len() - next) / 3));
                for _ in 0..len {
                    match parse_at(buf, &mut next, limits, depth + 1)? {
                        Some(item) => items.push(item),
                        None => return Ok(None),
                    }
                }
                Value::Array(items)
            }
        }
        other => {
            return Err(not_resp(&format!(
                "a reply starting with {:?}, which is no RESP type",
                other as char
            )))
        }
    };
    *at = next;
    Ok(Some(value))
}

/// The bytes before the first `\r\n` of `buf` (at least one: the type byte),
/// or `None` if the line is not complete yet.
fn line<'a>(buf: &'a [u8], limits: &Limits) -> Result<Option<&'a [u8]>, Error> {
    let window = &buf[..buf.len().min(limits.max_line + 2)];
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(0) => Err(not_resp("an empty line where a reply should start")),
        Some(end) => Ok(Some(&buf[..end])),
        None if buf.len() > limits.max_line => Err(Error::TooLarge {
            what: "line",
            size: buf.len() as u64,
            limit: limits.max_line,
        }),
        None => Ok(None),
    }
}

fn checked_len(len: i64, limit: usize, what: &'static str) -> Result<usize, Error> {
    if len as u64 > limit as u64 {
        return Err(Error::TooLarge {
            what,
            size: len as u64,
            limit,
        });
    }
    Ok(len as usize)
}

fn int(text: &[u8]) -> Result<i64, Error> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| not_resp("a length or integer that is not a number"))
}

fn utf8(text: &[u8]) -> Result<String, Error> {
    String::from_utf8(text.to_vec()).map_err(|_| not_resp("a status line that is not UTF-8"))
}

fn not_resp(why: &str) -> Error {
    Error::Protocol(why.to_string())
}

/// Append one command to `out`, as RESP sends it: an array of bulk strings.
/// Pipelining is calling this several times before one write.
///
/// ```
/// let mut out = Vec::new();
/// evloop::redis::encode(&[b"GET".as_slice(), b"k"], &mut out);
/// assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
/// ```
pub fn encode(args: &[impl AsRef<[u8]>], out: &mut Vec<u8>) {
    use std::io::Write;
    // Writing into a `Vec` cannot fail; no `String` is made for a length.
    let _ = write!(out, "*{}\r\n", args.len());
    for arg in args {
        let arg = arg.as_ref();
        let _ = write!(out, "${}\r\n", arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Value {
        let (value, used) = parse(bytes, &Limits::default()).unwrap().unwrap();
        assert_eq!(used, bytes.len(), "{value:?} left bytes over");
        value
    }

    #[test]
    fn every_type_parses() {
        assert_eq!(one(b"+OK\r\n"), Value::Simple("OK".into()));
        assert_eq!(one(b"-ERR no\r\n"), Value::Error("ERR no".into()));
        assert_eq!(one(b":-7\r\n"), Value::Int(-7));
        assert_eq!(one(b"$0\r\n\r\n"), Value::Bulk(vec![]));
        assert_eq!(one(b"$-1\r\n"), Value::Nil);
        assert_eq!(one(b"*-1\r\n"), Value::Nil);
        assert_eq!(one(b"_\r\n"), Value::Nil);
        assert_eq!(one(b"#f\r\n"), Value::Bool(false));
        assert_eq!(one(b",2.5\r\n"), Value::Double(2.5));
        assert_eq!(
            one(b"*2\r\n$4\r\na\r\nb\r\n*1\r\n:1\r\n"),
            Value::Array(vec![
                Value::Bulk(b"a\r\nb".to_vec()), // binary-safe: CRLF inside is data
                Value::Array(vec![Value::Int(1)]),
            ])
        );
    }

    /// However the kernel cuts a reply into reads, every prefix is "not yet"
    /// and the whole is the same value.
    #[test]
    fn every_prefix_is_incomplete_and_the_whole_parses() {
        let whole = b"*3\r\n$5\r\nhello\r\n:42\r\n*2\r\n+OK\r\n$-1\r\n";
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut], &Limits::default()).unwrap(), None);
        }
        assert!(matches!(one(whole), Value::Array(items) if items.len() == 3));
    }

    #[test]
    fn replies_back_to_back_come_out_one_at_a_time_in_order() {
        let mut buf: &[u8] = b":1\r\n:2\r\n$1\r\n3\r\n";
        let mut got = Vec::new();
        while let Some((value, used)) = parse(buf, &Limits::default()).unwrap() {
            got.push(value);
            buf = &buf[used..];
        }
        let want = [Value::Int(1), Value::Int(2), Value::Bulk(b"3".to_vec())];
        assert_eq!(got, want);
    }

    #[test]
    fn bytes_that_are_not_resp_are_an_error_at_once() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\n"[..],
            b":12x\r\n",
            b"$abc\r\n",
            b"$3\r\nabcdef\r\n",
            b"#x\r\n",
            b"\r\n",
        ] {
            let err = parse(bad, &Limits::default()).unwrap_err();
            assert!(matches!(err, Error::Protocol(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn a_bulk_over_the_limit_is_refused_from_its_header_alone() {
        let limits = Limits {
            max_bulk: 10,
            ..Limits::default()
        };
        // Only the header has arrived: we refuse before buffering 11 bytes.
        let err = parse(b"$11\r\n", &limits).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    what: "bulk string",
                    size: 11,
                    limit: 10
                }
            ),
            "{err}"
        );
        assert!(parse(b"$10\r\n0123456789\r\n", &limits).unwrap().is_some());
    }

    #[test]
    fn a_line_without_end_and_a_deep_nest_are_bounded() {
        let limits = Limits {
            max_line: 8,
            max_depth: 3,
            ..Limits::default()
        };
        let err = parse(b"+0123456789", &limits).unwrap_err();
        assert!(matches!(err, Error::TooLarge { what: "line", .. }), "{err}");
        assert_eq!(parse(b"+0123", &limits).unwrap(), None);
        let err = parse(b"*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", &limits).unwrap_err();
        assert!(matches!(err, Error::Protocol(_)), "{err}");
    }

    #[test]
    fn encode_then_parse_is_the_same_arguments() {
        let mut out = Vec::new();
        encode(&[&b"SET"[..], b"k", b"a\r\nb"], &mut out);
        let want = Value::Array(
            [&b"SET"[..], b"k", b"a\r\nb"]
                .iter()
                .map(|a| Value::Bulk(a.to_vec()))
                .collect(),
        );
        assert_eq!(one(&out), want);
    }
}
