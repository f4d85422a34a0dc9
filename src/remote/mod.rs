//! kiln on a Burn server's devices (feature `remote`), and hosting this machine's devices for
//! other machines (feature `remote-server`).
//!
//! This is Burn's own remote backend, not a kiln protocol: a client's [`Device`] sends every
//! tensor operation to a `burn::server::RemoteServer` over WebSocket and only reads results
//! back, so every kiln model runs on it unchanged. kiln adds the naming
//! (`--backend remote=ws://HOST:PORT`), the credential from [`TOKEN_VAR`], typed one-line
//! errors, and [`LocalServer`], a server on 127.0.0.1 that tests and the bench start and stop.
//!
//! ```no_run
//! # fn main() -> Result<(), kiln::backend::BackendError> {
//! // On the machine with the GPU: cargo run --release --features cuda,remote-server --example serve -- --backend cuda --host 0.0.0.0 --port 3000
//! let device = kiln::remote::connect("ws://gpu-box:3000", 0)?;
//! # Ok(()) }
//! ```
//!
//! A remote device fails like any device: when the server goes away mid-run, the next read of
//! a result (every kiln model reads its metrics through Burn's `try_` readers) is the model's
//! typed device error, and the run resumes from its last checkpoint with `--resume`.

use burn::tensor::Device;
use burn::tensor::remote::{ConnectError, RemoteHost};

use crate::backend::BackendError;

/// The environment variable holding the credential: a client presents it, `serve` requires it.
/// Never a command-line flag, which any user of the machine could read with `ps`.
pub const TOKEN_VAR: &str = "KILN_REMOTE_TOKEN";

/// The credential in [`TOKEN_VAR`], if set and not empty.
pub fn token_from_env() -> Option<String> {
    std::env::var(TOKEN_VAR).ok().filter(|t| !t.is_empty())
}

/// The server at `url` (`ws://HOST:PORT`) with the credential from [`TOKEN_VAR`], if any.
///
/// # Errors
/// [`BackendError::RemoteAddress`] when `url` is not a `ws://HOST:PORT` address.
pub fn host(url: &str) -> Result<RemoteHost, BackendError> {
    host_with(url, token_from_env().as_deref())
}

/// The server at `url` presenting `token` (none: no credential).
///
/// # Errors
/// As [`host`].
pub fn host_with(url: &str, token: Option<&str>) -> Result<RemoteHost, BackendError> {
    check_url(url)?;
    let host = RemoteHost::websocket(url);
    Ok(match token {
        Some(token) => host.with_credential(token),
        None => host,
    })
}

