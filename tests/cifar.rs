//! CIFAR-10 end to end without the real data: a generated archive of the
//! official binary version's layout (20 records a batch file) served by a
//! real HTTP server on 127.0.0.1 (Python's http.server), fetched with its
//! MD5 passed in, unpacked, described, and trained on by the CLI.
use gan_tutorial::data::cifar::{self, BATCHES_DIR, BATCH_FILES};
use gan_tutorial::data::fetch::{fetch_cifar10, md5_file, FetchOutcome, RemoteDataset, CIFAR10_MD5};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::Server;

/// Writes `root/<sub>/cifar-10-binary.tar.gz` holding generated batches
/// (all but `skip`), plus a file the reader must ignore; returns its MD5.
fn write_archive(root: &Path, sub: &str, skip: Option<&str>) -> String {
    let generated = root.join(format!("generated-{sub}"));
    cifar::write_generated(&generated, 20, 5).unwrap();
    if let Some(name) = skip {
        std::fs::remove_file(generated.join(name)).unwrap();
    }
    std::fs::create_dir_all(root.join(sub)).unwrap();
    let path = root.join(sub).join(cifar::ARCHIVE);
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(BATCHES_DIR, &generated).unwrap();
    let readme = b"not data";
    let mut header = tar::Header::new_gnu();
    header.set_size(readme.len() as u64);
    header.set_cksum();
    tar.append_data(&mut header, "cifar-10-batches-bin/readme.html", &readme[..]).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    md5_file(&path).unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => vec![],
    };
    v.sort();
    v
}

fn spec(server: &Server, sub: &str, md5: &str) -> RemoteDataset {
    RemoteDataset::cifar10().with_mirrors(vec![server.url("missing/"), server.url(&format!("{sub}/"))]).with_md5(cifar::ARCHIVE, md5)
}

#[test]
fn the_archive_is_fetched_verified_unpacked_and_loaded() {
    let root = tempfile::tempdir().unwrap();
    let md5 = write_archive(root.path(), "good", None);
    let server = Server::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let (outcomes, unpacked) = fetch_cifar10(&spec(&server, "good", &md5), out.path(), &mut |_, _, _| {}).unwrap();
    match &outcomes[..] {
        [FetchOutcome::Downloaded { url, .. }] => assert!(url.contains("/good/"), "the failing mirror is passed over: {url}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(unpacked.len(), 7, "six batches and the class names: {unpacked:?}");
    assert_eq!(listing(out.path()), vec![BATCHES_DIR.to_string(), cifar::ARCHIVE.to_string()]);
    let mut want: Vec<String> = BATCH_FILES.iter().map(|s| s.to_string()).chain(["batches.meta.txt".to_string()]).collect();
    want.sort();
    assert_eq!(listing(&out.path().join(BATCHES_DIR)), want, "no readme, no temporary files");
    let data = gan_tutorial::data::MnistData::load(&gan_tutorial::data::DataSource::from_arg(out.path().to_str().unwrap())).unwrap();
    assert_eq!((data.train.len(), data.test.len(), data.train.channels), (100, 20, 3));
    // The same bytes as generated.
    let generated = cifar::read_batch(&root.path().join("generated-good").join("test_batch.bin")).unwrap();
    assert_eq!(data.test, generated);
    // A second fetch keeps the verified archive and unpacks it again.
    let (again, _) = fetch_cifar10(&spec(&server, "good", &md5), out.path(), &mut |_, _, _| {}).unwrap();
    assert!(matches!(again[..], [FetchOutcome::AlreadyPresent(_)]), "{again:?}");
}

#[test]
fn a_wrong_md5_or_an_incomplete_archive_leaves_nothing_behind() {
    let root = tempfile::tempdir().unwrap();
    let md5 = write_archive(root.path(), "good", None);
    let short_md5 = write_archive(root.path(), "short", Some("data_batch_4.bin"));
    let server = Server::start(root.path());
    // The published MD5 (the default) does not match the generated archive.
    let out = tempfile::tempdir().unwrap();
    let published = RemoteDataset::cifar10().with_mirrors(vec![server.url("good/")]);
    let e = fetch_cifar10(&published, out.path(), &mut |_, _, _| {}).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch") && e.contains(CIFAR10_MD5) && e.contains(&md5), "{e}");
    assert!(listing(out.path()).is_empty(), "left behind: {:?}", listing(out.path()));
    // A verified archive without every batch: the archive stays, no batch file is written.
    let e = fetch_cifar10(&spec(&server, "short", &short_md5), out.path(), &mut |_, _, _| {}).unwrap_err().to_string();
    assert!(e.contains("data_batch_4.bin") && e.contains("not the CIFAR-10 binary version"), "{e}");
    assert_eq!(listing(out.path()), vec![cifar::ARCHIVE.to_string()]);
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args(args).env("GAN_TUTORIAL_DEVICE", "cpu").output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "stdout: {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_cli_fetches_describes_and_trains_on_cifar10() {
    let root = tempfile::tempdir().unwrap();
    let md5 = write_archive(root.path(), "good", None);
    let server = Server::start(root.path());
    let work = tempfile::tempdir().unwrap();
    let dir: PathBuf = work.path().join("cifar10");
    let d = dir.to_str().unwrap();
    let mirror = server.url("good/");
    // Without --md5 the published checksum is expected, and the generated archive refused.
    let o = cli(&["data", "fetch", "cifar10", "--mirror", &mirror, "--dir", d]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("checksum mismatch") && stderr.contains(CIFAR10_MD5), "{stderr}");
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));
    let out = ok(&cli(&["data", "fetch", "cifar10", "--mirror", &mirror, "--md5", &md5, "--dir", d]));
    assert!(out.contains("100 train and 20 test images of 3x32x32"), "{out}");
    let info: serde_json::Value = serde_json::from_str(&ok(&cli(&["data", "info", "--data", d]))).unwrap();
    assert_eq!((info["channels"].as_u64(), info["train"]["images"].as_u64()), (Some(3), Some(100)), "{info}");
    assert!(info["source"].as_str().unwrap().starts_with("CIFAR-10 at"), "{info}");
    // DCGAN (detected directory) and SNGAN with the SN-CNN D and linear decay (cifar10:DIR).
    let small = ["--steps", "2", "--g-width", "8", "--d-width", "8", "--batch-size", "16", "--device", "cpu"];
    for (variant, data, arch) in [("dcgan", d.to_string(), "dcgan"), ("sngan", format!("cifar10:{d}"), "sn_cnn")] {
        let run = work.path().join(variant);
        let mut args = vec!["train", variant, "--data", data.as_str(), "--lr-decay", "linear", "--out", run.to_str().unwrap()];
        args.extend(small);
        let text = ok(&cli(&args));
        assert!(text.contains("RGB") && text.contains("trained 2 steps"), "{text}");
        let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
        let net = &config["config"]["net"];
        assert_eq!((net["channels"].as_i64(), net["image_side"].as_i64(), net["arch"].as_str()), (Some(3), Some(32), Some(arch)), "{config}");
        assert_eq!(config["config"]["lr_decay"], "linear");
        assert!(run.join("samples.png").is_file() && run.join("checkpoint.safetensors").is_file());
    }
    // The study cannot judge colour images, and says what is missing.
    let o = cli(&["study", "adv-d", "--data", d, "--plan"]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("LeNet") && stderr.contains("feature extractor for CIFAR-10"), "{stderr}");
}
