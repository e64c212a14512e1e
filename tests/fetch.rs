//! Downloads against a real HTTP server on 127.0.0.1 (Python's http.server,
//! started by the test): checksums verified, mirrors tried in order, corrupt
//! files rejected without leaving anything half-written.
use gan_tutorial::data::fetch::{fetch_dataset, md5_file, FetchOutcome, RemoteDataset};
use gan_tutorial::data::mnist::FILE_STEMS;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Server;

/// Writes the embedded subset's four gz files under `root/good/` and returns their specs.
fn serve_tree(root: &Path) -> Vec<(String, String)> {
    let good = root.join("good");
    std::fs::create_dir_all(&good).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    FILE_STEMS
        .iter()
        .map(|stem| {
            let name = format!("{stem}.gz");
            std::fs::copy(src.join(&name), good.join(&name)).unwrap();
            (name.clone(), md5_file(&good.join(&name)).unwrap())
        })
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn spec(files: Vec<(String, String)>, mirrors: Vec<String>) -> RemoteDataset {
    RemoteDataset { name: "test".into(), mirrors, files, unpacked: vec![] }
}

#[test]
fn downloads_verify_and_load_then_are_not_fetched_again() {
    let root = tempfile::tempdir().unwrap();
    let files = serve_tree(root.path());
    let server = Server::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let mut calls = 0;
    let outcomes = fetch_dataset(&spec(files.clone(), vec![server.url("good/")]), out.path(), &mut |_, _, _| calls += 1).unwrap();
    assert!(outcomes.iter().all(|o| matches!(o, FetchOutcome::Downloaded { .. })), "{outcomes:?}");
    assert!(calls >= 4);
    let data = gan_tutorial::data::load_dir(out.path()).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (9003, 997));
    assert_eq!(listing(out.path()).len(), 4, "no temporary files left: {:?}", listing(out.path()));
    let again = fetch_dataset(&spec(files, vec![server.url("good/")]), out.path(), &mut |_, _, _| {}).unwrap();
    assert!(again.iter().all(|o| matches!(o, FetchOutcome::AlreadyPresent(_))));
}

#[test]
fn a_corrupted_file_is_rejected_and_leaves_nothing_half_written() {
    let root = tempfile::tempdir().unwrap();
    let files = serve_tree(root.path());
    let bad = root.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for (name, _) in &files {
        std::fs::copy(root.path().join("good").join(name), bad.join(name)).unwrap();
    }
    // Flip one byte in the middle of the training images.
    let victim = bad.join(&files[0].0);
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let server = Server::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let e = fetch_dataset(&spec(files, vec![server.url("bad/")]), out.path(), &mut |_, _, _| {}).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch") && e.contains(&files_name(0)), "{e}");
    assert!(listing(out.path()).is_empty(), "left behind: {:?}", listing(out.path()));
}

fn files_name(i: usize) -> String {
    format!("{}.gz", FILE_STEMS[i])
}

#[test]
fn a_failing_mirror_falls_through_to_the_next() {
    let root = tempfile::tempdir().unwrap();
    let files = serve_tree(root.path());
    let server = Server::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let mirrors = vec![server.url("missing/"), server.url("good")];
    let outcomes = fetch_dataset(&spec(files.clone(), mirrors), out.path(), &mut |_, _, _| {}).unwrap();
    for o in outcomes {
        match o {
            FetchOutcome::Downloaded { url, .. } => assert!(url.contains("/good/"), "{url}"),
            other => panic!("{other:?}"),
        }
    }
    // Every mirror failing names them all.
    let out2 = tempfile::tempdir().unwrap();
    let e = fetch_dataset(&spec(files, vec![server.url("missing/")]), out2.path(), &mut |_, _, _| {}).unwrap_err().to_string();
    assert!(e.contains("every mirror failed") && e.contains("404"), "{e}");
    assert!(listing(out2.path()).is_empty());
}

#[test]
fn the_cli_fetch_rejects_files_that_are_not_the_published_mnist() {
    // The embedded subset served under the real MNIST names: the real MD5s do not match.
    let root = tempfile::tempdir().unwrap();
    serve_tree(root.path());
    let server = Server::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let dir: PathBuf = out.path().join("mnist");
    let o = Command::new(env!("CARGO_BIN_EXE_gan-tutorial"))
        .args(["data", "fetch", "mnist", "--mirror", &server.url("good/"), "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("checksum mismatch") && stderr.contains("f68b3c2dcbeaaa9fbdd348bbdeb94873"), "{stderr}");
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));
}
