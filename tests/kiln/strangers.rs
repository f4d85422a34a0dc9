//! Strangers on the same machine, and browsers: the doors of issue "Closed to strangers,
//! local ones included". Each test plays the stranger from another process where the door
//! is a process boundary (the relay, the server), and every wait is bounded.
//!
//! Needs the `remote-server` feature (README's all-backend test command has it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use burn::tensor::Tensor;
use kiln::backend::BackendError;
use kiln::remote::{Deadlines, FrontLimits, LocalServer, connect_with_deadlines};

use super::common::{cpu, loud};
use super::faults::{example, fixtures, skip};
use super::remote::bounded;

pub(super) const TOKEN: &str = "a-token-of-32-bytes-for-the-test";

/// Short deadlines, with room for a machine busy with the other tests.
pub(super) fn quick() -> Deadlines {
    Deadlines {
        connect: Duration::from_secs(5),
        handshake: Duration::from_secs(10),
        silence: Duration::from_secs(5),
        ..Deadlines::default()
    }
}

pub(super) fn works(url: &str, token: Option<&str>) -> Result<f32, String> {
    let device = connect_with_deadlines(url, 0, token, quick()).map_err(|e| e.to_string())?;
    Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device)
        .sum()
        .try_into_scalar::<f32>()
        .map_err(|e| e.to_string())
}

fn address(url: &str) -> String {
    url.trim_start_matches("ws://").to_string()
}

