//! Downloading MNIST and Fashion-MNIST: mirrors, SHA-256 checks, retries, atomic writes.
//!
//! [`Fetcher::fetch`] puts a dataset's four gzipped IDX files in `DIR/<kind>/`. For each file
//! it tries the mirrors in order (a `KILN_DATA_MIRROR` first, when set, then the dataset's
//! [built-in mirrors](DatasetKind::mirrors)); a dropped connection, a short body, a timeout
//! or a 5xx answer is retried on the same mirror (three tries, waiting 0.5 s then 1 s); a
//! 4xx answer, a file that does not decompress or one whose decompressed bytes do not have
//! the SHA-256 recorded here moves on to the next mirror. A file is written to a temporary
//! name beside its final one, flushed to disk and renamed, so the folder never holds a partial
//! or unverified file under a real name.
//!
//! The checksums are of the *decompressed* files: mirrors re-compress (the same MNIST comes
//! as differently gzipped `.gz` files from different places), while the IDX bytes inside are
//! the same everywhere. They equal the MD5s that MNIST's and Fashion-MNIST's publishers give
//! for the same bytes (checked when they were recorded; see `docs/data.md`).
//!
//! The HTTP client is reqwest, which Burn's own dataset downloader already uses, run on a
//! single-threaded tokio runtime for the duration of the call.

use std::fmt;
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kiln_core::{Progress, Unit};
use sha2::{Digest, Sha256};

use crate::{DataError, DatasetKind};

/// The environment variable naming an extra mirror, tried before the built-in ones: a base
/// URL under which `<kind>/<file>.gz` is served (`mnist/train-images-idx3-ubyte.gz`, …).
pub const MIRROR_ENV: &str = "KILN_DATA_MIRROR";

/// One file a dataset is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// The file's name without `.gz` (`train-images-idx3-ubyte`); mirrors serve `NAME.gz`.
    pub name: &'static str,
    /// SHA-256 of the decompressed file, lowercase hex.
    pub sha256: &'static str,
    /// Length of the decompressed file in bytes.
    pub size: u64,
}

const fn file(name: &'static str, sha256: &'static str, size: u64) -> RemoteFile {
    RemoteFile { name, sha256, size }
}

const MNIST_FILES: [RemoteFile; 4] = [
    file(
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47_040_016,
    ),
    file(
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60_008,
    ),
    file(
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7_840_016,
    ),
    file(
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10_008,
    ),
];

const FASHION_FILES: [RemoteFile; 4] = [
    file(
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
    ),
    file(
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60_008,
    ),
    file(
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7_840_016,
    ),
    file(
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10_008,
    ),
];

impl DatasetKind {
    /// The dataset's four files with their checksums: train images, train labels, test
    /// images, test labels.
    pub fn files(self) -> [RemoteFile; 4] {
        match self {
            DatasetKind::Mnist => MNIST_FILES,
            DatasetKind::FashionMnist => FASHION_FILES,
        }
    }

    /// The built-in mirrors, in the order they are tried: folder URLs serving `NAME.gz`.
    ///
    /// MNIST: PyTorch's copy on S3 and Google's CVDF copy first, then the canonical page,
    /// which has answered downloads with HTTP 403 since 2023 (torchvision moved it behind
    /// its own mirror for that reason). Fashion-MNIST: Zalando's canonical bucket, then the
    /// files in Zalando's GitHub repository.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "https://yann.lecun.com/exdb/mnist/",
            ],
            DatasetKind::FashionMnist => &[
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            ],
        }
    }
}

/// kiln's download cache: `$XDG_CACHE_HOME/kiln/data` when that is an absolute path, else
/// `~/.cache/kiln/data` (`%LOCALAPPDATA%\kiln\data` on Windows). `None` when the home
/// folder is unknown. Datasets go into its `mnist/` and `fashion-mnist/` subfolders.
pub fn cache_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".cache")))
        .or_else(|| absolute("LOCALAPPDATA"))?;
    Some(base.join("kiln").join("data"))
}

