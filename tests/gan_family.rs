//! The GAN family end to end. libtorch's random generator is global to the
//! process, so the tests of this file (one process) take turns: a run
//! compared for exact equality must not share the generator with another.
use gan_tutorial::gan::{resume_gan, train_gan, GanConfig, Objective, Variant};
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn tiny(v: Variant) -> GanConfig {
    let mut c = GanConfig::variant(v).with_widths(8, 8).with_batch_size(16).with_max_train(64).with_device("cpu").with_print_every(0).with_fixed_samples(4);
    c.net.latent_dim = 8;
    // The tutorial's G-first order shares one batch of fakes, so vanilla keeps one D step per G step.
    c.n_dis = if v == Variant::Vanilla { 1 } else { 2 };
    c
}

#[test]
fn same_seed_same_run_and_resume_from_a_checkpoint_is_exact() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    for v in [Variant::Vanilla, Variant::Sngan, Variant::Wgan, Variant::WganGp, Variant::Acgan] {
        let c = tiny(v).with_steps(7);
        let full = train_gan(&c).unwrap();
        let again = train_gan(&c).unwrap();
        assert_eq!(full.history.d_losses, again.history.d_losses, "{v}: same seed, same numbers");
        let other = train_gan(&c.clone().with_seed(1)).unwrap();
        assert_ne!(full.history.d_losses, other.history.d_losses, "{v}: another seed, other numbers");
        // Interrupt after 3 steps (mid-epoch: 4 batches per epoch), resume to 7.
        let ck = dir.path().join(v.name());
        let first = train_gan(&tiny(v).with_steps(3).with_checkpoints(&ck, 0)).unwrap();
        assert_eq!(first.history.steps(), 3);
        for f in ["checkpoint.safetensors", "config.json", "metrics.jsonl"] {
            assert!(ck.join(f).is_file(), "{v}: {f} missing from the recorded run");
        }
        let resumed = resume_gan(&c, &ck).unwrap();
        assert_eq!(resumed.history.steps(), 7);
        for (name, a, b) in [
            ("d_loss", &full.history.d_losses, &resumed.history.d_losses),
            ("g_loss", &full.history.g_losses, &resumed.history.g_losses),
            ("D(x)", &full.history.d_real, &resumed.history.d_real),
            ("D(G(z))", &full.history.d_fake, &resumed.history.d_fake),
        ] {
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{v} {name} step {i}: uninterrupted {x}, resumed {y}");
            }
        }
        assert_eq!(full.history.samples.last().unwrap().images, resumed.history.samples.last().unwrap().images, "{v}: same final samples");
        // The resumed run went on recording into the same directory: its checkpoint is now at step 7.
        // Another objective, or fewer steps than done, cannot resume it.
        let e = resume_gan(&c.clone().with_objective(Objective::LeastSquares), &ck).unwrap_err().to_string();
        assert!(e.contains("objective"), "{e}");
        let e = resume_gan(&tiny(v).with_steps(2), &ck).unwrap_err().to_string();
        assert!(e.contains("step 7"), "{e}");
    }
    // The failure checks go on where they stopped: with every D loss "near zero" (floor 100) and a
    // window of 5, the uninterrupted run warns at step 4; interrupted after 3, the resumed run must too.
    let mut c = tiny(Variant::Vanilla).with_steps(7);
    c.checks.d_loss_floor = 100.0;
    c.checks.window = 5;
    let full = train_gan(&c).unwrap();
    let ck = dir.path().join("checks");
    train_gan(&c.clone().with_steps(3).with_checkpoints(&ck, 0)).unwrap();
    let resumed = resume_gan(&c, &ck).unwrap();
    let low = |r: &gan_tutorial::gan::GanReport| r.warnings.iter().find(|w| w.message.contains("D loss below")).map(|w| (w.first_step, w.count));
    assert_eq!(low(&full), Some((4, 1)), "{:?}", full.warnings);
    assert_eq!(low(&resumed), low(&full), "{:?}", resumed.warnings);
    // A missing checkpoint is a clear error.
    let e = resume_gan(&tiny(Variant::Dcgan).with_steps(4), dir.path().join("nothing")).unwrap_err().to_string();
    assert!(e.contains("checkpoint.safetensors") && e.contains("no checkpoint"), "{e}");
}

