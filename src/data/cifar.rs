//! CIFAR-10 (Krizhevsky 2009, <https://www.cs.toronto.edu/~kriz/cifar.html>),
//! the official *binary version*, read strictly.
//!
//! `cifar-10-binary.tar.gz` unpacks to `cifar-10-batches-bin/` holding
//! `data_batch_1.bin` … `data_batch_5.bin` (training, 50,000 images),
//! `test_batch.bin` (10,000) and `batches.meta.txt` (the class names). Each
//! file is a run of 3,073-byte records: one label byte (0..=9), then 3,072
//! pixel bytes, the 1,024 red values of the 32×32 image row-major, then the
//! 1,024 green, then the 1,024 blue. The images are kept in that
//! channel-major order in an [`ImageSet`] with `channels = 3`.
//!
//! [`unpack_archive`] takes the six batch files (and the class names) out of
//! the archive, each written atomically, and only once all of them were
//! found; the download itself is [`fetch_dataset`](super::fetch_dataset)'s.
use super::mnist::{DataSource, ImageSet, MnistData};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Side of a CIFAR-10 image.
pub const SIDE: usize = 32;
/// Colour channels (R, G, B).
pub const CHANNELS: usize = 3;
/// Bytes of one record: a label, then 3 × 32 × 32 pixels.
pub const RECORD_BYTES: usize = 1 + CHANNELS * SIDE * SIDE;
/// The folder the archive unpacks to.
pub const BATCHES_DIR: &str = "cifar-10-batches-bin";
/// The published archive of the binary version.
pub const ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// The five training files, then the test file.
pub const BATCH_FILES: [&str; 6] = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
/// The class names, one a line, in label order.
pub const META_FILE: &str = "batches.meta.txt";
/// Class names of CIFAR-10, in label order.
pub const CIFAR10_CLASSES: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
/// The largest batch file read (the real ones are 30,730,000 bytes).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Parses the bytes of one batch file; `path` only names it in errors.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<ImageSet> {
    if bytes.is_empty() || bytes.len() % RECORD_BYTES != 0 {
        return Err(Error::data(
            path,
            format!(
                "{} bytes is not a whole number of CIFAR-10 records ({RECORD_BYTES} bytes each: a label and 3x32x32 pixels); \
                 the file is truncated or not a CIFAR-10 binary batch: fetch it again (`gan-tutorial data fetch cifar10 --dir DIR`)",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / RECORD_BYTES;
    let mut labels = Vec::with_capacity(n);
    let mut pixels = Vec::with_capacity(n * (RECORD_BYTES - 1));
    for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        if record[0] > 9 {
            return Err(Error::data(path, format!("record {i} has label {}, outside 0..=9: not a CIFAR-10 batch (CIFAR-100's binary files have two label bytes)", record[0])));
        }
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    ImageSet::with_channels(CHANNELS, SIDE, SIDE, pixels, labels)
}

/// Reads one batch file.
pub fn read_batch(path: &Path) -> Result<ImageSet> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::data(path, format!("{} bytes: larger than any CIFAR-10 batch file (30,730,000 bytes)", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_batch(&bytes, path)
}

/// The folder holding the batch files: `dir` itself, or `dir/cifar-10-batches-bin`.
pub fn batches_dir(dir: &Path) -> Option<PathBuf> {
    [dir.to_path_buf(), dir.join(BATCHES_DIR)].into_iter().find(|d| d.join(BATCH_FILES[0]).is_file())
}

/// Whether `dir` holds CIFAR-10's binary batches (directly or in `cifar-10-batches-bin/`).
pub fn is_cifar10_dir(dir: &Path) -> bool {
    batches_dir(dir).is_some()
}

/// Loads the five training batches (concatenated, in order) and the test batch.
pub fn load_cifar10(dir: impl AsRef<Path>) -> Result<MnistData> {
    let dir = dir.as_ref();
    let Some(batches) = batches_dir(dir) else {
        return Err(Error::data(
            dir.join(BATCHES_DIR).join(BATCH_FILES[0]),
            format!(
                "missing: {} holds no CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin, directly or in {BATCHES_DIR}/); \
                 `gan-tutorial data fetch cifar10 --dir {}` downloads them",
                dir.display(),
                dir.display()
            ),
        ));
    };
    let mut train = read_batch(&batches.join(BATCH_FILES[0]))?;
    for name in &BATCH_FILES[1..5] {
        let more = read_batch(&batches.join(name))?;
        train.pixels.extend(more.pixels);
        train.labels.extend(more.labels);
    }
    let test = read_batch(&batches.join(BATCH_FILES[5]))?;
    Ok(MnistData { train, test, source: DataSource::Cifar10(dir.to_path_buf()) })
}

/// Encodes images and labels as a CIFAR-10 batch file (for tests and small
/// generated sets). `pixels` holds `labels.len()` images of 3×32×32 bytes, channel-major.
pub fn encode_batch(pixels: &[u8], labels: &[u8]) -> Result<Vec<u8>> {
    let per = RECORD_BYTES - 1;
    if pixels.len() != labels.len() * per {
        return Err(Error::Shape(format!("{} pixel bytes do not make {} CIFAR-10 images of 3x32x32", pixels.len(), labels.len())));
    }
    let mut out = Vec::with_capacity(labels.len() * RECORD_BYTES);
    for (label, image) in labels.iter().zip(pixels.chunks_exact(per)) {
        out.push(*label);
        out.extend_from_slice(image);
    }
    Ok(out)
}

/// Writes a small generated CIFAR-10 directory into `dir` (the six batch
/// files of `records` images each, and the class names), drawn from `seed`:
/// each class is a colour with a brighter square, so the classes differ. Not
/// CIFAR-10's images: for tests and dry runs of the pipeline only.
pub fn write_generated(dir: &Path, records: usize, seed: u64) -> Result<()> {
    crate::fsutil::create_dir(dir)?;
    let mut rng = crate::rng::SplitMix64::new(seed);
    for name in BATCH_FILES {
        let labels: Vec<u8> = (0..records).map(|_| (rng.next_u64() % 10) as u8).collect();
        let mut pixels = Vec::with_capacity(records * (RECORD_BYTES - 1));
        for &l in &labels {
            pixels.extend(generated_image(l, &mut rng));
        }
        crate::fsutil::write_atomic(dir.join(name), &encode_batch(&pixels, &labels)?)?;
    }
    crate::fsutil::write_atomic(dir.join(META_FILE), (CIFAR10_CLASSES.join("\n") + "\n").as_bytes())
}

fn generated_image(label: u8, rng: &mut crate::rng::SplitMix64) -> Vec<u8> {
    let base = [label.wrapping_mul(25), 255 - label.wrapping_mul(25), label.wrapping_mul(70)];
    let corner = (rng.next_u64() % 16) as usize;
    let mut out = Vec::with_capacity(CHANNELS * SIDE * SIDE);
    for b in base {
        for y in 0..SIDE {
            for x in 0..SIDE {
                let inside = (corner..corner + 16).contains(&x) && (corner..corner + 16).contains(&y);
                let noise = (rng.next_u64() % 32) as u8;
                out.push(if inside { b.saturating_add(96) } else { b }.saturating_sub(noise));
            }
        }
    }
    out
}

/// Takes the six batch files and `batches.meta.txt` out of the gzipped tar
/// `archive` into `dir/cifar-10-batches-bin/`. Each file is unpacked to a
/// temporary name, and all are renamed into place only once every batch
/// file was found and parses; on any error the temporary files are removed.
/// Other entries of the archive are ignored (nothing is written outside
/// `dir`, whatever the archive's paths say).
pub fn unpack_archive(archive: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let out = dir.join(BATCHES_DIR);
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = stage_entries(archive, &out, &mut staged).and_then(|()| check_staged(archive, &out, &staged));
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        let _ = std::fs::remove_dir(&out); // only if empty: files of an earlier unpack stay
        return Err(e);
    }
    let mut written = Vec::new();
    for (tmp, target) in staged {
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        written.push(target);
    }
    crate::fsutil::sync_dir(&out)?;
    Ok(written)
}

/// The archive's wanted entries, each written to a temporary file beside its target.
fn stage_entries(archive: &Path, out: &Path, staged: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    let bad = |e: std::io::Error| Error::data(archive, format!("not a readable tar.gz ({e}); delete it and fetch it again"));
    let file = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let Some(name) = wanted_name(&path) else { continue };
        if entry.size() > MAX_FILE_BYTES {
            return Err(Error::data(archive, format!("{} claims {} bytes: larger than any CIFAR-10 file", path.display(), entry.size())));
        }
        let target = out.join(name);
        let tmp = crate::fsutil::temp_path(&target);
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.by_ref().take(MAX_FILE_BYTES).read_to_end(&mut bytes).map_err(bad)?;
        staged.push((tmp.clone(), target));
        crate::fsutil::write_atomic(&tmp, &bytes)?;
    }
    Ok(())
}

/// `cifar-10-batches-bin/NAME` (or a bare `NAME`) for the files this crate reads.
fn wanted_name(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    let parent_ok = match path.parent().and_then(|p| p.to_str()) {
        None | Some("") | Some(".") => true,
        Some(p) => p.trim_start_matches("./").trim_end_matches('/') == BATCHES_DIR,
    };
    BATCH_FILES.iter().chain([&META_FILE]).find(|w| **w == name && parent_ok).copied()
}

/// Every batch file is there and parses.
fn check_staged(archive: &Path, out: &Path, staged: &[(PathBuf, PathBuf)]) -> Result<()> {
    for name in BATCH_FILES {
        let target = out.join(name);
        let Some((tmp, _)) = staged.iter().find(|(_, t)| *t == target) else {
            return Err(Error::data(archive, format!("holds no {BATCHES_DIR}/{name}: not the CIFAR-10 binary version (cifar-10-binary.tar.gz)")));
        };
        let bytes = std::fs::read(tmp).map_err(|e| Error::io(tmp, e))?;
        parse_batch(&bytes, &Path::new(BATCHES_DIR).join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_directory_loads_with_rgb_channel_major_images() {
        let dir = tempfile::tempdir().unwrap();
        write_generated(dir.path(), 7, 1).unwrap();
        let d = load_cifar10(dir.path()).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (35, 7));
        assert_eq!((d.train.channels, d.train.rows, d.train.cols, d.train.image_size()), (3, 32, 32, 3072));
        // Record i's bytes come back as image i, label first.
        let bytes = std::fs::read(dir.path().join(BATCH_FILES[1])).unwrap();
        assert_eq!(d.train.labels[7], bytes[0]);
        assert_eq!(d.train.image(7), &bytes[1..RECORD_BYTES]);
        assert!(is_cifar10_dir(dir.path()) && !is_cifar10_dir(&dir.path().join("nothing")));
        let t = d.train.to_tensor_pm1(tch::Device::Cpu);
        assert_eq!(t.size(), vec![35, 3072]);
    }

    #[test]
    fn truncated_files_and_bad_labels_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write_generated(dir.path(), 3, 2).unwrap();
        let victim = dir.path().join(BATCH_FILES[2]);
        let bytes = std::fs::read(&victim).unwrap();
        std::fs::write(&victim, &bytes[..bytes.len() - 5]).unwrap();
        let e = load_cifar10(dir.path()).unwrap_err().to_string();
        assert!(e.contains("data_batch_3.bin") && e.contains("9214 bytes") && e.contains("3073"), "{e}");
        let mut bad = bytes.clone();
        bad[RECORD_BYTES] = 10;
        std::fs::write(&victim, &bad).unwrap();
        let e = load_cifar10(dir.path()).unwrap_err().to_string();
        assert!(e.contains("data_batch_3.bin") && e.contains("record 1 has label 10"), "{e}");
        std::fs::write(&victim, b"").unwrap();
        assert!(load_cifar10(dir.path()).unwrap_err().to_string().contains("0 bytes"));
        let empty = tempfile::tempdir().unwrap();
        let e = load_cifar10(empty.path()).unwrap_err().to_string();
        assert!(e.contains("data fetch cifar10"), "{e}");
    }

    #[test]
    fn only_the_wanted_entries_are_unpacked() {
        assert_eq!(wanted_name(Path::new("cifar-10-batches-bin/test_batch.bin")), Some("test_batch.bin"));
        assert_eq!(wanted_name(Path::new("./cifar-10-batches-bin/data_batch_1.bin")), Some("data_batch_1.bin"));
        assert_eq!(wanted_name(Path::new("../etc/data_batch_1.bin")), None);
        assert_eq!(wanted_name(Path::new("cifar-10-batches-bin/readme.html")), None);
    }
}
