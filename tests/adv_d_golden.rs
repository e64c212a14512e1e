//! Golden values: adversarial training of the discriminator (issue 16), the
//! crate's FGSM and DAT on D's inputs (`gan::adv_d`, through `update_d`)
//! against the same methods written with PyTorch from their description, on
//! the same small MLP discriminator and batches. The reference, weights
//! included, is tests/golden/adv_d_reference.safetensors, written by
//! tests/golden/make_adv_d_reference.py (run it to see or redo every number).
//! Both sides compute in float64, so sign(∇) cannot flip on rounding.
use gan_tutorial::gan::adv_d::attack_d_inputs;
use gan_tutorial::gan::{update_d, DAttack, DatSettings, FgsmSettings, Gan, GanConfig, Objective, StepAt, Variant};
use gan_tutorial::optim::Optimizer;
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

const TOL: f64 = 1e-9;

fn reference() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/adv_d_reference.safetensors");
    Tensor::read_safetensors(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())).into_iter().collect()
}

fn get<'a>(r: &'a HashMap<String, Tensor>, key: &str) -> &'a Tensor {
    r.get(key).unwrap_or_else(|| panic!("the reference has no `{key}`"))
}

/// The script's D: the MLP discriminator on 8x8 images, width 16,
/// LeakyReLU(0.2), no dropout, BCE (non-saturating), with `attack`; in
/// float64, with the reference's weights.
fn setup(r: &HashMap<String, Tensor>, attack: DAttack) -> (GanConfig, Gan) {
    let mut c = GanConfig::variant(Variant::Vanilla).with_image_side(8).with_widths(8, 16).with_objective(Objective::NonSaturating).with_d_attack(attack);
    (c.net.dropout, c.net.leaky_slope, c.net.latent_dim) = (0.0, 0.2, 4);
    c.validate().unwrap();
    let mut gan = c.build_gan(Device::Cpu);
    gan.d_vs.double();
    let vars = gan.d_vs.variables();
    assert_eq!(vars.len(), 4, "{:?}", vars.keys());
    tch::no_grad(|| {
        for (name, v) in &vars {
            let src = get(r, &format!("d.{name}"));
            assert_eq!(v.size(), src.size(), "{name}");
            let mut v = v.shallow_clone();
            v.copy_(src);
        }
    });
    (c, gan)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    assert_eq!(a.kind(), Kind::Double, "not computed in float64");
    (a - b).abs().max().double_value(&[])
}

/// FGSM on every step from the start (probability 1, start 0), eps 0.02.
fn fgsm() -> DAttack {
    DAttack::Fgsm(FgsmSettings { eps: 0.02, probability: 1.0, start_fraction: 0.0, ..Default::default() })
}

fn dat(t: f64, clamp_first: bool) -> DAttack {
    DAttack::Dat(DatSettings { t, clamp_first })
}

/// The moved (real, fake) of `attack`, with the plain targets 1 and 0.
fn moved(r: &HashMap<String, Tensor>, attack: DAttack) -> (Tensor, Tensor, bool) {
    let (c, gan) = setup(r, attack);
    let (real, fake) = (get(r, "real"), get(r, "fake"));
    let n = real.size()[0];
    let (ones, zeros) = (Tensor::ones([n, 1], (Kind::Float, Device::Cpu)), Tensor::zeros([n, 1], (Kind::Float, Device::Cpu)));
    let m = attack_d_inputs(&gan, &c, real, fake, None, (&ones, &zeros), StepAt::new(0, 10)).unwrap();
    // The input gradients left D's parameter gradients alone.
    for (name, v) in gan.d_vs.variables() {
        assert!(!v.grad().defined(), "the attack left a gradient on D's `{name}`");
    }
    (m.real, m.fake, m.attacked)
}

/// One D step under `attack`: its loss and D's parameter gradients against the reference's `key`.
fn check_d_step(r: &HashMap<String, Tensor>, attack: DAttack, key: &str) {
    let (c, gan) = setup(r, attack);
    let mut opt = Optimizer::new(&gan.d_vs, c.optimizer_d, c.lr_d).unwrap();
    let d = update_d(&gan, &mut opt, &c, get(r, "real"), get(r, "fake"), None, StepAt::new(0, 10)).unwrap();
    assert!(d.attacked, "{key}: the step was not attacked");
    let (ours, theirs) = (d.loss.double_value(&[]), get(r, &format!("{key}.loss")).double_value(&[0]));
    assert!((ours - theirs).abs() < TOL, "{key}: D loss {ours}, PyTorch's {theirs}");
    for (name, v) in gan.d_vs.variables() {
        let diff = max_abs_diff(&v.grad(), get(r, &format!("{key}.grad.{name}")));
        assert!(diff < TOL, "{key}: D's gradient of `{name}` differs from PyTorch's by {diff}");
    }
}

#[test]
fn fgsm_moves_reals_and_fakes_as_pytorch() {
    let r = reference();
    let (real, fake, attacked) = moved(&r, fgsm());
    assert!(attacked);
    for (ours, key, x) in [(&real, "fgsm.real", "real"), (&fake, "fgsm.fake", "fake")] {
        let d = max_abs_diff(ours, get(&r, key));
        assert!(d < TOL, "{key} differs from PyTorch's by {d}");
        // Inside the image range, at most eps from where it was, most pixels moved by eps.
        let step = (ours - get(&r, x)).abs();
        assert!(step.max().double_value(&[]) <= 0.02 + 1e-12 && ours.abs().max().double_value(&[]) <= 1.0, "{key}");
        let by_eps = step.ge(0.02 - 1e-12).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        assert!(by_eps > 0.5, "{key}: only {by_eps} of pixels moved by eps");
    }
}

#[test]
fn dat_moves_reals_and_fakes_as_pytorch_in_both_orders() {
    let r = reference();
    for (attack, key) in [(dat(1.0, false), "dat"), (dat(1.0, true), "dat_clamp_first"), (dat(0.005, false), "dat_t")] {
        let (real, fake, attacked) = moved(&r, attack);
        assert!(attacked, "{key}");
        for (ours, part) in [(&real, "real"), (&fake, "fake")] {
            let d = max_abs_diff(ours, get(&r, &format!("{key}.{part}")));
            assert!(d < TOL, "{key}.{part} differs from PyTorch's by {d}");
        }
    }
    // Not trivial: the authors' order scores reals outside [-1, 1], clamp-first does not.
    assert!(get(&r, "dat.real").abs().max().double_value(&[]) > 1.0);
    assert!(get(&r, "dat_clamp_first.real").abs().max().double_value(&[]) <= 1.0);
    assert!(get(&r, "dat.fake").abs().max().double_value(&[]) <= 1.0);
}

#[test]
fn one_attacked_d_step_matches_pytorch() {
    let r = reference();
    check_d_step(&r, fgsm(), "fgsm");
    check_d_step(&r, dat(1.0, false), "dat");
    check_d_step(&r, dat(1.0, true), "dat_clamp_first");
    // The clamp order changes D's step.
    let (a, b) = (get(&r, "dat.loss").double_value(&[0]), get(&r, "dat_clamp_first.loss").double_value(&[0]));
    assert!((a - b).abs() > 1e-6, "{a} {b}");
}
