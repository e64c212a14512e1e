//! The `gan-tutorial` command line: the files a training run writes, parsed
//! back; data commands; clear errors for bad arguments.
use gan_tutorial::gan::StepLog;
use gan_tutorial::VanillaGanConfig;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args(args).env_remove("GAN_TUTORIAL_DEVICE").output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn train_vanilla_writes_a_complete_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = cli(&["train", "vanilla", "--steps", "75", "--seed", "5", "--device", "cpu", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Not a terminal: plain progress lines, one per epoch.
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("epoch 1/2") && text.contains("epoch 2/2"), "{text}");

    let config: VanillaGanConfig = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config, VanillaGanConfig::default().with_steps(75).with_seed(5).with_device("cpu").with_print_every(1));

    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let logs: Vec<StepLog> = metrics.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(logs.len(), 75);
    assert_eq!(logs.iter().map(|l| l.step).collect::<Vec<_>>(), (0..75).collect::<Vec<_>>());
    assert_eq!((logs[70].epoch, logs[70].batch, logs[71].epoch, logs[71].batch), (1, 70, 2, 0));
    assert!(logs.iter().all(|l| l.g_loss.is_finite() && l.d_loss.is_finite()));

    let history: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("history.json")).unwrap()).unwrap();
    assert_eq!(history["steps"], 75);
    assert_eq!(history["device"], "cpu");

    let losses = image::open(out.join("losses.png")).unwrap();
    assert_eq!((losses.width(), losses.height()), (800, 450));
    let samples = image::open(out.join("samples.png")).unwrap();
    assert_eq!((samples.width(), samples.height()), (488, 488));
    assert!(out.join("losses.svg").is_file() && out.join("samples_epoch_002.png").is_file());

    let tensors = tch::Tensor::read_safetensors(out.join("checkpoint.safetensors")).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["generator.fc1.weight", "generator.fc2.bias", "discriminator.fc1.weight", "discriminator.fc2.bias"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().filter_map(|e| {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        n.contains("partial").then_some(n)
    }).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The saved config repeats the run exactly.
    let again = dir.path().join("again");
    let o = cli(&["train", "vanilla", "--config", out.join("config.json").to_str().unwrap(), "--seed", "5", "--out", again.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(again.join("metrics.jsonl")).unwrap(), metrics);
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
    let o = cli(&["train", "vanilla", "--loss", "hinge"]);
    assert!(!o.status.success() && stderr(&o).contains("non-saturating or minimax"), "{}", stderr(&o));
    let o = cli(&["train", "vanilla", "--data", "/no/such/dir", "--steps", "1", "--out", never]);
    assert!(!o.status.success() && stderr(&o).contains("/no/such/dir"), "{}", stderr(&o));
    let o = cli(&["data", "fetch", "cifar10", "--dir", never]);
    assert!(!o.status.success() && stderr(&o).contains("mnist or fashion-mnist"), "{}", stderr(&o));
    assert!(!std::path::Path::new(never).exists(), "a failed command created its output directory");
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