#[test]
fn runs_are_compared_in_figures_and_saved_with_their_config() {
    let _turn = turn();
    use gan_tutorial::compare::{plot_runs_losses, plot_runs_metric, plot_runs_samples, RunMetric};
    let a = train_gan(&tiny(Variant::Dcgan).with_steps(4)).unwrap();
    let b = train_gan(&tiny(Variant::WganGp).with_steps(4).with_image_side(32)).unwrap();
    let runs = [&a, &b];
    let losses = plot_runs_losses(&runs, 2).unwrap();
    assert_eq!((losses.width, losses.height), (840, 300), "two panels side by side");
    assert!(losses.svg().contains("dcgan (non-saturating)") && losses.svg().contains("wgan-gp (wasserstein-gp)"));
    let samples = plot_runs_samples(&runs, 2).unwrap();
    assert!(samples.width > samples.height, "two captioned grids in a row");
    let grads = plot_runs_metric(&runs, RunMetric::DGradNorm, 1).unwrap();
    assert!(grads.svg().contains("grad D"));
    assert!(plot_runs_losses(&[], 1).unwrap_err().to_string().contains("at least one"));
    // The run's files: its config (read back equal), its numbers, its networks.
    let dir = tempfile::tempdir().unwrap();
    let paths = b.save(dir.path()).unwrap();
    let names: Vec<String> = paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for f in ["config.json", "metrics.jsonl", "history.json", "losses.png", "losses.svg", "samples.png", "checkpoint.safetensors"] {
        assert!(names.iter().any(|n| n == f) && dir.path().join(f).is_file(), "{f} missing from {names:?}");
    }
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    let back: GanConfig = serde_json::from_value(saved["config"].clone()).unwrap();
    assert_eq!(back, b.config);
    assert_eq!(std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap().lines().count(), 4);
    let hist: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("history.json")).unwrap()).unwrap();
    assert_eq!(hist["history"]["d_losses"].as_array().unwrap().len(), 4);
    assert_eq!(hist["extras"]["penalties"].as_array().unwrap().len(), 4);
}

#[test]
fn the_cli_trains_a_variant_and_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sngan");
    let bin = env!("CARGO_BIN_EXE_gan-tutorial");
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "sngan", "--g-width", "8", "--d-width", "8", "--batch-size", "16", "--max-train", "64", "--device", "cpu", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        std::process::Command::new(bin).args(&args).output().unwrap()
    };
    let o = run(&["--steps", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["config.json", "metrics.jsonl", "history.json", "checkpoint.safetensors", "losses.png", "samples.png"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let o = run(&["--steps", "5", "--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("trained 5 steps"), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(&["--steps", "5", "--objective", "kl"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an objective"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_judge_ranks_a_trained_generator_above_an_untrained_one() {
    use gan_tutorial::compare::{compare_runs, Judge};
    use gan_tutorial::metrics::FeatureExtractor;
    let _turn = turn();
    let data = gan_tutorial::data::embedded().unwrap();
    let judge = Judge::new(FeatureExtractor::mnist_default(0).unwrap(), &data.train, 500, 0).unwrap();
    let base = GanConfig::variant(Variant::Dcgan).with_widths(16, 16).with_device("cpu").with_print_every(0).with_fixed_samples(4);
    let untrained = train_gan(&base.clone().with_steps(1).with_name("1 step")).unwrap();
    let trained = train_gan(&base.with_steps(300).with_name("300 steps")).unwrap();
    let table = compare_runs(&[&untrained, &trained], &judge).unwrap();
    let (a, b) = (&table.row("1 step").unwrap().quality, &table.row("300 steps").unwrap().quality);
    // 300 steps of a width-16 DCGAN are far from digits, but much closer than its start.
    assert!(b.fid < 0.8 * a.fid, "training lowers FD: {} -> {}", a.fid, b.fid);
    assert_eq!((b.num_generated, b.num_real), (500, 500));
    let text = table.to_string();
    assert!(text.contains("300 steps") && text.contains("500 generated vs 500 real digits"), "{text}");
    assert!(judge.to_string().contains("LeNet"), "{judge}");
    assert!(compare_runs(&[], &judge).unwrap_err().to_string().contains("at least one"));
}