/// A WebSocket upgrade of `path` with `extra` header lines (each ending in `\r\n`).
fn upgrade(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

/// Sends `request` to `addr` and returns everything answered within `wait` (until the
/// server closes, or the wait ends).
fn exchange(addr: &str, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    read_for(&mut stream, wait)
}

fn read_for(stream: &mut TcpStream, wait: Duration) -> String {
    let end = Instant::now() + wait;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The first line of an answer, or `(closed)`.
fn status(answer: &str) -> String {
    answer.lines().next().unwrap_or("(closed)").to_string()
}

/// A child process killed when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The TCP ports process `pid` listens on at 127.0.0.1 (Linux: its sockets in
/// `/proc/PID/fd` against the kernel's table), or None where `/proc` cannot tell.
fn listening_ports(pid: u32) -> Option<Vec<u16>> {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|t| {
            let t = t.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect();
    Some(
        table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                // State 0A: listening; inode in field 9.
                (f.get(3) == Some(&"0A") && inodes.iter().any(|i| Some(&i.as_str()) == f.get(9)))
                    .then(|| u16::from_str_radix(f[1].split(':').nth(1)?, 16).ok())
                    .flatten()
            })
            .collect(),
    )
}

/// `serve` as a child on a free port, requiring `token` when given.
fn served(token: Option<&str>) -> Option<(Killed, String)> {
    let serve = example("serve")?;
    let (child, url) = super::remote::serve_child(&serve, token);
    Some((Killed(child), url))
}

/// Finding 1: a client's relay is its own process's alone. The owner is the `mlp` example
/// training through a server; this test process is the stranger: it finds the owner's relay
/// as any local user can (its listening sockets), sends it a WebSocket upgrade and a
/// request for an unknown route, and the owner's run must finish as if nothing happened.
#[test]
fn a_clients_relay_serves_no_other_process_and_outlives_strangers() {
    let (Some((_server, url)), Some(mlp)) = (served(Some(TOKEN)), example("mlp")) else {
        return skip("strangers: serve/mlp");
    };
    let dir = tempfile::tempdir().unwrap();
    let mut owner = Command::new(&mlp)
        .args(["--backend", &format!("remote={url}"), "--dataset", "mnist"])
        .args(["--data-dir", fixtures().to_str().unwrap()])
        .args([
            "--epochs",
            "2",
            "--validation-size",
            "500",
            "--hidden",
            "32",
        ])
        .args(["--artifact-dir", dir.path().join("run").to_str().unwrap()])
        .env(kiln::remote::TOKEN_VAR, TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = owner.id();
    let began = Instant::now();
    // The owner ends by itself (its server goes when this test ends): not killed here.
    let ports = loop {
        match listening_ports(pid) {
            None => {
                let _ = owner.kill();
                let _ = owner.wait();
                return loud("SKIPPED strangers::relay: no /proc here");
            }
            Some(ports) if !ports.is_empty() => break ports,
            Some(_) => {}
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "no relay in 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    for port in &ports {
        let addr = format!("127.0.0.1:{port}");
        let answer = exchange(
            &addr,
            upgrade("/session", "").as_bytes(),
            Duration::from_secs(3),
        );
        println!(
            "the owner's port {port} answered a stranger's upgrade: {}",
            status(&answer)
        );
        assert!(
            !answer.contains(" 101 "),
            "a stranger was upgraded: {answer}"
        );
        let answer = exchange(
            &addr,
            b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            Duration::from_secs(3),
        );
        assert!(!answer.starts_with("HTTP/"), "{answer}");
    }
    let output = bounded(Duration::from_secs(300), move || owner.wait_with_output()).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the owner's run failed: {stderr}");
    loud(&format!(
        "strangers: the relay (ports {ports:?}) closed a stranger's upgrade and /nope; the owner's run finished"
    ));
}

/// Finding 2: Burn 0.22.1's server cannot do without a TCP port of its own (see
/// `src/remote/init.rs`), so `serve` has one on 127.0.0.1 besides the front. It admits no
/// session but through the front: a plain Burn client dialling it straight is refused
/// (Burn's own check, against the server process's secret), while the same client through
/// the front of a server without a token is served.
#[test]
fn burns_inner_port_admits_no_session_but_through_the_front() {
    use burn::tensor::Device;
    use burn::tensor::remote::{ConnectError, RemoteHost};
    let Some((child, url)) = served(None) else {
        return skip("strangers: serve");
    };
    let front: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let Some(ports) = listening_ports(child.0.id()) else {
        return loud("SKIPPED strangers::inner port: no /proc here");
    };
    let inner: Vec<u16> = ports.into_iter().filter(|p| *p != front).collect();
    println!("serve listens on the front's port {front} and on {inner:?}");
    assert!(
        !inner.is_empty(),
        "no inner port: update this test and docs/scaling.md"
    );
    let plain = |url: String| {
        bounded(Duration::from_secs(60), move || {
            let device = Device::remote_options(&RemoteHost::websocket(&url))
                .device_index(0)
                .init()?;
            Ok::<f32, ConnectError>(
                Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device)
                    .sum()
                    .into_scalar::<f32>(),
            )
        })
    };
    for port in inner {
        let straight = plain(format!("ws://127.0.0.1:{port}"));
        println!("a plain Burn client straight to port {port}: {straight:?}");
        assert!(
            matches!(straight, Err(ConnectError::Unauthorized)),
            "{straight:?}"
        );
    }
    let through = plain(url.clone());
    assert!(matches!(through, Ok(6.0)), "{through:?}");
}

/// Finding 3: a browser's upgrade (it always carries `Origin`) is refused with or without a
/// token, unless the operator allowed that origin; a `Host` naming another machine is
/// refused on loopback (DNS rebinding).
#[test]
fn browser_origins_and_rebound_hosts_are_refused() {
    let open = LocalServer::start(vec![cpu()], None).unwrap();
    let guarded = LocalServer::start(vec![cpu()], Some(TOKEN)).unwrap();
    let allowing = LocalServer::start_with(
        vec![cpu()],
        None,
        FrontLimits {
            allowed_origins: vec!["https://lab.example".into()],
            ..FrontLimits::default()
        },
    )
    .unwrap();
    let bearer = format!("Authorization: Bearer {TOKEN}\r\n");
    let wait = Duration::from_secs(5);
    for (name, server, extra) in [
        ("no token", &open, String::new()),
        ("with the token", &guarded, bearer.clone()),
    ] {
        let addr = address(server.url());
        let evil = format!("{extra}Origin: https://evil.example\r\n");
        let answer = exchange(&addr, upgrade("/session", &evil).as_bytes(), wait);
        println!("{name}, Origin evil.example: {}", status(&answer));
        assert!(status(&answer).contains("403"), "{name}: {answer}");
        // A page whose name was rebound to 127.0.0.1 (it cannot present a token).
        let rebound = upgrade("/session", "").replace("Host: 127.0.0.1", "Host: evil.example:3000");
        let answer = exchange(&addr, rebound.as_bytes(), wait);
        println!("{name}, Host evil.example: {}", status(&answer));
        let refused = if extra.is_empty() { "403" } else { "401" };
        assert!(status(&answer).contains(refused), "{name}: {answer}");
        // The same upgrade without Origin is a client's, and is upgraded.
        let answer = exchange(
            &addr,
            upgrade("/session", &extra).as_bytes(),
            Duration::from_secs(2),
        );
        assert!(status(&answer).contains(" 101 "), "{name}: {answer}");
    }
    let addr = address(allowing.url());
    let allowed = exchange(
        &addr,
        upgrade("/session", "Origin: https://lab.example\r\n").as_bytes(),
        wait,
    );
    assert!(status(&allowed).contains(" 101 "), "{allowed}");
    let other = exchange(
        &addr,
        upgrade("/session", "Origin: https://evil.example\r\n").as_bytes(),
        wait,
    );
    assert!(status(&other).contains("403"), "{other}");
    // And the clients still work.
    assert_eq!(works(open.url(), None), Ok(6.0));
    assert_eq!(works(guarded.url(), Some(TOKEN)), Ok(6.0));
}

/// Finding 4: 8 loopback addresses × 32 unauthenticated connections held open leave a
/// client with the token served within a second.
#[test]
fn strangers_from_eight_addresses_cannot_keep_a_client_out() {
    let Some((child, url)) = served(Some(TOKEN)) else {
        return skip("strangers: serve");
    };
    let server: SocketAddr = address(&url).parse().unwrap();
    // Warm: the first session of a process pays for its setup.
    assert_eq!(works(&url, Some(TOKEN)), Ok(6.0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let held: Vec<TcpStream> = runtime.block_on(async {
        let mut held = Vec::new();
        for host in 1..=8u8 {
            for _ in 0..32 {
                let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
                    continue;
                };
                if socket
                    .bind(SocketAddr::from(([127, 0, 0, host], 0)))
                    .is_err()
                {
                    continue;
                }
                if let Ok(mut stream) = socket.connect(server).await {
                    use tokio::io::AsyncWriteExt;
                    let _ = stream.write_all(b"GET /session HTTP/1.1\r\n").await;
                    held.extend(stream.into_std());
                }
            }
        }
        held
    });
    let opened = held.len();
    assert!(opened >= 8 * 32 - 8, "only {opened} connections opened");
    std::thread::sleep(Duration::from_millis(300));
    // Other deadlines: a new relay, whose heartbeat and session both meet the strangers.
    let fresh = Deadlines {
        idle: Duration::from_secs(1800),
        ..quick()
    };
    let began = Instant::now();
    let served = connect_with_deadlines(&url, 0, Some(TOKEN), fresh)
        .map_err(|e| e.to_string())
        .and_then(|device| {
            Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device)
                .sum()
                .try_into_scalar::<f32>()
                .map_err(|e| e.to_string())
        });
    let took = began.elapsed();
    println!("{opened} strangers held; a client was served in {took:?}: {served:?}");
    assert_eq!(served, Ok(6.0));
    assert!(took < Duration::from_secs(1), "{took:?}");
    drop(held);
    drop(child);
    loud(&format!(
        "strangers: {opened} unauthenticated connections from 8 addresses; a client was served in {took:?}"
    ));
}

/// Finding 5: after a request that is not upgraded, nothing pipelined behind it reaches
/// Burn's server: one answer, then the connection closes.
#[test]
fn a_request_pipelined_behind_the_upgrade_is_never_relayed() {
    let Some((_child, url)) = served(Some(TOKEN)) else {
        return skip("strangers: serve");
    };
    let bearer = format!("Authorization: Bearer {TOKEN}\r\n");
    // An authorised upgrade Burn refuses (a WebSocket version it does not speak), then an
    // upgrade of Burn's transfer route behind it on the same connection.
    let refused = upgrade("/session", &bearer).replace("Version: 13", "Version: 99");
    let data = upgrade("/data", "");
    let answer = exchange(
        &address(&url),
        format!("{refused}{data}").as_bytes(),
        Duration::from_secs(5),
    );
    let answers = answer.matches("HTTP/1.1 ").count();
    println!(
        "a pipelined /data behind a refused upgrade: {answers} answer(s): {:?}",
        status(&answer)
    );
    assert_eq!(answers, 1, "{answer}");
    assert!(!answer.contains(" 101 "), "{answer}");
}

/// A server on 127.0.0.1 that answers each connection with `each`, for 60 s at most.
pub(super) fn fake_server(each: fn(TcpStream, &str), upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        listener.set_nonblocking(true).unwrap();
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let upstream = upstream.clone();
                    std::thread::spawn(move || each(stream, &upstream));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    url
}

/// Reads a head (up to the blank line).
pub(super) fn head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
    head
}

/// Passes `request` to `upstream` and the answer back, both ways for up to 30 s: a real
/// server's heartbeat, for fakes that misbehave only in their sessions.
pub(super) fn forward(mut client: TcpStream, request: &[u8], upstream: &str) {
    let mut server = TcpStream::connect(upstream).unwrap();
    server.write_all(request).unwrap();
    let mut back = server.try_clone().unwrap();
    let mut to_client = client.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut back, &mut to_client);
    });
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = std::io::copy(&mut client, &mut server);
}

