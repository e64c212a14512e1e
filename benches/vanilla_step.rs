//! Benchmark: the vanilla GAN training step at batch 128 on CPU, against the
//! tutorial's loop in PyTorch from Python (benches/vanilla_step.py), in the
//! same run. Prints iterations/s of both, their ratio, and memory per epoch.
//!
//!     make bench            # or: cargo bench --bench vanilla_step -- --epochs 10
//!
//! Options: --epochs N (10), --threads N (libtorch's default), --no-python,
//! --keep-graphs (also run the Python loop storing loss tensors, as the tutorial does).
use gan_tutorial::data::{embedded, Batcher};
use gan_tutorial::gan::observer::TrainObserver;
use gan_tutorial::gan::train::{train_bce_gan, LoopSettings};
use gan_tutorial::gan::EpochStats;
use gan_tutorial::VanillaGanConfig;
use std::path::Path;
use std::process::Command;
use tch::Device;

fn proc_status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Rss(Vec<f64>, Vec<f64>);
impl TrainObserver for Rss {
    fn on_epoch(&mut self, e: &EpochStats) -> gan_tutorial::Result<()> {
        self.0.push(proc_status_mb("VmRSS:"));
        self.1.push(e.steps as f64 / e.seconds);
        Ok(())
    }
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn growth(rss: &[f64]) -> f64 {
    // From the end of epoch 1 (allocator warmed up) to the last epoch.
    if rss.len() < 2 { 0.0 } else { rss[rss.len() - 1] - rss[0] }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let epochs: usize = arg(&args, "--epochs").unwrap_or(10);
    if let Some(t) = arg::<i32>(&args, "--threads") {
        tch::set_num_threads(t);
    }
    let threads = tch::get_num_threads();
    let config = VanillaGanConfig::default().with_device("cpu").with_epochs(epochs).with_sample_epochs(vec![]);
    let data = embedded()?;
    let mut gan = config.build_gan(Device::Cpu);
    let fixed = gan.sample_latent(16);
    let batches = Batcher::new(data.train.to_tensor_pm1(Device::Cpu), config.batch_size, false, config.seed)?;
    let settings = LoopSettings {
        num_epochs: epochs,
        max_steps: None,
        lr_g: config.lr_g,
        lr_d: config.lr_d,
        loss: config.loss,
        sample_epochs: vec![],
    };
    let mut rss = Rss(Vec::new(), Vec::new());
    let h = train_bce_gan(&mut gan, &batches, &settings, &fixed, &mut rss)?;
    let rust_its = h.steps() as f64 / h.wall_time_secs;
    println!("vanilla GAN training step, batch 128, embedded MNIST ({} steps/epoch), {epochs} epochs, CPU, {threads} threads", h.batches_per_epoch);
    println!();
    println!("{:<34} {:>10} {:>12} {:>14} {:>16}", "implementation", "it/s", "peak RSS MB", "RSS growth MB", "(epoch 1 -> last)");
    println!("{:<34} {:>10.1} {:>12.1} {:>14.1}", "rust (gan_tutorial, tch)", rust_its, proc_status_mb("VmHWM:"), growth(&rss.0));
    println!("    per-epoch it/s: {}", rss.1.iter().map(|v| format!("{v:.0}")).collect::<Vec<_>>().join(" "));
    println!("    per-epoch RSS MB: {}", rss.0.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(" "));

    if args.iter().any(|a| a == "--no-python") {
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let mut variants = vec![false];
    if args.iter().any(|a| a == "--keep-graphs") {
        variants.push(true);
    }
    for keep in variants {
        let mut cmd = Command::new(&python);
        cmd.arg(root.join("benches/vanilla_step.py"))
            .args(["--data", root.join("data/mnist-10k").to_str().unwrap(), "--epochs", &epochs.to_string(), "--threads", &threads.to_string()]);
        if keep {
            cmd.arg("--keep-graphs");
        }
        let out = cmd.output().map_err(|e| anyhow::anyhow!("cannot run {} (run `make setup` first): {e}", python.display()))?;
        if !out.status.success() {
            anyhow::bail!("the Python bench failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))?;
        let its = v["it_per_s"].as_f64().unwrap_or(f64::NAN);
        let rss: Vec<f64> = v["rss_mb_per_epoch"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default();
        let name = format!("python ({})", v["impl"].as_str().unwrap_or("pytorch"));
        println!("{:<34} {:>10.1} {:>12.1} {:>14.1}", name, its, v["peak_rss_mb"].as_f64().unwrap_or(f64::NAN), growth(&rss));
        println!("    per-epoch RSS MB: {}", rss.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(" "));
        if !keep {
            println!();
            println!("speed-up rust / python: {:.2}x (target >= 2x)", rust_its / its);
        }
    }
    Ok(())
}
