//! Improved precision and recall (Kynkäänniemi et al. 2019,
//! <https://arxiv.org/abs/1904.06991>): FID folds quality and variety into
//! one number; these two keep them apart.
//!
//! Each set's *manifold* is the union of balls around its points, each ball
//! reaching to that point's k-th nearest neighbour in the same set (k = 3 by
//! default). Then
//!
//! - **precision** = share of generated samples inside the real manifold
//!   (are the fakes realistic?),
//! - **recall** = share of real samples inside the generated manifold
//!   (does the generator cover the data?).
//!
//! A generator collapsed onto a few modes keeps a high precision (its few
//! kinds of digit look real) and loses recall (most real digits have no fake
//! near them): the signature of mode collapse.
//!
//! Distances are computed in row blocks ([`BLOCK_ROWS`] × n at a time, f64),
//! so 2,000 × 2,000 never holds more than one block of distances.
//!
//! # Shapes
//! `real [n, d]`, `fake [m, d]`, both from the same feature extractor.
use super::frechet::check_features;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Rows of pairwise distances computed at once.
pub const BLOCK_ROWS: i64 = 256;

/// The neighbourhood size used unless a setting says otherwise (the paper's choice).
pub const DEFAULT_K: usize = 3;

/// Precision and recall of a generated feature set against a real one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecall {
    pub precision: f64,
    pub recall: f64,
    pub k: usize,
    pub num_real: usize,
    pub num_generated: usize,
}

impl std::fmt::Display for PrecisionRecall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "precision {:.3}, recall {:.3} (k = {}, {} generated vs {} real)",
            self.precision, self.recall, self.k, self.num_generated, self.num_real
        )
    }
}

/// Distance from each row of `x` `[n, d]` to its k-th nearest other row. `// -> [n]`
pub fn knn_radii(x: &Tensor, k: usize) -> Result<Tensor> {
    let x = check_features(x, "the", 2)?;
    let n = x.size()[0];
    if k == 0 || k as i64 >= n {
        return Err(Error::config("k", format!("{k} neighbours in a set of {n}: k must be in 1..{n} (the paper uses 3)")));
    }
    Ok(radii_f64(&x, k as i64))
}

fn radii_f64(x: &Tensor, k: i64) -> Tensor {
    let n = x.size()[0];
    let parts: Vec<Tensor> = (0..n)
        .step_by(BLOCK_ROWS as usize)
        .map(|s| {
            let d = Tensor::cdist(&x.narrow(0, s, BLOCK_ROWS.min(n - s)), x, 2.0, None); // [b, n]
            // The smallest distance is the point itself (0); the (k+1)-th smallest is its k-th neighbour.
            d.kthvalue(k + 1, 1, false).0
        })
        .collect();
    Tensor::cat(&parts, 0)
}

/// Share of rows of `query` `[m, d]` within the ball of at least one row of
/// `support` `[n, d]` (ball radii `radii` `[n]`).
fn coverage(query: &Tensor, support: &Tensor, radii: &Tensor) -> f64 {
    let m = query.size()[0];
    let mut inside = 0i64;
    for s in (0..m).step_by(BLOCK_ROWS as usize) {
        let d = Tensor::cdist(&query.narrow(0, s, BLOCK_ROWS.min(m - s)), support, 2.0, None); // [b, n]
        let hit = d.le_tensor(&radii.unsqueeze(0)).any_dim(1, false); // [b]
        inside += hit.sum(Kind::Int64).int64_value(&[]);
    }
    inside as f64 / m as f64
}

