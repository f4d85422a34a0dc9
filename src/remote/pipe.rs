//! Relaying bytes both ways between two sockets, with deadlines.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

/// The deadlines of one relayed connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PipeLimits {
    /// Both directions silent this long ends it.
    pub(crate) idle: Option<Duration>,
    /// The server side must send its first bytes within this.
    pub(crate) first_reply: Option<Duration>,
}

/// Why a relayed connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipeEnd {
    /// One side closed (or failed).
    Closed,
    /// Nothing moved for [`PipeLimits::idle`].
    Idle,
    /// The server side sent nothing within [`PipeLimits::first_reply`].
    NoReply,
    /// Told to stop.
    Cancelled,
}

/// Copies bytes between `client` and `server` until one closes, a deadline passes or
/// `cancel` turns true. Both sockets are closed when it returns.
pub(crate) async fn pipe(
    client: TcpStream,
    server: TcpStream,
    limits: PipeLimits,
    mut cancel: watch::Receiver<bool>,
) -> PipeEnd {
    let start = Instant::now();
    let last = AtomicU64::new(0);
    let replied = AtomicBool::new(false);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let watchdog = async {
        let tick = Duration::from_millis(100);
        loop {
            tokio::time::sleep(tick).await;
            let now = start.elapsed();
            if let Some(first) = limits.first_reply
                && !replied.load(Ordering::Relaxed)
                && now > first
            {
                return PipeEnd::NoReply;
            }
            if let Some(idle) = limits.idle
                && now.saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed))) > idle
            {
                return PipeEnd::Idle;
            }
        }
    };
    tokio::select! {
        () = copy(&mut client_read, &mut server_write, &last, start, None) => PipeEnd::Closed,
        () = copy(&mut server_read, &mut client_write, &last, start, Some(&replied)) => PipeEnd::Closed,
        end = watchdog => end,
        _ = cancel.wait_for(|stop| *stop) => PipeEnd::Cancelled,
    }
}

async fn copy(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    last: &AtomicU64,
    start: Instant,
    moved: Option<&AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        last.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
        if let Some(flag) = moved {
            flag.store(true, Ordering::Relaxed);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
