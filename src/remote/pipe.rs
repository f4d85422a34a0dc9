//! Relaying bytes both ways between two sockets, with deadlines, reading the WebSocket frames
//! the server side sends as they pass.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

/// The deadlines and limits of one relayed connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PipeLimits {
    /// Both directions silent this long ends it.
    pub(crate) idle: Option<Duration>,
    /// The server side must send its first whole WebSocket message within this.
    pub(crate) first_reply: Option<Duration>,
    /// The server side, once it has begun a frame, must not fall silent for this long
    /// (between two of its bytes) before the frame is whole.
    pub(crate) stall: Option<Duration>,
    /// The largest WebSocket message (the payloads of its frames) the server side may send.
    pub(crate) max_message: Option<u64>,
}

/// Why a relayed connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipeEnd {
    /// One side closed (or failed).
    Closed,
    /// Nothing moved for [`PipeLimits::idle`].
    Idle,
    /// The server side sent no whole message within [`PipeLimits::first_reply`].
    NoReply,
    /// The server side fell silent inside a frame for [`PipeLimits::stall`].
    Stalled,
    /// The server side announced a message of at least this many bytes, past
    /// [`PipeLimits::max_message`].
    TooLarge(u64),
    /// Told to stop.
    Cancelled,
}

/// Where a stream of WebSocket frames stands: the header being read, the payload left, the
/// length of the message so far.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    header: Vec<u8>,
    remaining: u64,
    in_payload: bool,
    fin: bool,
    control: bool,
    message: u64,
    /// Whole data messages seen (control frames and fragments before the last do not count).
    pub(crate) complete: u64,
}

impl Frames {
    /// Reads `bytes` on; `Err(len)` when a message reaches `len` bytes, past `max`.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], max: u64) -> Result<(), u64> {
        while !bytes.is_empty() {
            if self.in_payload {
                let take = self.remaining.min(bytes.len() as u64);
                self.remaining -= take;
                bytes = &bytes[take as usize..];
                if self.remaining == 0 {
                    self.end_frame();
                }
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            if let Some((len, fin, control)) = frame_header(&self.header) {
                self.header.clear();
                // A control frame is whole and at most 125 bytes (RFC 6455 5.5); any other
                // length is refused like a message past the limit.
                if control && (len > 125 || !fin) {
                    return Err(len.max(max.saturating_add(1)));
                }
                if !control {
                    self.message = self.message.saturating_add(len);
                    if self.message > max {
                        return Err(self.message);
                    }
                }
                (self.remaining, self.fin, self.control) = (len, fin, control);
                self.in_payload = true;
                if len == 0 {
                    self.end_frame();
                }
            }
        }
        Ok(())
    }

    fn end_frame(&mut self) {
        self.in_payload = false;
        if self.fin && !self.control {
            self.message = 0;
            self.complete += 1;
        }
    }

    /// Whether a frame has begun and is not yet whole.
    pub(crate) fn mid_frame(&self) -> bool {
        self.in_payload || !self.header.is_empty()
    }
}