/// Why one mirror did not give a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchFailure {
    /// No connection (offline, DNS, refused, TLS) or no answer in time.
    Connect(String),
    /// The server answered with an error status.
    Status(u16),
    /// The connection broke off in the body: `received` bytes of `expected` (when the
    /// server said how many).
    Dropped {
        /// Bytes received before it broke.
        received: u64,
        /// The length the server announced.
        expected: Option<u64>,
        /// What the client saw.
        reason: String,
    },
    /// The body is not a whole gzip file (a file truncated on the server, or not gzip).
    NotGzip(String),
    /// The mirror sent more than a gzip of the recorded file can be (or announced so): the
    /// download stopped at `limit` bytes.
    TooLarge {
        /// The most bytes a gzip of the file can take.
        limit: u64,
        /// What the server announced, or what had arrived when it was cut off.
        received: u64,
    },
    /// The whole file did not arrive within the download's deadline
    /// ([`Fetcher::with_deadline`]), however steadily its bytes came.
    Deadline {
        /// The deadline.
        after: Duration,
        /// Bytes received by then.
        received: u64,
    },
    /// The decompressed file is not the one recorded here.
    Checksum {
        /// The SHA-256 recorded in kiln.
        expected: String,
        /// The SHA-256 of what the mirror served.
        actual: String,
        /// Its decompressed length.
        size: u64,
    },
}

impl FetchFailure {
    /// Whether trying the same mirror again may help.
    fn retryable(&self) -> bool {
        match self {
            FetchFailure::Connect(_) | FetchFailure::Dropped { .. } => true,
            FetchFailure::Status(code) => *code >= 500 || *code == 429 || *code == 408,
            FetchFailure::NotGzip(_)
            | FetchFailure::Checksum { .. }
            | FetchFailure::TooLarge { .. }
            | FetchFailure::Deadline { .. } => false,
        }
    }
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchFailure::Connect(reason) => write!(f, "no connection ({reason})"),
            FetchFailure::Status(code) => write!(f, "HTTP {code}"),
            FetchFailure::Dropped {
                received,
                expected: Some(n),
                reason,
            } => write!(
                f,
                "connection dropped after {received} of {n} bytes ({reason})"
            ),
            FetchFailure::Dropped {
                received, reason, ..
            } => write!(f, "connection dropped after {received} bytes ({reason})"),
            FetchFailure::NotGzip(reason) => write!(f, "not a whole gzip file ({reason})"),
            FetchFailure::Deadline { after, received } => write!(
                f,
                "too slow: {received} bytes in {:.0} s, and the whole file must arrive within \
                 that",
                after.as_secs_f64()
            ),
            FetchFailure::TooLarge { limit, received } => write!(
                f,
                "the mirror sent {received} bytes or more; a gzip of this file is at most \
                 {limit} bytes, so the download stopped there"
            ),
            FetchFailure::Checksum {
                expected,
                actual,
                size,
            } => write!(
                f,
                "checksum mismatch: the decompressed file ({size} bytes) has SHA-256 {actual}, \
                 expected {expected}"
            ),
        }
    }
}

/// One mirror's failure to give a file, after `tries` tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchAttempt {
    /// The file's URL on that mirror.
    pub url: String,
    /// How many times it was tried.
    pub tries: u32,
    /// Why the last try failed.
    pub failure: FetchFailure,
}

impl fmt::Display for FetchAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.url, self.failure)?;
        if self.tries > 1 {
            write!(f, " ({} tries)", self.tries)?;
        }
        Ok(())
    }
}

