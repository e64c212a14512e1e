//! Walking the latent space of a trained generator: interpolations between
//! codes, one code drawn as every class, and vector arithmetic on averaged
//! codes (Radford et al. 2016, DCGAN, <https://arxiv.org/abs/1511.06434>,
//! sections 6.1 and 6.3; spherical interpolation: White 2016, "Sampling
//! Generative Networks", <https://arxiv.org/abs/1609.04468>).
//!
//! What a teacher shows, and why these functions:
//!
//! - [`interpolate`]: a smooth walk between two codes should give a smooth
//!   morph between two digits, not a jump (the generator has not memorised
//!   isolated training images). [`Interp::Spherical`] keeps the walk where
//!   Gaussian codes actually lie (a shell of radius ≈ √d); the straight line
//!   cuts through the low-norm interior, which the generator rarely saw.
//! - Conditional models take an integer label, so "class 3.5" does not
//!   exist; [`class_sweep`] holds one code (the *style*) and varies the
//!   label, the "style fixed, class varied" strip, and
//!   [`interpolate_in_class`] walks between two styles with the class held.
//! - [`latent_arithmetic`]: mean(a) − mean(b) + mean(c) on codes, e.g.
//!   "thick 7 − thin 7 + thin 1 = thick 1", measured by ink (mean pixel) so
//!   the claim is a number, not an impression. [`CodePool`] picks the codes.
//!
//! Every function that samples takes a seed and draws from its own
//! generator (SplitMix64), not libtorch's global one.
//!
//! # Shapes
//! A code is `[d]` or `[1, d]`; a path of `steps` codes is `[steps, d]`.
pub mod plot;

pub use self::plot::{plot_interpolation, plot_latent_arithmetic};

use crate::classifier::Classifier;
use crate::error::{Error, Result};
use crate::gan::Gan;
use crate::data::ImageBatch;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Seeded codes are drawn where the GAN is defined ([`crate::gan::latent`]),
/// so that metrics (one floor down) use the same codes; re-exported here
/// where notebook 04 teaches them.
pub use crate::gan::latent::{latent_codes, seeded_latent};

/// How to walk from one code to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Interp {
    /// Straight line: `(1 − t) z₀ + t z₁`.
    Linear,
    /// Great circle between the directions, the radius moving linearly
    /// between the two norms (for equal norms: White's slerp exactly).
    #[default]
    Spherical,
}

impl std::fmt::Display for Interp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interp::Linear => "linear",
            Interp::Spherical => "spherical",
        })
    }
}

/// Two codes `[d]` or `[1, d]` of the same width, as f64 `[d]` on the CPU, with their device and width.
fn endpoints(z0: &Tensor, z1: &Tensor, steps: usize) -> Result<(Tensor, Tensor, Device)> {
    if steps < 2 {
        return Err(Error::config("steps", format!("{steps}: a path needs at least 2 steps (its two ends)")));
    }
    let flat = |z: &Tensor, name: &str| -> Result<Tensor> {
        match z.size().as_slice() {
            [_] | [1, _] => Ok(z.detach().to_device(Device::Cpu).to_kind(Kind::Double).view([-1])),
            s => Err(Error::Shape(format!("code `{name}` of shape {s:?}: give one code, [d] or [1, d]"))),
        }
    };
    let (a, b) = (flat(z0, "from")?, flat(z1, "to")?);
    if a.size() != b.size() {
        return Err(Error::Shape(format!("codes of widths {} and {}: both ends need the same latent width", a.size()[0], b.size()[0])));
    }
    if a.isfinite().all().int64_value(&[]) != 1 || b.isfinite().all().int64_value(&[]) != 1 {
        return Err(Error::Shape("a code holds NaN or infinite values".into()));
    }
    Ok((a, b, z0.device()))
}

fn ts(steps: usize) -> impl Iterator<Item = f64> {
    (0..steps).map(move |i| i as f64 / (steps - 1) as f64)
}

/// `steps` codes on the straight line from `z0` to `z1`, both ends included. `// [d], [d] -> [steps, d]`
pub fn lerp(z0: &Tensor, z1: &Tensor, steps: usize) -> Result<Tensor> {
    let (a, b, device) = endpoints(z0, z1, steps)?;
    Ok(lerp_f64(&a, &b, steps).to_kind(z0.kind()).to_device(device))
}

