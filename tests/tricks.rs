//! The training tricks of issue 15 as settings of the one trainer: each
//! trains, each does what its paper says, each is off by default, and a run
//! with them resumes exactly. libtorch's random generator is global to the
//! process, so the tests of this file take turns.
use gan_tutorial::gan::{resume_gan, train_gan, update_d, update_g, DNorm, Downsample, GActivation, GanConfig, NetArch, StepAt, StepOrder, Upsample, Variant};
use gan_tutorial::optim::Optimizer;
use std::sync::Mutex;
use tch::{Device, Kind, Tensor};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// DCGAN at widths 8, batch 8, 4 iterations, on the CPU.
fn tiny() -> GanConfig {
    let mut c = GanConfig::variant(Variant::Dcgan).with_widths(8, 8).with_batch_size(8).with_max_train(32).with_steps(4).with_device("cpu").with_print_every(0).with_fixed_samples(4);
    c.net.latent_dim = 8;
    c
}

fn all_finite(r: &gan_tutorial::gan::GanReport, what: &str) {
    for (name, xs) in [("d_loss", &r.history.d_losses), ("g_loss", &r.history.g_losses), ("d_grad", &r.extras.d_grad_norms), ("g_grad", &r.extras.g_grad_norms)] {
        assert!(!xs.is_empty() && xs.iter().all(|x| x.is_finite()), "{what}: {name} {xs:?}");
    }
}

#[test]
fn every_trick_trains_a_tiny_net_with_finite_numbers_and_changes_the_run() {
    let _turn = turn();
    let base = train_gan(&tiny()).unwrap();
    all_finite(&base, "baseline");
    let runs: Vec<(&str, GanConfig)> = vec![
        ("soft labels", tiny().with_soft_labels()),
        ("leaky G", tiny().with_g_activation(GActivation::LeakyRelu(0.2))),
        ("instance norm", tiny().with_d_norm(DNorm::Instance)),
        ("feature matching", tiny().with_feature_matching()),
        ("minibatch discrimination", tiny().with_minibatch_discrimination(4, 3)),
        ("average pooling", tiny().with_d_downsample(Downsample::AvgPool)),
        ("pixel shuffle", tiny().with_g_upsample(Upsample::PixelShuffle)),
        ("loss balance", tiny().with_loss_balance(10.0, 2)),
        ("historical averaging", tiny().with_historical_averaging(0.5)),
        ("virtual batch norm", tiny().with_virtual_batch_norm(16)),
        ("variance check", tiny().with_d_loss_variance_check(1e-9)),
    ];
    for (what, c) in runs {
        c.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
        let r = train_gan(&c).unwrap_or_else(|e| panic!("{what}: {e}"));
        all_finite(&r, what);
        let text = c.to_string();
        assert_ne!(text, tiny().to_string(), "{what}: the config table does not show it");
        if what == "variance check" {
            // A check changes no number; with a window of 20 > 4 steps it cannot fire either.
            assert_eq!(r.history.d_losses, base.history.d_losses, "{what}");
        } else {
            assert_ne!((&r.history.d_losses, &r.history.g_losses), (&base.history.d_losses, &base.history.g_losses), "{what} changed nothing");
        }
    }
}

