//! Golden values: 50 steps of the course tutorial's vanilla GAN loop, run by
//! this crate's one trainer step by step (`update_g`, then `update_d` on the
//! same fakes) against the same loop written with PyTorch, from the same
//! initial weights, codes and real digits. The reference is
//! tests/golden/vanilla_reference.safetensors, written by
//! tests/golden/make_vanilla_reference.py (run it to see or redo every number;
//! its header says what differs from the tutorial and why: float64, dropout 0,
//! batches of 16).
//!
//! Both sides compute in float64: a mathematically equal but differently
//! rounded PyTorch loop (BCE on logits, real and fake in one batch) stays
//! within ~2e-15 of the reference after 50 steps, while taking the D step
//! before the G step changes the losses by ~0.4, so 1e-9 separates "the same
//! algorithm" from "another one" by many orders of magnitude.
use gan_tutorial::data::embedded;
use gan_tutorial::gan::{update_d, update_g, StepAt, Conditioning, DNorm, Gan, GanConfig, LatentDist, NetArch, Objective, Tips, Variant};
use gan_tutorial::optim::{Optimizer, OptimizerKind};
use std::collections::HashMap;
use std::path::Path;
use tch::{nn, Kind, Tensor};

const STEPS: usize = 50;
const BATCH: i64 = 16;
/// Two-sided tolerance: |ours − PyTorch's| <= ATOL + RTOL·|PyTorch's|.
const ATOL: f64 = 1e-9;
const RTOL: f64 = 1e-9;

fn reference() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/vanilla_reference.safetensors");
    Tensor::read_safetensors(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())).into_iter().collect()
}

fn get<'a>(r: &'a HashMap<String, Tensor>, key: &str) -> &'a Tensor {
    r.get(key).unwrap_or_else(|| panic!("the reference has no `{key}`"))
}

/// The one number in `t` (a scalar or a one-element tensor).
fn scalar(t: &Tensor, what: &str) -> f64 {
    assert_eq!(t.numel(), 1, "{what} has shape {:?}, expected one number", t.size());
    t.reshape([-1]).double_value(&[0])
}

/// Copies `{prefix}.{name}` of the reference into every variable of `vs`, by
/// name; fails on a missing name, a shape mismatch, or a reference tensor no
/// variable took.
fn load_by_name(vs: &nn::VarStore, r: &HashMap<String, Tensor>, prefix: &str) {
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    tch::no_grad(|| {
        for name in &names {
            let key = format!("{prefix}.{name}");
            let src = r.get(&key).unwrap_or_else(|| panic!("variable `{name}` has no `{key}` in the reference (reference names: {:?})", ref_names(r, prefix)));
            let mut dst = vars[*name].shallow_clone();
            assert_eq!(dst.size(), src.size(), "`{name}` has shape {:?}, the reference's `{key}` {:?}", dst.size(), src.size());
            assert_eq!(dst.kind(), Kind::Double, "`{name}` is {:?}: convert the VarStore to f64 first", dst.kind());
            dst.copy_(&src.to_kind(Kind::Double));
        }
    });
    let unused: Vec<String> = ref_names(r, prefix).into_iter().filter(|k| !vars.contains_key(k)).collect();
    assert!(unused.is_empty(), "reference tensors under `{prefix}` with no variable of that name: {unused:?} (variables: {names:?})");
}

fn ref_names(r: &HashMap<String, Tensor>, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = r.keys().filter_map(|k| k.strip_prefix(&format!("{prefix}.")).map(str::to_string)).collect();
    v.sort();
    v
}

/// The tutorial preset with dropout 0 (see the Python script), in float64,
/// from the reference's initial weights, with one optimiser per network.
fn setup(r: &HashMap<String, Tensor>) -> (GanConfig, Gan, Optimizer, Optimizer) {
    let mut cfg = GanConfig::variant(Variant::Vanilla);
    cfg.net.dropout = 0.0;
    let mut gan = cfg.build_gan(tch::Device::Cpu);
    gan.g_vs.double();
    gan.d_vs.double();
    load_by_name(&gan.g_vs, r, "init.g");
    load_by_name(&gan.d_vs, r, "init.d");
    let g_opt = Optimizer::new(&gan.g_vs, cfg.optimizer_g, cfg.lr_g).unwrap();
    let d_opt = Optimizer::new(&gan.d_vs, cfg.optimizer_d, cfg.lr_d).unwrap();
    (cfg, gan, g_opt, d_opt)
}

