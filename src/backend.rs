//! The one place where a backend name becomes a [`Device`].
//!
//! Cargo features decide which backends are compiled in; [`select`] picks one of them at
//! run time. Every example's `--backend` goes through here, and so does every test that
//! runs on "all compiled-in backends" ([`compiled`]).

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor};

/// A backend kiln can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// CUDA through CubeCL (feature `cuda`): NVIDIA GPUs.
    Cuda,
    /// WGPU pinned to Vulkan (feature `vulkan`).
    Vulkan,
    /// WGPU on whatever graphics API the machine offers (feature `wgpu`). Without a GPU,
    /// Mesa's lavapipe provides a software Vulkan adapter.
    Wgpu,
    /// Burn's pure-Rust CPU backend (feature `flex`, the default).
    Flex,
    /// LibTorch on the CPU (feature `tch`).
    Tch,
    /// LibTorch on its first CUDA GPU (feature `tch`, with a CUDA build of LibTorch such as
    /// PyPI's `torch` wheel for Linux). Never the default: asked for by name only, since every
    /// `tch` build has it whether or not the machine has a GPU.
    TchCuda,
    /// The ndarray CPU backend (feature `ndarray`), deprecated upstream in favour of flex.
    Ndarray,
    /// The devices of a Burn server on another machine (feature `remote`), named with its
    /// address: `--backend remote=ws://HOST:PORT` (see `kiln::remote`, feature `remote`). Never the default.
    Remote,
}

impl Backend {
    /// Every backend, in order of preference for the default: GPUs first, then CPU
    /// backends; `tch-cuda` last, as it is never a default.
    pub const ALL: [Backend; 8] = [
        Backend::Cuda,
        Backend::Vulkan,
        Backend::Wgpu,
        Backend::Flex,
        Backend::Tch,
        Backend::Ndarray,
        Backend::TchCuda,
        Backend::Remote,
    ];

    /// The name used by `--backend` and in tables: `cuda`, `vulkan`, `wgpu`, `flex`, `tch`,
    /// `ndarray`, `tch-cuda`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cuda => "cuda",
            Backend::Vulkan => "vulkan",
            Backend::Wgpu => "wgpu",
            Backend::Flex => "flex",
            Backend::Tch => "tch",
            Backend::Ndarray => "ndarray",
            Backend::TchCuda => "tch-cuda",
            Backend::Remote => "remote",
        }
    }

    /// Whether this build has the backend's cargo feature.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Cuda => cfg!(feature = "cuda"),
            Backend::Vulkan => cfg!(feature = "vulkan"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Tch => cfg!(feature = "tch"),
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::TchCuda => cfg!(feature = "tch"),
            Backend::Remote => cfg!(feature = "remote"),
        }
    }

    /// Whether the backend runs on the CPU (so its speed is comparable to PyTorch on the CPU).
    pub fn is_cpu(self) -> bool {
        matches!(self, Backend::Flex | Backend::Tch | Backend::Ndarray)
    }

    /// The backend's device, checked by running one tiny operation on it: a GPU backend with
    /// no usable adapter is an error here, not a panic later.
    ///
    /// # Errors
    /// [`BackendError::NotCompiled`] without the cargo feature, [`BackendError::Unavailable`]
    /// when the device does not work on this machine.
    pub fn device(self) -> Result<Device, BackendError> {
        let device = self.unchecked_device()?;
        probe(self, &device)?;
        Ok(device)
    }

    #[allow(unreachable_code, unused_variables)] // each arm's code exists only with its feature
    fn unchecked_device(self) -> Result<Device, BackendError> {
        let not_compiled = BackendError::NotCompiled {
            backend: self,
            compiled: compiled(),
        };
        match self {
            Backend::Cuda => {
                #[cfg(feature = "cuda")]
                return Ok(Device::cuda(burn::tensor::DeviceIndex::Default));
                Err(not_compiled)
            }
            Backend::Vulkan => {
                #[cfg(feature = "vulkan")]
                return Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice));
                Err(not_compiled)
            }
            Backend::Wgpu => {
                #[cfg(feature = "wgpu")]
                return Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
                Err(not_compiled)
            }
            Backend::Flex => {
                #[cfg(feature = "flex")]
                return Ok(Device::flex());
                Err(not_compiled)
            }
            Backend::Tch => {
                // burn-tch is deprecated upstream but still the way to run on LibTorch; this
                // is the one place kiln constructs its device.
                #[cfg(feature = "tch")]
                #[allow(deprecated)]
                return Ok(Device::libtorch());
                Err(not_compiled)
            }
            Backend::Ndarray => {
                // Deprecated upstream in favour of flex; kept as a backend users can choose.
                #[cfg(feature = "ndarray")]
                #[allow(deprecated)]
                return Ok(Device::ndarray());
                Err(not_compiled)
            }
            Backend::TchCuda => {
                #[cfg(feature = "tch")]
                #[allow(deprecated)]
                return Ok(Device::libtorch_cuda(burn::tensor::DeviceIndex::Default));
                Err(not_compiled)
            }
            Backend::Remote => {
                if cfg!(feature = "remote") {
                    Err(BackendError::RemoteAddress {
                        given: "remote".into(),
                        why: "name the server, as in --backend remote=ws://HOST:PORT".into(),
                    })
                } else {
                    Err(not_compiled)
                }
            }
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .into_iter()
            .find(|b| {
                b.name().eq_ignore_ascii_case(s)
                    || (s == "libtorch" && *b == Backend::Tch)
                    || (s.starts_with("remote=") && *b == Backend::Remote)
            })
            .ok_or_else(|| BackendError::Unknown {
                name: s.to_string(),
                compiled: compiled(),
            })
    }
}

