//! Benchmark: FGSM and PGD-40 throughput (images/s) on CPU, this crate
//! against the same attacks written with PyTorch from Python
//! (benches/attack_throughput.py), in the same run, on the same LeNet weights
//! (written here as safetensors, loaded there) and the same test digits.
//!
//!     make bench-attacks     # or: cargo bench --bench attack_throughput -- --rounds 3
//!
//! Options: --n N test digits (500), --batch B (100), --eps E (0.1),
//! --rounds R (3; Rust and Python alternate, medians reported), --threads N,
//! --no-python, --weights FILE (attack a LeNet saved earlier instead of
//! training one first: for profilers, see benches/profile_attacks.sh),
//! --save-weights FILE. Both sides time the attacks only (the accuracy check
//! comes after the clock stops). Beside wall-clock images/s it prints images
//! per CPU-second of each process, which a loaded machine disturbs far less. The robust accuracies printed beside the speeds are a
//! sanity check that both sides attacked the same model equally hard.
use gan_tutorial::attack::{perturb_batched, Attack, Fgsm, Pgd};
use gan_tutorial::classifier::{accuracy, images_and_labels, train_classifier_on, Classifier, ClassifierConfig};
use gan_tutorial::data::embedded;
use std::path::Path;
use std::process::Command;
use tch::Device;

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

/// CPU seconds this process has used (all its threads), from the kernel: on a
/// loaded machine this moves far less than wall time (waiting for a core is not counted).
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { f64::NAN } else if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 }
}

/// One row per attack: the medians of `rust` and `other` (images/s, one value per round), their ratio, and every round.
fn print_rows(rust: &[Vec<f64>], other: &[Vec<f64>]) {
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" ");
    for (k, name) in ["FGSM", "PGD-40"].iter().enumerate() {
        let (r, o) = (median(rust[k].clone()), median(other[k].clone()));
        println!("{:<8} {:>14.1} {:>14.1} {:>8.2}x {:>22} {:>22}", name, r, o, r / o, fmt(&rust[k]), fmt(&other[k]));
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: i64 = arg(&args, "--n").unwrap_or(500);
    let batch: i64 = arg(&args, "--batch").unwrap_or(100);
    let eps: f64 = arg(&args, "--eps").unwrap_or(0.1);
    let rounds: usize = arg(&args, "--rounds").unwrap_or(3).max(1);
    if let Some(t) = arg::<i32>(&args, "--threads") {
        tch::set_num_threads(t);
    }
    let threads = tch::get_num_threads();
    let python = !args.iter().any(|a| a == "--no-python");
    let data = embedded()?;
    let dir = tempfile::tempdir()?;
    let weights = dir.path().join("lenet.safetensors");
    let model = match arg::<String>(&args, "--weights") {
        // A LeNet saved by an earlier run (--save-weights): no training first, e.g. under a profiler.
        Some(path) => Classifier::load(&path, Device::Cpu)?,
        None => train_classifier_on(&ClassifierConfig::default().with_device("cpu").with_epochs(1).with_max_train(3000), &data)?.model,
    };
    model.save(&weights)?;
    if let Some(path) = arg::<String>(&args, "--save-weights") {
        model.save(&path)?;
    }
    let (x, y) = images_and_labels(&data.test.take(n as usize), Device::Cpu)?;
    println!("attack throughput: LeNet ({} parameters), {n} test digits in batches of {batch}, eps {eps}, CPU, {threads} threads, {rounds} rounds (interleaved)", model.parameter_count());
    let attacks: Vec<(&str, Box<dyn Attack>)> = vec![("fgsm", Box::new(Fgsm::new(eps))), ("pgd40", Box::new(Pgd::new(eps, 40)))];
    let mut rust: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut rust_acc = vec![0.0; 2];
    let mut rust_cpu: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut py_cpu: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut py: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut py_acc = vec![0.0; 2];
    // PyTorch with conv1's input gradient computed as the crate computes it (a custom autograd.Function).
    let mut pyg: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut pyg_cpu: Vec<Vec<f64>> = vec![Vec::new(); 2];
    for _ in 0..rounds {
        for (k, (_, a)) in attacks.iter().enumerate() {
            let _warm_up = perturb_batched(a.as_ref(), &model, &x.narrow(0, 0, batch.min(n)), &y.narrow(0, 0, batch.min(n)), batch, 0)?;
            let (start, cpu0) = (std::time::Instant::now(), cpu_seconds());
            let adv = perturb_batched(a.as_ref(), &model, &x, &y, batch, 0)?;
            let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
            rust_acc[k] = accuracy(&model, &adv, &y);
            rust[k].push(n as f64 / wall);
            rust_cpu[k].push(n as f64 / cpu);
        }
        if python {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = Command::new(root.join(".venv/bin/python"))
                .arg(root.join("benches/attack_throughput.py"))
                .args(["--weights", weights.to_str().unwrap(), "--data", root.join("data/mnist-10k").to_str().unwrap()])
                .args(["--n", &n.to_string(), "--batch", &batch.to_string(), "--eps", &eps.to_string(), "--threads", &threads.to_string()])
                .output()
                .map_err(|e| anyhow::anyhow!("cannot run .venv/bin/python (run `make setup` first): {e}"))?;
            if !out.status.success() {
                anyhow::bail!("the Python bench failed:\n{}", String::from_utf8_lossy(&out.stderr));
            }
            let v: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or(""))?;
            for (k, name) in ["fgsm", "pgd40"].iter().enumerate() {
                py[k].push(v[name]["images_per_s"].as_f64().unwrap_or(f64::NAN));
                py_cpu[k].push(v[name]["images_per_cpu_s"].as_f64().unwrap_or(f64::NAN));
                py_acc[k] = v[name]["robust_accuracy"].as_f64().unwrap_or(f64::NAN);
                let grouped = format!("{name}_grouped");
                pyg[k].push(v[&grouped]["images_per_s"].as_f64().unwrap_or(f64::NAN));
                pyg_cpu[k].push(v[&grouped]["images_per_cpu_s"].as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    println!();
    println!("{:<8} {:>14} {:>14} {:>9} {:>22} {:>22}", "attack", "rust img/s", "python img/s", "ratio", "rust (each round)", "python (each round)");
    print_rows(&rust, &py);
    println!("per CPU-second (process CPU time, all threads; spin-waiting OpenMP workers count, so compare at --threads 1 on a loaded machine):");
    print_rows(&rust_cpu, &py_cpu);
    println!("against PyTorch with conv1's input gradient computed as the crate computes it (benches/attack_throughput.py, LeNetGroupedConv1Grad), wall clock, then per CPU-second:");
    print_rows(&rust, &pyg);
    print_rows(&rust_cpu, &pyg_cpu);
    println!("robust accuracy after the attack: FGSM rust {:.3} / python {:.3}; PGD-40 rust {:.3} / python {:.3} (random starts differ)", rust_acc[0], py_acc[0], rust_acc[1], py_acc[1]);
    Ok(())
}
