//! The client's side of a remote device: deadlines, and the credential in the handshake.
//!
//! Burn's WebSocket client has no timeouts: against a server that accepts and never answers,
//! or answers the upgrade and goes quiet, or is frozen mid-run, it waits forever. So kiln
//! does not point Burn at the server itself but at a relay on 127.0.0.1 in this process,
//! which forwards each connection to the server and
//!
//! - serves only connections this process opened (on Linux, where the kernel tells: see
//!   `peer.rs`): any other local process's connection is closed at once, never reaches the
//!   server with the credential and never disturbs this process's own;
//! - connects within [`Deadlines::connect`] and needs the server's answer to the WebSocket
//!   upgrade, then its first whole message, within [`Deadlines::handshake`];
//! - presents the credential as an `Authorization: Bearer` header of the upgrade, which
//!   kiln's front checks before anything reaches Burn's server (Burn's own handshake still
//!   carries it too);
//! - keeps one more connection to the front, `GET /kiln/heartbeat`, on which the front
//!   writes a byte every second. The heartbeat is required: a server that does not answer it
//!   with `200` within [`Deadlines::silence`] (a plain Burn server, or one that refuses it),
//!   or falls silent on it for as long, is taken for frozen or gone, every relayed
//!   connection is closed, and Burn's next read fails — the model's typed device error,
//!   from which `--resume` continues later;
//! - reads the server's WebSocket frames as they pass: a message past
//!   [`MAX_MESSAGE_BYTES`] is refused at its header, a frame begun and then silent for
//!   [`Deadlines::silence`] ends the session, and so does a session with no traffic either
//!   way for [`Deadlines::idle`].
//!
//! Whatever the server says that reaches an error message is put on one line without control
//! characters ([`kiln_core::one_line`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::timeout;

use super::http::{Head, read_head};
use super::peer::from_this_process;
use super::pipe::{PipeEnd, PipeLimits, pipe};
use crate::backend::BackendError;

/// The route of the front's heartbeat.
pub(crate) const HEARTBEAT_PATH: &str = "/kiln/heartbeat";

/// The largest message a server may send a client (512 MiB; Burn's own client allows
/// 1 GiB): a bigger one ends the connection with [`BackendError::RemoteFailed`] before it is
/// read.
pub const MAX_MESSAGE_BYTES: u64 = 512 << 20;

/// The environment variable that sets the connect, handshake and silence [`Deadlines`], in
/// seconds.
pub const TIMEOUT_VAR: &str = "KILN_REMOTE_TIMEOUT";

/// How long a client waits on a remote server before giving up with a typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadlines {
    /// For the TCP connection (default 10 s).
    pub connect: Duration,
    /// For the server's answer to the WebSocket upgrade and then its first message
    /// (default 10 s).
    pub handshake: Duration,
    /// For a sign of life from a kiln server's heartbeat during a run (default 30 s; it
    /// beats every second), and for the rest of a message the server has begun.
    pub silence: Duration,
    /// A session with no traffic either way is closed after this (default 1 h; not set by
    /// [`TIMEOUT_VAR`]).
    pub idle: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            silence: Duration::from_secs(30),
            idle: Duration::from_secs(3600),
        }
    }
}

impl Deadlines {
    /// The defaults, or [`TIMEOUT_VAR`]'s seconds for every field when it is set.
    ///
    /// # Errors
    /// [`BackendError::RemoteTimeoutSetting`] when the variable is not a number of seconds
    /// in (0, 86400].
    pub fn from_env() -> Result<Self, BackendError> {
        match std::env::var(TIMEOUT_VAR) {
            Err(_) => Ok(Self::default()),
            Ok(text) => {
                let seconds = crate::cli::seconds(&text)
                    .map_err(|why| BackendError::RemoteTimeoutSetting { why })?;
                let all = Duration::from_secs_f64(seconds);
                Ok(Self {
                    connect: all,
                    handshake: all,
                    silence: all,
                    ..Self::default()
                })
            }
        }
    }
}

/// Why the relay gave up on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A deadline passed: what was awaited, and how long.
    Timeout { what: &'static str, after: Duration },
    /// The server refused the credential (HTTP 401).
    Refused,
    /// No connection.
    Unreachable(String),
    /// The server answered the upgrade with something else.
    Answer(String),
    /// The server announced a message of at least this many bytes.
    TooLarge(u64),
}

