//! Properties every attack must have, on a small LeNet trained here on the
//! embedded digits and on held-out test digits: ‖x_adv − x‖∞ ≤ ε (and the
//! budget is used), values stay in [0, 1], robust accuracy ≤ clean accuracy,
//! targeted attacks reach their target on most inputs, the patch only
//! touches its square; and the defenses' measured effects.
use gan_tutorial::attack::{evaluate_attack, train_patch, Attack, Bim, Fgsm, PatchConfig, Pgd, Target};
use gan_tutorial::classifier::{images_and_labels, train_classifier_on, Arch, Classifier, ClassifierConfig, TrainDefense};
use gan_tutorial::data::{embedded, MnistData};
use gan_tutorial::defense::{Defended, InputTransform, Tempered};
use tch::{Device, Kind, Tensor};

fn config() -> ClassifierConfig {
    ClassifierConfig::default().with_device("cpu").with_epochs(2).with_max_train(3000).with_seed(3)
}

fn setup(n_test: usize) -> (MnistData, Classifier, Tensor, Tensor) {
    let data = embedded().unwrap();
    let t = train_classifier_on(&config(), &data).unwrap();
    let (x, y) = images_and_labels(&data.test.take(n_test), Device::Cpu).unwrap();
    (data, t.model, x, y)
}

