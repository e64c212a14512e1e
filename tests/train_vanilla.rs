//! Training the tutorial's vanilla GAN (the one trainer's `Variant::Vanilla`
//! preset) on the embedded MNIST subset.
use gan_tutorial::prelude::*;
use std::sync::{Mutex, MutexGuard};

/// libtorch's random generator is global to the process: two runs training
/// at once in one process draw from it in turn and neither is reproducible.
/// Tests in this file run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The taught preset on the embedded subset: `vanilla_config(RunMode::Full)`
/// takes full MNIST when `make setup` fetched it, and these numbers are the subset's.
fn cpu() -> GanConfig {
    vanilla_config(RunMode::Full).with_data(DataSource::Embedded).with_device("cpu").with_print_every(0)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn a_few_hundred_steps_give_finite_losses_and_move_d_of_g_z() {
    let _serial = serial();
    let report = train_vanilla_gan(&cpu().with_steps(300).with_sample_epochs(vec![1, 3])).unwrap();
    let h = &report.history;
    assert_eq!(h.steps(), 300);
    assert_eq!(h.batches_per_epoch, 71); // ceil(9003 / 128)
    assert_eq!(h.epoch_starts, vec![0, 71, 142, 213, 284]);
    assert_eq!(h.epochs.len(), 5);
    assert_eq!(h.epochs[4].steps, 300 - 284);
    for v in [&h.g_losses, &h.d_losses, &h.d_real, &h.d_fake] {
        assert_eq!(v.len(), 300);
        assert!(v.iter().all(|x| x.is_finite()), "non-finite value in history");
    }
    assert!(h.d_real.iter().chain(&h.d_fake).all(|p| (0.0..=1.0).contains(p)));
    // At initialisation D cannot tell: D(G(z)) ~ 0.5. Training moves it.
    let first = mean(&h.d_fake[..5]);
    let last = mean(&h.d_fake[250..]);
    assert!((first - 0.5).abs() < 0.15, "D(G(z)) at start {first}");
    assert!((first - last).abs() > 0.05, "D(G(z)) did not move: {first} -> {last}");
    // Snapshots after epochs 1 and 3, and after the last (partial) epoch 5.
    let epochs: Vec<usize> = h.samples.iter().map(|s| s.epoch).collect();
    assert_eq!(epochs, vec![1, 3, 5]);
    let last = h.last_samples().unwrap();
    assert_eq!((last.images.n, last.images.height, last.images.width), (16, 28, 28));
    assert_ne!(h.samples[0].images, last.images, "the generator changed between snapshots");
    assert_eq!(h.samples_at(3).map(|s| s.step), Some(213));
    assert!(h.samples_at(2).is_none());
    // Per-step records line up with the epoch structure.
    let log = h.step_log(75).unwrap();
    assert_eq!((log.epoch, log.batch, log.g_loss), (2, 4, h.g_losses[75]));
    assert!(h.step_log(300).is_none());
    // The trained networks are in the report.
    let imgs = report.gan.generate(5).unwrap();
    assert_eq!(imgs.n, 5);
    // The trained D tells real digits from noise better than chance, on average.
    let real = embedded().unwrap().test.take(64).to_tensor_pm1(Device::Cpu);
    let noise = Tensor::rand([64, 784], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let (p_real, p_noise) = (report.gan.d_prob(&real).mean(None).double_value(&[]), report.gan.d_prob(&noise).mean(None).double_value(&[]));
    assert!(p_real > p_noise, "D(real) {p_real} <= D(noise) {p_noise}");
}

#[test]
fn a_seeded_cpu_run_is_bit_for_bit_reproducible() {
    let _serial = serial();
    let run = |seed| train_vanilla_gan(&cpu().with_steps(40).with_seed(seed)).unwrap();
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a.history.g_losses, b.history.g_losses);
    assert_eq!(a.history.d_losses, b.history.d_losses);
    assert_eq!(a.history.samples, b.history.samples);
    for (name, t) in a.gan.g_vs.variables() {
        assert!(t.equal(&b.gan.g_vs.variables()[&name]), "{name} differs between identical runs");
    }
    assert_ne!(a.history.g_losses, c.history.g_losses, "another seed, another run");
}

#[test]
fn minimax_loss_and_gaussian_latent_train_too() {
    let _serial = serial();
    let r = train_vanilla_gan(&cpu().with_steps(20).with_objective(Objective::Minimax).with_latent(LatentDist::Gaussian)).unwrap();
    // The minimax G loss is E[log(1 - D(G(z)))]: negative.
    assert!(r.history.g_losses.iter().all(|&g| g < 0.0 && g.is_finite()));
    assert_eq!(r.config.objective, Objective::Minimax);
}

#[test]
fn checkpoint_round_trip_restores_the_generator() {
    let _serial = serial();
    let r = train_vanilla_gan(&cpu().with_steps(10)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    r.gan.save(&path).unwrap();
    let z = r.gan.sample_latent(4);
    let before = r.gan.generate_from(&z).unwrap();
    let mut fresh = cpu().with_seed(999).build_gan(Device::Cpu);
    assert!(!fresh.generate_from(&z).unwrap().equal(&before));
    fresh.load(&path).unwrap();
    assert!(fresh.generate_from(&z).unwrap().equal(&before));
    // A checkpoint of another architecture is refused with the tensor named.
    let mut wide = cpu().with_widths(64, 64).build_gan(Device::Cpu);
    let untouched = wide.generate_from(&z).unwrap();
    let e = wide.load(&path).unwrap_err().to_string();
    assert!(e.contains("generator.fc1.bias") && e.contains("shape"), "{e}");
    assert!(wide.generate_from(&z).unwrap().equal(&untouched), "a refused checkpoint changes nothing");
    let e = fresh.load(dir.path().join("nope.safetensors")).unwrap_err().to_string();
    assert!(e.contains("nope.safetensors"), "{e}");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let _serial = serial();
    let e = train_vanilla_gan(&cpu().with_data_dir("/definitely/not/here")).unwrap_err().to_string();
    assert!(e.contains("/definitely/not/here"), "{e}");
    let e = train_vanilla_gan(&cpu().with_image_side(30)).unwrap_err().to_string();
    assert!(e.contains("image_side") && e.contains("28x28"), "{e}");
    // A run that diverges stops at the first non-finite number, naming the step and the quantity.
    let e = train_vanilla_gan(&cpu().with_steps(200).with_lr(1e30)).unwrap_err();
    match &e {
        Error::Diverged { step, quantity, value, .. } => assert!(*step < 200 && !quantity.is_empty() && !value.is_finite(), "{e}"),
        other => panic!("expected Diverged, got {other}"),
    }
    assert!(e.to_string().contains("diverged at step"), "{e}");
    let r = train_vanilla_gan(&cpu().with_steps(1)).unwrap();
    let e = r.gan.generate_from(&Tensor::zeros([2, 7], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
    assert!(e.contains("[2, 7]") && e.contains("100"), "{e}");
    assert!(r.gan.generate(0).is_err());
}

#[test]
fn figures_from_a_report() {
    let _serial = serial();
    let r = train_vanilla_gan(&cpu().with_steps(30)).unwrap();
    let losses = plot_losses(&r).unwrap();
    let img = image::load_from_memory(losses.png_bytes()).unwrap();
    assert_eq!((img.width(), img.height()), (800, 450));
    let grid = image_grid(&r.history.last_samples().unwrap().images, 4).unwrap();
    // 4 images of 28 px at scale 4 with 2 px padding (scaled): 4*112 + 5*8.
    assert_eq!((grid.width, grid.height), (488, 488));
    let row = image_grid(r.gan.generate(5).unwrap(), 5).unwrap();
    assert_eq!((row.width, row.height), (5 * 112 + 6 * 8, 112 + 16));
    assert!(losses.evcxr_content().starts_with("EVCXR_BEGIN_CONTENT image/png\n"));
    let dir = tempfile::tempdir().unwrap();
    losses.save(dir.path().join("l.svg")).unwrap();
    assert!(std::fs::read_to_string(dir.path().join("l.svg")).unwrap().starts_with("<svg"));
    assert!(losses.save(dir.path().join("l.jpg")).is_err());
    // Real digits too.
    let real = ImageBatch::from_image_set(&embedded().unwrap().train, 16).unwrap();
    assert_eq!(image_grid(&real, 4).unwrap().width, 488);
}
