//! The soak of issue 14: 200 random kill -9 / Ctrl-C points across training,
//! checkpointing and resuming two variants (the tutorial's vanilla GAN and a
//! DCGAN), checking after every interruption that
//! - every line of metrics.jsonl is whole and is the uninterrupted run's line,
//! - a checkpoint once written is never lost nor moved back (its step only grows),
//! - the next start either resumes or refuses with a clear message,
//! and at the end that each resumed run finishes with exactly the
//! uninterrupted run's record. Long (minutes), so not in the default run:
//!
//!     make soak        # cargo test --release --test soak -- --ignored --nocapture
//!
//! SOAK_KILLS sets the number of interruptions (default 200), SOAK_SEED the
//! random points.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VARIANTS: [(&str, &[&str]); 2] = [
    ("vanilla", &["--g-width", "32", "--d-width", "32", "--batch-size", "16", "--max-train", "320", "--steps", "300", "--checkpoint-every", "9"]),
    ("dcgan", &["--g-width", "8", "--d-width", "8", "--batch-size", "16", "--max-train", "256", "--steps", "200", "--checkpoint-every", "7"]),
];

fn command(variant: &str, args: &[&str], out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gan-tutorial"));
    c.args(["train", variant, "--device", "cpu", "--seed", "11", "--out", out.to_str().unwrap()]).args(args).args(extra);
    c.env_remove("GAN_TUTORIAL_DEVICE").env("OMP_NUM_THREADS", "1").stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn lines(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("metrics.jsonl")).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The checkpoint's step, from its `meta.json` tensor; None when there is none.
fn checkpoint_step(out: &Path) -> Option<u64> {
    let path = out.join("checkpoint.safetensors");
    if !path.exists() {
        return None;
    }
    let tensors = tch::Tensor::read_safetensors(&path).unwrap_or_else(|e| panic!("the checkpoint does not load: {e}"));
    let meta = &tensors.iter().find(|(n, _)| n == "meta.json").expect("a checkpoint has meta.json").1;
    let bytes: Vec<u8> = meta.try_into().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    Some(v["step"].as_u64().expect("meta.json names its step"))
}

/// A small deterministic generator for the kill points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default, Debug)]
struct Tally {
    kills: usize,
    sigkill: usize,
    sigint: usize,
    during_startup: usize,
    finished_before_signal: usize,
    refused: usize,
    completed: usize,
    longest_checkpoint_gap: u64,
}

fn signal(child: &mut Child, sig: i32) {
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, sig) };
}

#[test]
#[ignore = "a soak of minutes: make soak"]
fn two_hundred_interruptions_never_lose_a_checkpoint_or_change_a_number() {
    let kills: usize = std::env::var("SOAK_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut rng = Rng(std::env::var("SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(2026));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    for (v, (variant, args)) in VARIANTS.iter().enumerate() {
        let whole = dir.path().join(format!("{variant}-whole"));
        let t0 = Instant::now();
        let o = command(variant, args, &whole, &[]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let run_ms = t0.elapsed().as_millis() as u64;
        let want = lines(&whole);
        let out = dir.path().join(format!("{variant}-soak"));
        let mut t = Tally::default();
        let mut round = 0;
        while t.kills < kills / 2 + (v == 0) as usize * (kills % 2) {
            let before = checkpoint_step(&out);
            let resume = before.is_some();
            let extra: &[&str] = if resume { &["--resume"] } else { &["--force"] };
            let mut child = command(variant, args, &out, extra).spawn().unwrap();
            // A point anywhere in the run, start-up and the final writes included.
            let wait = Duration::from_millis(rng.below(run_ms + 200));
            std::thread::sleep(wait);
            let sig = if rng.below(5) == 0 { libc::SIGINT } else { libc::SIGKILL };
            let status = match child.try_wait().unwrap() {
                Some(s) => {
                    t.finished_before_signal += 1;
                    s
                }
                None => {
                    signal(&mut child, sig);
                    t.kills += 1;
                    if sig == libc::SIGKILL { t.sigkill += 1 } else { t.sigint += 1 };
                    if lines(&out).is_empty() {
                        t.during_startup += 1;
                    }
                    child.wait().unwrap()
                }
            };
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            if status.code() == Some(1) {
                // A refusal must say why and what to do.
                t.refused += 1;
                assert!(err.contains("--resume") || err.contains("--force") || err.contains("another run"), "round {round}: exit 1 without a clear message: {err}");
            }
            // Every line whole, and the uninterrupted run's.
            let got = lines(&out);
            assert!(got.len() <= want.len() && got[..] == want[..got.len()], "{variant} round {round}: the record differs from the uninterrupted run after {sig}");
            // The checkpoint is never lost nor moved back.
            let after = checkpoint_step(&out);
            if let Some(b) = before {
                let a = after.unwrap_or_else(|| panic!("{variant} round {round}: the step-{b} checkpoint was lost"));
                assert!(a >= b, "{variant} round {round}: checkpoint moved back from step {b} to {a}");
                t.longest_checkpoint_gap = t.longest_checkpoint_gap.max(got.len() as u64 - a.min(got.len() as u64));
            }
            if status.success() {
                assert_eq!(got, want, "{variant} round {round}: a completed run differs from the uninterrupted one");
                t.completed += 1;
                std::fs::remove_dir_all(&out).unwrap();
            }
            round += 1;
            assert!(started.elapsed() < Duration::from_secs(3600), "the soak made no progress");
        }
        // Finish the last interrupted run: it must end as the uninterrupted one.
        if checkpoint_step(&out).is_some() {
            let o = command(variant, args, &out, &["--resume"]).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(lines(&out), want);
            t.completed += 1;
        }
        let partials: Vec<String> = std::fs::read_dir(&out).into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.contains(".partial-")).collect();
        assert!(partials.is_empty(), "{variant}: temporary files left after the last resume: {partials:?}");
        println!("{variant}: {round} starts, {t:?}, a whole run {run_ms} ms, {:.0} s so far", started.elapsed().as_secs_f64());
    }
}