/// A whole frame header's payload length, FIN bit and whether it is a control frame; `None`
/// while `header` is not yet whole.
fn frame_header(header: &[u8]) -> Option<(u64, bool, bool)> {
    let (&first, &second) = (header.first()?, header.get(1)?);
    let short = second & 0x7f;
    let extended = match short {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    if header.len() < 2 + extended + mask {
        return None;
    }
    let len = match short {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => u64::from_be_bytes(header[2..10].try_into().ok()?),
        n => u64::from(n),
    };
    Some((len, first & 0x80 != 0, first & 0x08 != 0))
}

/// The server side's progress, shared with the watchdog.
#[derive(Default)]
struct ServerSide {
    frames: AtomicU64,
    mid_frame: AtomicBool,
    last: AtomicU64,
}

/// Copies bytes between `client` and `server` until one closes, a deadline or limit passes
/// or `cancel` turns true. `sent` is what the server side sent after its head that the
/// caller has read but not passed on (the start of its first frames): it is checked, then
/// passed on first. `on_end` learns why it ended while both sockets are still open (so what
/// it records is there before either side sees the close); they are closed when it returns.
pub(crate) async fn pipe(
    client: TcpStream,
    server: TcpStream,
    limits: PipeLimits,
    sent: &[u8],
    cancel: watch::Receiver<bool>,
    on_end: impl FnOnce(PipeEnd),
) {
    let (client_read, mut client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let end = relay(
        (client_read, &mut client_write),
        (server_read, server_write),
        limits,
        sent,
        cancel,
    )
    .await;
    on_end(end);
}

async fn relay(
    (mut client_read, client_write): (OwnedReadHalf, &mut OwnedWriteHalf),
    (mut server_read, mut server_write): (OwnedReadHalf, OwnedWriteHalf),
    limits: PipeLimits,
    sent: &[u8],
    mut cancel: watch::Receiver<bool>,
) -> PipeEnd {
    let start = Instant::now();
    let last = AtomicU64::new(0);
    let side = ServerSide::default();
    let mut frames = Frames::default();
    if let Err(len) = frames.feed(sent, limits.max_message.unwrap_or(u64::MAX)) {
        return PipeEnd::TooLarge(len);
    }
    side.frames.store(frames.complete, Ordering::Relaxed);
    side.mid_frame.store(frames.mid_frame(), Ordering::Relaxed);
    if client_write.write_all(sent).await.is_err() {
        return PipeEnd::Closed;
    }
    let watchdog = async {
        let tick = Duration::from_millis(100);
        let since = |millis: &AtomicU64| {
            start
                .elapsed()
                .saturating_sub(Duration::from_millis(millis.load(Ordering::Relaxed)))
        };
        loop {
            tokio::time::sleep(tick).await;
            if let Some(first) = limits.first_reply
                && side.frames.load(Ordering::Relaxed) == 0
                && start.elapsed() > first
            {
                return PipeEnd::NoReply;
            }
            if let Some(stall) = limits.stall
                && side.mid_frame.load(Ordering::Relaxed)
                && since(&side.last) > stall
            {
                return PipeEnd::Stalled;
            }
            if let Some(idle) = limits.idle
                && since(&last) > idle
            {
                return PipeEnd::Idle;
            }
        }
    };
    tokio::select! {
        () = copy(&mut client_read, &mut server_write, &last, start) => PipeEnd::Closed,
        end = copy_from_server(&mut server_read, client_write, &last, start, &side, frames, limits.max_message) => end,
        end = watchdog => end,
        _ = cancel.wait_for(|stop| *stop) => PipeEnd::Cancelled,
    }
}

async fn copy(from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf, last: &AtomicU64, start: Instant) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        last.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// [`copy`] for the server's side, reading its frames as they pass (after the head, the
/// whole stream is WebSocket frames).
async fn copy_from_server(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    last: &AtomicU64,
    start: Instant,
    side: &ServerSide,
    mut frames: Frames,
    max_message: Option<u64>,
) -> PipeEnd {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return PipeEnd::Closed,
            Ok(n) => n,
        };
        let now = start.elapsed().as_millis() as u64;
        last.store(now, Ordering::Relaxed);
        side.last.store(now, Ordering::Relaxed);
        if let Err(len) = frames.feed(&buf[..n], max_message.unwrap_or(u64::MAX)) {
            return PipeEnd::TooLarge(len);
        }
        side.frames.store(frames.complete, Ordering::Relaxed);
        side.mid_frame.store(frames.mid_frame(), Ordering::Relaxed);
        if to.write_all(&buf[..n]).await.is_err() {
            return PipeEnd::Closed;
        }
        // A slow reader on this side is not the server's silence.
        side.last
            .store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_followed_across_reads_and_messages_capped() {
        let mut frames = Frames::default();
        // A 3-byte binary frame, a ping, then a 300-byte frame whose header is split.
        let mut stream = vec![0x82, 3, 1, 2, 3, 0x89, 0];
        stream.extend_from_slice(&[0x82, 126, 1, 44]);
        stream.extend(std::iter::repeat_n(7u8, 300));
        for byte in &stream[..8] {
            frames.feed(std::slice::from_ref(byte), 1000).unwrap();
        }
        // The ping is no message.
        assert_eq!(frames.complete, 1);
        assert!(frames.mid_frame());
        frames.feed(&stream[8..100], 1000).unwrap();
        assert!(frames.mid_frame());
        frames.feed(&stream[100..], 1000).unwrap();
        assert_eq!(frames.complete, 2);
        assert!(!frames.mid_frame());
        // A frame announcing 2^40 bytes is refused at its header, before any payload.
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(Frames::default().feed(&huge, 1 << 20), Err(1 << 40));
        // A message in fragments counts whole: 3 × 400 bytes past a 1,000-byte limit.
        let mut fragments = Frames::default();
        let fragment = |first: u8| {
            let mut f = vec![first, 126, 1, 144];
            f.extend(std::iter::repeat_n(0u8, 400));
            f
        };
        fragments.feed(&fragment(0x02), 1000).unwrap();
        fragments.feed(&fragment(0x00), 1000).unwrap();
        assert_eq!(fragments.feed(&fragment(0x80), 1000), Err(1200));
        // A "ping" of 1 GiB, or a fragmented one, is refused at its header.
        let mut big_ping = vec![0x89, 127];
        big_ping.extend_from_slice(&(1u64 << 30).to_be_bytes());
        assert!(Frames::default().feed(&big_ping, 1 << 29).is_err());
        assert!(Frames::default().feed(&[0x09, 0], 1 << 29).is_err());
        assert_eq!(Frames::default().feed(&[0x89, 0], 1 << 29), Ok(()));
    }
}