fn lerp_f64(a: &Tensor, b: &Tensor, steps: usize) -> Tensor {
    let rows: Vec<Tensor> = ts(steps).map(|t| a * (1.0 - t) + b * t).collect();
    Tensor::stack(&rows, 0)
}

/// `steps` codes on the great circle from `z0`'s direction to `z1`'s, the
/// norm moving linearly from ‖z₀‖ to ‖z₁‖; both ends included exactly.
/// Nearly parallel or opposite codes (angle within 1e-6 of 0 or π, where the
/// great circle is undefined or unstable) and zero codes fall back to [`lerp`].
/// `// [d], [d] -> [steps, d]`
pub fn slerp(z0: &Tensor, z1: &Tensor, steps: usize) -> Result<Tensor> {
    let (a, b, device) = endpoints(z0, z1, steps)?;
    let (na, nb) = (a.norm().double_value(&[]), b.norm().double_value(&[]));
    let out = if na < 1e-12 || nb < 1e-12 {
        lerp_f64(&a, &b, steps)
    } else {
        let (u, v) = (&a / na, &b / nb);
        let omega = u.dot(&v).double_value(&[]).clamp(-1.0, 1.0).acos();
        if omega.sin() < 1e-6 {
            lerp_f64(&a, &b, steps)
        } else {
            let rows: Vec<Tensor> = ts(steps)
                .enumerate()
                .map(|(i, t)| {
                    if i == 0 {
                        a.shallow_clone()
                    } else if i == steps - 1 {
                        b.shallow_clone()
                    } else {
                        let dir = &u * (((1.0 - t) * omega).sin() / omega.sin()) + &v * ((t * omega).sin() / omega.sin());
                        dir * ((1.0 - t) * na + t * nb)
                    }
                })
                .collect();
            Tensor::stack(&rows, 0)
        }
    };
    Ok(out.to_kind(z0.kind()).to_device(device))
}

/// The path of `steps` codes from `from` to `to`. `// -> [steps, d]`
pub fn path(from: &Tensor, to: &Tensor, steps: usize, interp: Interp) -> Result<Tensor> {
    match interp {
        Interp::Linear => lerp(from, to, steps),
        Interp::Spherical => slerp(from, to, steps),
    }
}

/// Images along the path from code `from` to code `to` (unconditional GANs;
/// for conditional ones use [`interpolate_in_class`]).
pub fn interpolate(gan: &Gan, from: &Tensor, to: &Tensor, steps: usize, interp: Interp) -> Result<ImageBatch> {
    if gan.num_classes() > 0 {
        return Err(Error::config("gan", "this GAN is conditional: use interpolate_in_class (or class_sweep) to say which class to draw"));
    }
    let z = path(from, to, steps, interp)?.to_kind(Kind::Float);
    gan.to_images(&gan.generate_from(&z)?)
}

/// Images along the path from `from` to `to` with the class held at `class`
/// (conditional GANs): the style changes, the digit does not.
pub fn interpolate_in_class(gan: &Gan, from: &Tensor, to: &Tensor, class: i64, steps: usize, interp: Interp) -> Result<ImageBatch> {
    let z = path(from, to, steps, interp)?.to_kind(Kind::Float);
    let labels = Tensor::full([steps as i64], class, (Kind::Int64, Device::Cpu));
    gan.to_images(&gan.generate_cond_from(&z, &labels)?)
}

/// One code `z` (`[d]` or `[1, d]`) drawn as each of `classes` (conditional
/// GANs): style fixed, class varied. An empty list means every class.
pub fn class_sweep(gan: &Gan, z: &Tensor, classes: &[i64]) -> Result<ImageBatch> {
    let k = gan.num_classes();
    if k == 0 {
        return Err(Error::config("gan", "this GAN is unconditional: a class sweep needs a conditional variant (cgan, acgan)"));
    }
    let classes: Vec<i64> = if classes.is_empty() { (0..k).collect() } else { classes.to_vec() };
    let (code, _, _) = endpoints(z, z, 2)?;
    let n = classes.len() as i64;
    let zs = code.to_kind(Kind::Float).unsqueeze(0).repeat([n, 1]);
    gan.to_images(&gan.generate_cond_from(&zs, &Tensor::from_slice(&classes))?)
}