/// A fake server's session: the real heartbeat, the real server's answer to the upgrade
/// followed by `then`, and silence.
fn upgraded_then(mut client: TcpStream, upstream: &str, then: &[u8]) {
    let request = head(&mut client);
    if request.starts_with(b"GET /kiln/heartbeat") {
        return forward(client, &request, upstream);
    }
    let mut server = TcpStream::connect(upstream).unwrap();
    server.write_all(&request).unwrap();
    let mut answer = head(&mut server);
    answer.extend_from_slice(then);
    client.write_all(&answer).unwrap();
    std::thread::sleep(Duration::from_secs(40));
}

/// Finding 6: deadlines a server cannot switch off, and nothing of a server's reaching a
/// terminal unfiltered.
#[test]
fn a_server_cannot_switch_off_the_clients_deadlines() {
    let real = LocalServer::start(vec![cpu()], Some(TOKEN)).unwrap();
    let upstream = address(real.url());
    // The heartbeat answered with 500, the session served for real.
    let refuses_heartbeat = fake_server(
        |mut client, upstream| {
            let request = head(&mut client);
            if request.starts_with(b"GET /kiln/heartbeat") {
                let _ = client
                    .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
                return;
            }
            forward(client, &request, upstream);
        },
        upstream.clone(),
    );
    // A real heartbeat; the session upgraded with one byte of a frame, then silence.
    let one_byte = fake_server(
        |client, upstream| upgraded_then(client, upstream, &[0x82]),
        upstream.clone(),
    );
    // A real heartbeat; the session upgraded, then a frame announcing 1 TiB.
    let huge = fake_server(
        |client, upstream| {
            let mut header = vec![0x82, 127];
            header.extend_from_slice(&(1u64 << 40).to_be_bytes());
            upgraded_then(client, upstream, &header);
        },
        upstream.clone(),
    );
    // A real heartbeat; the upgrade answered with terminal escapes in the status line.
    let escapes = fake_server(
        |mut client, upstream| {
            let request = head(&mut client);
            if request.starts_with(b"GET /kiln/heartbeat") {
                return forward(client, &request, upstream);
            }
            let _ = client.write_all(b"HTTP/1.1 400 \x1b[2J\x1b]0;owned\x07gone\r\n\r\n");
        },
        upstream,
    );
    /// What the case is, its server, and the error it must give.
    type Case = (&'static str, String, fn(&BackendError) -> bool);
    let cases: [Case; 4] = [
        (
            "heartbeat answered 500",
            refuses_heartbeat,
            |e| matches!(e, BackendError::RemoteTimeout { what, .. } if what.contains("heartbeat")),
        ),
        // The frame begun and never finished, or the first message never whole: whichever
        // deadline passes first (silence 5 s, handshake 10 s).
        ("one byte after the 101", one_byte, |e| {
            matches!(e, BackendError::RemoteTimeout { what, .. }
                if what.contains("first message") || what.contains("message it had begun"))
        }),
        (
            "a 1 TiB frame",
            huge,
            |e| matches!(e, BackendError::RemoteFailed { reason, .. } if reason.contains("past the limit")),
        ),
        ("escapes in the status line", escapes, |e| {
            matches!(e, BackendError::RemoteFailed { .. })
        }),
    ];
    for (name, url, expected) in cases {
        let began = Instant::now();
        let err = bounded(Duration::from_secs(60), move || {
            connect_with_deadlines(&url, 0, Some(TOKEN), quick()).map(|_| ())
        })
        .unwrap_err();
        let took = began.elapsed();
        println!("{name}: {err} ({took:?})");
        assert!(expected(&err), "{name}: {err:?}");
        let text = err.to_string();
        assert!(
            !text.contains('\n') && !text.contains('\x1b') && !text.contains('\x07'),
            "{text:?}"
        );
        assert!(took < Duration::from_secs(30), "{name}: {took:?}");
    }
}
