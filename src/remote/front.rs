//! kiln's authenticated front for Burn's server: nothing unauthenticated reaches Burn.
//!
//! Burn's WebSocket server (burn-remote 0.22.1) checks a client's token only inside its own
//! session handshake, after it has accepted the connection and read a message of up to
//! 1 GiB, and its `/data` route (tensor transfers between servers) checks nothing: a request
//! for an unknown transfer holds its socket forever. So `serve` and [`super::LocalServer`]
//! run Burn's server on a port of 127.0.0.1 that only this machine can reach, and put this
//! front on the public address. For each connection it
//!
//! 1. refuses it at once past [`FrontLimits::max_connections`] in all or
//!    [`FrontLimits::max_per_peer`] from one address;
//! 2. reads the HTTP head of the WebSocket upgrade — at most 8 KiB, within
//!    [`FrontLimits::handshake`] — and checks the `Authorization: Bearer` credential (its
//!    SHA-256 against the token's) before anything else: a missing or wrong one is answered
//!    `401` and closed, an unknown route `404`;
//! 3. relays an authorised `/session` to Burn's server byte for byte (Burn's protocol is
//!    untouched, and Burn's own token check still runs), closing it after
//!    [`FrontLimits::idle`] without traffic; `/kiln/heartbeat` gets a byte every
//!    [`FrontLimits::heartbeat`], which kiln's client watches to tell a frozen server from
//!    a busy one.
//!
//! `/data` is not relayed: it serves transfers between Burn servers, which do not present
//! kiln's credential, and kiln moves tensors between the devices of one server only.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::timeout;

use super::http::read_head;
use super::pipe::{PipeLimits, pipe};
use super::relay::HEARTBEAT_PATH;

/// Burn's route for client sessions, the one route relayed.
const SESSION_PATH: &str = "/session";

/// What the front allows, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontLimits {
    /// To send a complete request head (default 10 s).
    pub handshake: Duration,
    /// An authorised session with no traffic either way is closed after this (default 1 h).
    pub idle: Duration,
    /// Connections at once, in all (default 256).
    pub max_connections: usize,
    /// Connections at once from one address (default 32).
    pub max_per_peer: usize,
    /// Between two heartbeat bytes (default 1 s).
    pub heartbeat: Duration,
}

impl Default for FrontLimits {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            idle: Duration::from_secs(3600),
            max_connections: 256,
            max_per_peer: 32,
            heartbeat: Duration::from_secs(1),
        }
    }
}

/// One front's settings and counters.
pub(crate) struct Front {
    token: Option<[u8; 32]>,
    inner: SocketAddr,
    limits: FrontLimits,
    slots: Arc<Semaphore>,
    peers: Mutex<HashMap<IpAddr, usize>>,
    stop: watch::Receiver<bool>,
}

impl Front {
    /// A front for Burn's server on `inner`, requiring `token` when given.
    pub(crate) fn new(
        token: Option<&str>,
        inner: SocketAddr,
        limits: FrontLimits,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            token: token.map(digest),
            inner,
            limits,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            peers: Mutex::new(HashMap::new()),
            stop,
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A connection's place under the per-peer limit, given back when dropped.
struct PeerSlot {
    front: Arc<Front>,
    ip: IpAddr,
}

impl PeerSlot {
    fn take(front: &Arc<Front>, ip: IpAddr) -> Option<Self> {
        let mut peers = front.peers.lock().ok()?;
        let count = peers.entry(ip).or_insert(0);
        if *count >= front.limits.max_per_peer {
            return None;
        }
        *count += 1;
        Some(Self {
            front: front.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        if let Ok(mut peers) = self.front.peers.lock()
            && let Some(count) = peers.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                peers.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections on `listener` until the front's stop signal.
pub(crate) async fn run(listener: TcpListener, front: Arc<Front>) {
    let mut stop = front.stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, most likely: let closing connections free some.
                tracing::warn!("the front cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = front.slots.clone().try_acquire_owned() else {
            tracing::debug!(
                "refused {peer}: {} connections open",
                front.limits.max_connections
            );
            continue;
        };
        let Some(peer_slot) = PeerSlot::take(&front, peer.ip()) else {
            tracing::debug!(
                "refused {peer}: {} connections from it",
                front.limits.max_per_peer
            );
            continue;
        };
        tokio::spawn(serve_one(stream, peer, front.clone(), slot, peer_slot));
    }
}

async fn reply(stream: &mut TcpStream, status: &str) {
    let response = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = timeout(
        Duration::from_secs(1),
        stream.write_all(response.as_bytes()),
    )
    .await;
}

async fn serve_one(
    mut stream: TcpStream,
    peer: SocketAddr,
    front: Arc<Front>,
    _slot: OwnedSemaphorePermit,
    _peer_slot: PeerSlot,
) {
    let _ = stream.set_nodelay(true);
    let head = match timeout(front.limits.handshake, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(e)) => {
            tracing::debug!("closed {peer} before its request: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("closed {peer}: no request within the handshake time");
            return;
        }
    };
    let path = head.path();
    if path != SESSION_PATH && path != HEARTBEAT_PATH {
        return reply(&mut stream, "404 Not Found").await;
    }
    if let Some(expected) = &front.token {
        let presented = head
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer ").map(str::to_string));
        if presented.as_deref().map(digest).as_ref() != Some(expected) {
            tracing::warn!("refused {peer}: missing or wrong token");
            return reply(&mut stream, "401 Unauthorized").await;
        }
    }
    if path == HEARTBEAT_PATH {
        return beat(stream, &front).await;
    }
    let inner = match timeout(front.limits.handshake, TcpStream::connect(front.inner)).await {
        Ok(Ok(inner)) => inner,
        _ => return reply(&mut stream, "503 Service Unavailable").await,
    };
    let _ = inner.set_nodelay(true);
    let mut inner = inner;
    let mut request = head.without("authorization");
    request.extend_from_slice(&head.rest);
    if inner.write_all(&request).await.is_err() {
        return;
    }
    let limits = PipeLimits {
        idle: Some(front.limits.idle),
        first_reply: None,
    };
    pipe(stream, inner, limits, front.stop.clone()).await;
}

/// The heartbeat: a byte every [`FrontLimits::heartbeat`] until the client goes or the
/// front stops.
async fn beat(mut stream: TcpStream, front: &Front) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: no-store\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut stop = front.stop.clone();
    loop {
        tokio::select! {
            () = tokio::time::sleep(front.limits.heartbeat) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        match timeout(front.limits.handshake, stream.write_all(b".")).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}
