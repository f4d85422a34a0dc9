//! The run layer (feature `run`): DCGAN training in a folder, with sample grids, a loss
//! plot, checkpoints and resuming.

use std::path::Path;

use burn::tensor::{Device, Tensor};
pub use kiln_data::NormalizedImages;
pub use kiln_train::{CONFIG_FILE, RunDir, RunError, RunMode};
use kiln_train::{load_json, load_module, save_json, save_module};

use crate::training::Trainer;
use crate::{
    ControlFlow, DcganError, DcganTrainingConfig, Discriminator, EpochMetrics, Generator,
    ImageData, Progress, QualityCheck, Rng, TrainedGenerator, latent,
};

/// Images in the per-epoch sample grid (from one fixed latent batch).
pub const GRID_SAMPLES: usize = 64;
/// The generator's weights inside a run folder: at its top, the generator to sample from
/// (the moving average when the run keeps one); in its checkpoint, the trained one.
pub const GENERATOR_FILE: &str = "generator.bpk";
/// The moving average of the generator inside a run's checkpoint (runs that keep one).
pub const AVERAGE_FILE: &str = "generator-average.bpk";
/// The discriminator's weights inside a run's checkpoint (a finished run keeps its last).
pub const DISCRIMINATOR_FILE: &str = "discriminator.bpk";
/// Per-epoch losses and quality scores (JSON) inside a run folder and its checkpoint.
pub const METRICS_FILE: &str = "metrics.json";
/// What a finished run holds besides `config.json` (sealed by its manifest).
const FINISHED: [&str; 2] = [GENERATOR_FILE, METRICS_FILE];

impl ImageData for NormalizedImages {
    fn len(&self) -> usize {
        NormalizedImages::len(self)
    }

    fn shape(&self) -> [usize; 3] {
        NormalizedImages::shape(self)
    }

    fn image(&self, index: usize) -> Option<Vec<f32>> {
        self.get(index).map(|(values, _)| values)
    }
}

/// [`crate::train`] in the run folder `run`, writing `config.json`; after every epoch
/// `samples/epoch-NNN.png` (64 images from one fixed latent batch, so the same digits can
/// be watched sharpening), `generated_image.png` (the latest grid), `losses.png`,
/// `metrics.json` and a checkpoint (`checkpoint/`: both networks, both optimisers, the
/// metrics, a manifest of their SHA-256; swapped in whole); at the end `generator.bpk` and
/// `manifest.json` ([`RunDir::finish`]), which [`load_trained`] verifies.
///
/// Batch order and noise depend on the seed and the epoch only and checkpoints are taken at
/// epoch ends, so a resumed run gives the same weights as an uninterrupted one (on the same
/// backend and threads).
///
/// # Errors
/// As [`crate::train`], or a file that cannot be read or written.
pub fn train(
    config: &DcganTrainingConfig,
    images: &dyn ImageData,
    device: &Device,
    quality: Option<&QualityCheck>,
    run: &RunDir,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TrainedGenerator, DcganError> {
    let mut trainer = Trainer::new(config, images, device, quality)?;
    run.restore(&mut trainer)?;
    run.save_config(config)?;
    let fixed = {
        let mut rng = Rng::new(config.seed ^ 0x5eed_6a1d);
        latent(
            GRID_SAMPLES,
            config.generator.latent_size,
            &mut rng,
            trainer.plain_device(),
        )
    };
    trainer.fit(images, quality, on_progress, |t| {
        let epoch = t.epochs_done();
        let grid = t.generator().forward(fixed.clone());
        save_image_grid(
            grid.clone(),
            &run.file(&format!("samples/epoch-{epoch:03}.png")),
        )?;
        save_image_grid(grid, &run.file("generated_image.png"))?;
        save_json(&run.file(METRICS_FILE), &t.metrics())?;
        save_loss_plot(t.metrics(), &run.file("losses.png"))?;
        run.save_state(t)
    })?;
    let trained = trainer.finish();
    save_module(trained.generator.clone(), &run.file(GENERATOR_FILE))?;
    save_json(&run.file(METRICS_FILE), &trained.metrics)?;
    run.finish(&FINISHED)?;
    Ok(trained)
}

/// A grid of images in [−1, 1] (`[n, c, h, w]`), 8 per row, each pixel drawn 3×3, as PNG.
///
/// # Errors
/// [`DcganError::Plot`] if the image cannot be made or written.
pub fn save_image_grid(images: Tensor<4>, path: &Path) -> Result<(), DcganError> {
    let [n, c, h, w] = images.dims();
    let values: Vec<f32> = crate::read((images + 1.0) * 0.5)?.iter::<f32>().collect();
    kiln_plot::image_grid(&values, [n, c, h, w], 8, 3)
        .and_then(|grid| grid.save_png(path))
        .map_err(|e| DcganError::Plot {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn save_loss_plot(metrics: &[EpochMetrics], path: &Path) -> Result<(), DcganError> {
    let series = |name: &str, f: fn(&EpochMetrics) -> f64| {
        kiln_plot::Series::new(
            name,
            metrics.iter().map(|m| (m.epoch as f64, f(m))).collect(),
        )
    };
    kiln_plot::line_chart(
        "DCGAN LOSSES PER EPOCH",
        "EPOCH",
        "MEAN LOSS",
        &[
            series("discriminator", |m| m.mean.d_loss),
            series("generator", |m| m.mean.g_loss),
        ],
    )
    .save_png(path)
    .map_err(|e| DcganError::Plot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Loads the config, generator and metrics that [`train`] saved in `dir`, on `device`,
/// after checking them against the run's manifest.
///
/// # Errors
/// A missing or corrupt file ([`RunError::Checksum`] for one that differs from the
/// manifest, [`RunError::NoManifest`] for a run that never finished), or weights that
/// do not fit the saved config.
pub fn load_trained(dir: &Path, device: &Device) -> Result<TrainedGenerator, DcganError> {
    RunDir::verify_finished(dir, &FINISHED)?;
    let config: DcganTrainingConfig = RunDir::load_config(dir, "DCGAN config")?;
    config.validate()?;
    let generator: Generator =
        load_module(config.generator.init(device)?, &dir.join(GENERATOR_FILE))?;
    let metrics = load_json(&dir.join(METRICS_FILE), "DCGAN metrics")?;
    Ok(TrainedGenerator {
        config,
        generator,
        metrics,
    })
}

/// Loads the discriminator of the last checkpoint in the run folder `dir` (a finished run keeps
/// it beside the generator; the generator alone is the run's product), on `device`, after
/// checking it against the checkpoint's manifest.
///
/// # Errors
/// A missing or corrupt file, or weights that do not fit the saved config.
pub fn load_discriminator(dir: &Path, device: &Device) -> Result<Discriminator, DcganError> {
    let config: DcganTrainingConfig = RunDir::load_config(dir, "DCGAN config")?;
    config.validate()?;
    let checkpoint = dir.join(kiln_train::CHECKPOINT_DIR);
    kiln_train::verify_manifest(&checkpoint, &[DISCRIMINATOR_FILE])?;
    Ok(load_module(
        config.discriminator.init(device)?,
        &checkpoint.join(DISCRIMINATOR_FILE),
    )?)
}