impl Failure {
    pub(crate) fn into_error(self, url: &str, token_set: bool) -> BackendError {
        let url = url.to_string();
        match self {
            Self::Timeout { what, after } => BackendError::RemoteTimeout { url, what, after },
            Self::Refused => BackendError::RemoteRefused { url, token_set },
            Self::Unreachable(reason) => BackendError::RemoteUnreachable { url, reason },
            Self::Answer(reason) => BackendError::RemoteFailed {
                url,
                reason: format!(
                    "it answered the WebSocket upgrade with '{}'",
                    kiln_core::one_line(&reason)
                ),
            },
            Self::TooLarge(len) => BackendError::RemoteFailed {
                url,
                reason: format!(
                    "it sent a message of {len} bytes or more, past the limit of \
                     {MAX_MESSAGE_BYTES} bytes"
                ),
            },
        }
    }
}

/// One server's relay: a listener on 127.0.0.1 that Burn's client dials instead.
pub(crate) struct Relay {
    local_url: String,
    failure: Arc<Mutex<Option<Failure>>>,
    _stop: watch::Sender<bool>,
    _runtime: tokio::runtime::Runtime,
}

impl Relay {
    /// The `ws://127.0.0.1:PORT…` address Burn dials.
    pub(crate) fn local_url(&self) -> &str {
        &self.local_url
    }

    /// Why it gave up, once it has.
    pub(crate) fn failure(&self) -> Option<Failure> {
        self.failure.lock().ok()?.clone()
    }
}

/// Where a `ws://HOST:PORT/PATH` address points: `HOST:PORT` and `/PATH` (maybe empty).
fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("ws://").unwrap_or(url);
    match rest.find('/') {
        Some(at) => (
            rest[..at].to_string(),
            rest[at..].trim_end_matches('/').to_string(),
        ),
        None => (rest.to_string(), String::new()),
    }
}

type Key = (String, Option<String>, Deadlines);

fn relays() -> &'static Mutex<HashMap<Key, Arc<Relay>>> {
    static RELAYS: OnceLock<Mutex<HashMap<Key, Arc<Relay>>>> = OnceLock::new();
    RELAYS.get_or_init(Default::default)
}

/// The relay to `url` presenting `token`: the running one, or a new one when there is none
/// or the last one gave up (the server may be back). A new relay first reaches the server's
/// heartbeat, so a server that cannot be reached, does not answer or refuses the token is
/// a typed error here.
///
/// # Errors
/// [`BackendError::RemoteTimeout`], [`BackendError::RemoteUnreachable`],
/// [`BackendError::RemoteRefused`], [`BackendError::RemoteFailed`].
pub(crate) fn relay(
    url: &str,
    token: Option<&str>,
    deadlines: Deadlines,
) -> Result<Arc<Relay>, BackendError> {
    let key = (url.to_string(), token.map(str::to_string), deadlines);
    let mut relays = relays().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(relay) = relays.get(&key)
        && relay.failure().is_none()
    {
        return Ok(relay.clone());
    }
    let relay = Arc::new(start(url, token, deadlines)?);
    relays.insert(key, relay.clone());
    Ok(relay)
}

struct Target {
    authority: String,
    token: Option<String>,
    deadlines: Deadlines,
    failure: Arc<Mutex<Option<Failure>>>,
    stop: watch::Sender<bool>,
}

impl Target {
    /// Records the first failure and closes every relayed connection: the server is gone
    /// (the heartbeat says so).
    fn fail(&self, failure: Failure) {
        self.record(failure);
        let _ = self.stop.send(true);
    }

