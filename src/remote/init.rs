//! Burn's session handshake, as kiln's front rewrites it: the credential a client presented
//! is replaced with the server process's own secret before the handshake reaches Burn.
//!
//! Burn 0.22.1's server can only listen on a TCP socket (`WebSocketTransport::from_listener`
//! takes a `std::net::TcpListener`; its routes and session pump are private to burn-remote),
//! so its port on 127.0.0.1 exists and every local account can reach it. What makes that port
//! useless to them: Burn's server there requires a 256-bit secret drawn when the server
//! process starts and held by nobody else. kiln's front, having checked the client (token,
//! origin, host), puts that secret into the client's first WebSocket message — Burn's `Init`
//! — in place of whatever credential the client sent. A connection made straight to the
//! inner port cannot present it and is refused by Burn before any session exists.
//!
//! The `Init` is decoded with types that mirror burn-remote 0.22.1's
//! (`shared/task.rs`: `RemoteMessage`, `SessionInit`, `SessionId`), encoded as Burn encodes
//! it (`rmp_serde::to_vec`); a first message that is anything else closes the connection.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest first message accepted: Burn's `Init` is a few dozen bytes and a credential.
const MAX_INIT_BYTES: u64 = 64 * 1024;

/// burn-remote's `RemoteMessage`, as far as an `Init` needs: the variants in Burn's order
/// (`Task`, `Init`, `Close`), so that they encode alike whichever way the encoder names them.
#[derive(Serialize, Deserialize)]
enum RemoteMessage {
    Task(Never),
    Init(SessionInit),
}

/// No value: a `Task` in the first message fails to decode.
#[derive(Serialize, Deserialize)]
enum Never {}

#[derive(Serialize, Deserialize)]
struct SessionId {
    id: u64,
}

#[derive(Serialize, Deserialize)]
struct SessionInit {
    version: u16,
    session_id: SessionId,
    device_index: u32,
    #[serde(with = "serde_bytes")]
    authorization: Vec<u8>,
}

/// Burn's first message `payload` with its credential replaced by `secret`; `None` when it is
/// not a single `Init`.
pub(crate) fn with_credential(payload: &[u8], secret: &[u8]) -> Option<Vec<u8>> {
    let mut messages: Vec<RemoteMessage> = rmp_serde::from_slice(payload).ok()?;
    let [RemoteMessage::Init(init)] = messages.as_mut_slice() else {
        return None;
    };
    init.authorization = secret.to_vec();
    rmp_serde::to_vec(&messages).ok()
}

/// One whole WebSocket frame from a client: its first byte (FIN and opcode), its payload
/// unmasked, and the bytes read past it.
pub(crate) struct ClientFrame {
    pub(crate) first: u8,
    pub(crate) payload: Vec<u8>,
    pub(crate) rest: Vec<u8>,
}

/// Reads one masked client frame from `read` after the `pending` bytes already read, of at
/// most [`MAX_INIT_BYTES`]; `None` for anything else (unmasked, too long, cut short).
pub(crate) async fn read_client_frame<R: AsyncRead + Unpin>(
    read: &mut R,
    mut pending: Vec<u8>,
) -> Option<ClientFrame> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(parsed) = parse_client_frame(&pending) {
            return parsed;
        }
        let n = read.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

/// `Some(result)` once `bytes` hold a whole frame (or show it is not acceptable), `None`
/// while more bytes are needed.
fn parse_client_frame(bytes: &[u8]) -> Option<Option<ClientFrame>> {
    let (&first, &second) = (bytes.first()?, bytes.get(1)?);
    if second & 0x80 == 0 {
        return Some(None); // a client's frames are masked
    }
    let (len, at) = match second & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
            4,
        ),
        127 => (u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    if len > MAX_INIT_BYTES {
        return Some(None);
    }
    let mask: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    let end = at + 4 + len as usize;
    let body = bytes.get(at + 4..end)?;
    let payload = body
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    Some(Some(ClientFrame {
        first,
        payload,
        rest: bytes[end..].to_vec(),
    }))
}

/// `payload` as one masked client frame with first byte `first` (the mask is zero: masking
/// guards browsers' proxies, and this frame goes to 127.0.0.1 only).
pub(crate) fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(payload);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(authorization: &[u8]) -> Vec<u8> {
        rmp_serde::to_vec(&vec![RemoteMessage::Init(SessionInit {
            version: 2,
            session_id: SessionId { id: 77 },
            device_index: 1,
            authorization: authorization.to_vec(),
        })])
        .unwrap()
    }

    #[test]
    fn the_credential_of_an_init_is_replaced_and_nothing_else_is_touched() {
        let rewritten = with_credential(&init(b"client's"), b"the server's").unwrap();
        assert_eq!(rewritten, init(b"the server's"));
        assert_eq!(with_credential(b"\x90", b"s"), None); // an empty list
        assert_eq!(with_credential(b"garbage", b"s"), None);
    }

    #[test]
    fn a_masked_frame_round_trips_and_an_unmasked_one_is_refused() {
        let payload = init(b"x");
        let mut masked = vec![0x82, 0x80 | payload.len() as u8, 1, 2, 3, 4];
        masked.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
        );
        masked.extend_from_slice(b"next");
        let frame = parse_client_frame(&masked).unwrap().unwrap();
        assert_eq!(
            (frame.first, &frame.payload[..], &frame.rest[..]),
            (0x82, &payload[..], &b"next"[..])
        );
        assert!(
            parse_client_frame(&masked[..5]).is_none(),
            "needs more bytes"
        );
        let unmasked = [0x82, 3, 1, 2, 3];
        assert!(parse_client_frame(&unmasked).unwrap().is_none());
        let encoded = client_frame(0x82, &payload);
        let again = parse_client_frame(&encoded).unwrap().unwrap();
        assert_eq!(again.payload, payload);
    }
}