/// Improved precision and recall of `fake` against `real` with `k` neighbours.
/// Errors for fewer than k + 1 rows on either side, mismatched widths, or non-finite features.
pub fn precision_recall(real: &Tensor, fake: &Tensor, k: usize) -> Result<PrecisionRecall> {
    let real = check_features(real, "real", 2)?;
    let fake = check_features(fake, "generated", 2)?;
    let (n, m) = (real.size()[0], fake.size()[0]);
    if real.size()[1] != fake.size()[1] {
        return Err(Error::Shape(format!(
            "real features are {} wide, generated ones {}: use the same extractor for both",
            real.size()[1],
            fake.size()[1]
        )));
    }
    if k == 0 || k as i64 >= n.min(m) {
        return Err(Error::config(
            "k",
            format!("{k} neighbours with {n} real and {m} generated samples: k must be at least 1 and below both counts (the paper uses 3)"),
        ));
    }
    let real_radii = radii_f64(&real, k as i64);
    let fake_radii = radii_f64(&fake, k as i64);
    Ok(PrecisionRecall {
        precision: coverage(&fake, &real, &real_radii),
        recall: coverage(&real, &fake, &fake_radii),
        k,
        num_real: n as usize,
        num_generated: m as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// `per` points around each of `centres` (rows of a `[c, d]` tensor), spread `sd`.
    fn clusters(centres: &Tensor, per: i64, sd: f64) -> Tensor {
        let (c, d) = (centres.size()[0], centres.size()[1]);
        let noise = Tensor::randn([c, per, d], (Kind::Double, Device::Cpu)) * sd;
        (noise + centres.unsqueeze(1)).view([c * per, d])
    }

    #[test]
    fn radii_by_hand() {
        let _rng = crate::torch_rng_lock();
        // Points on a line at 0, 1, 3, 7: 1st neighbours at 1, 1, 2, 4; 2nd at 3, 2, 3, 6.
        let x = Tensor::from_slice(&[0.0, 1.0, 3.0, 7.0]).view([4, 1]);
        let r1 = Vec::<f64>::try_from(knn_radii(&x, 1).unwrap()).unwrap();
        assert_eq!(r1, vec![1.0, 1.0, 2.0, 4.0]);
        let r2 = Vec::<f64>::try_from(knn_radii(&x, 2).unwrap()).unwrap();
        assert_eq!(r2, vec![3.0, 2.0, 3.0, 6.0]);
        assert!(knn_radii(&x, 4).unwrap_err().to_string().contains("`k`"));
    }

    #[test]
    fn identical_far_and_collapsed_sets() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(5);
        let centres = Tensor::randn([10, 8], (Kind::Double, Device::Cpu)) * 10.0;
        let real = clusters(&centres, 60, 1.0); // 600 points, 10 modes
        // Identical sets: everything covers everything.
        let pr = precision_recall(&real, &real, 3).unwrap();
        assert_eq!((pr.precision, pr.recall), (1.0, 1.0), "{pr}");
        // A set far away: nothing inside either manifold.
        let far = &real + 1000.0;
        let pr = precision_recall(&real, &far, 3).unwrap();
        assert!(pr.precision < 0.01 && pr.recall < 0.01, "{pr}");
        // A fresh sample of the same distribution: both high.
        let same = clusters(&centres, 60, 1.0);
        let pr_same = precision_recall(&real, &same, 3).unwrap();
        assert!(pr_same.precision > 0.8 && pr_same.recall > 0.8, "{pr_same}");
        // Mode collapse: 600 samples from one mode only. Realistic (precision stays high),
        // but they cover about a tenth of the data (recall falls).
        let collapsed = clusters(&centres.narrow(0, 0, 1), 600, 1.0);
        let pr = precision_recall(&real, &collapsed, 3).unwrap();
        assert!(pr.precision > 0.8, "collapsed precision {pr}");
        assert!(pr.recall < 0.2 && pr.recall > 0.02, "collapsed recall {pr}");
        assert!(pr.recall < pr_same.recall - 0.5, "{pr} vs {pr_same}");
        assert_eq!((pr.num_real, pr.num_generated, pr.k), (600, 600, 3));
    }

    #[test]
    fn blocks_give_the_same_answer_as_one_pass() {
        let _rng = crate::torch_rng_lock();
        // More rows than one block: compare against a direct computation.
        tch::manual_seed(6);
        let real = Tensor::randn([BLOCK_ROWS * 2 + 17, 4], (Kind::Double, Device::Cpu));
        let fake = Tensor::randn([300, 4], (Kind::Double, Device::Cpu)) * 1.5;
        let pr = precision_recall(&real, &fake, 3).unwrap();
        let direct = |q: &Tensor, s: &Tensor| {
            let r = Tensor::cdist(s, s, 2.0, None).kthvalue(4, 1, false).0;
            Tensor::cdist(q, s, 2.0, None).le_tensor(&r.unsqueeze(0)).any_dim(1, false).to_kind(Kind::Double).mean(Kind::Double).double_value(&[])
        };
        assert!((pr.precision - direct(&fake, &real)).abs() < 1e-12);
        assert!((pr.recall - direct(&real, &fake)).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let _rng = crate::torch_rng_lock();
        let a = Tensor::randn([10, 4], (Kind::Double, Device::Cpu));
        let b = Tensor::randn([10, 3], (Kind::Double, Device::Cpu));
        assert!(precision_recall(&a, &b, 3).unwrap_err().to_string().contains("same extractor"));
        let e = precision_recall(&a, &a.narrow(0, 0, 3), 3).unwrap_err().to_string();
        assert!(e.contains("`k`") && e.contains("3 generated"), "{e}");
        assert!(precision_recall(&a, &a, 0).is_err());
    }
}
