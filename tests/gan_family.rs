//! The GAN family end to end. libtorch's random generator is global to the
//! process, so the runs compared here for exact equality are in one test
//! (integration tests run in their own process, and this one alone in it).
use gan_tutorial::gan::{resume_gan, train_gan, GanConfig, Objective, Variant};

fn tiny(v: Variant) -> GanConfig {
    let mut c = GanConfig::variant(v).with_widths(8, 8).with_batch_size(16).with_max_train(64).with_device("cpu").with_print_every(0).with_fixed_samples(4);
    c.net.latent_dim = 8;
    c.n_dis = 2;
    c
}

#[test]
fn same_seed_same_run_and_resume_from_a_checkpoint_is_exact() {
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
        assert!(ck.join("checkpoint.safetensors").is_file() && ck.join("checkpoint.json").is_file());
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
        // Another objective, or fewer steps than done, cannot resume it.
        let e = resume_gan(&c.clone().with_objective(Objective::LeastSquares), &ck).unwrap_err().to_string();
        assert!(e.contains("objective"), "{e}");
        let e = resume_gan(&tiny(v).with_steps(2), &ck).unwrap_err().to_string();
        assert!(e.contains("step 3"), "{e}");
    }
    // A missing checkpoint is a clear error.
    let e = resume_gan(&tiny(Variant::Dcgan).with_steps(4), dir.path().join("nothing")).unwrap_err().to_string();
    assert!(e.contains("checkpoint.json"), "{e}");
}