/// Mean pixel value (ink) of each image in `[0, 1]`: 0 is an empty page.
pub fn ink(images: &ImageBatch) -> Vec<f64> {
    let per = images.channels * images.height * images.width;
    images.pixels.chunks(per.max(1)).map(|c| c.iter().map(|&p| p as f64).sum::<f64>() / per as f64).collect()
}

/// Stroke weight to pick codes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stroke {
    /// The most ink among the candidates.
    Thick,
    /// The least ink.
    Thin,
    /// Any (the most confidently classified).
    Any,
}

/// Generated candidates with what a classifier and a ruler say about them,
/// to pick codes for [`latent_arithmetic`].
#[derive(Debug)]
pub struct CodePool {
    /// `[n, latent_dim]` on the GAN's device.
    pub codes: Tensor,
    /// For conditional GANs, the class each code was drawn as (`i mod num_classes`).
    pub asked: Option<Vec<i64>>,
    /// The classifier's label of each image.
    pub labels: Vec<i64>,
    pub confidence: Vec<f64>,
    /// Mean pixel in `[0, 1]`.
    pub ink: Vec<f64>,
}

impl CodePool {
    /// `n` codes drawn with `seed`, their images labelled by `classifier` and measured.
    pub fn sample(gan: &Gan, classifier: &Classifier, n: usize, seed: u64) -> Result<Self> {
        let (images, asked) = crate::metrics::generate_balanced(gan, n, seed)?;
        let codes = latent_codes(gan, n, seed)?;
        let pred = classifier.predict(&crate::metrics::to_classifier_input(&images)?)?;
        let batch = ImageBatch::from_tensor_pm1(&images)?;
        let asked = asked.map(Vec::<i64>::try_from).transpose()?;
        Ok(Self {
            codes,
            asked,
            labels: pred.iter().map(|p| p.0).collect(),
            confidence: pred.iter().map(|p| p.1).collect(),
            ink: ink(&batch),
        })
    }

    /// Codes of `count` images labelled `digit` with at least `min_confidence`,
    /// the thickest, thinnest or most confident first. `// -> [count, latent_dim]`
    pub fn select(&self, digit: i64, stroke: Stroke, count: usize, min_confidence: f64) -> Result<Tensor> {
        if count == 0 {
            return Err(Error::config("count", "pick at least one code"));
        }
        let mut idx: Vec<usize> = (0..self.labels.len())
            .filter(|&i| self.labels[i] == digit && self.confidence[i] >= min_confidence)
            .filter(|&i| self.asked.as_ref().is_none_or(|a| a[i] == digit))
            .collect();
        if idx.len() < count {
            return Err(Error::config(
                "count",
                format!(
                    "only {} of {} candidates read as a {digit} with confidence >= {min_confidence}, {count} asked: sample a larger pool or lower min_confidence",
                    idx.len(),
                    self.labels.len()
                ),
            ));
        }
        let key = |i: usize| match stroke {
            Stroke::Thick => -self.ink[i],
            Stroke::Thin => self.ink[i],
            Stroke::Any => -self.confidence[i],
        };
        idx.sort_by(|&a, &b| key(a).total_cmp(&key(b)));
        let chosen = Tensor::from_slice(&idx[..count].iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(self.codes.device());
        Ok(self.codes.index_select(0, &chosen))
    }
}

/// The result of `mean(a) − mean(b) + mean(c)`, with each group's images and ink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentArithmetic {
    /// The images of each group's codes (a, b, c).
    pub groups: [ImageBatch; 3],
    /// The images of the mean codes of a, b and c, and of the result code (4 images).
    pub means: ImageBatch,
    /// Ink of the four images of `means`.
    pub ink: [f64; 4],
    /// What the result's ink would be if ink added like codes: ink(c̄) + ink(ā) − ink(b̄).
    pub ink_expected: f64,
    /// A classifier's label and confidence for the result image, when one was given.
    pub result_label: Option<(i64, f64)>,
}

impl std::fmt::Display for LatentArithmetic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, r] = self.ink;
        write!(f, "ink: ā {a:.3} − b̄ {b:.3} + c̄ {c:.3} → result {r:.3} (additive guess {:.3})", self.ink_expected)?;
        if let Some((l, p)) = self.result_label {
            write!(f, "; result read as {l} ({:.0}%)", 100.0 * p)?;
        }
        Ok(())
    }
}

