//! A family run killed with SIGKILL (kill -9) at any moment keeps a record
//! of whole lines and a checkpoint that resumes to exactly the numbers of an
//! uninterrupted run.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ARGS: [&str; 14] = ["train", "dcgan", "--g-width", "8", "--d-width", "8", "--batch-size", "16", "--max-train", "256", "--device", "cpu", "--seed", "4"];
const STEPS: &str = "240";

fn command(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gan-tutorial"));
    c.args(ARGS).args(["--steps", STEPS, "--checkpoint-every", "7", "--out", out.to_str().unwrap()]).args(extra).env_remove("GAN_TUTORIAL_DEVICE");
    // One libtorch thread per run: the tests of this file run side by side.
    c.env("OMP_NUM_THREADS", "1").stdout(Stdio::null()).stderr(Stdio::piped());
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
    assert_eq!(want.len(), 240);

    let out = dir.path().join("killed");
    let mut kills = 0;
    let mut resumes = 0;
    let mut extra: Vec<&str> = vec![];
    for target in [25, 80, 140, 200] {
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

#[test]
fn ctrl_c_checkpoints_and_stops_and_resume_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let o = command(&whole, &[]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = lines(&whole);

    let out = dir.path().join("interrupted");
    let mut child = command(&out, &[]).spawn().unwrap();
    let started = Instant::now();
    while lines(&out).len() < 50 {
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be interrupted");
        assert!(started.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(2));
    }
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{e}");
    assert!(e.contains("interrupted at step") && e.contains("--resume"), "{e}");
    let step: usize = e.split("interrupted at step ").nth(1).unwrap().split(':').next().unwrap().trim().parse().unwrap();
    // The checkpoint holds every step done, and the record matches it.
    let got = lines(&out);
    assert_eq!(got.len(), step);
    assert_eq!(got[..], want[..step]);
    assert!(!out.join(".lock").exists(), "the lock is released on the way out");
    let o = command(&out, &["--resume"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lines(&out), want);
}

#[test]
fn two_runs_never_record_into_one_directory_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shared");
    let mut first = command(&out, &[]).spawn().unwrap();
    let started = Instant::now();
    while !out.join(".lock").exists() {
        assert!(first.try_wait().unwrap().is_none(), "the first run ended before the second started");
        assert!(started.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = command(&out, &["--force"]).output().unwrap();
    let e = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && e.contains("another run") && e.contains(&first.id().to_string()), "{e}");
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lines(&out).len(), 240, "the first run's record is whole");
}