fn linf(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn every_attack_keeps_its_budget_and_the_pixel_range_and_lowers_accuracy() {
    let (_, model, x, y) = setup(200);
    let clean = gan_tutorial::classifier::accuracy(&model, &x, &y);
    assert!(clean > 0.85, "the test model is too weak: {clean}");
    for eps in [0.0, 0.05, 0.1, 0.2, 0.3] {
        let attacks: Vec<Box<dyn Attack>> = vec![
            Box::new(Fgsm::new(eps)),
            Box::new(Bim::new(eps, 5)),
            Box::new(Pgd::new(eps, 5).with_seed(1)),
            Box::new(Fgsm::new(eps).targeted(Target::Next)),
            Box::new(Bim::new(eps, 5).targeted(Target::Class(2))),
            Box::new(Pgd::new(eps, 5).with_seed(1).targeted(Target::Next)),
        ];
        for a in &attacks {
            let adv = a.perturb_seeded(&model, &x, &y, 9).unwrap();
            let what = format!("{} at eps {eps}", a.name());
            assert_eq!(adv.size(), vec![200, 1, 28, 28], "{what}");
            let d = linf(&adv, &x);
            // float32 arithmetic: (x + eps) - x may differ from eps by an ulp
            assert!(d <= eps + 1e-6, "{what}: ||x_adv - x||inf = {d} > eps");
            assert!(d >= eps - 1e-6, "{what}: the attack used only {d} of its budget {eps}");
            assert!(adv.min().double_value(&[]) >= 0.0 && adv.max().double_value(&[]) <= 1.0, "{what}: left [0, 1]");
            let o = gan_tutorial::attack::outcome(a.as_ref(), &model, &x, &adv, &y).unwrap();
            assert!((o.clean_accuracy - clean).abs() < 1e-12);
            if eps == 0.0 {
                assert_eq!(d, 0.0, "{what}: eps 0 must leave the images alone");
            } else if a.target() == Target::Untargeted {
                assert!(o.robust_accuracy < clean, "{what}: robust {} not below clean {clean}", o.robust_accuracy);
            }
            if eps == 0.3 && a.target() != Target::Untargeted && !a.name().starts_with("FGSM") {
                let s = o.target_success.unwrap();
                assert!(s > 0.6, "{what}: reached its target on only {s}");
            }
        }
    }
    // Stronger attacks do at least as well as weaker ones here (same eps).
    let acc = |a: &dyn Attack| evaluate_attack(a, &model, &model, &x, &y, 0).unwrap().robust_accuracy;
    let (f, p) = (acc(&Fgsm::new(0.1)), acc(&Pgd::new(0.1, 20)));
    assert!(p <= f, "PGD-20 {p} should not be weaker than FGSM {f}");
    // PGD's random start is seeded: same seed, same result; another seed, another start.
    let a = Pgd::new(0.1, 3).perturb_seeded(&model, &x, &y, 4).unwrap();
    assert_eq!(linf(&a, &Pgd::new(0.1, 3).perturb_seeded(&model, &x, &y, 4).unwrap()), 0.0);
    assert!(linf(&a, &Pgd::new(0.1, 3).perturb_seeded(&model, &x, &y, 5).unwrap()) > 0.0);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let model = Classifier::new(Arch::Mlp, Device::Cpu);
    let x = Tensor::rand([4, 1, 28, 28], (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&[1i64, 2, 3, 4]);
    let e = Fgsm::new(0.1).perturb(&model, &(&x * 255.0), &y).unwrap_err().to_string();
    assert!(e.contains("[0, 1]") && e.contains("255"), "{e}");
    let e = Fgsm::new(0.1).perturb(&model, &x, &Tensor::from_slice(&[1i64, 2])).unwrap_err().to_string();
    assert!(e.contains("[4] int64 labels"), "{e}");
    let e = Pgd::new(1.5, 3).perturb(&model, &x, &y).unwrap_err().to_string();
    assert!(e.contains("eps") && e.contains("1.5"), "{e}");
    let e = Bim::new(0.1, 0).perturb(&model, &x, &y).unwrap_err().to_string();
    assert!(e.contains("steps"), "{e}");
    let e = Fgsm::new(0.1).targeted(Target::Class(12)).perturb(&model, &x, &y).unwrap_err().to_string();
    assert!(e.contains("12"), "{e}");
    let e = Fgsm::new(0.1).perturb(&model, &Tensor::rand([4, 3, 32, 32], (Kind::Float, Device::Cpu)), &y).unwrap_err().to_string();
    assert!(e.contains("[4, 3, 32, 32]"), "{e}");
}

#[test]
fn the_patch_only_touches_its_square_and_beats_a_random_patch() {
    let (data, model, x, y) = setup(300);
    let (xp, _) = images_and_labels(&data.train.take(2000), Device::Cpu).unwrap();
    let cfg = PatchConfig { side: 10, target: 3, steps: 300, ..Default::default() };
    let patch = train_patch(&model, &xp, &cfg).unwrap();
    assert_eq!(patch.pixels.len(), 100);
    assert!(patch.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    let adv = patch.perturb_seeded(&model, &x, &y, 1).unwrap();
    assert!(adv.min().double_value(&[]) >= 0.0 && adv.max().double_value(&[]) <= 1.0);
    // Per image, the changed pixels fit in one 10x10 square.
    let changed = (&adv - &x).abs().gt(0.0).view([300, 28, 28]);
    for i in 0..300 {
        let nz = changed.get(i).nonzero(); // [k, 2] (row, col)
        if nz.size()[0] == 0 {
            continue;
        }
        let span = |c: i64| {
            let v = nz.select(1, c);
            v.max().int64_value(&[]) - v.min().int64_value(&[])
        };
        assert!(span(0) < 10 && span(1) < 10, "image {i}: changes span {}x{}", span(0) + 1, span(1) + 1);
    }
    let trained = evaluate_attack(&patch, &model, &model, &x, &y, 1).unwrap();
    let mut random = patch.clone();
    random.pixels.iter_mut().enumerate().for_each(|(i, p)| *p = ((i * 37) % 100) as f32 / 100.0);
    let control = evaluate_attack(&random, &model, &model, &x, &y, 1).unwrap();
    let (s, c) = (trained.target_success.unwrap(), control.target_success.unwrap());
    assert!(s > c + 0.15, "trained patch reaches class 3 on {s}, a random patch on {c}");
    assert!(trained.robust_accuracy < trained.clean_accuracy);
}

/// The classifier's logits alone, so that attacks and the patch differentiate it with autograd.
struct ThroughAutograd<'a>(&'a Classifier);
impl gan_tutorial::classifier::Model for ThroughAutograd<'_> {
    fn logits(&self, x: &Tensor) -> Tensor {
        gan_tutorial::classifier::Model::logits(self.0, x)
    }
    fn name(&self) -> String {
        "autograd".into()
    }
}

#[test]
fn the_patch_trained_through_the_hand_written_gradient_is_autograds() {
    // float64, so that Adam's steps see the same gradients: the LeNet's own input gradient
    // pulled back through the pasting against autograd through the whole model.
    let (data, mut model, _, _) = setup(1);
    model.to_double();
    let (xp, _) = images_and_labels(&data.train.take(500), Device::Cpu).unwrap();
    let xp = xp.to_kind(Kind::Double);
    let cfg = PatchConfig { side: 8, target: 5, steps: 40, ..Default::default() };
    let fast = train_patch(&model, &xp, &cfg).unwrap();
    let slow = train_patch(&ThroughAutograd(&model), &xp, &cfg).unwrap();
    let d = fast.pixels.iter().zip(&slow.pixels).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(d < 1e-5, "patches differ by {d}");
    assert!((fast.final_loss - slow.final_loss).abs() < 1e-6, "losses {} and {}", fast.final_loss, slow.final_loss);
    // And training did something: the patch moved from its random start.
    let start = train_patch(&model, &xp, &PatchConfig { steps: 1, ..cfg }).unwrap();
    let moved = fast.pixels.iter().zip(&start.pixels).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(moved > 0.1, "the patch hardly moved ({moved})");
}

#[test]
fn a_defended_lenets_gradient_is_autograds_through_the_transform() {
    use gan_tutorial::attack::objective_grad;
    let (data, mut model, _, _) = setup(1);
    let (x, y) = images_and_labels(&data.test.take(12), Device::Cpu).unwrap();
    let t = (&y + 4).remainder(10);
    for kind in [Kind::Float, Kind::Double] {
        if kind == Kind::Double {
            model.to_double();
        }
        let x = x.to_kind(kind);
        for transform in [InputTransform::GaussianBlur { sigma: 1.0 }, InputTransform::GaussianBlur { sigma: 0.7 }, InputTransform::Resize { side: 14 }] {
            let fast = Defended { model: &model, transform };
            let slow = Defended { model: &ThroughAutograd(&model), transform };
            for targets in [None, Some(&t)] {
                let (_, g_fast) = gan_tutorial::classifier::Model::input_gradient(&fast, &x, &y, targets).expect("the LeNet has its own gradient").unwrap();
                let g_slow = objective_grad(&slow, &x, &y, targets).unwrap();
                let scale = g_slow.abs().max().double_value(&[]);
                let d = (&g_fast - &g_slow).abs().max().double_value(&[]);
                let tol = if kind == Kind::Double { 1e-12 } else { 1e-5 };
                assert!(scale > 1e-8 && d <= tol * scale, "{kind:?} {transform:?}: differs from autograd by {d} (scale {scale})");
            }
        }
    }
    // A model without its own gradient behind a transform: autograd, as before.
    let plain = Defended { model: &ThroughAutograd(&model), transform: InputTransform::Resize { side: 14 } };
    assert!(gan_tutorial::classifier::Model::input_gradient(&plain, &x.to_kind(Kind::Double), &y, None).is_none());
}

#[test]
fn adversarial_training_raises_robust_accuracy_and_transforms_only_hide_gradients() {
    let data = embedded().unwrap();
    let (x, y) = images_and_labels(&data.test.take(300), Device::Cpu).unwrap();
    let plain = train_classifier_on(&config(), &data).unwrap().model;
    let eps = 0.1;
    let robust = train_classifier_on(&config().with_defense(TrainDefense::PgdTraining { eps, steps: 3 }), &data).unwrap().model;
    // Small budgets (2 epochs on 3,000 digits; PGD-3 inside training): the gain is clear against
    // FGSM and present against PGD-10 (3 epochs on all 9,003 digits: PGD-10 accuracy 74% vs 0.3%).
    let pgd = Pgd::new(eps, 10).with_seed(2);
    let fgsm = Fgsm::new(eps);
    let acc = |a: &dyn Attack, m: &Classifier| evaluate_attack(a, m, m, &x, &y, 0).unwrap();
    let (plain_pgd, robust_pgd) = (acc(&pgd, &plain), acc(&pgd, &robust));
    assert!(
        robust_pgd.robust_accuracy > plain_pgd.robust_accuracy + 0.05,
        "PGD training at eps {eps}: PGD-10 accuracy {} vs {} undefended",
        robust_pgd.robust_accuracy,
        plain_pgd.robust_accuracy
    );
    let (plain_fgsm, robust_fgsm) = (acc(&fgsm, &plain).robust_accuracy, acc(&fgsm, &robust).robust_accuracy);
    assert!(robust_fgsm > plain_fgsm + 0.2, "PGD training at eps {eps}: FGSM accuracy {robust_fgsm} vs {plain_fgsm} undefended");
    assert!(robust_pgd.clean_accuracy > 0.8, "clean accuracy of the robust model {}", robust_pgd.clean_accuracy);
    let fgsm_trained = train_classifier_on(&config().with_defense(TrainDefense::FgsmTraining { eps }), &data).unwrap().model;
    let b = acc(&fgsm, &fgsm_trained).robust_accuracy;
    assert!(b > plain_fgsm + 0.15, "FGSM training at eps {eps}: FGSM accuracy {b} vs {plain_fgsm} undefended");

    // A blur helps against an attacker who ignores it, and much less against one who attacks through it.
    let blurred = Defended { model: &plain, transform: InputTransform::GaussianBlur { sigma: 1.0 } };
    let pgd = Pgd::new(0.1, 10).with_seed(2);
    let unaware = evaluate_attack(&pgd, &plain, &blurred, &x, &y, 0).unwrap().robust_accuracy;
    let adaptive = evaluate_attack(&pgd, &blurred, &blurred, &x, &y, 0).unwrap().robust_accuracy;
    let bare = evaluate_attack(&pgd, &plain, &plain, &x, &y, 0).unwrap().robust_accuracy;
    assert!(unaware > bare + 0.2, "blur vs unaware attacker {unaware}, undefended {bare}");
    assert!(adaptive < unaware - 0.2, "adaptive attacker {adaptive} vs unaware {unaware}");
}

#[test]
fn distillation_masks_gradients_that_dividing_logits_by_t_restores() {
    let data = embedded().unwrap();
    let (x, y) = images_and_labels(&data.test.take(300), Device::Cpu).unwrap();
    let t = train_classifier_on(&config().with_defense(TrainDefense::Distillation { temperature: 20.0 }), &data).unwrap();
    assert!(t.history.teacher_test_accuracy.unwrap() > 0.8);
    let student = t.model;
    let fgsm = Fgsm::new(0.2);
    let naive = evaluate_attack(&fgsm, &student, &student, &x, &y, 0).unwrap();
    let tempered = Tempered { model: &student, temperature: 20.0 };
    let adaptive = evaluate_attack(&fgsm, &tempered, &student, &x, &y, 0).unwrap();
    assert!(naive.clean_accuracy > 0.8, "distilled student clean accuracy {}", naive.clean_accuracy);
    assert!(
        adaptive.robust_accuracy < naive.robust_accuracy,
        "attacking logits/T: {} should beat the naive attack's {}",
        adaptive.robust_accuracy,
        naive.robust_accuracy
    );
}