/// Step `i`'s real digits, `[16, 784]` in [-1, 1], as the Python script makes
/// them (byte / 127.5 − 1 in float64), checked against the stored batch sum.
fn real_batches(r: &HashMap<String, Tensor>) -> Vec<Tensor> {
    let train = embedded().unwrap().train;
    let index = get(r, "real_index");
    assert_eq!(index.size(), [STEPS as i64, BATCH]);
    let sums = get(r, "real_sum");
    (0..STEPS)
        .map(|i| {
            let mut bytes = Vec::new();
            for j in 0..BATCH {
                let k = index.int64_value(&[i as i64, j]);
                assert!(k >= 0 && (k as usize) < train.len(), "real_index[{i}][{j}] = {k} is outside the {} embedded digits", train.len());
                bytes.extend_from_slice(train.image(k as usize));
            }
            let x = Tensor::from_slice(&bytes).view([BATCH, 784]).to_kind(Kind::Double) / 127.5 - 1.0;
            let (ours, theirs) = (x.sum(Kind::Double).double_value(&[]), sums.double_value(&[i as i64]));
            assert!((ours - theirs).abs() <= 1e-9 * (1.0 + theirs.abs()), "batch {i}: sum {ours}, the reference's {theirs}: not the same digits");
            x
        })
        .collect()
}

fn codes(r: &HashMap<String, Tensor>) -> Vec<Tensor> {
    let z = get(r, "z");
    assert_eq!(z.size(), [STEPS as i64, BATCH, 100]);
    (0..STEPS).map(|i| z.get(i as i64).to_kind(Kind::Double)).collect()
}

#[derive(Debug, Default)]
struct Trace {
    g_loss: Vec<f64>,
    d_loss: Vec<f64>,
    d_real: Vec<f64>,
    d_fake: Vec<f64>,
}