/// `mean(a) − mean(b) + mean(c)` over code groups (each `[n_i, d]`, rows are
/// codes), drawn, with ink measured and, given a `judge`, the result classified.
/// Unconditional GANs only.
pub fn latent_arithmetic(gan: &Gan, a: &Tensor, b: &Tensor, c: &Tensor, judge: Option<&Classifier>) -> Result<LatentArithmetic> {
    if gan.num_classes() > 0 {
        return Err(Error::config("gan", "latent arithmetic here is for unconditional GANs (the class of a conditional one is its label, not its code)"));
    }
    let d = gan.latent_dim();
    let mut means = Vec::new();
    let mut groups = Vec::new();
    for (name, g) in [("a", a), ("b", b), ("c", c)] {
        match g.size().as_slice() {
            [n, w] if *n >= 1 && *w == d => {}
            s => return Err(Error::Shape(format!("code group `{name}` of shape {s:?}: give [n, {d}] with n >= 1 (CodePool::select makes one)"))),
        }
        let g = g.to_kind(Kind::Float).to_device(gan.device());
        groups.push(gan.to_images(&gan.generate_from(&g)?)?);
        means.push(g.mean_dim(0, true, Kind::Float));
    }
    let result = &means[0] - &means[1] + &means[2];
    means.push(result);
    let x = gan.generate_from(&Tensor::cat(&means, 0))?;
    let images = gan.to_images(&x)?;
    let ink_v = ink(&images);
    let ink4 = [ink_v[0], ink_v[1], ink_v[2], ink_v[3]];
    let result_label = match judge {
        Some(cl) => {
            let p = cl.predict(&crate::metrics::to_classifier_input(&x.narrow(0, 3, 1).to_device(Device::Cpu))?)?;
            p.first().copied()
        }
        None => None,
    };
    let [ga, gb, gc]: [ImageBatch; 3] = groups.try_into().map_err(|_| Error::Shape("three groups expected".into()))?;
    Ok(LatentArithmetic {
        groups: [ga, gb, gc],
        means: images,
        ink: ink4,
        ink_expected: ink4[2] + ink4[0] - ink4[1],
        result_label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[f64]) -> Tensor {
        Tensor::from_slice(x)
    }

    #[test]
    fn lerp_midpoint_and_ends() {
        let _rng = crate::torch_rng_lock();
        let p = lerp(&v(&[0.0, 2.0]), &v(&[4.0, 6.0]), 3).unwrap();
        assert_eq!(p.size(), vec![3, 2]);
        assert_eq!(Vec::<f64>::try_from(p.view([-1])).unwrap(), vec![0.0, 2.0, 2.0, 4.0, 4.0, 6.0]);
        // [1, d] codes are accepted; the kind is kept.
        let p = lerp(&Tensor::zeros([1, 3], (Kind::Float, Device::Cpu)), &Tensor::ones([1, 3], (Kind::Float, Device::Cpu)), 5).unwrap();
        assert_eq!((p.size(), p.kind()), (vec![5, 3], Kind::Float));
    }

    #[test]
    fn slerp_ends_norms_and_fallback() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(4);
        let a = Tensor::randn([64], (Kind::Double, Device::Cpu));
        let b = Tensor::randn([64], (Kind::Double, Device::Cpu));
        let b_eq = &b * (a.norm().double_value(&[]) / b.norm().double_value(&[])); // same norm as a
        let p = slerp(&a, &b_eq, 9).unwrap();
        assert!(p.get(0).equal(&a) && p.get(8).equal(&b_eq), "ends are the inputs exactly");
        let norms = Vec::<f64>::try_from(p.norm_scalaropt_dim(2, [1], false)).unwrap();
        let n0 = a.norm().double_value(&[]);
        assert!(norms.iter().all(|n| (n - n0).abs() < 1e-9), "equal norms stay constant: {norms:?}");
        // The straight line between the same codes dips inside the sphere.
        let lin = Vec::<f64>::try_from(lerp(&a, &b_eq, 9).unwrap().norm_scalaropt_dim(2, [1], false)).unwrap();
        assert!(lin[4] < 0.9 * n0, "lerp midpoint norm {} vs {n0}", lin[4]);
        // Unequal norms: every norm lies between the two.
        let b2 = &b * 3.0;
        let (lo, hi) = (n0.min(b2.norm().double_value(&[])), n0.max(b2.norm().double_value(&[])));
        let norms = Vec::<f64>::try_from(slerp(&a, &b2, 7).unwrap().norm_scalaropt_dim(2, [1], false)).unwrap();
        assert!(norms.iter().all(|n| *n >= lo - 1e-9 && *n <= hi + 1e-9), "{norms:?} not in [{lo}, {hi}]");
        // Orthogonal unit vectors: the midpoint is (e1 + e2)/√2.
        let mid = slerp(&v(&[1.0, 0.0]), &v(&[0.0, 1.0]), 3).unwrap().get(1);
        let h = 0.5f64.sqrt();
        assert!((mid - v(&[h, h])).abs().max().double_value(&[]) < 1e-12);
        // Parallel codes fall back to the straight line (no NaN from 0/0).
        let p = slerp(&v(&[1.0, 1.0]), &v(&[2.0, 2.0]), 3).unwrap();
        assert_eq!(Vec::<f64>::try_from(p.view([-1])).unwrap(), vec![1.0, 1.0, 1.5, 1.5, 2.0, 2.0]);
        let p = slerp(&v(&[0.0, 0.0]), &v(&[2.0, 2.0]), 3).unwrap();
        assert!(p.isfinite().all().int64_value(&[]) == 1);
    }

    #[test]
    fn bad_paths_are_errors() {
        let _rng = crate::torch_rng_lock();
        let e = slerp(&v(&[1.0, 0.0]), &v(&[0.0, 1.0, 0.0]), 4).unwrap_err().to_string();
        assert!(e.contains("widths 2 and 3"), "{e}");
        let e = lerp(&v(&[1.0]), &v(&[2.0]), 1).unwrap_err().to_string();
        assert!(e.contains("`steps`"), "{e}");
        let e = lerp(&Tensor::zeros([2, 3], (Kind::Double, Device::Cpu)), &v(&[1.0, 2.0, 3.0]), 3).unwrap_err().to_string();
        assert!(e.contains("[2, 3]") && e.contains("`from`"), "{e}");
    }

    #[test]
    fn walks_through_a_generator() {
        let _rng = crate::torch_rng_lock();
        let gan = crate::gan::GanConfig::variant(crate::gan::Variant::Vanilla).build_gan(Device::Cpu);
        let z = latent_codes(&gan, 2, 1).unwrap();
        let strip = interpolate(&gan, &z.get(0), &z.get(1), 6, Interp::Spherical).unwrap();
        assert_eq!((strip.n, strip.height, strip.width), (6, 28, 28));
        // Ends are the images of the codes themselves.
        let ends = gan.to_images(&gan.generate_from(&z).unwrap()).unwrap();
        // (Up to float round-off: a batch of 6 and a batch of 2 take different matmul paths.)
        let per = 784;
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(close(&strip.pixels[..per], &ends.pixels[..per]) < 1e-5);
        assert!(close(&strip.pixels[5 * per..], &ends.pixels[per..]) < 1e-5);
        // The middle differs from both ends.
        assert!(close(&strip.pixels[2 * per..3 * per], &ends.pixels[..per]) > 1e-3);
        assert!(class_sweep(&gan, &z.get(0), &[]).unwrap_err().to_string().contains("unconditional"));
        // Arithmetic on groups: shapes, ink in range, the additive guess computed from the means.
        let (a, b, c) = (latent_codes(&gan, 3, 2).unwrap(), latent_codes(&gan, 3, 3).unwrap(), latent_codes(&gan, 3, 4).unwrap());
        let r = latent_arithmetic(&gan, &a, &b, &c, None).unwrap();
        assert_eq!((r.means.n, r.groups[0].n), (4, 3));
        assert!(r.ink.iter().all(|i| (0.0..=1.0).contains(i)));
        assert!((r.ink_expected - (r.ink[2] + r.ink[0] - r.ink[1])).abs() < 1e-12);
        assert!(latent_arithmetic(&gan, &a.narrow(1, 0, 5), &b, &c, None).unwrap_err().to_string().contains("group `a`"));
        // Its figure: rows of 3 + 1 images (the group, then its mean code) and the result alone.
        let fig = plot_latent_arithmetic(&r, ["a", "b", "c"]).unwrap();
        let row_w = 4 * 28 * 3 + 5 * 3;
        assert_eq!((fig.width as usize, fig.height as usize), (plot::LABEL_WIDTH + row_w + 12, 4 * (84 + 6) + 5 * 6));
    }
}