/// Backends compiled into this build, in order of preference.
pub fn compiled() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|b| b.is_compiled())
        .collect()
}

/// The backend used when none is asked for: the first compiled in, GPUs first (`tch-cuda`
/// and `remote` are never defaults: see [`Backend::TchCuda`], [`Backend::Remote`]).
///
/// # Errors
/// [`BackendError::NoneCompiled`] when the build has no backend feature.
pub fn default_backend() -> Result<Backend, BackendError> {
    compiled()
        .into_iter()
        .find(|b| !matches!(b, Backend::TchCuda | Backend::Remote))
        .ok_or(BackendError::NoneCompiled)
}

/// Turns a `--backend` choice (or none, for the default) into a working device.
///
/// Without a choice it takes [`default_backend`], except that a WGPU/Vulkan default whose
/// adapter is itself a CPU (a software rasteriser such as Mesa's lavapipe/llvmpipe, on a
/// machine without a GPU) gives way to the first CPU backend compiled in — flex runs kiln's
/// models 15× faster than lavapipe — with one line on the log saying so and how to force the
/// adapter (`--backend wgpu`). On a real GPU nothing changes.
///
/// # Errors
/// An unknown name, a backend not compiled in (the message lists those that are), or a
/// device that does not work on this machine.
pub fn select(name: Option<&str>) -> Result<(Backend, Device), BackendError> {
    if let Some(url) = name.and_then(remote_url) {
        return Ok((Backend::Remote, remote_device(url, 0)?));
    }
    let backend = match name {
        Some(n) => n.parse()?,
        None => default_backend()?,
    };
    let device = backend.device()?;
    if name.is_none()
        && let Some(adapter) = software_adapter(backend, &device)
        && let Some(cpu) = compiled().into_iter().find(|b| b.is_cpu())
    {
        tracing::info!(
            "{backend}'s only adapter is {adapter}, a CPU rasteriser: using {cpu} instead \
             (pass --backend {backend} to use the adapter anyway)"
        );
        return Ok((cpu, cpu.device()?));
    }
    Ok((backend, device))
}

/// The server address of a `remote=ws://HOST:PORT` choice.
fn remote_url(name: &str) -> Option<&str> {
    name.strip_prefix("remote=")
}

#[allow(unused_variables)]
fn remote_device(url: &str, index: usize) -> Result<Device, BackendError> {
    #[cfg(feature = "remote")]
    return crate::remote::connect(url, index);
    #[cfg(not(feature = "remote"))]
    Err(BackendError::NotCompiled {
        backend: Backend::Remote,
        compiled: compiled(),
    })
}