/// Downloads dataset files; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Fetcher {
    extra_mirrors: Vec<String>,
    builtin_mirrors: bool,
    tries: u32,
    retry_delay: Duration,
    connect_timeout: Duration,
    read_timeout: Duration,
    deadline: Duration,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Fetcher {
    /// A fetcher with the built-in mirrors, `KILN_DATA_MIRROR` before them when set, three
    /// tries per mirror 0.5 s then 1 s apart, a 15 s connect and a 30 s read timeout, and
    /// 10 minutes for each try at a whole file (26 MB at 45 kB/s).
    pub fn new() -> Self {
        let extra_mirrors = std::env::var(MIRROR_ENV)
            .ok()
            .filter(|m| !m.trim().is_empty())
            .into_iter()
            .collect();
        Self {
            extra_mirrors,
            builtin_mirrors: true,
            tries: 3,
            retry_delay: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
        }
    }

    /// Tries `base` (serving `<kind>/<file>.gz`, like `KILN_DATA_MIRROR`) before the mirrors
    /// already set.
    pub fn with_mirror(mut self, base: impl Into<String>) -> Self {
        self.extra_mirrors.insert(0, base.into());
        self
    }

    /// Whether to try the built-in mirrors after the extra ones (default: yes).
    pub fn with_builtin_mirrors(mut self, on: bool) -> Self {
        self.builtin_mirrors = on;
        self
    }

    /// Tries per mirror for a retryable failure (at least 1), and the wait before the
    /// second try (doubled for each later one).
    pub fn with_retries(mut self, tries: u32, delay: Duration) -> Self {
        self.tries = tries.max(1);
        self.retry_delay = delay;
        self
    }

    /// The connect timeout, and the longest wait for the next bytes of a body.
    pub fn with_timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.connect_timeout = connect;
        self.read_timeout = read;
        self
    }

    /// The longest one try at a whole file may take, from the request to the last byte: a
    /// mirror that sends a byte now and then, each within the read timeout, is given up at
    /// this deadline and the next mirror tried.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The URLs `file` of `kind` is tried at, in order.
    pub fn urls(&self, kind: DatasetKind, file: &RemoteFile) -> Vec<String> {
        let extra = self
            .extra_mirrors
            .iter()
            .map(|base| format!("{}/{}/{}.gz", base.trim_end_matches('/'), kind, file.name));
        let builtin: &[&str] = if self.builtin_mirrors {
            kind.mirrors()
        } else {
            &[]
        };
        let builtin = builtin.iter().map(|base| format!("{base}{}.gz", file.name));
        extra.chain(builtin).collect()
    }

    /// Makes sure `dir/<kind>/` holds the dataset's four files, downloading those it lacks.
    /// A file already there (`NAME.gz`, or a raw `NAME` where there is no `.gz`) is kept when
    /// it is exactly the recorded file, and downloaded again when it is not. Returns
    /// `dir/<kind>`.
    ///
    /// `on_progress` gets [`Unit::Byte`] reports; breaking stops the download with
    /// [`DataError::Cancelled`] (files already verified stay).
    ///
    /// # Errors
    /// [`DataError::Download`] when every mirror failed for a file (each mirror's reason in
    /// it), [`DataError::Write`] when the folder cannot be written (a full disk among
    /// others), [`DataError::Cancelled`].
    pub fn fetch(
        &self,
        kind: DatasetKind,
        dir: &Path,
        mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<PathBuf, DataError> {
        let dest = dir.join(kind.name());
        let files = kind.files();
        for (index, file) in files.iter().enumerate() {
            if is_recorded(&dest, file) {
                continue;
            }
            let urls = self.urls(kind, file);
            let at = (index + 1, files.len());
            self.fetch_file(&urls, file, &dest, at, &mut on_progress)?;
        }
        Ok(dest)
    }

    /// Downloads `file` from the first of `urls` that gives it whole and verified, into
    /// `dest/NAME.gz` (atomically). `at` is (this file's number from 1, number of files),
    /// for the progress reports. Returns the path written.
    ///
    /// # Errors
    /// As [`fetch`](Self::fetch).
    pub fn fetch_file(
        &self,
        urls: &[String],
        file: &RemoteFile,
        dest: &Path,
        at: (usize, usize),
        on_progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<PathBuf, DataError> {
        let target = dest.join(format!("{}.gz", file.name));
        let write_error = |path: &Path, source| DataError::Write {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dest).map_err(|e| write_error(dest, e))?;
        // The client cannot even start: one attempt with no URL says why.
        let setup_error = |reason: String| DataError::Download {
            file: file.name.to_string(),
            dest: dest.to_path_buf(),
            attempts: vec![FetchAttempt {
                url: String::new(),
                tries: 0,
                failure: FetchFailure::Connect(reason),
            }],
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| setup_error(format!("cannot start the I/O runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .user_agent(concat!("kiln-data/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup_error(error_chain(&e)))?;

        let mut attempts = Vec::new();
        for url in urls {
            let mut tries = 0;
            let failure = loop {
                tries += 1;
                let received = std::cell::Cell::new(0u64);
                let got = runtime.block_on(async {
                    let limit = gzip_limit(file);
                    let mut on_bytes = |done, total| {
                        received.set(done as u64);
                        on_progress(&progress(done, total, at, false))
                    };
                    let get = get(&client, url, limit, &mut on_bytes);
                    match tokio::time::timeout(self.deadline, get).await {
                        Ok(got) => got,
                        Err(_) => Err(Get::Failed(FetchFailure::Deadline {
                            after: self.deadline,
                            received: received.get(),
                        })),
                    }
                });
                let failure = match got {
                    Ok(body) => match verify(&body, file) {
                        Ok(()) => {
                            kiln_core::write_atomic(&target, &body)
                                .map_err(|e| write_error(&target, e))?;
                            let n = body.len();
                            // The caller learns the file is done; a break now changes nothing.
                            let _ = on_progress(&progress(n, n, at, true));
                            return Ok(target);
                        }
                        Err(failure) => failure,
                    },
                    Err(Get::Cancelled) => return Err(DataError::Cancelled),
                    Err(Get::Failed(failure)) => failure,
                };
                if !failure.retryable() || tries >= self.tries {
                    break failure;
                }
                std::thread::sleep(self.retry_delay * 2u32.saturating_pow(tries - 1));
            };
            attempts.push(FetchAttempt {
                url: url.clone(),
                tries,
                failure,
            });
        }
        Err(DataError::Download {
            file: file.name.to_string(),
            dest: dest.to_path_buf(),
            attempts,
        })
    }
}

fn progress(done: usize, total: usize, (file, files): (usize, usize), end: bool) -> Progress {
    let mut p = Progress::new(Unit::Byte, done, total)
        .with("file", file as f64)
        .with("files", files as f64);
    if end {
        p.epoch_end = Some(file);
    }
    p
}

enum Get {
    Failed(FetchFailure),
    Cancelled,
}

/// The most bytes a gzip of `file` can take: deflate's stored blocks add 5 bytes per 65,535,
/// gzip's header and trailer a few dozen (a file name longer than 4 KiB is not MNIST's).
fn gzip_limit(file: &RemoteFile) -> u64 {
    file.size + file.size / 8192 + 4096
}

/// One GET of `url`, the whole body in memory (the largest file is 26 MB gzipped), stopped
/// as soon as it passes `limit` bytes (or the server announces more).
async fn get(
    client: &reqwest::Client,
    url: &str,
    limit: u64,
    on_bytes: &mut dyn FnMut(usize, usize) -> ControlFlow<()>,
) -> Result<Vec<u8>, Get> {
    let failed = |f| Get::Failed(f);
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| failed(FetchFailure::Connect(error_chain(&e))))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(FetchFailure::Status(status.as_u16())));
    }
    let expected = response.content_length();
    if let Some(n) = expected.filter(|&n| n > limit) {
        return Err(failed(FetchFailure::TooLarge { limit, received: n }));
    }
    let total = expected.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut body = Vec::with_capacity(total.min(64 << 20));
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(failed(FetchFailure::TooLarge {
                        limit,
                        received: (body.len() + chunk.len()) as u64,
                    }));
                }
                body.extend_from_slice(&chunk);
                if on_bytes(body.len(), total).is_break() {
                    return Err(Get::Cancelled);
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(failed(FetchFailure::Dropped {
                    received: body.len() as u64,
                    expected,
                    reason: error_chain(&e),
                }));
            }
        }
    }
    match expected {
        Some(n) if (body.len() as u64) < n => Err(failed(FetchFailure::Dropped {
            received: body.len() as u64,
            expected,
            reason: "the body ended early".into(),
        })),
        _ => Ok(body),
    }
}