impl Trace {
    fn push(&mut self, g: &gan_tutorial::gan::GStep, d: &gan_tutorial::gan::DStep) {
        for (t, what) in [(&g.loss, "g loss"), (&d.loss, "d loss"), (&d.real_score, "D(real)"), (&d.fake_score, "D(fake)")] {
            assert_eq!(t.kind(), Kind::Double, "{what} is {:?}: the step did not run in float64", t.kind());
        }
        self.g_loss.push(scalar(&g.loss, "g loss"));
        self.d_loss.push(scalar(&d.loss, "d loss"));
        // Scores: D's probabilities, one per sample or already averaged.
        self.d_real.push(d.real_score.mean(Kind::Double).double_value(&[]));
        self.d_fake.push(d.fake_score.mean(Kind::Double).double_value(&[]));
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// The tutorial: G step, then D step on the G step's fakes.
    GFirst,
    /// The usual other order: D step on fresh fakes, then G step.
    DFirst,
}

fn run(order: Order) -> (Gan, Trace, HashMap<String, Tensor>) {
    let r = reference();
    let (cfg, gan, mut g_opt, mut d_opt) = setup(&r);
    let (reals, zs) = (real_batches(&r), codes(&r));
    let mut trace = Trace::default();
    for (i, (real, z)) in reals.iter().zip(&zs).enumerate() {
        match order {
            Order::GFirst => {
                let g = update_g(&gan, &mut g_opt, &cfg, z, None, StepAt::new(i, STEPS)).unwrap();
                assert_eq!(g.fake.size(), [BATCH, 784]);
                assert!(!g.fake.requires_grad(), "GStep::fake must be detached");
                let d = update_d(&gan, &mut d_opt, &cfg, real, &g.fake, None, StepAt::new(i, STEPS)).unwrap();
                trace.push(&g, &d);
            }
            Order::DFirst => {
                let fake = tch::no_grad(|| gan.generator.forward_t(z, true));
                let d = update_d(&gan, &mut d_opt, &cfg, real, &fake, None, StepAt::new(i, STEPS)).unwrap();
                let g = update_g(&gan, &mut g_opt, &cfg, z, None, StepAt::new(i, STEPS)).unwrap();
                trace.push(&g, &d);
            }
        }
    }
    (gan, trace, r)
}

/// Largest |ours − theirs|, after asserting each is within tolerance.
fn assert_close_series(ours: &[f64], r: &HashMap<String, Tensor>, key: &str) -> f64 {
    let theirs = get(r, key);
    assert_eq!(theirs.size(), [STEPS as i64], "`{key}`");
    assert_eq!(ours.len(), STEPS);
    let mut worst = 0.0f64;
    for (i, &a) in ours.iter().enumerate() {
        let b = theirs.double_value(&[i as i64]);
        let d = (a - b).abs();
        assert!(d <= ATOL + RTOL * b.abs(), "{key} at step {i}: ours {a}, PyTorch's {b} (differ by {d:e})");
        worst = worst.max(d);
    }
    worst
}

/// Compares every variable of `vs` with `{prefix}.{name}`; returns the largest
/// absolute difference and the largest change from the initial weights.
fn assert_close_weights(vs: &nn::VarStore, r: &HashMap<String, Tensor>, prefix: &str) -> (f64, f64) {
    let (mut worst, mut moved) = (0.0f64, 0.0f64);
    let vars = vs.variables();
    assert_eq!(ref_names(r, &format!("final.{prefix}")).len(), vars.len(), "final.{prefix}: not one reference tensor per variable");
    for (name, ours) in &vars {
        let theirs = get(r, &format!("final.{prefix}.{name}"));
        assert_eq!(ours.size(), theirs.size(), "final `{prefix}.{name}`");
        let diff = (ours - theirs).abs();
        let excess = (&diff - (theirs.abs() * RTOL + ATOL)).max().double_value(&[]);
        let d = diff.max().double_value(&[]);
        assert!(excess <= 0.0, "final weight {prefix}.{name} differs from PyTorch's by up to {d:e}");
        worst = worst.max(d);
        let init = get(r, &format!("init.{prefix}.{name}")).to_kind(Kind::Double);
        moved = moved.max((ours - init).abs().max().double_value(&[]));
    }
    (worst, moved)
}

#[test]
fn the_vanilla_preset_is_the_tutorials() {
    let cfg = GanConfig::variant(Variant::Vanilla);
    let n = &cfg.net;
    assert_eq!(n.arch, NetArch::Mlp);
    assert_eq!(n.leaky_slope, 0.01, "the tutorial's nn.LeakyReLU() has PyTorch's default slope 0.01");
    assert_eq!((n.latent_dim, n.g_width, n.d_width, n.image_side), (100, 128, 128, 28));
    assert_eq!(n.dropout, 0.5);
    assert_eq!((n.d_norm, n.conditioning), (DNorm::None, Conditioning::None));
    assert_eq!(cfg.latent, LatentDist::Uniform);
    assert_eq!(cfg.batch_size, 128);
    assert_eq!(cfg.objective, Objective::NonSaturating);
    assert_eq!(cfg.n_dis, 1);
    assert_eq!(cfg.tips, Tips::default());
    for (opt, lr) in [(cfg.optimizer_g, cfg.lr_g), (cfg.optimizer_d, cfg.lr_d)] {
        assert_eq!(opt, OptimizerKind::Adam { beta1: 0.9, beta2: 0.999 });
        assert_eq!(lr, 1e-3);
    }
}

#[test]
fn fifty_tutorial_steps_match_pytorch() {
    let (gan, trace, r) = run(Order::GFirst);
    let mut worst = 0.0f64;
    for (ours, key) in [(&trace.g_loss, "g_loss"), (&trace.d_loss, "d_loss"), (&trace.d_real, "d_real"), (&trace.d_fake, "d_fake")] {
        worst = worst.max(assert_close_series(ours, &r, key));
    }
    let (wg, moved_g) = assert_close_weights(&gan.g_vs, &r, "g");
    let (wd, moved_d) = assert_close_weights(&gan.d_vs, &r, "d");
    eprintln!("largest |ours - PyTorch|: per-step values {worst:e}, final weights G {wg:e}, D {wd:e}");
    // Not a trivial match: training moved the weights and the losses.
    assert!(moved_g > 0.01 && moved_d > 0.01, "weights barely moved: G {moved_g}, D {moved_d}");
    assert!((trace.d_loss[STEPS - 1] - trace.d_loss[0]).abs() > 0.1, "D's loss did not move: {:?}", trace.d_loss);
}

#[test]
fn the_d_first_order_gives_other_numbers() {
    let (gan, trace, r) = run(Order::DFirst);
    // Step 0's D step sees the same D and the same fakes in both orders...
    let d0 = get(&r, "d_loss").double_value(&[0]);
    assert!((trace.d_loss[0] - d0).abs() <= ATOL + RTOL * d0.abs(), "D-first step 0 d_loss {} vs {d0}", trace.d_loss[0]);
    // ...but from then on the order shows: G's first step already faces the updated D.
    let g0 = get(&r, "g_loss").double_value(&[0]);
    assert!((trace.g_loss[0] - g0).abs() > 1e-4, "D-first step 0 g_loss {} equals the reference's {g0}", trace.g_loss[0]);
    let reference_g = Vec::<f64>::try_from(get(&r, "g_loss")).unwrap();
    let gap = trace.g_loss.iter().zip(&reference_g).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(gap > 0.05, "D-first and G-first g_loss differ by at most {gap}");
    let theirs = get(&r, "final.g.fc2.weight");
    let w = (&gan.g_vs.variables()["fc2.weight"] - theirs).abs().max().double_value(&[]);
    assert!(w > 1e-3, "D-first final G weights within {w} of the G-first reference");
}
