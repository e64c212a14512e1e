//! A family run killed with SIGKILL (kill -9) at any moment keeps a record
//! of whole lines and a checkpoint that resumes to exactly the numbers of an
//! uninterrupted run.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ARGS: [&str; 14] = ["train", "dcgan", "--g-width", "8", "--d-width", "8", "--batch-size", "16", "--max-train", "256", "--device", "cpu", "--seed", "4"];
const STEPS: &str = "600";

fn command(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gan-tutorial"));
    c.args(ARGS).args(["--steps", STEPS, "--checkpoint-every", "7", "--out", out.to_str().unwrap()]).args(extra).env_remove("GAN_TUTORIAL_DEVICE");
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn lines(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("metrics.jsonl")).unwrap_or_default().lines().map(str::to_string).collect()
}

/// Starts the run and kills it (SIGKILL) once metrics.jsonl has `rows` lines; false if it finished first.
fn run_and_kill(out: &Path, extra: &[&str], rows: usize) -> bool {
    let mut child = command(out, extra).spawn().unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the run failed before it could be killed");
            return false;
        }
        if lines(out).len() >= rows {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "the run made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn kill_9_then_resume_gives_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let o = command(&whole, &[]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = lines(&whole);
    assert_eq!(want.len(), 600);

    let out = dir.path().join("killed");
    let mut kills = 0;
    let mut resumes = 0;
    let mut extra: Vec<&str> = vec![];
    for target in [40, 170, 333, 480] {
        if run_and_kill(&out, &extra, target) {
            kills += 1;
        } else {
            break;
        }
        // Whatever the moment of the kill, every line is whole and parses.
        let got = lines(&out);
        for l in &got {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("torn line after a kill: {l:?}: {e}"));
        }
        // and what is there is the uninterrupted run's beginning.
        assert_eq!(got[..], want[..got.len()], "after kill {kills}");
        extra = vec!["--resume"];
        resumes += 1;
    }
    assert!(kills >= 2, "the runs finished before they could be killed ({kills} kills)");
    let o = command(&out, &["--resume"]).output().unwrap();
    assert!(o.status.success(), "resume after {resumes} kills: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lines(&out), want, "the killed and resumed run differs from the uninterrupted one");
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.contains("partial")).collect();
    // A kill during a checkpoint write may leave a temporary file; it is never the checkpoint itself.
    assert!(leftovers.iter().all(|n| n.starts_with(".checkpoint.safetensors.partial-")), "{leftovers:?}");
}
