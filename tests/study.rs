//! `gan-tutorial study adv-d` and `study report`: two shards run at once
//! into one directory and merged give the table of one unsharded run; a
//! finished run is never redone; bad settings and torn records are named.
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The smallest grid that still has a baseline to pair with.
const GRID: [&str; 14] = ["--quick", "--archs", "dcgan", "--arms", "none,dat", "--seeds", "2", "--steps", "12", "--width", "4", "--eval-samples", "50", "--device=cpu"];

fn study(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gan-tutorial"));
    // One thread each: the shards run side by side and must compute exactly as one process does.
    c.arg("study").args(args).env("OMP_NUM_THREADS", "1").env_remove("GAN_TUTORIAL_DEVICE").stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

fn check(o: &Output) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{e}");
    e
}

/// The merged results without the timings (the only numbers allowed to differ).
fn results(dir: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["seconds_per_step"] = serde_json::Value::Null;
            r["quality"]["seconds"] = serde_json::Value::Null;
            r
        })
        .collect()
}

#[test]
fn two_shards_at_once_merge_to_the_unsharded_table() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, sharded) = (tmp.path().join("whole"), tmp.path().join("sharded"));

    let o = study(&[&["adv-d", "--plan"][..], &GRID].concat()).output().unwrap();
    check(&o);
    let plan = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(plan.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect::<Vec<_>>(), ["dcgan-none-s0", "dcgan-none-s1", "dcgan-dat-s0", "dcgan-dat-s1"]);
    let o = study(&[&["adv-d", "--plan", "--shard", "1/2"][..], &GRID].concat()).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2);

    let sharded_s = sharded.to_str().unwrap();
    let a = study(&[&["adv-d", "--shard", "0/2", "--out", sharded_s][..], &GRID].concat()).spawn().unwrap();
    let b = study(&[&["adv-d", "--shard", "1/2", "--out", sharded_s][..], &GRID].concat()).spawn().unwrap();
    let whole_run = study(&[&["adv-d", "--out", whole.to_str().unwrap()][..], &GRID].concat()).output().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(check(&a).contains("study report"), "a shard says how to merge");
    check(&b);
    let text = check(&whole_run);
    assert!(text.contains("[4/4] dcgan-dat-s1 done"), "{text}");
    let o = study(&["report", sharded_s]).output().unwrap();
    check(&o);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(table.contains("| dcgan | none | 2 |") && table.contains("| dcgan | dat | 2 |"), "{table}");
    assert_eq!(results(&sharded), results(&whole), "the merged shards differ from the unsharded study");
    for f in ["report.md", "report.csv", "report.json", "report.png", "report.svg"] {
        assert!(sharded.join(f).is_file() && whole.join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(whole.join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("arch,arm,runs,fid_mean,fid_ci95,fid_n"), "{csv}");

    // A finished run is never redone.
    let o = study(&[&["adv-d", "--out", whole.to_str().unwrap()][..], &GRID].concat()).output().unwrap();
    let text = check(&o);
    assert_eq!(text.matches("already done").count(), 4, "{text}");

    // A torn record (killed while writing final.json) is reported and skipped, never merged.
    std::fs::write(whole.join("dcgan-dat-s1").join("final.json"), "{\"run\": {\"ind").unwrap();
    let o = study(&["report", whole.to_str().unwrap(), "--out", tmp.path().join("r").to_str().unwrap()]).output().unwrap();
    check(&o);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(table.contains("| dcgan | dat | 1 |") && table.contains("torn record") && table.contains("dcgan-dat-s1"), "{table}");
}

#[test]
fn bad_study_settings_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    let out_s = out.to_str().unwrap();
    // Exit 1, or clap's 2 for a flag value it parses itself (an arm, an architecture).
    let err = |args: &[&str]| {
        let o = study(args).output().unwrap();
        assert!(matches!(o.status.code(), Some(1 | 2)), "{args:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["adv-d", "--quick", "--shard", "2/2", "--out", out_s]);
    assert!(e.contains("shard") && e.contains("0 <= K < N"), "{e}");
    let e = err(&["adv-d", "--quick", "--arms", "none,pgd", "--out", out_s]);
    assert!(e.contains("`pgd` is not an arm") && e.contains("fgsm:EPS"), "{e}");
    let e = err(&["adv-d", "--quick", "--arms", "fgsm:1.5", "--out", out_s]);
    assert!(e.contains("eps") && e.contains("(0, 1]"), "{e}");
    let e = err(&["adv-d", "--quick", "--archs", "vanilla", "--out", out_s]);
    assert!(e.contains("wgan, wgan-gp, dcgan or sngan"), "{e}");
    assert!(!out.exists(), "a refused study wrote nothing");
    // A report of a directory with no finished run.
    std::fs::create_dir_all(out.join("dcgan-none-s0")).unwrap();
    std::fs::write(out.join("dcgan-none-s0").join("config.json"), "{}").unwrap();
    let e = err(&["report", out_s]);
    assert!(e.contains("no finished run") && e.contains("1 unfinished"), "{e}");
}
