//! A small HTTP/1.1 client: `get`, `post`, `request` (aiohttp's `session.get`).
//!
//! One connection per request (`Connection: close`), which keeps the code
//! short and is plenty for fetching a few URLs concurrently. Bodies framed by
//! `Content-Length`, by chunked transfer encoding, or by the server closing
//! the connection are all read.

use std::io;

use super::owned_headers;
use crate::io::{read_more, write_all};
use crate::net::TcpStream;

/// The largest response body the client will buffer.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// A response received by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponse {
    /// Status code, e.g. `200`.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl ClientResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::header(&self.headers, name)
    }

    /// The body as text (invalid UTF-8 is replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

/// `GET url` (only `http://host[:port]/path`; there is no TLS here).
///
/// ```no_run
/// evloop::run(async {
///     let r = evloop::http::get("http://127.0.0.1:8000/json/london").await.unwrap();
///     println!("{} {}", r.status, r.text());
/// });
/// ```
pub async fn get(url: &str) -> io::Result<ClientResponse> {
    request("GET", url, &[], &[]).await
}

/// `POST url` with a body of the given content type.
pub async fn post(url: &str, content_type: &str, body: &[u8]) -> io::Result<ClientResponse> {
    request("POST", url, &[("Content-Type", content_type)], body).await
}

/// Send any request and read the whole response.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<ClientResponse> {
    let (host, port, path) = parse_url(url)?;
    let mut stream = TcpStream::connect((host.as_str(), port)).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: evloop\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    write_all(&mut stream, &out).await?;
    read_response(&mut stream, method == "HEAD").await
}

/// Split `http://host[:port]/path` into its parts.
fn parse_url(url: &str) -> io::Result<(String, u16, String)> {
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad URL {url:?}: {why}"),
        )
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse().map_err(|_| bad("the port is not a number"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
        path.to_string(),
    ))
}

/// The server sent something we cannot read as HTTP.
fn invalid(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// The server closed the connection before the response was complete.
fn closed(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, why)
}

/// Read a response head, then its body however it is framed.
async fn read_response(stream: &mut TcpStream, no_body: bool) -> io::Result<ClientResponse> {
    let mut buf = Vec::new();
    let (mut response, head_len) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed
            .parse(&buf)
            .map_err(|e| invalid(format!("malformed response: {e}")))?
        {
            httparse::Status::Complete(len) => {
                let response = ClientResponse {
                    status: parsed.code.unwrap_or(0),
                    headers: owned_headers(parsed.headers),
                    body: Vec::new(),
                };
                break (response, len);
            }
            httparse::Status::Partial if buf.len() > 64 * 1024 => {
                return Err(invalid("response head too large"))
            }
            httparse::Status::Partial => {
                if read_more(stream, &mut buf).await? == 0 {
                    return Err(closed("server closed before the response head"));
                }
            }
        }
    };
    buf.drain(..head_len);
    let status = response.status;
    if no_body || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = response
        .header("content-length")
        .map(|v| v.trim().parse::<usize>());
    response.body = if chunked {
        read_chunked(stream, buf).await?
    } else if let Some(length) = length {
        let length = length.map_err(|_| invalid("bad Content-Length"))?;
        if length > MAX_RESPONSE {
            return Err(invalid("response body too large"));
        }
        while buf.len() < length {
            if read_more(stream, &mut buf).await? == 0 {
                return Err(closed("server closed mid-body"));
            }
        }
        buf.truncate(length);
        buf
    } else {
        // No framing: the body ends when the server closes the connection.
        while read_more(stream, &mut buf).await? > 0 {
            if buf.len() > MAX_RESPONSE {
                return Err(invalid("response body too large"));
            }
        }
        buf
    };
    Ok(response)
}

/// Decode a chunked body: `size-in-hex CRLF data CRLF`, repeated, ending with size 0.
async fn read_chunked(stream: &mut TcpStream, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        match httparse::parse_chunk_size(&buf).map_err(|_| invalid("bad chunk size"))? {
            httparse::Status::Complete((start, size)) => {
                let size = usize::try_from(size).map_err(|_| invalid("chunk too large"))?;
                if body.len() + size > MAX_RESPONSE {
                    return Err(invalid("response body too large"));
                }
                if size == 0 {
                    return Ok(body); // trailers, if any, are ignored
                }
                // Wait for the chunk and its trailing CRLF.
                while buf.len() < start + size + 2 {
                    if read_more(stream, &mut buf).await? == 0 {
                        return Err(closed("server closed mid-chunk"));
                    }
                }
                body.extend_from_slice(&buf[start..start + size]);
                buf.drain(..start + size + 2);
            }
            httparse::Status::Partial => {
                if read_more(stream, &mut buf).await? == 0 {
                    return Err(closed("server closed mid-chunk"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(
            parse_url("http://127.0.0.1:8000/json/x").unwrap(),
            ("127.0.0.1".into(), 8000, "/json/x".into())
        );
        assert_eq!(
            parse_url("http://localhost").unwrap(),
            ("localhost".into(), 80, "/".into())
        );
        assert!(parse_url("https://example.com/").is_err());
        assert!(parse_url("http://:80/").is_err());
    }
}
