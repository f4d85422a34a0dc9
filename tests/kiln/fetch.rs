//! The downloader against an HTTP server on 127.0.0.1 that the test starts and stops:
//! good files, a corrupted one, a truncated one, dropped connections, an error status, a
//! closed port, an unwritable folder; and, when the full datasets are here, the real files
//! served from the local folder through the real checksum table.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burn::data::dataset::Dataset;
use kiln::ControlFlow;
use kiln::data::{DataError, DatasetKind, FetchFailure, Fetcher, RemoteFile, Split};

use super::common::{full_dir, loud};

/// What the server answers on one path.
#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// This status, empty body.
    Status(u16),
    /// The first `times` requests get the full Content-Length, half the body, and a closed
    /// connection; later ones the whole body.
    DropFirst { times: usize, body: Vec<u8> },
    /// 200 and `bytes` bytes of a repeating pattern, announced (Content-Length) or not (the
    /// body ends when the connection closes): a mirror that sends far too much.
    Flood { bytes: usize, announce: bool },
    /// 200 with this body's length announced, then one byte every `every` (each within any
    /// read timeout), for 20 s at most: a mirror that never quite stalls.
    Trickle { body: Vec<u8>, every: Duration },
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 with fixed replies, one request per
/// connection. It stops when dropped, and on its own after 60 s.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(routes: Vec<(&str, Reply)>) -> Self {
        let routes: HashMap<String, Reply> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let thread = {
            let (stop, hits) = (stop.clone(), hits.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => serve(stream, &routes, &hits),
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            addr,
            stop,
            hits,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &HashMap<String, Reply>,
    hits: &Mutex<HashMap<String, usize>>,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let hit = {
        let mut hits = hits.lock().unwrap();
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let ok = |len: usize| {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    let _ = match routes.get(&path) {
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        Some(Reply::Status(code)) => stream.write_all(
            format!("HTTP/1.1 {code} Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        ),
        Some(Reply::Body(body)) => stream
            .write_all(ok(body.len()).as_bytes())
            .and_then(|()| stream.write_all(body)),
        Some(Reply::DropFirst { times, body }) => {
            let sent = if hit <= *times {
                &body[..body.len() / 2]
            } else {
                &body[..]
            };
            stream
                .write_all(ok(body.len()).as_bytes())
                .and_then(|()| stream.write_all(sent))
        }
        Some(Reply::Flood { bytes, announce }) => {
            let head = if *announce {
                ok(*bytes)
            } else {
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string()
            };
            let block = vec![0x5au8; 1 << 16];
            let mut result = stream.write_all(head.as_bytes());
            let mut sent = 0;
            // Stops when the client hangs up (the write fails) or everything is sent.
            while result.is_ok() && sent < *bytes {
                result = stream.write_all(&block);
                sent += block.len();
            }
            result
        }
        Some(Reply::Trickle { body, every }) => {
            let until = std::time::Instant::now() + Duration::from_secs(20);
            let mut result = stream.write_all(ok(body.len()).as_bytes());
            for byte in body {
                if result.is_err() || std::time::Instant::now() > until {
                    break;
                }
                std::thread::sleep(*every);
                result = stream.write_all(std::slice::from_ref(byte));
            }
            result
        }
    };
    let _ = stream.flush();
    // Dropping the stream closes the connection (mid-body for DropFirst).
}

/// A small IDX-like payload, its gzip, and a RemoteFile describing it.
fn payload(seed: u8) -> (Vec<u8>, RemoteFile) {
    let raw: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ seed)
        .collect();
    let gz = gzip(&raw);
    let sha = sha256_hex(&raw);
    let file = RemoteFile {
        name: "train-images-idx3-ubyte",
        sha256: Box::leak(sha.into_boxed_str()),
        size: raw.len() as u64,
    };
    (gz, file)
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fetcher for tests: only the mirrors given, quick retries, short timeouts.
fn fetcher() -> Fetcher {
    Fetcher::new()
        .with_builtin_mirrors(false)
        .with_retries(3, Duration::from_millis(10))
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(2))
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn download_attempts(err: DataError) -> Vec<kiln::data::FetchAttempt> {
    match err {
        DataError::Download { attempts, .. } => attempts,
        other => panic!("expected a download error, got {other}"),
    }
}

#[test]
fn a_good_file_is_downloaded_verified_and_written_whole() {
    let (gz, file) = payload(0);
    let server = Server::start(vec![("/m/a.gz", Reply::Body(gz.clone()))]);
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    let path = fetcher()
        .fetch_file(
            &[server.url("/m/a.gz")],
            &file,
            dir.path(),
            (1, 1),
            &mut |p| {
                reports.push(p.clone());
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), gz);
    assert_eq!(names_in(dir.path()), ["train-images-idx3-ubyte.gz"]);
    let last = reports.last().unwrap();
    assert_eq!(last.epoch_end, Some(1));
    assert_eq!((last.done, last.unit), (gz.len(), kiln::Unit::Byte));
    assert!(reports.len() >= 2, "no progress before the end");
}

#[test]
fn a_corrupted_file_is_a_checksum_error_and_the_next_mirror_is_tried() {
    let (gz, file) = payload(0);
    let (other, _) = payload(1);
    let server = Server::start(vec![
        ("/bad/a.gz", Reply::Body(other)),
        ("/missing/a.gz", Reply::Status(404)),
        ("/good/a.gz", Reply::Body(gz.clone())),
    ]);
    let dir = tempfile::tempdir().unwrap();

    let err = fetcher()
        .fetch_file(
            &[server.url("/bad/a.gz")],
            &file,
            dir.path(),
            (1, 1),
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap_err();
    let message = err.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("checksum mismatch") && message.contains("by hand"),
        "{message}"
    );
    let attempts = download_attempts(err);
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].tries, 1, "a checksum mismatch is not retried");
    match &attempts[0].failure {
        FetchFailure::Checksum {
            expected, actual, ..
        } => {
            assert_eq!(expected, file.sha256);
            assert_ne!(actual, expected);
        }
        other => panic!("expected a checksum failure, got {other}"),
    }
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );

    let urls = [
        server.url("/bad/a.gz"),
        server.url("/missing/a.gz"),
        server.url("/good/a.gz"),
    ];
    let path = fetcher()
        .fetch_file(&urls, &file, dir.path(), (1, 1), &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), gz);
    assert_eq!(server.hits("/missing/a.gz"), 1, "a 404 is not retried");
}

#[test]
fn a_mirror_sending_far_more_than_the_file_is_cut_off_at_the_gzip_limit() {
    let (_, file) = payload(0); // 50,000 bytes decompressed
    let server = Server::start(vec![
        (
            "/quiet/a.gz",
            Reply::Flood {
                bytes: 1 << 30,
                announce: false,
            },
        ),
        (
            "/loud/a.gz",
            Reply::Flood {
                bytes: 3 << 30,
                announce: true,
            },
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut most = 0usize;
    let started = Instant::now();
    let err = fetcher()
        .fetch_file(
            &[server.url("/quiet/a.gz"), server.url("/loud/a.gz")],
            &file,
            dir.path(),
            (1, 1),
            &mut |p| {
                most = most.max(p.done);
                ControlFlow::Continue(())
            },
        )
        .unwrap_err();
    let attempts = download_attempts(err);
    assert_eq!(attempts.len(), 2);
    for attempt in &attempts {
        match attempt.failure {
            FetchFailure::TooLarge { limit, received } => {
                assert!(limit < 60_000, "{limit}");
                assert!(received > limit, "{received}");
            }
            ref other => panic!("{}: {other}", attempt.url),
        }
        assert_eq!(attempt.tries, 1, "too large is not retried");
    }
    // The unannounced flood was read no further than the limit plus one chunk.
    assert!(most < 60_000 + (1 << 20), "{most} bytes were read");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

#[test]
fn a_mirror_trickling_bytes_is_given_up_at_the_deadline() {
    let (gz, file) = payload(9);
    let server = Server::start(vec![(
        "/slow.gz",
        Reply::Trickle {
            body: gz,
            every: Duration::from_millis(200),
        },
    )]);
    let dir = tempfile::tempdir().unwrap();
    let began = std::time::Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let url = server.url("/slow.gz");
    let dest = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let result = fetcher()
            .with_retries(1, Duration::from_millis(10))
            .with_deadline(Duration::from_secs(2))
            .fetch_file(&[url], &file, &dest, (1, 1), &mut |_| {
                ControlFlow::Continue(())
            });
        let _ = tx.send(result);
    });
    let result = rx
        .recv_timeout(Duration::from_secs(15))
        .expect("the download went on past its deadline");
    let took = began.elapsed();
    let attempts = download_attempts(result.unwrap_err());
    println!("a trickling mirror: {} after {took:?}", attempts[0]);
    assert!(
        matches!(attempts[0].failure, FetchFailure::Deadline { received, .. } if received > 0),
        "{attempts:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

#[test]
fn a_truncated_file_is_rejected_and_nothing_is_written() {
    let (gz, file) = payload(0);
    let server = Server::start(vec![("/t/a.gz", Reply::Body(gz[..gz.len() / 2].to_vec()))]);
    let dir = tempfile::tempdir().unwrap();
    let err = fetcher()
        .fetch_file(
            &[server.url("/t/a.gz")],
            &file,
            dir.path(),
            (1, 1),
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap_err();
    let attempts = download_attempts(err);
    assert!(
        matches!(attempts[0].failure, FetchFailure::NotGzip(_)),
        "{}",
        attempts[0]
    );
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn a_dropped_connection_is_retried_and_then_reported() {
    let (gz, file) = payload(0);
    let server = Server::start(vec![
        (
            "/flaky/a.gz",
            Reply::DropFirst {
                times: 2,
                body: gz.clone(),
            },
        ),
        (
            "/dead/a.gz",
            Reply::DropFirst {
                times: usize::MAX,
                body: gz.clone(),
            },
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = fetcher()
        .fetch_file(
            &[server.url("/flaky/a.gz")],
            &file,
            dir.path(),
            (1, 1),
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), gz);
    assert_eq!(
        server.hits("/flaky/a.gz"),
        3,
        "two drops, then the whole file"
    );

    let other = tempfile::tempdir().unwrap();
    let err = fetcher()
        .fetch_file(
            &[server.url("/dead/a.gz")],
            &file,
            other.path(),
            (1, 1),
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap_err();
    let attempts = download_attempts(err);
    assert_eq!(attempts[0].tries, 3);
    match &attempts[0].failure {
        FetchFailure::Dropped {
            received, expected, ..
        } => {
            assert_eq!(*expected, Some(gz.len() as u64));
            assert!(*received < gz.len() as u64);
        }
        other => panic!("expected a dropped connection, got {other}"),
    }
    assert!(names_in(other.path()).is_empty());
}

#[test]
fn an_unreachable_mirror_is_a_one_line_error_that_says_what_to_do() {
    // A port nothing listens on: bind one, then free it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let err = fetcher()
        .with_mirror(format!("http://127.0.0.1:{port}/"))
        .fetch(DatasetKind::FashionMnist, dir.path(), |_| {
            ControlFlow::Continue(())
        })
        .unwrap_err();
    let message = err.to_string();
    assert!(!message.contains('\n'), "{message}");
    for needle in [
        "cannot download train-images-idx3-ubyte.gz",
        &format!("http://127.0.0.1:{port}/fashion-mnist/train-images-idx3-ubyte.gz"),
        "no connection",
        "KILN_DATA_MIRROR",
        "give a data folder",
        &dir.path().join("fashion-mnist").display().to_string(),
    ] {
        assert!(message.contains(needle), "{needle:?} not in: {message}");
    }
    let attempts = download_attempts(err);
    assert!(matches!(attempts[0].failure, FetchFailure::Connect(_)));
    assert_eq!(attempts[0].tries, 3, "a refused connection is retried");
}

#[test]
fn an_unwritable_folder_is_a_write_error_and_a_full_disk_says_so() {
    let (gz, file) = payload(0);
    let server = Server::start(vec![("/m/a.gz", Reply::Body(gz))]);
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let err = fetcher()
        .fetch_file(
            &[server.url("/m/a.gz")],
            &file,
            &blocker.join("sub"),
            (1, 1),
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap_err();
    assert!(matches!(err, DataError::Write { .. }), "{err}");

    let full = DataError::Write {
        path: "/x/a.gz".into(),
        source: std::io::Error::from(std::io::ErrorKind::StorageFull),
    };
    let message = full.to_string();
    assert!(
        message.contains("disk is full") && message.contains("the data folder"),
        "{message}"
    );
}

#[test]
fn a_callback_can_cancel_a_download() {
    let (gz, file) = payload(0);
    let server = Server::start(vec![("/m/a.gz", Reply::Body(gz))]);
    let dir = tempfile::tempdir().unwrap();
    let err = fetcher()
        .fetch_file(
            &[server.url("/m/a.gz")],
            &file,
            dir.path(),
            (1, 1),
            &mut |_| ControlFlow::Break(()),
        )
        .unwrap_err();
    assert!(matches!(err, DataError::Cancelled), "{err}");
    assert!(names_in(dir.path()).is_empty());
}

/// The real files, served from the full-data folder by the test's server, pass the real
/// checksum table and load: the table is right, and so is `fetch`'s layout.
#[test]
fn the_real_datasets_pass_the_recorded_checksums() {
    for kind in DatasetKind::ALL {
        let Some(source) = full_dir(kind, "the_real_datasets_pass_the_recorded_checksums") else {
            continue;
        };
        let routes: Vec<(String, Reply)> = kind
            .files()
            .iter()
            .map(|f| {
                let gz = source.join(format!("{}.gz", f.name));
                let bytes = match std::fs::read(&gz) {
                    Ok(bytes) => bytes,
                    Err(_) => gzip(
                        &std::fs::read(source.join(f.name))
                            .unwrap_or_else(|e| panic!("{kind} {}: {e}", f.name)),
                    ),
                };
                (format!("/{kind}/{}.gz", f.name), Reply::Body(bytes))
            })
            .collect();
        let server = Server::start(
            routes
                .iter()
                .map(|(p, r)| (p.as_str(), r.clone()))
                .collect(),
        );
        let cache = tempfile::tempdir().unwrap();
        let dir = fetcher()
            .with_mirror(server.url("/"))
            .fetch(kind, cache.path(), |_| ControlFlow::Continue(()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dir, cache.path().join(kind.name()));
        let test = kiln::data::load_from_dir(kind, Split::Test, &dir).unwrap();
        assert_eq!(test.len(), 10_000);
        // Already there: a second fetch asks the server for nothing.
        let before: usize = routes.iter().map(|(p, _)| server.hits(p)).sum();
        fetcher()
            .with_mirror(server.url("/"))
            .fetch(kind, cache.path(), |_| ControlFlow::Continue(()))
            .unwrap();
        let after: usize = routes.iter().map(|(p, _)| server.hits(p)).sum();
        assert_eq!((before, after), (4, 4));
        loud(&format!(
            "{kind}: the four real files pass their recorded SHA-256s"
        ));
    }
}
