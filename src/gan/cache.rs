//! Trained GANs kept by the full identity of their settings, so that a
//! notebook run again (or another notebook asking for the same run) loads a
//! trained GAN instead of training it again.
//!
//! An entry is a directory `<cache>/<name>-<hash>/` holding the run's
//! `checkpoint.safetensors` (weights, buffers, optimiser states, history and
//! warnings: what `--resume` reads) and `settings.json`, the key it was
//! trained under: the settings resume compares ([`GanConfig::identity`]), the
//! run's length and the epochs whose samples it kept, the device it ran on,
//! and a fingerprint of the crate's source (so a changed trainer never serves
//! an old result). An entry is used only when its `settings.json` equals the
//! asked-for key field by field, and its checkpoint is then checked against
//! the settings once more; anything else is trained again and replaces it.
//! Entries are written whole (a temporary directory, then renamed), so a
//! killed run leaves no half entry. Delete the directory to empty the cache.
use super::checkpoint;
use super::config::GanConfig;
use super::report::GanReport;
use super::trainer::train_gan;
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where [`train_gan_cached`] keeps its entries: `runs/cache/gan` under the
/// project root (`GAN_TUTORIAL_ROOT`, which the notebook kernel sets).
pub fn gan_cache_dir() -> PathBuf {
    crate::data::mnist::under_project_root("runs/cache/gan")
}

/// A fingerprint of the crate's source files (`build.rs` computes it): a
/// cached GAN trained by other code is never used.
pub const SOURCE_FINGERPRINT: &str = env!("GAN_TUTORIAL_SOURCE_FINGERPRINT");

/// What an entry must match to be used.
#[derive(Serialize)]
struct Key<'a> {
    format: u32,
    crate_version: &'a str,
    source: &'a str,
    device: String,
    num_epochs: usize,
    max_steps: Option<usize>,
    sample_epochs: &'a [usize],
    settings: GanConfig,
}

const SETTINGS: &str = "settings.json";

fn key_of(config: &GanConfig) -> Result<serde_json::Value> {
    let device = crate::device::device_name(config.resolve_device()?);
    let key = Key {
        format: 1,
        crate_version: env!("CARGO_PKG_VERSION"),
        source: SOURCE_FINGERPRINT,
        device,
        num_epochs: config.num_epochs,
        max_steps: config.max_steps,
        sample_epochs: &config.sample_epochs,
        settings: config.identity(),
    };
    Ok(serde_json::to_value(key)?)
}

/// FNV-1a, 64 bits: the entry's directory name only (the key itself is compared whole).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn entry_name(config: &GanConfig, key: &serde_json::Value) -> String {
    let slug: String = config.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(40).collect();
    format!("{slug}-{:016x}", fnv1a(&key.to_string()))
}

/// [`train_gan`], or the GAN trained before with the very same settings,
/// from [`gan_cache_dir`]. See the module docs for what counts as the same.
pub fn train_gan_cached(config: &GanConfig) -> Result<GanReport> {
    train_gan_cached_in(config, gan_cache_dir())
}

/// [`train_gan_cached`] with the cache in `dir`.
pub fn train_gan_cached_in(config: &GanConfig, dir: impl AsRef<Path>) -> Result<GanReport> {
    let dir = dir.as_ref();
    if config.record_dir.is_some() {
        return Err(Error::config("record_dir", "a cached run records into the cache: train with train_gan to record a run into a directory of your own"));
    }
    let key = key_of(config)?;
    let entry = dir.join(entry_name(config, &key));
    if let Some(report) = load_entry(&entry, config, &key)? {
        crate::progress::print_line(&format!(
            "[{}] loaded from the cache ({}): trained before with these very settings, {} iterations",
            config.name,
            entry.display(),
            report.history.steps()
        ));
        return Ok(report);
    }
    let report = train_gan(config)?;
    store_entry(dir, &entry, config, &key, &report)?;
    Ok(report)
}

/// The entry's run, if its key is `key`; `None` for no entry or another key.
fn load_entry(entry: &Path, config: &GanConfig, key: &serde_json::Value) -> Result<Option<GanReport>> {
    let settings = entry.join(SETTINGS);
    let text = match std::fs::read_to_string(&settings) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&settings, e)),
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v == *key => {}
        _ => return Ok(None),
    }
    let gan = config.build_gan(config.resolve_device()?);
    // A checkpoint that does not load (damaged, or of other settings after all)
    // or stops short of the asked-for length is a miss: trained again, replaced.
    let Ok(loaded) = checkpoint::load(&entry.join(checkpoint::FILE), config, &gan) else {
        return Ok(None);
    };
    if config.max_steps.is_some_and(|s| loaded.history.steps() != s) {
        return Ok(None);
    }
    Ok(Some(GanReport { config: config.clone(), history: loaded.history, extras: loaded.extras, warnings: loaded.warnings, gan, state: loaded.state }))
}