/// `count` devices of a `--backend` choice, for data-parallel training (`--devices`): the
/// first `count` the backend lists (GPUs by index; a remote server's devices by their
/// position on the server). A CPU backend has one device, so `count` > 1 there is an error:
/// host it `count` times on a server instead (`serve --devices N`).
///
/// With `count` = 1 this is [`select`].
///
/// # Errors
/// As [`select`], and [`BackendError::TooFewDevices`] when the backend has fewer devices.
pub fn select_devices(
    name: Option<&str>,
    count: usize,
) -> Result<(Backend, Vec<Device>), BackendError> {
    let (backend, first) = select(name)?;
    if count <= 1 {
        return Ok((backend, vec![first]));
    }
    let mut devices = vec![first];
    if let Some(url) = name.and_then(remote_url) {
        #[cfg(feature = "remote")]
        {
            let found = crate::remote::device_count(url)?;
            if found < count {
                return Err(BackendError::TooFewRemoteDevices {
                    url: url.to_string(),
                    asked: count,
                    found,
                });
            }
        }
        for index in 1..count {
            devices.push(remote_device(url, index)?);
        }
        return Ok((backend, devices));
    }
    let listed = gpu_devices(backend);
    if listed.len() < count {
        return Err(BackendError::TooFewDevices {
            backend,
            asked: count,
            found: listed.len().max(1),
        });
    }
    for device in listed.into_iter().skip(1).take(count - 1) {
        probe(backend, &device)?;
        devices.push(device);
    }
    Ok((backend, devices))
}

/// Every device a GPU backend lists; empty for CPU backends (they have one device).
#[cfg(any(feature = "cuda", feature = "wgpu", feature = "vulkan"))]
fn gpu_devices(backend: Backend) -> Vec<Device> {
    use burn::tensor::DeviceType;
    let kind = match backend {
        #[cfg(feature = "cuda")]
        Backend::Cuda => DeviceType::Cuda,
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => DeviceType::Wgpu,
        #[cfg(feature = "vulkan")]
        Backend::Vulkan => DeviceType::Vulkan,
        _ => return Vec::new(),
    };
    kiln_core::catch_panic(std::panic::AssertUnwindSafe(|| {
        Device::enumerate(kind).into_iter().collect::<Vec<_>>()
    }))
    .unwrap_or_default()
}

/// Every device a GPU backend lists: none without a GPU backend compiled in.
#[cfg(not(any(feature = "cuda", feature = "wgpu", feature = "vulkan")))]
fn gpu_devices(_backend: Backend) -> Vec<Device> {
    Vec::new()
}

/// The adapter's name when `backend`'s `device` is a software rasteriser running on the CPU
/// (Burn reports no physical card for it; lavapipe calls itself `llvmpipe (LLVM …)`).
#[allow(unused_variables)] // without wgpu/vulkan there is no adapter to ask
pub fn software_adapter(backend: Backend, device: &Device) -> Option<String> {
    #[cfg(any(feature = "wgpu", feature = "vulkan"))]
    if matches!(backend, Backend::Wgpu | Backend::Vulkan) {
        let identity = kiln_core::catch_panic(std::panic::AssertUnwindSafe(|| device.identity()))
            .ok()
            .flatten()?;
        let name = identity.name.to_ascii_lowercase();
        let software = ["llvmpipe", "lavapipe", "swiftshader", "softpipe", "warp"]
            .iter()
            .any(|s| name.contains(s));
        if software || identity.physical.is_none() {
            return Some(identity.name);
        }
    }
    None
}

