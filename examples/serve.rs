//! Hosts this machine's device for kiln (and any Burn program) on other machines: Burn's own
//! remote server over WebSocket.
//!
//! ```sh
//! cargo run --release --features flex,remote-server --example serve -- --backend flex --port 3000
//! # on another machine (or this one):
//! cargo run --release --features flex,remote --example mlp -- --backend remote=ws://HOST:3000
//! ```
//!
//! It listens on 127.0.0.1 unless `--host 0.0.0.0` (or another address) is given; beyond
//! this machine it needs `KILN_REMOTE_TOKEN` (at least 16 bytes, set on both sides: an
//! environment variable, so the token never shows in `ps`), or `--insecure`. kiln's front
//! checks the token before anything reaches Burn's server (docs/scaling.md). WebSocket is
//! unencrypted: the token keeps strangers out, not eavesdroppers. Browsers are refused
//! (`--allow-origin` admits one origin), and so are requests naming another host
//! (`--allow-host`). Ctrl+C or SIGTERM stops the server.

use std::process::ExitCode;

/// The examples' allocator (examples/common/mod.rs explains why): the server runs the work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use kiln::backend::{self, Backend};
use kiln::cli::{AnyError, run};

/// Serve a device to remote kiln/Burn clients.
#[derive(Parser, Debug)]
struct Args {
    /// Backend whose device is served: cuda, vulkan, wgpu, flex or ndarray (LibTorch devices
    /// cannot be served by Burn's server). Default: the best compiled in.
    #[arg(long)]
    backend: Option<String>,
    /// Address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (printed).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Devices to host (1 to 64), listed to clients in order (device 0, 1, ...): the
    /// backend's first N GPUs; a CPU backend's one device is listed N times (N sessions
    /// sharing it), which is how the multi-device path is tested without GPUs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    devices: u16,
    /// Serve beyond this machine without a token, or with one shorter than 16 bytes: anyone
    /// who can reach the port can then run work here.
    #[arg(long)]
    insecure: bool,
    /// A browser origin allowed to open sessions (`https://lab.example`; repeat for more).
    /// Without it every request carrying an `Origin` header, which browsers add to every
    /// WebSocket upgrade, is refused, with or without a token.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// A host name clients may use for this server when it listens on loopback, besides IP
    /// addresses and `localhost` (repeat for more); other names are refused (DNS rebinding).
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
}

fn main() -> ExitCode {
    kiln::cli::init_tracing(env!("CARGO_CRATE_NAME"));
    let args = Args::parse();
    run(|| -> Result<(), AnyError> {
        let (backend, device) = backend::select(args.backend.as_deref())?;
        if matches!(backend, Backend::Tch | Backend::TchCuda | Backend::Remote) {
            return Err(format!(
                "Burn's server cannot host {backend} devices: serve flex, ndarray or a GPU backend"
            )
            .into());
        }
        let token = kiln::remote::token_from_env();
        kiln::remote::check_token(&args.host, token.as_deref(), args.insecure)?;
        let count = usize::from(args.devices);
        let devices = if backend.is_cpu() {
            vec![device; count]
        } else {
            backend::select_devices(args.backend.as_deref(), count)?.1
        };
        let address = format!("{}:{}", args.host, args.port);
        let count = devices.len();
        let limits = kiln::remote::FrontLimits {
            allowed_origins: args.allow_origins.clone(),
            allowed_hosts: args.allow_hosts.clone(),
            ..Default::default()
        };
        kiln::remote::serve_with(devices, &address, token.as_deref(), limits, |url| {
            println!(
                "serving {count} {backend} device(s) on {url} ({}); Ctrl+C stops",
                if token.is_some() {
                    "clients must present KILN_REMOTE_TOKEN"
                } else {
                    "no token required: set KILN_REMOTE_TOKEN to require one"
                }
            );
            if args.insecure {
                eprintln!(
                    "warning: --insecure: anyone who can reach {url} with the token (or without, \
                     if none is set) can run work here"
                );
            }
            // The line above is how scripts and tests learn the address: flush it now.
            use std::io::Write;
            let _ = std::io::stdout().flush();
        })?;
        Ok(())
    })
}