    /// Records the first failure, which types the error of the connection it ended (and
    /// keeps the relay from being handed to new connects), leaving the other connections as
    /// they are.
    fn record(&self, failure: Failure) {
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(failure);
        }
    }

    async fn connect(&self) -> Result<TcpStream, Failure> {
        let after = self.deadlines.connect;
        match timeout(after, TcpStream::connect(&self.authority)).await {
            Err(_) => Err(Failure::Timeout {
                what: "connection",
                after,
            }),
            Ok(Err(e)) => Err(Failure::Unreachable(e.to_string())),
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
        }
    }

    fn authorize(&self, head: &[u8]) -> Vec<u8> {
        let head = Head {
            raw: head.to_vec(),
            rest: Vec::new(),
        };
        match &self.token {
            Some(token) => head.with("Authorization", &format!("Bearer {token}")),
            None => head.raw,
        }
    }

    /// Sends `request` and reads the answer's head within the handshake deadline.
    async fn handshake(&self, server: &mut TcpStream, request: &[u8]) -> Result<Head, Failure> {
        let after = self.deadlines.handshake;
        let exchange = async {
            server.write_all(request).await.map_err(|e| e.to_string())?;
            read_head(server).await.map_err(|e| e.to_string())
        };
        match timeout(after, exchange).await {
            Err(_) => Err(Failure::Timeout {
                what: "answer to the WebSocket handshake",
                after,
            }),
            Ok(Err(reason)) => Err(Failure::Unreachable(format!(
                "the connection failed during the handshake: {reason}"
            ))),
            Ok(Ok(head)) => match head.status() {
                Some(401) => Err(Failure::Refused),
                _ => Ok(head),
            },
        }
    }
}

fn start(url: &str, token: Option<&str>, deadlines: Deadlines) -> Result<Relay, BackendError> {
    let token_set = token.is_some();
    let fail_setup = |reason: String| BackendError::RemoteFailed {
        url: url.to_string(),
        reason,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("kiln-remote-relay")
        .enable_all()
        .build()
        .map_err(|e| fail_setup(format!("cannot start the relay: {e}")))?;
    let (authority, path) = split_url(url);
    let (stop, _) = watch::channel(false);
    let failure = Arc::new(Mutex::new(None));
    let target = Arc::new(Target {
        authority,
        token: token.map(str::to_string),
        deadlines,
        failure: failure.clone(),
        stop: stop.clone(),
    });
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .and_then(|l| Ok((l.local_addr()?, l)))
        .map_err(|e| fail_setup(format!("cannot open the relay's local port: {e}")));
    let (local, listener) = listener?;
    // The heartbeat first: it says at once whether the server is there and takes the token.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    runtime.spawn(heartbeat(target.clone(), ready_tx));
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => return Err(failure.into_error(url, token_set)),
        Err(_) => return Err(fail_setup("the relay stopped".into())),
    }
    runtime.spawn(accept(listener, target));
    Ok(Relay {
        local_url: format!("ws://{local}{path}"),
        failure,
        _stop: stop,
        _runtime: runtime,
    })
}

