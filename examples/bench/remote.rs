//! The remote backend's cost: the same work on a local device and through a Burn server on
//! 127.0.0.1 hosting that device (`--backends remote`, with the `remote-server` feature).
//!
//! `ops` measures the two costs everything else is made of: an operation queued on the device
//! (1,000 dependent element-wise additions on a 16-float tensor, then one read) and a read's
//! round trip (200 reads of a 1-float result).

use std::time::Instant;

use burn::tensor::{Device, Tensor};
use kiln::backend::Backend;
use kiln::cli::AnyError;

use crate::Row;

/// The loopback server the `remote` runner uses, started on first use and kept for the run.
#[cfg(feature = "remote-server")]
static SERVER: std::sync::OnceLock<Result<kiln::remote::LocalServer, String>> =
    std::sync::OnceLock::new();

/// A device of a loopback Burn server hosting the first CPU backend compiled in (flex when it
/// is): the `remote` column measures the remote layer over the same kernels as that column.
pub fn device() -> Result<Device, String> {
    #[cfg(feature = "remote-server")]
    {
        let server = SERVER.get_or_init(|| {
            let cpu = kiln::backend::compiled()
                .into_iter()
                .find(|b| matches!(b, Backend::Flex | Backend::Ndarray))
                .ok_or("remote needs flex or ndarray to host")?;
            let device = cpu.device().map_err(|e| e.to_string())?;
            eprintln!("remote: a Burn server on 127.0.0.1 hosts {cpu}");
            kiln::remote::LocalServer::start(vec![device], None).map_err(|e| e.to_string())
        });
        let server = server.as_ref().map_err(Clone::clone)?;
        kiln::remote::connect(server.url(), 0).map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "remote-server"))]
    Err("the bench needs the remote-server feature for the remote column".into())
}

/// Microseconds per queued operation and per read round trip on `device`.
fn costs(device: &Device) -> Result<(f64, f64), AnyError> {
    let x = Tensor::<1>::ones([16], device);
    let mut y = x.clone();
    let _ = y.clone().sum().try_into_scalar::<f32>()?; // warm-up
    let ops = 1000;
    let start = Instant::now();
    for _ in 0..ops {
        y = y + x.clone();
    }
    let total = y.sum().try_into_scalar::<f32>()?;
    let per_op = start.elapsed().as_secs_f64() * 1e6 / ops as f64;
    if (total - 16.0 * (ops as f32 + 1.0)).abs() > 1e-3 {
        return Err(format!("the sum came back as {total}").into());
    }
    let reads = 200;
    let start = Instant::now();
    for i in 0..reads {
        let v = Tensor::<1>::from_floats([i as f32], device)
            .sum()
            .try_into_scalar::<f32>()?;
        if v != i as f32 {
            return Err(format!("read {v}, expected {i}").into());
        }
    }
    let per_read = start.elapsed().as_secs_f64() * 1e6 / reads as f64;
    Ok((per_op, per_read))
}

/// `ops` on every backend given.
pub fn run(backends: &[Backend]) -> Result<Vec<Row>, AnyError> {
    let mut rows = Vec::new();
    for (backend, device) in crate::working(backends, "ops") {
        let (per_op, per_read) = costs(&device)?;
        eprintln!("ops {backend}: {per_op:.1} µs per queued op, {per_read:.1} µs per read");
        rows.push(Row::new("ops", "µs per queued op", backend.name(), per_op));
        rows.push(Row::new(
            "ops",
            "µs per read round trip",
            backend.name(),
            per_read,
        ));
    }
    Ok(rows)
}
