//! Downloads MNIST and Fashion-MNIST into kiln's cache (or `--dir`), checks every file's
//! SHA-256, and reads each split back: what `cargo xtask data` runs.
//!
//! ```text
//! cargo run --release --example data                       # both, into ~/.cache/kiln/data
//! cargo run --release --example data -- --dataset fashion-mnist --dir data
//! cargo run --release --example data -- --mirror http://127.0.0.1:8000/   # a local mirror
//! ```
//!
//! A mirror given with `--mirror` (or `KILN_DATA_MIRROR`) serves `<dataset>/<file>.gz`
//! (`mnist/train-images-idx3-ubyte.gz`, …) and is tried before the built-in ones.

use std::path::PathBuf;
use std::process::ExitCode;

use burn::data::dataset::Dataset;
use clap::Parser;
use kiln::cli::AnyError;
use kiln::data::{self, DatasetKind, Fetcher, Split};

#[derive(Parser, Debug)]
#[command(about = "Download and verify MNIST and Fashion-MNIST")]
struct Args {
    /// mnist, fashion-mnist, or all.
    #[arg(long, default_value = "all")]
    dataset: String,
    /// Folder to download into (default: kiln's cache, ~/.cache/kiln/data). Each dataset
    /// goes into its own subfolder; pass the folder to the examples as --data-dir, or set
    /// KILN_DATA_DIR to it (the cache is found without either).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// A mirror to try first: a base URL serving <dataset>/<file>.gz.
    #[arg(long)]
    mirror: Option<String>,
    /// Try only --mirror (and KILN_DATA_MIRROR), not the built-in mirrors.
    #[arg(long)]
    only_mirror: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    kiln::cli::run(|| -> Result<(), AnyError> {
        let kinds: Vec<DatasetKind> = match args.dataset.as_str() {
            "all" => DatasetKind::ALL.to_vec(),
            name => vec![name.parse()?],
        };
        let dir = match &args.dir {
            Some(dir) => dir.clone(),
            None => data::cache_dir().ok_or(data::DataError::NoCacheDir)?,
        };
        let mut fetcher = Fetcher::new().with_builtin_mirrors(!args.only_mirror);
        if let Some(mirror) = &args.mirror {
            fetcher = fetcher.with_mirror(mirror.clone());
        }
        for kind in kinds {
            let folder = fetcher.fetch(kind, &dir, data::stderr_progress(kind))?;
            let train = data::load_from_dir(kind, Split::Train, &folder)?;
            let test = data::load_from_dir(kind, Split::Test, &folder)?;
            println!(
                "{kind}: {} training and {} test images in {}",
                train.len(),
                test.len(),
                folder.display()
            );
        }
        Ok(())
    })
}
