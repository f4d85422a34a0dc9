//! A gzip bomb in a data folder: a ~1 MB `.gz` whose header declares 784 MB of images and
//! whose body inflates to 1 GiB. Reading it must stay small: the test reads it in a child
//! process (this test binary, run again for this one test) and reads how far that process's
//! peak resident memory (`VmHWM`, Linux, reset first) rose above its resident memory before
//! the read: under 256 MiB. (Measured from the baseline: in a workspace build with every
//! backend, this binary maps LibTorch and starts at ~300 MiB.)

use std::io::Write;
use std::path::Path;
use std::process::Command;

use kiln_data::{DataError, DatasetKind, Split};

const CHILD_VAR: &str = "KILN_BOMB_DIR";

/// This process's `VmHWM` (peak) or `VmRSS` (now) resident memory in bytes (Linux), or
/// None elsewhere.
fn resident(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut header = magic.to_be_bytes().to_vec();
    for d in dims {
        header.extend_from_slice(&d.to_be_bytes());
    }
    header
}

/// `train-images-idx3-ubyte.gz`: 1,000,000 × 28 × 28 declared, 1 GiB of zeros inside.
fn write_bomb(dir: &Path) -> u64 {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&idx_header(0x803, &[1_000_000, 28, 28]))
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        gz.write_all(&zeros).unwrap();
    }
    let bytes = gz.finish().unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), &bytes).unwrap();
    let mut labels = idx_header(0x801, &[1_000_000]);
    labels.resize(labels.len() + 1_000_000, 0);
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels).unwrap();
    bytes.len() as u64
}

#[test]
fn a_gzip_bomb_in_a_data_folder_peaks_under_256_mib() {
    if let Ok(dir) = std::env::var(CHILD_VAR) {
        // The child: read it, say what happened and how much memory that took. Writing 5 to
        // clear_refs resets the peak to the present (Linux 4.0 and later).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = resident("VmRSS:").unwrap_or(0);
        let result = kiln_data::load_from_dir(DatasetKind::Mnist, Split::Train, Path::new(&dir));
        match result {
            Ok(data) => println!(
                "RESULT loaded {} images",
                burn::data::dataset::Dataset::len(&data)
            ),
            Err(e) => println!("RESULT {}", matches!(e, DataError::Oversized { .. }) as u8),
        }
        let peak = resident("VmHWM:").unwrap_or(0);
        println!("PEAK {}", peak.saturating_sub(before));
        return;
    }
    if resident("VmHWM:").is_none() {
        eprintln!("SKIPPED the gzip bomb's peak memory: no /proc/self/status here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let size = write_bomb(dir.path());
    assert!(size < 2 << 20, "the bomb is {size} bytes");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_gzip_bomb_in_a_data_folder_peaks_under_256_mib",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_VAR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(key).map(|(_, value)| value))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {key} line: {stdout}"))
            .to_string()
    };
    let peak: u64 = value("PEAK ").parse().unwrap();
    println!(
        "a {:.1} MB gzip declaring 784 MB: refused ({}), peak resident memory {} MiB above the \
         process's baseline",
        size as f64 / 1e6,
        value("RESULT "),
        peak >> 20
    );
    assert_eq!(value("RESULT "), "1", "not refused as oversized: {stdout}");
    assert!(peak < 256 << 20, "peak {} MiB", peak >> 20);
}
