//! `gan-tutorial attack`: the files it writes, parsed back, and a clear error for a bad ε.
use gan_tutorial::adversarial::AttackStudyConfig;
use gan_tutorial::classifier::{Arch, Classifier};
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args(args).env_remove("GAN_TUTORIAL_DEVICE").output().unwrap()
}

#[test]
fn attack_writes_figures_results_and_a_reloadable_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("atk");
    let args = ["attack", "--quick", "--epochs", "1", "--num-test", "40", "--eps", "0,0.2", "--pgd-steps", "2", "--device", "cpu", "--seed", "3", "--out", out.to_str().unwrap()];
    let o = cli(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["config.json", "results.json", "fgsm_example.png", "fgsm_example.svg", "fgsm_example.json", "accuracy_fgsm.png", "accuracy_bim.svg", "accuracy_pgd.png", "lenet.safetensors", "lenet.json", "lenet.settings.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let config: AttackStudyConfig = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!((config.seed, config.num_test, config.pgd_steps, config.classifier.num_epochs), (3, 40, 2, 1));
    let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let table = results["study"]["table"].as_array().unwrap();
    assert_eq!(table.len(), 9 * 2 * 3, "9 defenses x 2 eps x 3 attacks");
    for row in table {
        let a = row["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&a), "{row}");
    }
    // robust accuracy <= clean accuracy for the undefended model
    let acc = |attack: &str, eps: f64| {
        table.iter().find(|r| r["defense"] == "none" && r["attack"] == attack && r["eps"].as_f64() == Some(eps)).unwrap()["accuracy"].as_f64().unwrap()
    };
    assert!(acc("PGD", 0.2) <= acc("PGD", 0.0) && acc("FGSM", 0.2) <= acc("FGSM", 0.0));
    assert_eq!(results["study"]["models"].as_array().unwrap().len(), 5);
    assert_eq!(results["study"]["transfer"].as_array().unwrap().len(), 4);
    // The patch sizes of quick mode, each trained: the largest sticker reaches its target more often.
    let sides = results["study"]["patch"]["by_side"].as_array().unwrap();
    let side = |i: usize, k: &str| sides[i][k].as_f64().unwrap();
    assert_eq!(sides.iter().map(|r| r["side"].as_i64().unwrap()).collect::<Vec<_>>(), vec![6, 10, 14]);
    assert!((side(1, "target_success") - results["study"]["patch"]["target_success"].as_f64().unwrap()).abs() < 1e-12);
    assert!(side(2, "target_success") > side(0, "target_success"), "{sides:?}");
    assert!((side(2, "share_of_pixels") - 196.0 / 784.0).abs() < 1e-12);
    let png = image::open(out.join("accuracy_pgd.png")).unwrap();
    assert_eq!((png.width(), png.height()), (900, 520));
    let model = Classifier::load(out.join("lenet.safetensors"), tch::Device::Cpu).unwrap();
    assert_eq!(model.arch, Arch::LeNet);
    let ex: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("fgsm_example.json")).unwrap()).unwrap();
    assert_eq!(ex["loaded"], false);
    assert_eq!(ex["rows"].as_array().unwrap().len(), 8);
    // The table counts the digits really attacked.
    assert!(String::from_utf8_lossy(&o.stdout).contains("on 40 test digits"), "{}", String::from_utf8_lossy(&o.stdout));

    // Rerun into the same folder: the same settings reuse the cached LeNet; other settings train a new one.
    let rerun = |epochs: &str, num_test: &str, eps: &str, pgd_steps: &str| {
        let a: Vec<&str> = args.iter().map(|x| match *x { "1" => epochs, "40" => num_test, "0,0.2" => eps, "2" => pgd_steps, other => other }).collect();
        let o = cli(&a);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let ex: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("fgsm_example.json")).unwrap()).unwrap();
        (ex["loaded"].as_bool().unwrap(), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    // More digits asked for than exist: the table says how many were attacked. (Every
    // digit of the quick test set is attacked here, so at one ε and one PGD step.) The
    // classifier's settings are the first run's, so its cached LeNet is used: the
    // digits attacked, the ε and the PGD steps are not settings of the classifier.
    let (loaded, text) = rerun("1", "10000000", "0", "1");
    assert!(loaded, "same classifier settings: the cached classifier is used");
    assert!(text.contains("on 997 test digits") && !text.contains("10000000 test digits"), "{text}");
    // Other epochs: the cached classifier is stale and trained again.
    let (loaded, text) = rerun("2", "40", "0,0.2", "2");
    assert!(!loaded, "a stale classifier must not be reused");
    assert!(text.contains("on 40 test digits"), "{text}");

    let e = cli(&["attack", "--adv-weight", "2", "--out", dir.path().join("bad").to_str().unwrap()]);
    assert!(!e.status.success());
    let msg = String::from_utf8_lossy(&e.stderr);
    assert!(msg.contains("adv_weight") && msg.contains("[0, 1]"), "{msg}");
    let e = cli(&["attack", "--patch-sides", "6,40", "--out", dir.path().join("bad").to_str().unwrap()]);
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("40"), "{}", String::from_utf8_lossy(&e.stderr));
    let e = cli(&["attack", "--eps", "0,2", "--out", dir.path().join("bad").to_str().unwrap()]);
    assert!(!e.status.success());
    let msg = String::from_utf8_lossy(&e.stderr);
    assert!(msg.contains("eps") && msg.contains("[0, 1]"), "{msg}");
    assert!(!dir.path().join("bad").exists(), "a rejected run leaves no directory");
}