/// Whether `dest` holds `file` as the cache reads it (`NAME.gz`, else a raw `NAME`), exactly
/// as recorded.
fn is_recorded(dest: &Path, file: &RemoteFile) -> bool {
    let gz = dest.join(format!("{}.gz", file.name));
    let raw = dest.join(file.name);
    let path = if gz.is_file() { gz } else { raw };
    let Ok(on_disk) = std::fs::metadata(&path) else {
        return false;
    };
    if on_disk.len() > gzip_limit(file) {
        return false;
    }
    let Ok(bytes) = std::fs::read(&path) else {
        return false;
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        verify(&bytes, file).is_ok()
    } else {
        bytes.len() as u64 == file.size && hex(&Sha256::digest(&bytes)) == file.sha256
    }
}

/// Decompresses `gz` and checks its length and SHA-256 against `file`.
fn verify(gz: &[u8], file: &RemoteFile) -> Result<(), FetchFailure> {
    let mut decoder = flate2::read::GzDecoder::new(gz);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
                if size > file.size {
                    // Longer than the recorded file: no need to inflate the rest of a bomb.
                    break;
                }
            }
            Err(e) => return Err(FetchFailure::NotGzip(e.to_string())),
        }
    }
    let actual = hex(&hasher.finalize());
    if size != file.size || actual != file.sha256 {
        return Err(FetchFailure::Checksum {
            expected: file.sha256.to_string(),
            actual,
            size,
        });
    }
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An error with its sources, on one line (reqwest's own message omits the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The progress display [`load`](crate::load) uses while it downloads: on a terminal, one
/// line redrawn in place (`mnist 1/4 train-images-idx3-ubyte.gz  4.1 MB of 9.9 MB`); otherwise a
/// line per finished file. It writes to standard error.
pub fn stderr_progress(kind: DatasetKind) -> impl FnMut(&Progress) -> ControlFlow<()> {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let mut last = std::time::Instant::now()
        .checked_sub(Duration::from_secs(1))
        .unwrap_or_else(std::time::Instant::now);
    let names = kind.files().map(|f| f.name);
    move |p: &Progress| {
        let file = p.metric("file").unwrap_or(1.0) as usize;
        let files = p.metric("files").unwrap_or(1.0) as usize;
        let name = names.get(file.saturating_sub(1)).copied().unwrap_or("?");
        let size = |b: usize| {
            if b < 1_000_000 {
                format!("{:.1} kB", b as f64 / 1e3)
            } else {
                format!("{:.1} MB", b as f64 / 1e6)
            }
        };
        let mut err = std::io::stderr().lock();
        if p.epoch_end.is_some() {
            let clear = if terminal { "\r\x1b[2K" } else { "" };
            let _ = writeln!(
                err,
                "{clear}{kind} {file}/{files} {name}.gz: {} downloaded and verified",
                size(p.done)
            );
        } else if terminal && last.elapsed() >= Duration::from_millis(100) {
            last = std::time::Instant::now();
            let total = if p.total > 0 {
                format!(" of {}", size(p.total))
            } else {
                String::new()
            };
            let _ = write!(
                err,
                "\r\x1b[2K{kind} {file}/{files} {name}.gz  {}{total}",
                size(p.done)
            );
            let _ = err.flush();
        }
        ControlFlow::Continue(())
    }
}