#[test]
fn feature_matchings_g_loss_is_the_formula_on_ds_features() {
    let _turn = turn();
    let c = tiny().with_feature_matching();
    let gan = c.build_gan(Device::Cpu);
    let mut d_opt = Optimizer::new(&gan.d_vs, c.optimizer_d, c.lr_d).unwrap();
    let mut g_opt = Optimizer::new(&gan.g_vs, c.optimizer_g, c.lr_g).unwrap();
    tch::manual_seed(11);
    let real = Tensor::rand([8, 784], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let z = gan.sample_latent(8);
    let fake = tch::no_grad(|| gan.generator.forward_t(&z, true));
    let mean0 = |t: &Tensor| t.mean_dim([0i64].as_slice(), false, Kind::Float);
    // D's features on the real batch, before its step: what the step keeps as G's target.
    let phi_real = tch::no_grad(|| gan.discriminator.forward_cond_t(&real, None, true).features.unwrap());
    update_d(&gan, &mut d_opt, &c, &real, &fake, None, StepAt::new(0, 4)).unwrap();
    let target = gan.d_vs.variables()["feature_target"].shallow_clone();
    assert!((&target - mean0(&phi_real)).abs().max().double_value(&[]) < 1e-6, "the target is mean φ(x_real)");
    // By hand, on the same features G's step will see: ‖mean φ(x_real) − mean φ(G(z))‖².
    let z = gan.sample_latent(8);
    let by_hand = tch::no_grad(|| {
        let phi_fake = gan.discriminator.forward_cond_t(&gan.generator.forward_t(&z, true), None, true).features.unwrap();
        (&target - mean0(&phi_fake)).square().sum(Kind::Double).double_value(&[])
    });
    let g = update_g(&gan, &mut g_opt, &c, &z, None, StepAt::new(0, 4)).unwrap();
    let loss = g.loss.double_value(&[]);
    assert!((loss - by_hand).abs() <= 1e-6 * by_hand.max(1.0), "G loss {loss}, by hand {by_hand}");
    assert!(by_hand > 0.0);
    // The objective's G loss is something else.
    let plain = tiny();
    let ns = tch::no_grad(|| plain.objective.g_loss(&gan.discriminator.forward_t(&gan.generator.forward_t(&z, true), true)).double_value(&[]));
    assert!((ns - loss).abs() > 1e-3, "{ns} {loss}");
}

#[test]
fn historical_averaging_is_zero_at_step_0_and_resumes_exactly() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let base = train_gan(&tiny()).unwrap();
    let c = tiny().with_historical_averaging(0.5).with_steps(8);
    let whole = train_gan(&c).unwrap();
    // Step 0: θ̄ = θ, no penalty and no gradient from it: the plain run's numbers.
    assert_eq!(whole.history.d_losses[0], base.history.d_losses[0]);
    assert_eq!(whole.history.g_losses[0], base.history.g_losses[0]);
    assert_ne!(whole.history.d_losses[1..4], base.history.d_losses[1..4]);
    // Stop at step 4, resume to 8: the uninterrupted run's numbers, exactly.
    let ck = dir.path().join("hist");
    train_gan(&c.clone().with_steps(4).with_checkpoints(&ck, 0)).unwrap();
    let resumed = resume_gan(&c, &ck).unwrap();
    assert_eq!(resumed.history.d_losses, whole.history.d_losses);
    assert_eq!(resumed.history.g_losses, whole.history.g_losses);
    assert_eq!(resumed.extras, whole.extras);
    // The same for the other settings that carry state or draw (soft labels, minibatch features, the balance).
    for (what, c) in [
        ("soft labels", tiny().with_soft_labels().with_steps(8)),
        ("feature matching", tiny().with_feature_matching().with_minibatch_discrimination(4, 3).with_steps(8)),
        ("balance", tiny().with_loss_balance(10.0, 2).with_steps(8)),
        ("virtual batch norm", tiny().with_virtual_batch_norm(16).with_steps(8)),
    ] {
        let whole = train_gan(&c).unwrap();
        let ck = dir.path().join(what);
        train_gan(&c.clone().with_steps(4).with_checkpoints(&ck, 0)).unwrap();
        let resumed = resume_gan(&c, &ck).unwrap();
        assert_eq!((&resumed.history.d_losses, &resumed.history.g_losses), (&whole.history.d_losses, &whole.history.g_losses), "{what}");
    }
}

#[test]
fn virtual_batch_norm_makes_a_samples_image_independent_of_its_batch() {
    let _turn = turn();
    let c = tiny().with_virtual_batch_norm(16);
    let gan = c.build_gan(Device::Cpu);
    let z = gan.sample_latent(6);
    let batch = gan.generator.forward_t(&z, true);
    let alone = gan.generator.forward_t(&z.narrow(0, 2, 1), true);
    assert!((batch.narrow(0, 2, 1) - &alone).abs().max().double_value(&[]) < 1e-5, "VBN: the sample's image is its own");
    assert_eq!(batch.size(), vec![6, 784]);
    // Batch norm's is not: it normalises with the batch's statistics.
    let bn = tiny().build_gan(Device::Cpu);
    let z = bn.sample_latent(6);
    let diff = (bn.generator.forward_t(&z, true).narrow(0, 2, 1) - bn.generator.forward_t(&z.narrow(0, 2, 1).repeat([2, 1]), true).narrow(0, 0, 1)).abs().max().double_value(&[]);
    assert!(diff > 1e-4, "{diff}");
    // The reference codes come from the seed alone, and differ between seeds.
    let reference = |c: &GanConfig| c.build_gan(Device::Cpu).g_vs.variables()["vbn_reference"].shallow_clone();
    assert!(reference(&c).equal(&reference(&c)));
    assert!(!reference(&c).equal(&reference(&c.clone().with_seed(9))));
    assert_eq!(reference(&c).size(), vec![16, 8]);
    assert!(c.to_string().contains("virtual batch norm"), "{c}");
    let e = GanConfig::variant(Variant::Cgan).with_virtual_batch_norm(16).validate().unwrap_err().to_string();
    assert!(e.contains("net.g_norm"), "{e}");
}

#[test]
fn soft_label_runs_repeat_under_one_seed_and_differ_under_another() {
    let _turn = turn();
    let c = tiny().with_soft_labels();
    let a = train_gan(&c).unwrap();
    let b = train_gan(&c).unwrap();
    assert_eq!(a.history.d_losses, b.history.d_losses);
    let other = train_gan(&c.clone().with_seed(5)).unwrap();
    assert_ne!(a.history.d_losses, other.history.d_losses);
    // Refused beside one-sided smoothing and on objectives without labels.
    let e = c.clone().with_label_smoothing(0.1).validate().unwrap_err().to_string();
    assert!(e.contains("tips.soft_labels") && e.contains("label_smoothing"), "{e}");
    let e = GanConfig::variant(Variant::Wgan).with_soft_labels().validate().unwrap_err().to_string();
    assert!(e.contains("tips.soft_labels"), "{e}");
}

