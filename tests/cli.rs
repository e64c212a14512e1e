//! The `gan-tutorial` command line: the files a training run writes, parsed
//! back; data commands; clear errors for bad arguments.
use gan_tutorial::gan::{GanConfig, Objective, StepRecord, Variant};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args(args).env_remove("GAN_TUTORIAL_DEVICE").output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The files every `train <variant>` run directory holds.
const RUN_FILES: [&str; 7] = ["checkpoint.safetensors", "config.json", "history.json", "losses.png", "losses.svg", "metrics.jsonl", "samples.png"];

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

fn records(dir: &Path) -> Vec<StepRecord> {
    std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
}

#[test]
fn train_vanilla_writes_a_complete_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = cli(&["train", "vanilla", "--steps", "75", "--seed", "5", "--device", "cpu", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Not a terminal: plain progress lines.
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("epoch 1/2") && text.contains("epoch 2/2"), "{text}");

    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    let config: GanConfig = serde_json::from_value(record["config"].clone()).unwrap();
    let want = GanConfig { checkpoint_every: 500, ..GanConfig::variant(Variant::Vanilla).with_steps(75).with_seed(5).with_device("cpu") };
    assert_eq!(config, want);
    assert!(record["runtime"]["threads"].as_u64().is_some());
    // The record names the device the run used (here the one asked for).
    assert_eq!(record["runtime"]["device"], "cpu", "{record}");

    let logs = records(&out);
    assert_eq!(logs.len(), 75);
    assert_eq!(logs.iter().map(|l| l.log.step).collect::<Vec<_>>(), (0..75).collect::<Vec<_>>());
    // The tutorial keeps the last partial batch: 9003 digits make 71 batches of 128.
    assert_eq!((logs[70].log.epoch, logs[70].log.batch, logs[71].log.epoch, logs[71].log.batch), (1, 70, 2, 0));
    assert!(logs.iter().all(|l| l.log.g_loss.is_finite() && l.log.d_loss.is_finite() && l.d_grad_norm.is_finite()));

    let history: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("history.json")).unwrap()).unwrap();
    assert_eq!(history["history"]["g_losses"].as_array().unwrap().len(), 75);
    assert_eq!(history["history"]["device"], "cpu");

    let losses = image::open(out.join("losses.png")).unwrap();
    assert_eq!((losses.width(), losses.height()), (800, 450));
    let samples = image::open(out.join("samples.png")).unwrap();
    assert_eq!((samples.width(), samples.height()), (488, 488));
    assert!(out.join("samples_epoch_002.png").is_file());
    let files = files_in(&out);
    assert!(RUN_FILES.iter().all(|f| files.contains(*f)), "{files:?}");
    assert!(files.iter().all(|f| !f.contains("partial")), "{files:?}");

    let tensors = tch::Tensor::read_safetensors(out.join("checkpoint.safetensors")).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["generator.fc1.weight", "generator.fc2.bias", "discriminator.fc1.weight", "discriminator.head.bias", "opt_g.step", "meta.json"] {
        assert!(names.iter().any(|n| n.starts_with(want)), "{want} missing from {names:?}");
    }

    // The saved config repeats the run exactly, seed included.
    let again = dir.path().join("again");
    let o = cli(&["train", "vanilla", "--config", out.join("config.json").to_str().unwrap(), "--out", again.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let strip = |rs: Vec<StepRecord>| rs.into_iter().map(|r| (r.log, r.d_grad_norm, r.g_grad_norm)).collect::<Vec<_>>();
    assert_eq!(strip(records(&again)), strip(records(&out)));

    // A directory holding a run is not overwritten by accident.
    let o = cli(&["train", "vanilla", "--steps", "5", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("already holds a run") && stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(records(&out).len(), 75, "the refused run changed nothing");
    // --force replaces it whole: no file of the old run is left beside the new one.
    let o = cli(&["train", "vanilla", "--steps", "5", "--force", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(records(&out).len(), 5);
    assert!(!out.join("samples_epoch_002.png").exists(), "an old run's snapshot was left");
}

#[test]
fn every_variant_writes_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    for v in ["vanilla", "dcgan", "lsgan", "wgan", "wgan-gp", "sngan", "cgan", "acgan"] {
        let out = dir.path().join(v);
        let o = cli(&["train", v, "--steps", "3", "--g-width", "8", "--d-width", "8", "--batch-size", "8", "--max-train", "64", "--device", "cpu", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{v}: {}", stderr(&o));
        let files = files_in(&out);
        let want: BTreeSet<String> = RUN_FILES.iter().map(|s| s.to_string()).chain(std::iter::once("samples_epoch_001.png".to_string())).collect();
        assert_eq!(files, want, "{v}");
        let rows = records(&out);
        assert_eq!(rows.len(), 3, "{v}");
        assert!(rows.iter().all(|r| r.log.d_loss.is_finite() && r.log.g_loss.is_finite() && r.d_grad_norm.is_finite()), "{v}: {rows:?}");
        assert_eq!(rows.iter().any(|r| r.class_accuracy.is_some()), v == "acgan", "{v}");
    }
}

#[test]
fn config_files_mean_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("partial.json");
    std::fs::write(&partial, r#"{"lr_d": 0.0001, "net": {"g_width": 8, "d_width": 8}}"#).unwrap();
    // A partial file fills in from the named variant's preset, not DCGAN's.
    let out = dir.path().join("wgan");
    let o = cli(&["train", "wgan", "--config", partial.to_str().unwrap(), "--steps", "2", "--batch-size", "8", "--max-train", "32", "--device", "cpu", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    let c: GanConfig = serde_json::from_value(record["config"].clone()).unwrap();
    assert_eq!((c.variant, c.objective, c.n_dis, c.lr_d, c.net.g_width, c.net.arch), (Variant::Wgan, Objective::Wasserstein, 5, 1e-4, 8, gan_tutorial::gan::NetArch::Dcgan));
    // Another variant's config is refused, naming both.
    let o = cli(&["train", "dcgan", "--config", out.join("config.json").to_str().unwrap(), "--out", dir.path().join("x").to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("wgan config") && stderr(&o).contains("dcgan was asked"), "{}", stderr(&o));
    // A JSON array is not a config.
    let arr = dir.path().join("arr.json");
    std::fs::write(&arr, "[1, 2, 3]").unwrap();
    let o = cli(&["train", "dcgan", "--config", arr.to_str().unwrap(), "--out", dir.path().join("y").to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("JSON object"), "{}", stderr(&o));
}

#[test]
fn a_diverging_run_fails_and_keeps_its_last_finite_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = cli(&["train", "vanilla", "--steps", "300", "--lr", "1e30", "--checkpoint-every", "1", "--device", "cpu", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success(), "a diverged run exits non-zero");
    let e = stderr(&o);
    assert!(e.contains("diverged at step") && (e.contains("is NaN") || e.contains("is inf") || e.contains("is -inf")), "{e}");
    // metrics.jsonl holds the finite steps before the failure, each a whole line.
    let rows = records(&out);
    assert!(rows.iter().all(|r| r.log.d_loss.is_finite() && r.log.g_loss.is_finite()));
    let failed_at: usize = e.split("diverged at step ").nth(1).unwrap().split(':').next().unwrap().trim().parse().unwrap();
    assert_eq!(rows.len(), failed_at);
    if failed_at > 0 {
        let tensors = tch::Tensor::read_safetensors(out.join("checkpoint.safetensors")).unwrap();
        assert!(tensors.iter().filter(|(n, _)| n.starts_with("generator.")).all(|(_, t)| t.isfinite().all().int64_value(&[]) == 1), "the kept checkpoint is finite");
    }
}

#[test]
fn bad_arguments_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let never = tmp.path().join("never-written");
    let never = never.to_str().unwrap();
    let o = cli(&["train", "vanilla", "--epochs", "0", "--out", never]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least one step"), "{}", stderr(&o));
    let o = cli(&["train", "vanilla", "--epochs", "1", "--steps", "3"]);
    assert!(!o.status.success() && stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    let o = cli(&["train", "vanilla", "--device", "tpu", "--steps", "1", "--out", never]);
    assert!(!o.status.success() && stderr(&o).contains("`tpu` is not a device"), "{}", stderr(&o));
    let o = cli(&["train", "vanilla", "--loss", "hinged"]);
    assert!(!o.status.success() && stderr(&o).contains("non-saturating"), "{}", stderr(&o));
    let o = cli(&["train", "gan9", "--steps", "1"]);
    assert!(!o.status.success() && stderr(&o).contains("wgan-gp"), "{}", stderr(&o));
    let o = cli(&["train", "vanilla", "--data", "/no/such/dir", "--steps", "1", "--out", never]);
    assert!(!o.status.success() && stderr(&o).contains("/no/such/dir"), "{}", stderr(&o));
    let o = cli(&["train", "vanilla", "--resume", "--steps", "1", "--out", never]);
    assert!(!o.status.success() && stderr(&o).contains("no checkpoint"), "{}", stderr(&o));
    let o = cli(&["nash", "--device", "tpu", "--out", never]);
    assert!(!o.status.success() && stderr(&o).contains("`tpu` is not a device"), "{}", stderr(&o));
    let o = cli(&["data", "fetch", "cifar100", "--dir", never]);
    assert!(!o.status.success() && stderr(&o).contains("use mnist, fashion-mnist or cifar10"), "{}", stderr(&o));
    assert!(!std::path::Path::new(never).exists(), "a failed command created its output directory");
    // An --out that is a file is reported before any training.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = cli(&["train", "dcgan", "--steps", "1", "--out", file.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("is a file"), "{}", stderr(&o));
}

#[test]
fn data_info_describes_the_embedded_set() {
    let o = cli(&["data", "info"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["train"]["images"], 9003);
    assert_eq!(v["test"]["images"], 997);
    assert_eq!(v["image_size"], serde_json::json!([28, 28]));
}

#[test]
fn fashion_mnist_from_debian_when_installed() {
    let o = cli(&["data", "info", "--data", "fashion-mnist"]);
    if std::path::Path::new(gan_tutorial::data::mnist::DEBIAN_FASHION_MNIST_DIR).is_dir() {
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!((v["train"]["images"].as_u64(), v["test"]["images"].as_u64()), (Some(60000), Some(10000)));
    } else {
        assert!(!o.status.success());
        assert!(stderr(&o).contains("apt-get install dataset-fashion-mnist"), "{}", stderr(&o));
    }
}

/// Issue 14's smaller cases, each with its exit status, its message and what
/// is on disk afterwards.
#[test]
fn impossible_sizes_and_mismatched_data_fail_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let out_s = out.to_str().unwrap();
    // A width no memory can hold: refused before allocation (libtorch would abort).
    let o = cli(&["train", "vanilla", "--g-width", "1000000000", "--steps", "1", "--device", "cpu", "--out", out_s]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("net.g_width") && e.contains("GiB of memory is available") && !e.contains("panicked"), "{e}");
    assert!(!out.exists());
    // A data set of 28x14 images: no hint to "use 28".
    let data = tmp.path().join("narrow");
    std::fs::create_dir(&data).unwrap();
    let idx = gan_tutorial::data::idx::encode_images(4, 28, 14, &[9; 4 * 392]);
    let labels = gan_tutorial::data::idx::encode_labels(&[0, 1, 2, 3]);
    for (stem, bytes) in [("train-images-idx3-ubyte", &idx), ("train-labels-idx1-ubyte", &labels), ("t10k-images-idx3-ubyte", &idx), ("t10k-labels-idx1-ubyte", &labels)] {
        std::fs::write(data.join(stem), bytes).unwrap();
    }
    let o = cli(&["train", "vanilla", "--data", data.to_str().unwrap(), "--steps", "1", "--batch-size", "2", "--device", "cpu", "--out", out_s]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("28x14") && e.contains("square images") && !e.contains("use 28"), "{e}");
    // Train and test images of different sizes: refused, naming both.
    let square = gan_tutorial::data::idx::encode_images(4, 28, 28, &[9; 4 * 784]);
    std::fs::write(data.join("train-images-idx3-ubyte"), square).unwrap();
    let o = cli(&["data", "info", "--data", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("test images are 28x14") && stderr(&o).contains("are 28x28"), "{}", stderr(&o));
    // An OS error is said once, not twice.
    let o = cli(&["train", "vanilla", "--steps", "1", "--out", "/proc/version/run"]);
    let e = stderr(&o);
    assert!(!o.status.success() && e.matches("os error").count() == 1, "{e}");
}

#[test]
fn negative_strengths_are_parsed_and_then_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let o = cli(&["attack", "--quick", "--eps", "-0.1", "--device", "cpu", "--out", tmp.path().join("a").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("eps") && e.contains("-0.1") && !e.contains("unexpected argument"), "{e}");
}

#[test]
fn the_device_named_by_the_variable_is_checked_before_the_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("n");
    let o = Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args(["nash", "--out", out.to_str().unwrap()]).env("GAN_TUTORIAL_DEVICE", "tpu").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let (e, text) = (stderr(&o), String::from_utf8_lossy(&o.stdout).into_owned());
    assert!(e.contains("GAN_TUTORIAL_DEVICE=\"tpu\"") && e.contains("unset GAN_TUTORIAL_DEVICE"), "{e}");
    assert!(!e.contains("[nash") && !text.contains("[nash"), "nothing ran before the error: {e}{text}");
    // Given as a flag, the error speaks of the flag.
    let o = cli(&["nash", "--device", "tpu", "--out", out.to_str().unwrap()]);
    assert!(stderr(&o).contains("--device tpu") && !stderr(&o).contains("unset"), "{}", stderr(&o));
}

#[test]
fn a_killed_writers_temporary_files_are_cleared_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    std::fs::create_dir(&out).unwrap();
    // What a process killed while writing its checkpoint leaves (pid beyond pid_max: dead).
    let stale = out.join(format!(".checkpoint.safetensors.partial-{}", u32::MAX - 3));
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    let o = cli(&["train", "vanilla", "--steps", "2", "--device", "cpu", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("left by a run that was killed"), "{}", stderr(&o));
    assert!(!stale.exists());
    assert!(files_in(&out).iter().all(|f| !f.contains(".partial-")), "{:?}", files_in(&out));
}

#[test]
fn d_attack_flag_is_recorded_named_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fgsm");
    let small = ["--steps", "3", "--g-width", "8", "--d-width", "8", "--batch-size", "8", "--max-train", "64", "--device", "cpu"];
    let o = cli(&[&["train", "dcgan", "--d-attack", "fgsm:0.05,p=1,start=0.5", "--out", out.to_str().unwrap()][..], &small[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    let c: GanConfig = serde_json::from_value(record["config"].clone()).unwrap();
    assert_eq!((c.d_attack.to_string().as_str(), c.name.as_str()), ("fgsm:0.05,p=1,start=0.5", "dcgan+fgsm0.05-p1-start0.5"));
    // Attacked from step 1.5 on: steps 2 only of 0..3, as metrics.jsonl says.
    assert_eq!(records(&out).iter().map(|r| r.d_attacked).collect::<Vec<_>>(), [false, false, true]);
    // The flag overrides the --config file's setting.
    let o = cli(&[&["train", "dcgan", "--config", out.join("config.json").to_str().unwrap(), "--d-attack", "dat", "--out", dir.path().join("dat").to_str().unwrap()][..], &small[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(records(&dir.path().join("dat")).iter().all(|r| r.d_attacked));
    // Without --out, an attacked run records into runs/<variant>+<attack>, not the plain run's directory.
    let o = Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args([&["train", "dcgan", "--d-attack", "dat"][..], &small[..]].concat()).current_dir(dir.path()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("runs/dcgan+dat/metrics.jsonl").is_file(), "{:?}", files_in(&dir.path().join("runs")));
    let o = cli(&["train", "dcgan", "--d-attack", "fgsm:1.5", "--steps", "1"]);
    assert!(!o.status.success() && stderr(&o).contains("d_attack.fgsm.eps") && stderr(&o).contains("(0, 1]"), "{}", stderr(&o));
    let o = cli(&["train", "dcgan", "--d-attack", "pgd", "--steps", "1"]);
    assert!(!o.status.success() && stderr(&o).contains("dat[:T]"), "{}", stderr(&o));
}