/// Writes the entry whole: a temporary directory beside it, then a rename.
fn store_entry(dir: &Path, entry: &Path, config: &GanConfig, key: &serde_json::Value, report: &GanReport) -> Result<()> {
    crate::fsutil::create_dir(dir)?;
    let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let tmp = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    crate::fsutil::create_dir(&tmp)?;
    let written = checkpoint::save(&tmp.join(checkpoint::FILE), config, &report.gan, &report.state, &report.history, &report.extras, &report.warnings)
        .and_then(|_| crate::fsutil::write_json(tmp.join(SETTINGS), key));
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // An entry of other settings under the same name (or a damaged one) is replaced.
    if entry.exists() {
        let _ = std::fs::remove_dir_all(entry);
    }
    if std::fs::rename(&tmp, entry).is_err() {
        // Another process stored the same run meanwhile: keep theirs.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::Variant;

    fn tiny() -> GanConfig {
        GanConfig::variant(Variant::Dcgan).with_widths(8, 8).with_steps(6).with_seed(5).with_fixed_samples(4).with_print_every(0).with_max_train(256)
    }

    #[test]
    fn a_cached_run_is_the_trained_run_and_other_settings_are_trained_again() {
        let _g = crate::rng::torch_rng_lock();
        let dir = tempfile::tempdir().unwrap();
        let trained = train_gan_cached_in(&tiny(), dir.path()).unwrap();
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(entries.len(), 1, "one entry, no temporary left: {entries:?}");
        let loaded = train_gan_cached_in(&tiny(), dir.path()).unwrap();
        assert_eq!(loaded.history.g_losses, trained.history.g_losses);
        assert_eq!(loaded.history.d_losses, trained.history.d_losses);
        assert_eq!(loaded.history.wall_time_secs, trained.history.wall_time_secs, "loaded, not trained again");
        let z = trained.gan.sample_latent(3);
        let (a, b) = tch::no_grad(|| (trained.gan.generator.forward_t(&z, false), loaded.gan.generator.forward_t(&z, false)));
        assert!(a.equal(&b), "the loaded generator differs from the trained one");
        // Printing is not part of the key; the length and a setting are.
        let again = train_gan_cached_in(&tiny().with_print_every(3), dir.path()).unwrap();
        assert_eq!(again.history.wall_time_secs, trained.history.wall_time_secs);
        let longer = train_gan_cached_in(&tiny().with_steps(7), dir.path()).unwrap();
        assert_eq!(longer.history.steps(), 7);
        let other = train_gan_cached_in(&tiny().with_seed(6), dir.path()).unwrap();
        assert_ne!(other.history.g_losses, trained.history.g_losses);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn an_entry_whose_recorded_settings_differ_is_never_used() {
        let _g = crate::rng::torch_rng_lock();
        let dir = tempfile::tempdir().unwrap();
        let trained = train_gan_cached_in(&tiny(), dir.path()).unwrap();
        let entry = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        // Hand-edit the recorded key (another learning rate): the entry no longer matches.
        let path = entry.join(SETTINGS);
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["settings"]["lr_d"] = serde_json::json!(0.5);
        std::fs::write(&path, v.to_string()).unwrap();
        let again = train_gan_cached_in(&tiny(), dir.path()).unwrap();
        assert_ne!(again.history.wall_time_secs, trained.history.wall_time_secs, "a mismatched entry was used");
        assert_eq!(again.history.g_losses, trained.history.g_losses, "retrained: the same seeded numbers");
        let restored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(restored, key_of(&tiny()).unwrap(), "the entry is replaced by the retrained run's");
        // A damaged checkpoint is a miss too: trained again, not an error.
        std::fs::write(entry.join(checkpoint::FILE), b"not a checkpoint").unwrap();
        let third = train_gan_cached_in(&tiny(), dir.path()).unwrap();
        assert_eq!(third.history.g_losses, trained.history.g_losses);
        assert!(checkpoint::load(&entry.join(checkpoint::FILE), &tiny(), &third.gan).is_ok(), "the damaged entry was not replaced");
        // A run that records into a directory of its own is refused, by name.
        let mine = GanConfig { record_dir: Some(dir.path().join("mine")), ..tiny() };
        let e = train_gan_cached_in(&mine, dir.path()).unwrap_err().to_string();
        assert!(e.contains("record_dir") && e.contains("train_gan"), "{e}");
    }
}
