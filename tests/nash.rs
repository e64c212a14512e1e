//! `nash_demo` and `gan-tutorial nash`: every figure and number of notebook
//! 02 from one call, saved and parsed back; the analytic numbers hold on the
//! demo's own densities; bad settings are errors, not panics.
use gan_tutorial::nash::{nash_demo, NashConfig, NashSummary, Toy2dConfig};
use gan_tutorial::notebook::RunMode;
use std::process::Command;

/// The demo with its trainings cut to seconds.
fn tiny() -> NashConfig {
    let mut c = NashConfig::default().for_mode(RunMode::Quick).with_seed(3);
    c.train_d.steps = 200;
    c.shift_points = 21;
    c.vanilla = c.vanilla.with_steps(40);
    c.remedy = c.remedy.with_steps(40);
    c.vanishing.d_steps = 40;
    c
}

#[test]
fn nash_demo_returns_consistent_numbers_and_saves_them() {
    let report = nash_demo(&tiny()).unwrap();
    let s = report.summary();
    // The analytic parts are exact whatever the trainings do.
    assert!(s.pointwise_max_error < 1e-6, "{s}");
    for d in [&s.d_star_1d, &s.d_star_2d] {
        // Exact but for the mass the grid leaves outside (log 2 per unit missing).
        let missing = 2f64.ln() * (2.0 - d.nash.mass_data - d.nash.mass_g);
        assert!((d.nash.gap - missing).abs() < 1e-9 && d.nash.gap < 1e-5, "{:?}", d.nash);
        assert!(d.value_trained <= d.nash.value_at_optimum + 1e-9, "no D beats D*: {:?}", d);
    }
    assert!((s.cost_min + 4f64.ln()).abs() < 1e-9, "C(G) is smallest at p_g = p_data: {}", s.cost_min);
    assert!(s.simultaneous_final_distance > 2.0 * s.start_distance && s.alternating_max_distance < 1.2 * s.start_distance, "{s}");
    assert_eq!((s.vanilla.steps, s.remedy.steps), (40, 40));
    assert!(s.vanilla.stats.is_some() && s.remedy.label.starts_with("k = 5"), "{}", s.remedy.label);
    let text = s.to_string();
    assert!(text.contains("−log 4") && text.contains("modes covered"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let files = report.save(dir.path()).unwrap();
    assert_eq!(files.len(), 11);
    for (name, (w, h)) in [("optimal_d", (800, 420)), ("bilinear", (960, 430)), ("training_2d", (1200, 360)), ("mode_collapse", (660, 620)), ("vanishing_gradients", (960, 400))] {
        let img = image::open(dir.path().join(format!("{name}.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (w, h), "{name}");
    }
    let back: NashSummary = serde_json::from_str(&std::fs::read_to_string(dir.path().join("nash.json")).unwrap()).unwrap();
    assert_eq!(back.bilinear_steps, s.bilinear_steps);
    assert_eq!(back.vanilla.stats, s.vanilla.stats);
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["config"]["seed"], 3);
    assert_eq!(config["config"]["vanilla"]["steps"], 40);
    let runs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("runs_2d.json")).unwrap()).unwrap();
    assert_eq!(runs["vanilla"]["history"]["d_fake"].as_array().unwrap().len(), 40);
}

#[test]
fn bad_settings_are_errors() {
    let mut c = tiny();
    c.vanilla.lr_g = -1.0;
    assert!(nash_demo(&c).unwrap_err().to_string().contains("lr_g"));
    let mut c = tiny();
    c.remedy = Toy2dConfig { batch_size: 250, ..c.remedy.clone().with_pack(4) };
    let e = nash_demo(&c).unwrap_err().to_string();
    assert!(e.contains("multiples of pack"), "{e}");
}

#[test]
fn cli_writes_figures_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nash");
    let o = Command::new(env!("CARGO_BIN_EXE_gan-tutorial"))
        .args(["nash", "--quick", "--steps", "30", "--remedy", "k=3", "--seed", "2", "--out", out.to_str().unwrap()])
        .env_remove("GAN_TUTORIAL_DEVICE")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.contains("k = 3"), "{printed}");
    let s: NashSummary = serde_json::from_str(&std::fs::read_to_string(out.join("nash.json")).unwrap()).unwrap();
    assert_eq!(s.vanilla.steps, 30);
    assert!(s.remedy.label.starts_with("k = 3"), "{}", s.remedy.label);
    assert!(out.join("mode_collapse.png").is_file() && out.join("cost_vs_shift.png").is_file());

    let bad = Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).args(["nash", "--remedy", "dropout", "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use pack=M, k=N or minimax"));
}