/// Errors of choosing a backend, reaching a remote one, or serving one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The name is no backend kiln knows.
    #[error("unknown backend '{name}': compiled in are {}", names(compiled))]
    Unknown {
        /// The name given.
        name: String,
        /// Backends this build has.
        compiled: Vec<Backend>,
    },
    /// The backend exists but this build lacks its cargo feature.
    #[error(
        "backend '{backend}' is not compiled in (rebuild with --features {backend}); compiled in are {}",
        names(compiled)
    )]
    NotCompiled {
        /// The backend asked for.
        backend: Backend,
        /// Backends this build has.
        compiled: Vec<Backend>,
    },
    /// The build has no backend at all.
    #[error("no backend is compiled in: build with --features flex (or wgpu, tch, ndarray, cuda)")]
    NoneCompiled,
    /// A `remote` choice without a usable `ws://HOST:PORT` address.
    #[error("bad remote address '{given}': {why}")]
    RemoteAddress {
        /// What was given.
        given: String,
        /// What is wrong with it.
        why: String,
    },
    /// Nothing answered at the server's address: it is not running, or a firewall is in the way.
    #[error(
        "no Burn server answers at {url} ({reason}): start a kiln server there (kiln::remote::serve, the `serve` example's body)"
    )]
    RemoteUnreachable {
        /// The server's address.
        url: String,
        /// What the connection reported.
        reason: String,
    },
    /// The server requires a token and refused this one (or none).
    #[error("the Burn server at {url} refused the credential: {}", if *token_set { "KILN_REMOTE_TOKEN does not match the server's" } else { "it requires a token: set KILN_REMOTE_TOKEN to the server's" })]
    RemoteRefused {
        /// The server's address.
        url: String,
        /// Whether `KILN_REMOTE_TOKEN` was set.
        token_set: bool,
    },
    /// The server does not host the device asked for.
    #[error("the Burn server at {url} hosts only {device_count} device(s)")]
    RemoteDevice {
        /// The server's address.
        url: String,
        /// How many it hosts.
        device_count: usize,
    },
    /// A remote server did not answer in time (see `kiln::remote::Deadlines`).
    #[error(
        "no {what} from the Burn server at {url} within {} s: check that it runs, is \
         not paused or overloaded, and that the network lets the port through \
         (KILN_REMOTE_TIMEOUT=SECONDS changes the limit)",
        after.as_secs_f64()
    )]
    RemoteTimeout {
        /// The server's address.
        url: String,
        /// What did not come.
        what: &'static str,
        /// The deadline.
        after: std::time::Duration,
    },
    /// `KILN_REMOTE_TIMEOUT` is not a usable number of seconds.
    #[error("KILN_REMOTE_TIMEOUT: {why}")]
    RemoteTimeoutSetting {
        /// What is wrong with it.
        why: String,
    },
    /// The remote connection failed otherwise (handshake, protocol version).
    #[error("the Burn server at {url} could not be used: {reason}")]
    RemoteFailed {
        /// The server's address.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// `--devices N` asked for more devices than a remote server hosts.
    #[error(
        "{asked} devices asked for, but the Burn server at {url} hosts {found}: start it with `serve --devices {asked}` (or more)"
    )]
    TooFewRemoteDevices {
        /// The server's address.
        url: String,
        /// Devices asked for.
        asked: usize,
        /// Devices it hosts.
        found: usize,
    },
    /// `--devices N` asked for more devices than the backend has.
    #[error("{asked} devices of {backend} asked for, but it has {found}{}", too_few_hint(*backend))]
    TooFewDevices {
        /// The backend.
        backend: Backend,
        /// Devices asked for.
        asked: usize,
        /// Devices it has.
        found: usize,
    },
    /// The backend is compiled in but its device does not work here.
    #[error("backend '{backend}' is compiled in but does not work on this machine: {reason}")]
    Unavailable {
        /// The backend.
        backend: Backend,
        /// The first line of what went wrong.
        reason: String,
    },
    /// A server's address could not be bound (the port is taken, or not allowed).
    #[error("cannot listen on {address}: {reason}")]
    ServerBind {
        /// `HOST:PORT` asked for.
        address: String,
        /// The operating system's reason.
        reason: String,
    },
    /// Burn's server refused the devices or its transport failed.
    #[error("the server stopped: {0}")]
    ServerStopped(String),
    /// A server's token (`KILN_REMOTE_TOKEN`) is missing where it is needed, or too short.
    #[error("{0}")]
    ServerToken(String),
    /// A server was given no device.
    #[error("a server needs at least one device")]
    ServerNoDevices,
}

/// What to do about too few devices of `backend`.
fn too_few_hint(backend: Backend) -> &'static str {
    if backend.is_cpu() {
        ": a CPU backend has one device (host it several times with `serve --devices N` and use remote=ws://...)"
    } else {
        ""
    }
}

fn names(list: &[Backend]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    list.iter().map(|b| b.name()).collect::<Vec<_>>().join(", ")
}

/// The head of a panic message: LibTorch's errors carry a C++ backtrace, escaped onto one
/// line (`…\\nException raised from … frame #0 …`); only what comes before it is kept.
fn short(reason: &str) -> String {
    let head = reason.split("\\n").next().unwrap_or(reason);
    match head.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &head[..cut]),
        None => head.to_string(),
    }
}

