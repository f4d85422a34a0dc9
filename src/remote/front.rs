//! kiln's authenticated front for Burn's server: nothing unauthenticated reaches Burn.
//!
//! Burn's WebSocket server (burn-remote 0.22.1) checks a client's token only inside its own
//! session handshake, after it has accepted the connection and read a message of up to
//! 1 GiB, and its `/data` route (tensor transfers between servers) checks nothing: a request
//! for an unknown transfer holds its socket forever. So `serve` and [`super::LocalServer`]
//! run Burn's server on a port of 127.0.0.1, requiring a secret only this process knows, and
//! put this front on the public address. For each connection it
//!
//! 1. gives it a place in the *pre-authentication pool*: at most
//!    [`FrontLimits::max_per_peer`] from one network (an IPv4 /24 or an IPv6 /64) and
//!    [`FrontLimits::max_connections`] in all. A connection past either limit takes the place
//!    of the oldest unauthenticated one of its network (or, past the total, of the network
//!    holding most), so strangers holding connections open cannot keep a client out;
//! 2. reads the HTTP head of the WebSocket upgrade — at most 8 KiB, within
//!    [`FrontLimits::handshake`] — and refuses it before anything else unless it is a `GET`
//!    of a known route (`404`), carries no `Origin` or an allowed one
//!    ([`FrontLimits::allowed_origins`]; browsers always send one, so no web page can drive
//!    the server: `403`), and carries the `Authorization: Bearer` credential (its SHA-256
//!    against the token's: `401`) or, on a server without a token listening on loopback,
//!    names this machine in `Host` (DNS rebinding: `403`);
//! 3. moves an authorised connection out of the pool into one of
//!    [`FrontLimits::max_sessions`] session places (`503` when none is free), and relays an
//!    authorised `/session` upgrade to Burn's server: the head alone first; only when Burn
//!    answers `101 Switching Protocols` does anything else the client sent follow, so a
//!    request pipelined behind the upgrade (a `/data`, say) never reaches Burn. Any other
//!    answer is passed back and the connection closed. The client's first message, Burn's
//!    session handshake, goes to Burn with the server process's secret in place of the
//!    client's credential (`init.rs`: Burn's port on 127.0.0.1 admits no session without
//!    it); the rest is relayed byte for byte and closed after [`FrontLimits::idle`] without
//!    traffic. `/kiln/heartbeat` gets a byte every [`FrontLimits::heartbeat`], which kiln's
//!    client watches to tell a frozen server from a busy one.
//!
//! `/data` is not relayed: it serves transfers between Burn servers, which do not present
//! kiln's credential, and kiln moves tensors between the devices of one server only.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;

use super::http::{Head, read_head};
use super::init;
use super::pipe::{PipeLimits, pipe};
use super::relay::HEARTBEAT_PATH;

/// Burn's route for client sessions, the one route relayed.
const SESSION_PATH: &str = "/session";

/// What the front allows, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontLimits {
    /// To send a complete request head (default 10 s).
    pub handshake: Duration,
    /// An authorised session with no traffic either way is closed after this (default 1 h).
    pub idle: Duration,
    /// Unauthenticated connections at once, in all (default 256); past it a new one takes
    /// the place of the oldest of the network holding most.
    pub max_connections: usize,
    /// Unauthenticated connections at once from one network, an IPv4 /24 or an IPv6 /64
    /// (default 32); past it a new one takes the place of that network's oldest.
    pub max_per_peer: usize,
    /// Authorised connections (sessions and heartbeats) at once (default 64); they never
    /// count against the unauthenticated limits above.
    pub max_sessions: usize,
    /// Between two heartbeat bytes (default 1 s).
    pub heartbeat: Duration,
    /// Browser origins allowed to open a session (`https://lab.example`, compared without
    /// regard to case; default none). A request with any other `Origin` header is refused,
    /// with or without a token: browsers send one with every WebSocket upgrade, kiln's
    /// client and Burn's never do.
    pub allowed_origins: Vec<String>,
    /// Host names besides IP addresses and `localhost` that a request's `Host` header may
    /// name when the front listens on loopback without a token (default none); anything else
    /// is refused there, so a web page whose name was rebound to 127.0.0.1 cannot reach the
    /// server (with a token, the token tells clients from pages).
    pub allowed_hosts: Vec<String>,
}

impl Default for FrontLimits {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            idle: Duration::from_secs(3600),
            max_connections: 256,
            max_per_peer: 32,
            max_sessions: 64,
            heartbeat: Duration::from_secs(1),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }
}

/// One front's settings and counters.
pub(crate) struct Front {
    token: Option<[u8; 32]>,
    /// What Burn's server requires in a session's handshake (see `init.rs`).
    secret: String,
    inner: SocketAddr,
    /// Whether the front listens on a loopback address (the `Host` check applies).
    loopback: bool,
    limits: FrontLimits,
    sessions: Arc<Semaphore>,
    pool: Mutex<Pool>,
    stop: watch::Receiver<bool>,
}