#[test]
fn pooling_and_pixel_shuffle_nets_keep_the_output_sides() {
    let _turn = turn();
    tch::manual_seed(0);
    for side in [28, 32] {
        for (down, up) in [(Downsample::AvgPool, Upsample::Transposed), (Downsample::Strided, Upsample::PixelShuffle), (Downsample::AvgPool, Upsample::PixelShuffle)] {
            for channels in [1, 3] {
                let mut c = tiny().with_image_side(side).with_d_downsample(down).with_g_upsample(up).with_minibatch_discrimination(2, 2);
                c.net.channels = channels;
                c.validate().unwrap();
                let gan = c.build_gan(Device::Cpu);
                let x = gan.generator.forward_t(&gan.sample_latent(5), true);
                assert_eq!(x.size(), vec![5, channels * side * side], "{side} {down:?} {up:?}");
                let out = gan.discriminator.forward_cond_t(&x, None, true);
                assert_eq!(out.logits.size(), vec![5, 1], "{side} {down:?} {up:?}");
                let text = format!("{}\n{}", gan.generator, gan.discriminator);
                let want_g = if up == Upsample::PixelShuffle { "PixelShuffle" } else { "ConvT 4x4/2" };
                let want_d = if down == Downsample::AvgPool { "AvgPool 2x2" } else { "Conv 4x4/2" };
                assert!(text.contains(want_g) && text.contains(want_d) && text.contains("minibatch discrimination"), "{text}");
            }
        }
    }
    // Average pooling replaces DCGAN D's strided convolutions only; the MLP has neither.
    let e = tiny().with_arch(NetArch::SnCnn).with_image_side(32).with_d_downsample(Downsample::AvgPool).validate().unwrap_err().to_string();
    assert!(e.contains("net.d_downsample"), "{e}");
    let e = GanConfig::variant(Variant::Vanilla).with_g_upsample(Upsample::PixelShuffle).validate().unwrap_err().to_string();
    assert!(e.contains("net.g_upsample"), "{e}");
    let e = GanConfig::variant(Variant::Vanilla).with_d_norm(DNorm::Instance).validate().unwrap_err().to_string();
    assert!(e.contains("net.d_norm") && e.contains("instance norm"), "{e}");
    let e = tiny().with_minibatch_discrimination(4, 0).validate().unwrap_err().to_string();
    assert!(e.contains("net.minibatch"), "{e}");
    let e = tiny().with_g_activation(GActivation::LeakyRelu(1.5)).validate().unwrap_err().to_string();
    assert!(e.contains("net.g_activation"), "{e}");
}

#[test]
fn old_config_files_without_the_new_fields_load_as_all_off() {
    // A config.json written before the tricks: no `tricks`, no new `net` fields, no `soft_labels`, no `d_loss_var_max`.
    let mut v = serde_json::to_value(GanConfig::variant(Variant::Dcgan)).unwrap();
    let o = v.as_object_mut().unwrap();
    assert!(o.remove("tricks").is_some());
    for k in ["g_activation", "d_downsample", "g_upsample", "minibatch", "g_norm"] {
        assert!(o["net"].as_object_mut().unwrap().remove(k).is_some(), "{k}");
    }
    assert!(o["tips"].as_object_mut().unwrap().remove("soft_labels").is_some());
    assert!(o["checks"].as_object_mut().unwrap().remove("d_loss_var_max").is_some());
    let old = serde_json::json!({"config": v, "runtime": {}}).to_string();
    let c = GanConfig::from_json_over_preset(Variant::Dcgan, &old).unwrap();
    assert_eq!(c, GanConfig::variant(Variant::Dcgan));
    let bare: GanConfig = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(bare, GanConfig::variant(Variant::Dcgan));
    assert_eq!(bare.to_string(), GanConfig::variant(Variant::Dcgan).to_string(), "nothing new is shown when all is off");
    // The new settings round-trip.
    let on = tiny().with_virtual_batch_norm(8).with_soft_labels().with_g_activation(GActivation::LeakyRelu(0.2)).with_d_norm(DNorm::Instance).with_feature_matching().with_minibatch_discrimination(4, 3).with_d_downsample(Downsample::AvgPool).with_g_upsample(Upsample::PixelShuffle).with_historical_averaging(0.1).with_d_loss_variance_check(0.5);
    let json = serde_json::to_string(&on).unwrap();
    assert_eq!(serde_json::from_str::<GanConfig>(&json).unwrap(), on);
    let balanced = tiny().with_loss_balance(0.3, 5);
    assert!(balanced.to_string().contains("ganhacks #7"), "{balanced}");
    assert_eq!(serde_json::from_str::<GanConfig>(&serde_json::to_string(&balanced).unwrap()).unwrap(), balanced);
    assert_eq!(tiny().with_feature_matching().with_step_order(StepOrder::GFirst).validate().unwrap_err().to_string().contains("d-first"), true);
}