fn check_url(url: &str) -> Result<(), BackendError> {
    let bad = |why: &str| BackendError::RemoteAddress {
        given: url.to_string(),
        why: why.to_string(),
    };
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| bad("it must start with ws:// (Burn's WebSocket transport)"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (name, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad("it needs a port, as in ws://HOST:3000"))?;
    if name.is_empty() {
        return Err(bad("it needs a host name or address"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(bad("the port must be a number from 1 to 65535")),
    }
}

/// Connects device `index` of the server at `url` and checks it with one tiny operation,
/// within the [`Deadlines`] of [`TIMEOUT_VAR`] (or the defaults).
///
/// The connection goes through kiln's relay (see [`Deadlines`]): a server that does not
/// answer, answers the upgrade and goes quiet, or freezes mid-run is a typed error, not a
/// hang.
///
/// # Errors
/// [`BackendError::RemoteAddress`] for a malformed address; [`BackendError::RemoteUnreachable`]
/// when nothing answers; [`BackendError::RemoteTimeout`] when a deadline passes;
/// [`BackendError::RemoteRefused`] when the server's token does not match [`TOKEN_VAR`];
/// [`BackendError::RemoteDevice`] when the server lacks device `index`;
/// [`BackendError::RemoteFailed`] for anything else the connection reports.
pub fn connect(url: &str, index: usize) -> Result<Device, BackendError> {
    connect_with(url, index, token_from_env().as_deref())
}

/// [`connect`] presenting `token` rather than [`TOKEN_VAR`]'s.
///
/// # Errors
/// As [`connect`].
pub fn connect_with(url: &str, index: usize, token: Option<&str>) -> Result<Device, BackendError> {
    connect_with_deadlines(url, index, token, Deadlines::from_env()?)
}

/// [`connect_with`] with the given deadlines.
///
/// # Errors
/// As [`connect`].
pub fn connect_with_deadlines(
    url: &str,
    index: usize,
    token: Option<&str>,
    deadlines: Deadlines,
) -> Result<Device, BackendError> {
    check_url(url)?;
    let relay = relay::relay(url, token, deadlines)?;
    let typed = |e: BackendError| match relay.failure() {
        Some(failure) => failure.into_error(url, token.is_some()),
        None => e,
    };
    let host = host_with(relay.local_url(), token)?;
    let device = Device::remote_options(&host)
        .device_index(index)
        .init()
        .map_err(|e| typed(connect_error(url, e, token.is_some())))?;
    crate::backend::probe(crate::backend::Backend::Remote, &device).map_err(typed)?;
    Ok(device)
}

/// How many devices the server at `url` hosts.
///
/// # Errors
/// As [`connect`].
pub fn device_count(url: &str) -> Result<usize, BackendError> {
    check_url(url)?;
    let token = token_from_env();
    let relay = relay::relay(url, token.as_deref(), Deadlines::from_env()?)?;
    host_with(relay.local_url(), token.as_deref())?
        .devices()
        .map(|d| d.len())
        .map_err(|e| match relay.failure() {
            Some(failure) => failure.into_error(url, token.is_some()),
            None => connect_error(url, e, token.is_some()),
        })
}

fn connect_error(url: &str, e: ConnectError, token_set: bool) -> BackendError {
    let url = url.to_string();
    match e {
        ConnectError::Unreachable { reason } => BackendError::RemoteUnreachable {
            url,
            reason: kiln_core::one_line(&reason),
        },
        ConnectError::Unauthorized => BackendError::RemoteRefused { url, token_set },
        ConnectError::NoSuchDevice { device_count } => {
            BackendError::RemoteDevice { url, device_count }
        }
        other => BackendError::RemoteFailed {
            url,
            reason: kiln_core::one_line(&other),
        },
    }
}

#[cfg(feature = "remote-server")]
mod front;
mod http;
#[cfg(feature = "remote-server")]
mod init;
mod peer;
mod pipe;
mod relay;

#[cfg(feature = "remote-server")]
pub use front::FrontLimits;
pub use relay::{Deadlines, MAX_MESSAGE_BYTES, TIMEOUT_VAR};
#[cfg(feature = "remote-server")]
pub use server::{LocalServer, MIN_TOKEN_BYTES, check_token, serve, serve_with};

#[cfg(feature = "remote-server")]
mod server {
    use std::net::{SocketAddr, TcpListener};
    use std::sync::Arc;

    use burn::server::{RemoteServer, TokenAuthorizer, WebSocketTransport};
    use burn::tensor::Device;
    use tokio::sync::watch;

    use super::front::{self, Front, FrontLimits};
    use crate::backend::BackendError;

    /// The shortest token a server accepts: 16 bytes (128 bits when random, e.g.
    /// `openssl rand -hex 16` gives 32 characters).
    pub const MIN_TOKEN_BYTES: usize = 16;

    /// Whether `host` (an address or name to listen on) is this machine only.
    fn is_loopback(host: &str) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        bare.eq_ignore_ascii_case("localhost")
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The rule for a server's token: listening beyond this machine (`host` not a loopback
    /// address) needs a token, and any token needs at least [`MIN_TOKEN_BYTES`] bytes —
    /// unless `insecure` says the operator wants it anyway.
    ///
    /// # Errors
    /// [`BackendError::ServerToken`] saying which rule and what to do.
    pub fn check_token(
        host: &str,
        token: Option<&str>,
        insecure: bool,
    ) -> Result<(), BackendError> {
        if insecure {
            return Ok(());
        }
        match token {
            Some(t) if t.len() < MIN_TOKEN_BYTES => Err(BackendError::ServerToken(format!(
                "KILN_REMOTE_TOKEN has {} bytes, fewer than {MIN_TOKEN_BYTES}: use a random one \
                 (e.g. `openssl rand -hex 16`), or --insecure to accept it",
                t.len()
            ))),
            None if !is_loopback(host) => Err(BackendError::ServerToken(format!(
                "listening on {host}, beyond this machine, needs a token: set KILN_REMOTE_TOKEN \
                 (at least {MIN_TOKEN_BYTES} bytes) here and on the clients, or pass --insecure \
                 to serve anyone who can reach the port"
            ))),
            _ => Ok(()),
        }
    }

    /// Burn's server for `devices`, requiring `secret` (the front's, see `init.rs`).
    fn server(devices: Vec<Device>, secret: &str) -> Result<RemoteServer, BackendError> {
        if devices.is_empty() {
            return Err(BackendError::ServerNoDevices);
        }
        let authorizer =
            TokenAuthorizer::new(secret).map_err(|e| BackendError::ServerToken(e.to_string()))?;
        Ok(RemoteServer::new(devices).with_authorizer(authorizer))
    }

    /// A secret for Burn's inner port: 256 bits from the system's generator, in hex.
    fn inner_secret() -> Result<String, BackendError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| BackendError::ServerStopped(format!("no random secret: {e}")))?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn bind(address: &str) -> Result<TcpListener, BackendError> {
        TcpListener::bind(address).map_err(|e| BackendError::ServerBind {
            address: address.to_string(),
            reason: e.to_string(),
        })
    }

    fn local_addr(listener: &TcpListener) -> Result<SocketAddr, BackendError> {
        listener
            .local_addr()
            .map_err(|e| BackendError::ServerStopped(e.to_string()))
    }

    fn runtime(name: &str) -> Result<tokio::runtime::Runtime, BackendError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|e| BackendError::ServerStopped(e.to_string()))
    }

    /// Burn's server's port on 127.0.0.1 and kiln's front (see [`FrontLimits`]) on
    /// `public`, the front running on `runtime` until `stop` turns true and presenting
    /// `secret` to Burn for every client it admits.
    fn start_front(
        runtime: &tokio::runtime::Runtime,
        public: TcpListener,
        token: Option<&str>,
        secret: String,
        limits: FrontLimits,
        stop: watch::Receiver<bool>,
    ) -> Result<TcpListener, BackendError> {
        let inner = bind("127.0.0.1:0")?;
        let front = Arc::new(Front::new(
            token,
            secret,
            local_addr(&public)?,
            local_addr(&inner)?,
            limits,
            stop,
        ));
        public
            .set_nonblocking(true)
            .map_err(|e| BackendError::ServerStopped(e.to_string()))?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(public)
                .map_err(|e| BackendError::ServerStopped(e.to_string()))?
        };
        runtime.spawn(front::run(listener, front));
        Ok(inner)
    }

    /// Serves `devices` on `address` (`HOST:PORT`; port 0 picks a free one) until Ctrl+C or
    /// `SIGTERM`, requiring `token` from clients when given, behind kiln's front with its
    /// default [`FrontLimits`]. `on_listening` gets the `ws://HOST:PORT` address clients
    /// dial, once the socket is bound. Check the token first with [`check_token`].
    ///
    /// # Errors
    /// [`BackendError::ServerBind`] when the address cannot be bound; [`BackendError::ServerStopped`] when Burn
    /// refuses the devices (LibTorch devices cannot be served) or the transport fails.
    pub fn serve(
        devices: Vec<Device>,
        address: &str,
        token: Option<&str>,
        on_listening: impl FnOnce(&str),
    ) -> Result<(), BackendError> {
        serve_with(
            devices,
            address,
            token,
            FrontLimits::default(),
            on_listening,
        )
    }

    /// [`serve`] with the front's limits given.
    ///
    /// # Errors
    /// As [`serve`].
    pub fn serve_with(
        devices: Vec<Device>,
        address: &str,
        token: Option<&str>,
        limits: FrontLimits,
        on_listening: impl FnOnce(&str),
    ) -> Result<(), BackendError> {
        let secret = inner_secret()?;
        let server = server(devices, &secret)?;
        let public = bind(address)?;
        let local = local_addr(&public)?;
        let runtime = runtime("kiln-front")?;
        let (stop, stopped) = watch::channel(false);
        let inner = start_front(&runtime, public, token, secret, limits, stopped)?;
        on_listening(&format!("ws://{local}"));
        let served = server.serve(WebSocketTransport::from_listener(inner));
        let _ = stop.send(true);
        runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        served.map_err(|e| BackendError::ServerStopped(kiln_core::one_line(&e)))
    }

    /// A Burn server on 127.0.0.1 inside this process, behind kiln's front, on a port the
    /// system picks, for tests and the bench: started by [`LocalServer::start`], stopped
    /// (every session closed) when dropped or by [`LocalServer::stop`].
    pub struct LocalServer {
        runtime: Option<tokio::runtime::Runtime>,
        stop: watch::Sender<bool>,
        url: String,
    }

    impl LocalServer {
        /// Starts serving `devices` (listed in this order to clients), requiring `token` when
        /// given.
        ///
        /// # Errors
        /// As [`serve`].
        pub fn start(devices: Vec<Device>, token: Option<&str>) -> Result<Self, BackendError> {
            Self::start_with(devices, token, FrontLimits::default())
        }

        /// [`LocalServer::start`] with the front's limits given.
        ///
        /// # Errors
        /// As [`serve`].
        pub fn start_with(
            devices: Vec<Device>,
            token: Option<&str>,
            limits: FrontLimits,
        ) -> Result<Self, BackendError> {
            let secret = inner_secret()?;
            let server = server(devices, &secret)?;
            let public = bind("127.0.0.1:0")?;
            let url = format!("ws://{}", local_addr(&public)?);
            let runtime = runtime("kiln-local-server")?;
            let (stop, stopped) = watch::channel(false);
            let inner = start_front(&runtime, public, token, secret, limits, stopped)?;
            let serving = server.serve_async(WebSocketTransport::from_listener(inner));
            runtime.spawn(async move {
                if let Err(e) = serving.await {
                    tracing::warn!("local Burn server stopped: {}", kiln_core::one_line(&e));
                }
            });
            Ok(Self {
                runtime: Some(runtime),
                stop,
                url,
            })
        }

        /// The address clients dial: `ws://127.0.0.1:PORT`.
        pub fn url(&self) -> &str {
            &self.url
        }

        /// Stops serving: the socket closes and every client's session ends (their next read
        /// fails).
        pub fn stop(mut self) {
            self.shutdown();
        }

        fn shutdown(&mut self) {
            let _ = self.stop.send(true);
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_timeout(std::time::Duration::from_secs(5));
            }
        }
    }

    impl Drop for LocalServer {
        fn drop(&mut self) {
            self.shutdown();
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn tokens_are_required_beyond_loopback_and_short_ones_refused() {
            let good = "0123456789abcdef";
            assert!(check_token("127.0.0.1", None, false).is_ok());
            assert!(check_token("localhost", None, false).is_ok());
            assert!(check_token("::1", None, false).is_ok());
            assert!(check_token("0.0.0.0", Some(good), false).is_ok());
            for host in ["0.0.0.0", "192.168.1.2", "::", "gpu-box"] {
                let err = check_token(host, None, false).unwrap_err().to_string();
                assert!(err.contains("--insecure"), "{host}: {err}");
                assert!(check_token(host, None, true).is_ok());
            }
            let err = check_token("127.0.0.1", Some("x"), false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("1 bytes"), "{err}");
            assert!(check_token("0.0.0.0", Some("x"), true).is_ok());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_addresses_are_typed_errors() {
        for bad in [
            "http://h:1",
            "ws://h",
            "ws://:3000",
            "ws://h:0",
            "ws://h:port",
            "h:3000",
        ] {
            let err = host(bad).unwrap_err();
            assert!(
                matches!(err, BackendError::RemoteAddress { .. }),
                "{bad}: {err}"
            );
            assert!(!err.to_string().contains('\n'));
        }
        assert!(host("ws://127.0.0.1:3000").is_ok());
        assert!(host("ws://gpu-box.local:3000/").is_ok());
    }
}