impl Front {
    /// A front on `public` for Burn's server on `inner`, requiring `token` when given.
    pub(crate) fn new(
        token: Option<&str>,
        secret: String,
        public: SocketAddr,
        inner: SocketAddr,
        limits: FrontLimits,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            token: token.map(digest),
            secret,
            inner,
            loopback: public.ip().is_loopback(),
            sessions: Arc::new(Semaphore::new(limits.max_sessions.max(1))),
            limits,
            pool: Mutex::new(Pool::default()),
            stop,
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The network an address is counted under: its /24 (IPv4) or /64 (IPv6).
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network(IpAddr::V4(v4)),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::from(segments)
            }
        },
    }
}

/// The unauthenticated connections, oldest first per network, each with the switch that
/// closes it.
#[derive(Default)]
struct Pool {
    next_id: u64,
    total: usize,
    networks: HashMap<IpAddr, VecDeque<(u64, watch::Sender<bool>)>>,
}

impl Pool {
    /// Closes the oldest unauthenticated connection of `net`.
    fn evict_oldest(&mut self, net: IpAddr) {
        if let Some(queue) = self.networks.get_mut(&net)
            && let Some((_, close)) = queue.pop_front()
        {
            let _ = close.send(true);
            self.total -= 1;
            if queue.is_empty() {
                self.networks.remove(&net);
            }
        }
    }

    fn remove(&mut self, net: IpAddr, id: u64) {
        if let Some(queue) = self.networks.get_mut(&net)
            && let Some(at) = queue.iter().position(|(i, _)| *i == id)
        {
            queue.remove(at);
            self.total -= 1;
            if queue.is_empty() {
                self.networks.remove(&net);
            }
        }
    }
}

/// A connection's place in the pre-authentication pool, given back when dropped (or when
/// it is authorised); `evicted` turns true when a newer connection took its place.
struct PoolPlace {
    front: Arc<Front>,
    net: IpAddr,
    id: u64,
    evicted: watch::Receiver<bool>,
}

impl PoolPlace {
    /// A place for a connection from `ip`, made by closing older ones where the limits say.
    fn take(front: &Arc<Front>, ip: IpAddr) -> Option<Self> {
        let net = network(ip);
        let mut pool = front.pool.lock().ok()?;
        let per_network = front.limits.max_per_peer.max(1);
        if pool.networks.get(&net).map_or(0, VecDeque::len) >= per_network {
            tracing::debug!(
                "{per_network} unauthenticated connections from {net}/prefix: closing its oldest"
            );
            pool.evict_oldest(net);
        }
        if pool.total >= front.limits.max_connections.max(1) {
            let busiest = pool
                .networks
                .iter()
                .max_by_key(|(_, queue)| queue.len())
                .map(|(net, _)| *net);
            if let Some(busiest) = busiest {
                pool.evict_oldest(busiest);
            }
        }
        let id = pool.next_id;
        pool.next_id += 1;
        let (close, evicted) = watch::channel(false);
        pool.networks.entry(net).or_default().push_back((id, close));
        pool.total += 1;
        Some(Self {
            front: front.clone(),
            net,
            id,
            evicted,
        })
    }
}

