//! Golden values: FGSM, BIM and PGD (untargeted and targeted) in this crate against the same attacks written
//! with PyTorch, on the same trained LeNet and digits. The reference, weights
//! included, is tests/golden/attack_reference.safetensors, written by
//! tests/golden/make_attack_reference.py (run it to see or redo every number).
//! Both sides compute in float64, so sign(∇) cannot flip on rounding and the
//! outputs agree to ~1e-12.
use gan_tutorial::attack::{Attack, Bim, Fgsm, Pgd, Target};
use gan_tutorial::classifier::{Arch, Classifier, Model};
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

fn reference() -> (Classifier, HashMap<String, Tensor>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/attack_reference.safetensors");
    let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&path).unwrap().into_iter().collect();
    let mut model = Classifier::load_arch(&path, Arch::LeNet, Device::Cpu).unwrap();
    model.to_double();
    (model, tensors)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

#[test]
fn logits_match_pytorch() {
    let (model, r) = reference();
    let logits = model.logits(&r["x"]);
    assert_eq!(logits.kind(), Kind::Double);
    let d = max_abs_diff(&logits, &r["logits"]);
    assert!(d < 1e-9, "logits differ from PyTorch's by {d}");
}

#[test]
fn fgsm_matches_pytorch() {
    let (model, r) = reference();
    let adv = Fgsm::new(0.1).perturb(&model, &r["x"], &r["y"]).unwrap();
    let d = max_abs_diff(&adv, &r["fgsm"]);
    assert!(d < 1e-9, "FGSM output differs from PyTorch's by {d}");
    // Not a trivial match: FGSM moved most pixels by exactly eps.
    let moved = (&adv - &r["x"]).abs().ge(0.1 - 1e-9).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
    assert!(moved > 0.3, "only {moved} of pixels moved by eps");
}

#[test]
fn targeted_fgsm_matches_pytorch() {
    let (model, r) = reference();
    let adv = Fgsm::new(0.1).targeted(Target::Next).perturb(&model, &r["x"], &r["y"]).unwrap();
    let d = max_abs_diff(&adv, &r["fgsm_targeted"]);
    assert!(d < 1e-9, "targeted FGSM output differs from PyTorch's by {d}");
    // Targeted FGSM descends the target's loss, so it is not the untargeted step.
    assert!(max_abs_diff(&adv, &r["fgsm"]) > 0.1, "targeted and untargeted FGSM agree");
}

#[test]
fn bim_matches_pytorch() {
    let (model, r) = reference();
    let adv = Bim::new(0.1, 5).with_step_size(0.025).perturb(&model, &r["x"], &r["y"]).unwrap();
    let d = max_abs_diff(&adv, &r["bim"]);
    assert!(d < 1e-9, "BIM output differs from PyTorch's by {d}");
    let targeted = Bim::new(0.2, 10).with_step_size(0.05).targeted(Target::Next);
    let adv_t = targeted.perturb(&model, &r["x"], &r["y"]).unwrap();
    let d = max_abs_diff(&adv_t, &r["bim_targeted"]);
    assert!(d < 1e-9, "targeted BIM output differs from PyTorch's by {d}");
    // BIM starts at x, PGD at x + delta0: same iteration, other results.
    assert!(max_abs_diff(&adv, &r["pgd"]) > 1e-3, "BIM equals PGD from a random start");
    let linf = (&adv - &r["x"]).abs().max().double_value(&[]);
    assert!(linf <= 0.1 + 1e-12 && linf > 0.09, "BIM moved pixels by at most {linf}");
}

#[test]
fn pgd_matches_pytorch_from_the_same_random_start() {
    let (model, r) = reference();
    let pgd = Pgd::new(0.1, 5).with_step_size(0.025);
    let adv = pgd.perturb_from(&model, &r["x"], &r["y"], &r["delta0"]).unwrap();
    let d = max_abs_diff(&adv, &r["pgd"]);
    assert!(d < 1e-9, "PGD output differs from PyTorch's by {d}");
    let targeted = Pgd::new(0.2, 10).with_step_size(0.05).targeted(Target::Next);
    let adv = targeted.perturb_from(&model, &r["x"], &r["y"], &(&r["delta0"] * 2.0)).unwrap();
    let d = max_abs_diff(&adv, &r["pgd_targeted"]);
    assert!(d < 1e-9, "targeted PGD output differs from PyTorch's by {d}");
    // And the attack did something: the model's predictions changed.
    let before = model.logits(&r["x"]).argmax(-1, false);
    let after = model.logits(&adv).argmax(-1, false);
    let changed = before.ne_tensor(&after).sum(Kind::Int64).int64_value(&[]);
    let hit = after.eq_tensor(&((&r["y"] + 1).remainder(10))).sum(Kind::Int64).int64_value(&[]);
    assert!(changed >= 3 && hit >= 4, "{changed} of 8 predictions changed, {hit} reached y+1");
}