/// Reaches the front's heartbeat (trying again while it is refused, until
/// [`Deadlines::silence`] has passed), tells `ready` how that went, then watches it beat.
async fn heartbeat(target: Arc<Target>, ready: std::sync::mpsc::Sender<Result<(), Failure>>) {
    let silence = target.deadlines.silence;
    let began = tokio::time::Instant::now();
    let fail = |failure: Failure| {
        target.fail(failure.clone());
        let _ = ready.send(Err(failure));
    };
    let request = target.authorize(
        format!(
            "GET {HEARTBEAT_PATH} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n\r\n",
            target.authority
        )
        .as_bytes(),
    );
    let mut server = loop {
        let mut server = match target.connect().await {
            Ok(server) => server,
            Err(failure) => return fail(failure),
        };
        let head = match target.handshake(&mut server, &request).await {
            Ok(head) => head,
            Err(failure) => return fail(failure),
        };
        if head.status() == Some(200) {
            break server;
        }
        // Not kiln's front, or one refusing its heartbeat: no sign of life.
        tracing::debug!(
            "{} answered the heartbeat with '{}'",
            target.authority,
            kiln_core::one_line(&head.first_line())
        );
        if began.elapsed() + Duration::from_secs(1) > silence {
            return fail(Failure::Timeout {
                what: "sign of life (heartbeat)",
                after: silence,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let _ = ready.send(Ok(()));
    let mut beat = [0u8; 64];
    let mut stopped = target.stop.subscribe();
    loop {
        tokio::select! {
            read = timeout(silence, server.read(&mut beat)) => match read {
                Ok(Ok(n)) if n > 0 => continue,
                Ok(_) => {
                    // Closed: the server stopped (or its machine went away). Burn's own
                    // connections see the same and fail on their next read.
                    tracing::warn!("the Burn server at ws://{} closed its connections", target.authority);
                    return target.fail(Failure::Unreachable("the server closed the connection".into()));
                }
                Err(_) => break,
            },
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
    tracing::error!(
        "the Burn server at ws://{} gave no sign of life for {:.0} s (frozen, overloaded or \
         unreachable): its sessions are closed; rerun with --resume once it is back \
         ({TIMEOUT_VAR} sets the limit)",
        target.authority,
        silence.as_secs_f64()
    );
    target.fail(Failure::Timeout {
        what: "sign of life (heartbeat)",
        after: silence,
    });
}

/// At most this many connections are checked (`peer.rs`) at once: the check reads the
/// kernel's socket tables off the relay's thread, and strangers flooding the relay wait
/// for their turn instead of holding up the owner's sessions.
const CHECKS_AT_ONCE: usize = 4;

/// Relays each connection Burn's client opens, until the relay gives up; a connection from
/// another process is closed at once.
async fn accept(listener: TcpListener, target: Arc<Target>) {
    let mut stopped = target.stop.subscribe();
    let Ok(address) = listener.local_addr() else {
        return;
    };
    let checks = Arc::new(tokio::sync::Semaphore::new(CHECKS_AT_ONCE));
    let warned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        let (local, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, most likely: let closing connections free some.
                tracing::warn!("the relay cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(turn) = checks.clone().acquire_owned().await else {
            return;
        };
        let (target, warned) = (target.clone(), warned.clone());
        tokio::spawn(async move {
            let check = tokio::task::spawn_blocking(move || from_this_process(peer, address));
            let own = check.await.ok().flatten();
            drop(turn);
            match own {
                Some(true) => {}
                Some(false) => {
                    tracing::warn!(
                        "closed a connection to the relay from another process ({peer})"
                    );
                    return;
                }
                None => {
                    if !warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                        tracing::warn!(
                            "this system cannot tell which process opened a loopback \
                             connection: the relay serves any local process (docs/scaling.md)"
                        );
                    }
                }
            }
            relay_one(local, target).await;
        });
    }
}

async fn relay_one(mut local: TcpStream, target: Arc<Target>) {
    let _ = local.set_nodelay(true);
    // Burn's own request, from this process: it comes at once.
    let Ok(Ok(request)) = timeout(target.deadlines.handshake, read_head(&mut local)).await else {
        return;
    };
    let mut server = match target.connect().await {
        Ok(server) => server,
        Err(failure) => return target.record(failure),
    };
    let mut outgoing = target.authorize(&request.raw);
    outgoing.extend_from_slice(&request.rest);
    let answer = match target.handshake(&mut server, &outgoing).await {
        Ok(answer) => answer,
        Err(failure) => return target.record(failure),
    };
    if answer.status() != Some(101) {
        return target.record(Failure::Answer(answer.first_line()));
    }
    if local.write_all(&answer.raw).await.is_err() {
        return;
    }
    // Burn's client speaks first (its session handshake) and the server answers at once: a
    // server that upgrades and then says nothing (or sends part of a frame) is caught here.
    let deadlines = target.deadlines;
    let limits = PipeLimits {
        idle: Some(deadlines.idle),
        first_reply: Some(deadlines.handshake),
        stall: Some(deadlines.silence),
        max_message: Some(MAX_MESSAGE_BYTES),
    };
    let cancel = target.stop.subscribe();
    pipe(local, server, limits, &answer.rest, cancel, |end| {
        let failure = match end {
            PipeEnd::Closed | PipeEnd::Cancelled => return,
            PipeEnd::NoReply => Failure::Timeout {
                what: "first message after the WebSocket upgrade",
                after: deadlines.handshake,
            },
            PipeEnd::Stalled => Failure::Timeout {
                what: "end of a message it had begun",
                after: deadlines.silence,
            },
            PipeEnd::Idle => Failure::Timeout {
                what: "traffic on an idle session",
                after: deadlines.idle,
            },
            PipeEnd::TooLarge(len) => Failure::TooLarge(len),
        };
        // Recorded before Burn's client sees its connection close, so its error is typed;
        // this connection's end is not the others'.
        target.record(failure.clone());
        tracing::error!(
            "the Burn server at ws://{}: {}",
            target.authority,
            failure.into_error(&target.authority, false)
        );
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_authority_and_path() {
        assert_eq!(
            split_url("ws://h:3000"),
            ("h:3000".to_string(), String::new())
        );
        assert_eq!(
            split_url("ws://h:3000/"),
            ("h:3000".to_string(), String::new())
        );
        assert_eq!(
            split_url("ws://h:3000/a/b"),
            ("h:3000".to_string(), "/a/b".to_string())
        );
    }
}
