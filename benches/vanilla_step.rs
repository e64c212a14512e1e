//! Benchmark: the vanilla GAN training step at batch 128 on CPU, against the
//! tutorial's loop in PyTorch from Python (benches/vanilla_step.py), in the
//! same run. Prints iterations/s of both, their ratio, and memory per epoch.
//!
//!     make bench            # or: cargo bench --bench vanilla_step -- --epochs 10
//!
//! Python runs twice per round: the tutorial's loop as written (its data
//! pipeline converts and normalises each image per item, as torchvision's
//! ToTensor + Normalize do) and the same loop on a pre-normalised tensor
//! dataset (the fastest plain-PyTorch pipeline).
//!
//! Options: --epochs N (10), --rounds R (3; Rust and Python alternate, medians
//! reported, since a shared 2-core VM is noisy), --threads N (libtorch's
//! default), --no-python, --keep-graphs (also run the Python loop storing
//! loss tensors, as the tutorial does, to show the memory that costs).
use gan_tutorial::gan::Training;
use gan_tutorial::vanilla_config;
use gan_tutorial::notebook::RunMode;
use gan_tutorial::progress::Progress;
use std::path::Path;
use std::process::Command;

fn proc_status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resident memory after each epoch (71 steps).
struct Rss(Vec<f64>);
impl Progress for Rss {
    fn advance(&mut self, done: usize) {
        if done > 0 && done % 71 == 0 {
            self.0.push(proc_status_mb("VmRSS:"));
        }
    }
    fn line(&mut self, _: &str) {}
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn growth(rss: &[f64]) -> f64 {
    // From the end of epoch 1 (allocator warmed up) to the last epoch.
    if rss.len() < 2 { 0.0 } else { rss[rss.len() - 1] - rss[0] }
}

struct Measured {
    its: f64,
    peak_mb: f64,
    rss: Vec<f64>,
}

fn run_rust(epochs: usize) -> anyhow::Result<Measured> {
    // The one trainer with the tutorial's preset (G step first, last partial batch kept).
    // The embedded subset, as the PyTorch loop reads (data/mnist-10k), even where full MNIST is fetched.
    let config = vanilla_config(RunMode::Full).with_data(gan_tutorial::data::DataSource::Embedded).with_device("cpu").with_epochs(epochs).with_sample_epochs(vec![]).with_print_every(0);
    let mut rss = Rss(Vec::new());
    let r = Training::new(&config).progress(&mut rss).run()?;
    let h = &r.history;
    Ok(Measured { its: h.steps() as f64 / h.wall_time_secs, peak_mb: proc_status_mb("VmHWM:"), rss: rss.0 })
}

fn run_python(epochs: usize, threads: i32, pipeline: &str, keep_graphs: bool) -> anyhow::Result<Measured> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let mut cmd = Command::new(&python);
    cmd.arg(root.join("benches/vanilla_step.py")).args([
        "--data",
        root.join("data/mnist-10k").to_str().unwrap(),
        "--epochs",
        &epochs.to_string(),
        "--threads",
        &threads.to_string(),
        "--pipeline",
        pipeline,
    ]);
    if keep_graphs {
        cmd.arg("--keep-graphs");
    }
    let out = cmd.output().map_err(|e| anyhow::anyhow!("cannot run {} (run `make setup` first): {e}", python.display()))?;
    if !out.status.success() {
        anyhow::bail!("the Python bench failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))?;
    Ok(Measured {
        its: v["it_per_s"].as_f64().unwrap_or(f64::NAN),
        peak_mb: v["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        rss: v["rss_mb_per_epoch"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default(),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { f64::NAN } else if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 }
}

fn row(name: &str, runs: &[Measured]) {
    let its: Vec<f64> = runs.iter().map(|m| m.its).collect();
    let last = runs.last().unwrap();
    println!(
        "{:<36} {:>8.1} {:>22} {:>12.1} {:>10.1}",
        name,
        median(its.clone()),
        its.iter().map(|v| format!("{v:.0}")).collect::<Vec<_>>().join(" "),
        last.peak_mb,
        growth(&last.rss)
    );
    println!("    RSS MB after each epoch: {}", last.rss.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(" "));
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let epochs: usize = arg(&args, "--epochs").unwrap_or(10);
    let rounds: usize = arg(&args, "--rounds").unwrap_or(3).max(1);
    if let Some(t) = arg::<i32>(&args, "--threads") {
        tch::set_num_threads(t);
    }
    let threads = tch::get_num_threads();
    let python = !args.iter().any(|a| a == "--no-python");
    let keep = args.iter().any(|a| a == "--keep-graphs");
    println!(
        "vanilla GAN training step, batch 128, embedded MNIST (71 steps/epoch), {epochs} epochs x {rounds} rounds (interleaved), CPU, {threads} threads"
    );
    let (mut rust, mut py, mut py_tensor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        rust.push(run_rust(epochs)?);
        if python {
            py.push(run_python(epochs, threads, "tutorial", false)?);
            py_tensor.push(run_python(epochs, threads, "tensor", false)?);
        }
    }
    println!();
    println!("{:<36} {:>8} {:>22} {:>12} {:>10}", "implementation", "it/s", "(each round)", "peak RSS MB", "growth MB");
    row("rust (gan_tutorial, tch)", &rust);
    if python {
        row("python: the tutorial's loop", &py);
        row("python: same, tensor dataset", &py_tensor);
    }
    if keep {
        let k = run_python(epochs, threads, "tutorial", true)?;
        row("python, loss tensors kept (tutorial)", std::slice::from_ref(&k));
    }
    if python {
        let its = |v: &[Measured]| median(v.iter().map(|m| m.its).collect());
        println!();
        println!("speed-up rust / the tutorial's Python loop (medians): {:.2}x (target >= 2x)", its(&rust) / its(&py));
        println!("speed-up rust / the Python loop on a tensor dataset:  {:.2}x", its(&rust) / its(&py_tensor));
        println!("growth: RSS after the last epoch minus after the first; peak RSS of the Rust process covers all its rounds");
    }
    Ok(())
}