impl Drop for PoolPlace {
    fn drop(&mut self) {
        if let Ok(mut pool) = self.front.pool.lock() {
            pool.remove(self.net, self.id);
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
        let Some(place) = PoolPlace::take(&front, peer.ip()) else {
            continue;
        };
        tokio::spawn(serve_one(stream, peer, front.clone(), place));
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

/// Why a request head is refused: the status to answer, and what the log says.
type Refusal = (&'static str, &'static str);

/// Checks a request head in the order the module docs give; the route on success.
fn check(front: &Front, head: &Head) -> Result<&'static str, Refusal> {
    let path = head.path();
    let route = match path.as_str() {
        SESSION_PATH => SESSION_PATH,
        HEARTBEAT_PATH => HEARTBEAT_PATH,
        _ => return Err(("404 Not Found", "an unknown route")),
    };
    if head.method() != "GET" {
        return Err(("405 Method Not Allowed", "not a GET"));
    }
    if let Some(origin) = head.header("origin")
        && !front
            .limits
            .allowed_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(&origin))
    {
        return Err((
            "403 Forbidden",
            "a browser origin not allowed (--allow-origin)",
        ));
    }
    match &front.token {
        Some(expected) => {
            let presented = head
                .header("authorization")
                .and_then(|value| value.strip_prefix("Bearer ").map(str::to_string));
            if presented.as_deref().map(digest).as_ref() != Some(expected) {
                return Err(("401 Unauthorized", "a missing or wrong token"));
            }
        }
        // Without a token, nothing but the name tells a client from a page whose name was
        // rebound to this machine (a page cannot present a token).
        None if front.loopback
            && !host_allowed(head.header("host").as_deref(), &front.limits.allowed_hosts) =>
        {
            return Err((
                "403 Forbidden",
                "a Host that is not this machine (--allow-host)",
            ));
        }
        None => {}
    }
    if route == SESSION_PATH
        && !head
            .header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    {
        return Err((
            "400 Bad Request",
            "a session request that is no WebSocket upgrade",
        ));
    }
    Ok(route)
}

/// Whether a `Host` header names this machine: an IP address, `localhost`, or one of
/// `allowed` (the port, if any, is not compared).
fn host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else {
        return false;
    };
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else if host.parse::<IpAddr>().is_ok() {
        host // a bare IPv6 address, colons and all
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

async fn serve_one(mut stream: TcpStream, peer: SocketAddr, front: Arc<Front>, place: PoolPlace) {
    let _ = stream.set_nodelay(true);
    let mut evicted = place.evicted.clone();
    let read = async {
        tokio::select! {
            read = timeout(front.limits.handshake, read_head(&mut stream)) => Some(read),
            _ = evicted.wait_for(|e| *e) => None,
        }
    };
    let head = match read.await {
        Some(Ok(Ok(head))) => head,
        Some(Ok(Err(e))) => {
            tracing::debug!("closed {peer} before its request: {e}");
            return;
        }
        Some(Err(_)) => {
            tracing::debug!("closed {peer}: no request within the handshake time");
            return;
        }
        None => {
            tracing::debug!("closed {peer}: its place went to a newer connection");
            return;
        }
    };
    let route = match check(&front, &head) {
        Ok(route) => route,
        Err((status, why)) => {
            tracing::warn!("refused {peer}: {why}");
            return reply(&mut stream, status).await;
        }
    };
    // Authorised: out of the unauthenticated pool, into a session place.
    drop(place);
    let Ok(_session) = front.sessions.clone().try_acquire_owned() else {
        tracing::warn!(
            "refused {peer}: {} sessions open",
            front.limits.max_sessions
        );
        return reply(&mut stream, "503 Service Unavailable").await;
    };
    if route == HEARTBEAT_PATH {
        return beat(stream, &front).await;
    }
    relay_session(stream, head, &front).await;
}

/// Hands an authorised upgrade to Burn's server: the head first, the rest only after Burn
/// has switched protocols.
async fn relay_session(mut stream: TcpStream, head: Head, front: &Front) {
    let inner = match timeout(front.limits.handshake, TcpStream::connect(front.inner)).await {
        Ok(Ok(inner)) => inner,
        _ => return reply(&mut stream, "503 Service Unavailable").await,
    };
    let _ = inner.set_nodelay(true);
    let mut inner = inner;
    if inner
        .write_all(&head.without("authorization"))
        .await
        .is_err()
    {
        return;
    }
    let answer = match timeout(front.limits.handshake, read_head(&mut inner)).await {
        Ok(Ok(answer)) => answer,
        _ => return reply(&mut stream, "502 Bad Gateway").await,
    };
    if stream.write_all(&answer.raw).await.is_err() {
        return;
    }
    if answer.status() != Some(101) {
        // Not upgraded: nothing else the client sent may reach Burn's HTTP server.
        let _ = stream.write_all(&answer.rest).await;
        return;
    }
    // Burn's handshake, the client's first message, with the server's secret in place of
    // the client's credential: nothing else opens a session (init.rs).
    let first = timeout(
        front.limits.handshake,
        init::read_client_frame(&mut stream, head.rest),
    )
    .await;
    let Ok(Some(frame)) = first else {
        return;
    };
    let Some(payload) = init::with_credential(&frame.payload, front.secret.as_bytes())
        .filter(|_| frame.first == 0x82)
    else {
        tracing::warn!("closed a session whose first message is not Burn's handshake");
        return;
    };
    let mut handshake = init::client_frame(frame.first, &payload);
    handshake.extend_from_slice(&frame.rest);
    if inner.write_all(&handshake).await.is_err() {
        return;
    }
    let limits = PipeLimits {
        idle: Some(front.limits.idle),
        ..PipeLimits::default()
    };
    pipe(
        stream,
        inner,
        limits,
        &answer.rest,
        front.stop.clone(),
        drop,
    )
    .await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_slash_24_and_slash_64() {
        let n = |s: &str| network(s.parse().unwrap()).to_string();
        assert_eq!(n("127.0.0.1"), "127.0.0.0");
        assert_eq!(n("127.0.0.8"), "127.0.0.0");
        assert_eq!(n("10.1.2.3"), "10.1.2.0");
        assert_eq!(n("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(n("::ffff:192.168.7.9"), "192.168.7.0");
    }

    #[test]
    fn hosts_are_addresses_localhost_or_allowed() {
        let allowed = vec!["gpu-box".to_string()];
        for ok in [
            "127.0.0.1:3000",
            "127.0.0.1",
            "[::1]:3000",
            "::1",
            "localhost:3000",
            "LOCALHOST",
            "10.0.0.2:80",
            "gpu-box:3000",
        ] {
            assert!(host_allowed(Some(ok), &allowed), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "evil.example",
            "127.0.0.1.evil.example:3000",
            "",
        ] {
            assert!(!host_allowed(Some(bad), &allowed), "{bad}");
        }
        assert!(!host_allowed(None, &allowed));
    }
}
