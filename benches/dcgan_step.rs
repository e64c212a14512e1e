//! Benchmark: the DCGAN preset's training step (`Variant::Dcgan`, width 64,
//! batch 64, 28x28 MNIST) on a chosen device, against the same loop in
//! PyTorch (benches/dcgan_step.py) on the same device, in one run. Prints
//! iterations/s of both and their ratio. `make gpu-check` runs it on `cuda`.
//!
//!     cargo bench --bench dcgan_step -- --device cpu --steps 50
//!
//! Options: --device D (cpu, cuda, cuda:N; default: CUDA if present), --steps N
//! (timed iterations, 200), --rounds R (3; Rust and Python alternate, medians
//! reported), --width W (64), --no-python. Rust is timed as a run of N + 10
//! steps less a run of 10 (set-up and warm-up cancel); Python times N steps
//! after 10 of warm-up. Both read the losses back every step.
use gan_tutorial::{train_gan, GanConfig, Variant};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn rust_seconds(device: &str, width: i64, steps: usize) -> anyhow::Result<f64> {
    let config = GanConfig::variant(Variant::Dcgan)
        .with_widths(width, width)
        .with_steps(steps)
        .with_seed(0)
        .with_print_every(0)
        .with_fixed_samples(8)
        .with_sample_epochs(vec![])
        .with_device(device);
    let t = Instant::now();
    let report = train_gan(&config)?;
    let seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(report.history.steps() == steps, "ran {} of {steps} steps", report.history.steps());
    Ok(seconds)
}

fn python(device: &str, width: i64, steps: usize) -> anyhow::Result<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let py = root.join(".venv/bin/python");
    let out = Command::new(&py)
        .arg(root.join("benches/dcgan_step.py"))
        .args(["--device", device, "--steps", &steps.to_string(), "--width", &width.to_string()])
        .args(["--threads", &tch::get_num_threads().to_string()])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {} (run `make setup` first): {e}", py.display()))?;
    anyhow::ensure!(out.status.success(), "benches/dcgan_step.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    Ok(serde_json::from_str(last)?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let device = arg::<String>(&args, "--device").unwrap_or_else(|| gan_tutorial::device_name(tch::Device::cuda_if_available()));
    gan_tutorial::parse_device(&device)?;
    let steps = arg(&args, "--steps").unwrap_or(200usize);
    let rounds = arg(&args, "--rounds").unwrap_or(3usize).max(1);
    let width = arg(&args, "--width").unwrap_or(64i64);
    let with_python = !args.iter().any(|a| a == "--no-python");
    const WARM: usize = 10;
    println!(
        "DCGAN step (width {width}, batch 64, 28x28) on {device}, {steps} timed steps, median of {rounds} rounds, {} CPU threads",
        tch::get_num_threads()
    );
    let (mut rust, mut py) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let long = rust_seconds(&device, width, steps + WARM)?;
        let short = rust_seconds(&device, width, WARM)?;
        rust.push(steps as f64 / (long - short).max(1e-9));
        if with_python {
            py.push(python(&device, width, steps)?["its"].as_f64().unwrap_or(f64::NAN));
        }
    }
    let r = median(rust);
    println!("rust (tch)       {r:>9.1} it/s  {:>7.2} ms/step", 1000.0 / r);
    if with_python {
        let p = median(py);
        println!("pytorch (eager)  {p:>9.1} it/s  {:>7.2} ms/step", 1000.0 / p);
        println!("ratio rust/pytorch (iterations/s): {:.2}", r / p);
    }
    Ok(())
}