/// Runs one tiny operation on `device`; a panic there (no adapter, no driver) becomes an error.
pub(crate) fn probe(backend: Backend, device: &Device) -> Result<(), BackendError> {
    let result = kiln_core::catch_panic(|| {
        let t = Tensor::<1>::from_floats([1.0, 2.0], device);
        t.sum().into_scalar::<f32>()
    });
    match result {
        Ok(3.0) => Ok(()),
        Ok(v) => Err(BackendError::Unavailable {
            backend,
            reason: format!("1 + 2 gave {v}"),
        }),
        Err(reason) => Err(BackendError::Unavailable {
            backend,
            reason: short(&reason),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>(), Ok(b));
        }
    }

    #[test]
    fn unknown_name_lists_the_compiled_backends() {
        let err = "tpu".parse::<Backend>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown backend 'tpu'"), "{msg}");
        for b in compiled() {
            assert!(msg.contains(b.name()), "{msg}");
        }
    }

    #[test]
    fn a_backend_not_compiled_in_is_a_clear_error() {
        match Backend::ALL.into_iter().find(|b| !b.is_compiled()) {
            Some(missing) => {
                let err = select(Some(missing.name())).unwrap_err();
                assert!(
                    matches!(err, BackendError::NotCompiled { backend, .. } if backend == missing)
                );
                assert!(err.to_string().contains("--features"), "{err}");
            }
            None => println!("every backend is compiled in: nothing to refuse"),
        }
    }

    /// On lavapipe (CI, and any machine whose only WGPU adapter is a CPU) the default with
    /// wgpu and a CPU backend compiled in is the CPU backend; on a real GPU it stays wgpu.
    #[test]
    fn a_software_wgpu_adapter_gives_way_to_a_cpu_backend_by_default() {
        if !cfg!(feature = "wgpu") || !compiled().iter().any(|b| b.is_cpu()) {
            println!("needs wgpu and a CPU backend compiled in: nothing to check");
            return;
        }
        let Ok(device) = Backend::Wgpu.device() else {
            println!("wgpu does not run here: nothing to check");
            return;
        };
        let adapter = software_adapter(Backend::Wgpu, &device);
        println!("wgpu's adapter: {adapter:?} (None = a real GPU)");
        let (chosen, _) = select(None).unwrap();
        match adapter {
            Some(_) => assert!(chosen.is_cpu(), "chose {chosen} over a software adapter"),
            None => assert_eq!(chosen, default_backend().unwrap()),
        }
        // Asked for by name, the adapter is used whatever it is.
        assert_eq!(select(Some("wgpu")).unwrap().0, Backend::Wgpu);
        if std::env::var("KILN_EXPECT_SOFTWARE_WGPU").is_ok_and(|v| v == "1") {
            assert!(
                adapter.is_some(),
                "KILN_EXPECT_SOFTWARE_WGPU=1 but wgpu reports a GPU"
            );
        }
    }

    /// LibTorch's CUDA device is probed like the others: on a machine without a GPU (this
    /// one) it is the typed "not available" error, never a crash.
    #[test]
    fn tch_cuda_is_probed_and_refused_without_a_gpu() {
        if !cfg!(feature = "tch") {
            assert!(matches!(
                select(Some("tch-cuda")),
                Err(BackendError::NotCompiled { .. })
            ));
            return;
        }
        match select(Some("tch-cuda")) {
            Ok((b, _)) => println!("{b} runs here: this machine has a CUDA GPU"),
            Err(e) => {
                println!("tch-cuda: {e}");
                assert!(
                    matches!(
                        e,
                        BackendError::Unavailable {
                            backend: Backend::TchCuda,
                            ..
                        }
                    ),
                    "{e}"
                );
                assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
        assert_ne!(default_backend().ok(), Some(Backend::TchCuda));
    }

    #[test]
    fn default_is_the_first_compiled_in_the_documented_order() {
        // The documented preference (GPUs first, then flex, tch, ndarray), written out here
        // rather than taken from `Backend::ALL`, so reordering that list fails this test.
        let expected = [
            (cfg!(feature = "cuda"), Backend::Cuda),
            (cfg!(feature = "vulkan"), Backend::Vulkan),
            (cfg!(feature = "wgpu"), Backend::Wgpu),
            (cfg!(feature = "flex"), Backend::Flex),
            (cfg!(feature = "tch"), Backend::Tch),
            (cfg!(feature = "ndarray"), Backend::Ndarray),
        ]
        .into_iter()
        .find_map(|(on, b)| on.then_some(b));
        assert_eq!(default_backend().ok(), expected);
    }
}
