//! Benchmark: what adversarial training of D costs per iteration, for each
//! architecture of the study (WGAN, WGAN-GP, DCGAN, SNGAN) and each arm (no
//! attack, FGSM on D, DAT), on this machine, in one run. FGSM needs one
//! extra forward/backward pass of D for its input gradient; DAT needs two
//! (one for the reals, one for the fakes).
//!
//!     make bench-adv-d      # or: cargo bench --bench adv_d_cost -- --steps 60 --width 32
//!
//! Options: --steps N (60 timed iterations after 5 of warm-up), --width W
//! (32, the study's), --batch B (64), --rounds R (3; the arms alternate and
//! the median is reported, since a shared machine is noisy).
use gan_tutorial::adv_gan::{Arm, StudyConfig, ARCHITECTURES};
use gan_tutorial::gan::Training;
use gan_tutorial::progress::Quiet;
use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> gan_tutorial::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (steps, width, batch, rounds) = (arg(&args, "--steps", 60usize), arg(&args, "--width", 32i64), arg(&args, "--batch", 64usize), arg(&args, "--rounds", 3usize));
    let arms = [Arm::None, Arm::Fgsm(0.02), Arm::Dat];
    let mut study = StudyConfig::default();
    (study.width, study.batch_size, study.max_train, study.device) = (width, batch, Some(4096), Some("cpu".into()));
    println!("ms per iteration (median of {rounds}): a run of {steps} + 5 iterations less a run of 5, width {width}, batch {batch}, {} threads", tch::get_num_threads());
    println!("{:<9} {:>9} {:>9} {:>9} {:>10} {:>10}", "arch", "none", "fgsm0.02", "dat", "fgsm/none", "dat/none");
    for arch in ARCHITECTURES {
        let mut times = vec![Vec::new(); arms.len()];
        for _ in 0..rounds {
            for (i, &arm) in arms.iter().enumerate() {
                let plan = gan_tutorial::adv_gan::PlannedRun { index: 0, arch, arm, seed: 0, name: "bench".into() };
                // FGSM attacks every step from the first (probability 1, no delay), so that it is timed.
                let mut c = study.run_config(&plan).with_steps(steps + 5);
                if let gan_tutorial::gan::adv_d::DAttack::Fgsm(f) = &mut c.d_attack {
                    (f.probability, f.start_fraction) = (1.0, 0.0);
                }
                // The run of steps + 5 less the run of 5: set-up (data, nets) cancels.
                let t = Instant::now();
                Training::new(&c.clone().with_steps(5)).progress(&mut Quiet).run()?;
                let short = t.elapsed().as_secs_f64();
                let t = Instant::now();
                Training::new(&c).progress(&mut Quiet).run()?;
                let long = t.elapsed().as_secs_f64();
                times[i].push(1e3 * (long - short) / steps as f64);
            }
        }
        let med: Vec<f64> = times
            .into_iter()
            .map(|mut v| {
                v.sort_by(|a, b| a.total_cmp(b));
                v[v.len() / 2]
            })
            .collect();
        println!("{:<9} {:>9.2} {:>9.2} {:>9.2} {:>9.2}x {:>9.2}x", arch.name(), med[0], med[1], med[2], med[1] / med[0], med[2] / med[0]);
    }
    Ok(())
}
