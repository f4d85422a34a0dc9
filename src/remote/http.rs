//! The little HTTP/1.1 that kiln's front and relay read: one request or response head,
//! bounded in size, never more.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest head read: a WebSocket upgrade needs a few hundred bytes.
pub(crate) const MAX_HEAD_BYTES: usize = 8 * 1024;

/// A request or response head, and the bytes that came after it in the same reads.
pub(crate) struct Head {
    /// Up to and including the blank line.
    pub(crate) raw: Vec<u8>,
    /// Read past the head (the start of what follows it).
    pub(crate) rest: Vec<u8>,
}

/// Why no head was read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// More than [`MAX_HEAD_BYTES`] without the blank line that ends a head.
    TooLarge,
    /// The peer closed the connection first.
    Closed,
    /// The socket failed.
    Io(std::io::Error),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge => write!(f, "a head longer than {MAX_HEAD_BYTES} bytes"),
            Self::Closed => write!(f, "the connection closed"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Reads one head from `r`: at most [`MAX_HEAD_BYTES`] (plus one read's overshoot).
pub(crate) async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> Result<Head, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = r.read(&mut chunk).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(from + at + 4);
            return Ok(Head { raw: buf, rest });
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
    }
}

impl Head {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The first line (`GET /session HTTP/1.1`, `HTTP/1.1 101 Switching Protocols`).
    pub(crate) fn first_line(&self) -> String {
        self.text().lines().next().unwrap_or_default().to_string()
    }

    /// A request's method (`GET`), read by the front.
    #[cfg_attr(not(feature = "remote-server"), allow(dead_code))]
    pub(crate) fn method(&self) -> String {
        self.first_line()
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// A request's path, without its query (read by the front, feature `remote-server`).
    #[cfg_attr(not(feature = "remote-server"), allow(dead_code))]
    pub(crate) fn path(&self) -> String {
        let line = self.first_line();
        let target = line.split_whitespace().nth(1).unwrap_or_default();
        target.split('?').next().unwrap_or_default().to_string()
    }

    /// A response's status code.
    pub(crate) fn status(&self) -> Option<u16> {
        self.first_line().split_whitespace().nth(1)?.parse().ok()
    }

    /// The value of header `name` (case-insensitive), trimmed (read by the front).
    #[cfg_attr(not(feature = "remote-server"), allow(dead_code))]
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.text().lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    /// The head with header `name` removed (every line of that name).
    pub(crate) fn without(&self, name: &str) -> Vec<u8> {
        let text = self.text();
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split_inclusive("\r\n").enumerate() {
            let drop = i > 0
                && line
                    .split_once(':')
                    .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case(name));
            if !drop {
                out.push_str(line);
            }
        }
        out.into_bytes()
    }

    /// The head with `name: value` added (replacing any line of that name).
    pub(crate) fn with(&self, name: &str, value: &str) -> Vec<u8> {
        let mut out = self.without(name);
        // Before the blank line that ends the head.
        let end = out.len() - 2;
        out.splice(end..end, format!("{name}: {value}\r\n").into_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8]) -> Result<Head, HeadError> {
        let mut reader = bytes;
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read_head(&mut reader))
    }

    #[test]
    fn a_head_is_read_parsed_and_rewritten() {
        let h =
            head(b"GET /session?x=1 HTTP/1.1\r\nHost: a\r\nauthorization: Bearer t\r\n\r\nFRAME")
                .unwrap();
        assert_eq!(h.path(), "/session");
        assert_eq!(h.header("Authorization").as_deref(), Some("Bearer t"));
        assert_eq!(h.rest, b"FRAME");
        let stripped = String::from_utf8(h.without("authorization")).unwrap();
        assert_eq!(stripped, "GET /session?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        let added = String::from_utf8(h.with("Authorization", "Bearer u")).unwrap();
        assert_eq!(
            added,
            "GET /session?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer u\r\n\r\n"
        );
        let r = head(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").unwrap();
        assert_eq!(r.status(), Some(101));
    }

    #[test]
    fn an_endless_head_stops_at_the_limit_and_a_closed_one_is_closed() {
        let endless = vec![b'a'; 1 << 20];
        assert!(matches!(head(&endless), Err(HeadError::TooLarge)));
        assert!(matches!(
            head(b"GET / HTTP/1.1\r\n"),
            Err(HeadError::Closed)
        ));
    }
}
