//! Merging a study's finished runs into one table: per architecture and
//! arm, each measure as mean ± 95% interval over seeds (Student's t), with
//! the number of runs beside it, and the paired difference against the same
//! seed's baseline run.
use super::{read_final, runs_in, Arm, RunResult, FINAL};
use crate::error::{Error, Result};
use crate::gan::Variant;
use crate::plot::Figure;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A mean and its 95% confidence half-width over `n` values (NaN half-width for n = 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: f64,
    pub half_width: f64,
    pub n: usize,
}

impl Stat {
    pub fn of(values: &[f64]) -> Option<Stat> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let half_width = if n < 2 {
            f64::NAN
        } else {
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            t_975(n - 1) * (var / n as f64).sqrt()
        };
        Some(Stat { mean, half_width, n })
    }

    /// Whether the interval excludes 0 (for a paired difference: a difference the seeds support).
    pub fn excludes_zero(&self) -> bool {
        self.half_width.is_finite() && (self.mean - self.half_width > 0.0 || self.mean + self.half_width < 0.0)
    }

    fn cell(&self, digits: usize) -> String {
        if self.half_width.is_finite() {
            format!("{:.*} ± {:.*}", digits, self.mean, digits, self.half_width)
        } else {
            format!("{:.*}", digits, self.mean)
        }
    }
}

/// Student's t quantile 0.975 for `df` degrees of freedom.
pub fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
        2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.000 + (2.042 - 2.000) * (60 - df) as f64 / 30.0,
        61..=120 => 1.980 + (2.000 - 1.980) * (120 - df) as f64 / 60.0,
        _ => 1.960,
    }
}

/// One architecture × arm of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub arch: Variant,
    pub arm: Arm,
    /// Seeds (runs) merged.
    pub runs: usize,
    pub fid: Stat,
    pub precision: Stat,
    pub recall: Stat,
    pub g_steadiness: Stat,
    pub d_steadiness: Stat,
    /// Mean ‖∇ₓD‖₂ on interpolates between real and generated images.
    pub lipschitz: Stat,
    pub flip_fake: Stat,
    pub seconds_per_step: Stat,
    /// This arm minus the same seed's baseline (None for the baseline, or with no paired seeds).
    pub fid_vs_none: Option<Stat>,
    pub g_steadiness_vs_none: Option<Stat>,
    pub d_steadiness_vs_none: Option<Stat>,
    pub lipschitz_vs_none: Option<Stat>,
}

/// The merged table, and what was left out and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    pub data: String,
    pub steps: usize,
    /// Generated images each run was scored on.
    pub eval_samples: usize,
    pub cells: Vec<Cell>,
    /// Every merged run's result.
    pub results: Vec<RunResult>,
    /// Run directories not merged, with the reason (unfinished, torn, duplicate).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Merges the finished runs found in `dirs` (study directories, or run
/// directories themselves). Unfinished or torn runs are listed in
/// `skipped`, never merged; runs of different data sets or lengths are an
/// error (their numbers are not comparable), as is finding no finished run.
pub fn report(dirs: &[impl AsRef<Path>]) -> Result<StudyReport> {
    let mut results: Vec<RunResult> = Vec::new();
    let mut skipped = Vec::new();
    for dir in dirs {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::data(dir, "not a directory: give study directories (or run directories) to merge"));
        }
        let run_dirs = if dir.join(FINAL).exists() || dir.join("config.json").exists() { vec![dir.to_path_buf()] } else { runs_in(dir)? };
        for rd in run_dirs {
            match read_final(&rd) {
                Ok(Some(r)) if results.iter().any(|o| o.run.name == r.run.name) => skipped.push((rd, "a second copy of a run already merged".into())),
                Ok(Some(r)) => results.push(r),
                Ok(None) => skipped.push((rd, "unfinished: no final.json (still running, or killed; run the study again to finish it)".into())),
                Err(e) => skipped.push((rd, format!("torn record: {e}"))),
            }
        }
    }
    let first = results.first().ok_or_else(|| {
        let names: Vec<String> = dirs.iter().map(|d| d.as_ref().display().to_string()).collect();
        Error::data(names.join(", "), format!("no finished run to merge ({} unfinished or torn): run `gan-tutorial study adv-d` first", skipped.len()))
    })?;
    let (data, steps, eval) = (first.data.clone(), first.steps, first.quality.num_generated);
    if let Some(r) = results.iter().find(|r| r.data != data || r.steps != steps || r.quality.num_generated != eval) {
        return Err(Error::config(
            "study report",
            format!("runs of different settings cannot be merged: {} is {} steps on {} ({} scored), {} is {} steps on {} ({} scored)", first.run.name, steps, data, eval, r.run.name, r.steps, r.data, r.quality.num_generated),
        ));
    }
    results.sort_by_key(|r| (arch_order(r.run.arch), arm_order(r.run.arm), r.run.seed));
    let cells = cells(&results);
    Ok(StudyReport { data, steps, eval_samples: eval, cells, results, skipped })
}

fn arch_order(v: Variant) -> usize {
    super::ARCHITECTURES.iter().position(|&a| a == v).unwrap_or(usize::MAX)
}

fn arm_order(a: Arm) -> (usize, u64) {
    match a {
        Arm::None => (0, 0),
        Arm::Fgsm(e) => (1, (e * 1e6) as u64),
        Arm::Dat => (2, 0),
    }
}

fn cells(results: &[RunResult]) -> Vec<Cell> {
    let mut keys: Vec<(Variant, Arm)> = Vec::new();
    for r in results {
        if !keys.contains(&(r.run.arch, r.run.arm)) {
            keys.push((r.run.arch, r.run.arm));
        }
    }
    keys.into_iter()
        .map(|(arch, arm)| {
            let runs: Vec<&RunResult> = results.iter().filter(|r| r.run.arch == arch && r.run.arm == arm).collect();
            let stat = |f: &dyn Fn(&RunResult) -> f64| Stat::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>()).expect("a cell has runs");
            let paired = |f: &dyn Fn(&RunResult) -> f64| -> Option<Stat> {
                if arm == Arm::None {
                    return None;
                }
                let diffs: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| results.iter().find(|b| b.run.arch == arch && b.run.arm == Arm::None && b.run.seed == r.run.seed).map(|b| f(r) - f(b)))
                    .collect();
                Stat::of(&diffs)
            };
            Cell {
                arch,
                arm,
                runs: runs.len(),
                fid: stat(&|r| r.quality.fid),
                precision: stat(&|r| r.quality.precision),
                recall: stat(&|r| r.quality.recall),
                g_steadiness: stat(&|r| r.g_steadiness),
                d_steadiness: stat(&|r| r.d_steadiness),
                lipschitz: stat(&|r| r.lipschitz.interpolated.mean),
                flip_fake: stat(&|r| r.flip_fake),
                seconds_per_step: stat(&|r| r.seconds_per_step),
                fid_vs_none: paired(&|r| r.quality.fid),
                g_steadiness_vs_none: paired(&|r| r.g_steadiness),
                d_steadiness_vs_none: paired(&|r| r.d_steadiness),
                lipschitz_vs_none: paired(&|r| r.lipschitz.interpolated.mean),
            }
        })
        .collect()
}

const COLUMNS: [&str; 14] = [
    "arch",
    "arm",
    "runs",
    "FD",
    "ΔFD vs none",
    "precision",
    "recall",
    "G-loss rolling std",
    "Δ vs none",
    "D-loss rolling std",
    "Δ vs none",
    "‖∇ₓD‖ interp.",
    "D flips on fakes",
    "s/step",
];

impl StudyReport {
    /// The table as Markdown (what `Display` prints).
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "{} steps on {}; FD, precision and recall on {} generated digits; mean ± 95% interval over seeds; Δ: paired difference with the same seed's baseline\n\n",
            self.steps, self.data, self.eval_samples
        );
        s += &format!("| {} |\n|{}\n", COLUMNS.join(" | "), "---|".repeat(COLUMNS.len()));
        for c in &self.cells {
            s += &format!("| {} |\n", row(c).join(" | "));
        }
        if let Some(arm) = self.claims_arm() {
            s += &format!("\nThe coursework's claims, checked for {arm} against the same seeds' baselines:\n\n");
            for c in self.claims(arm) {
                s += &format!("- {c}\n");
            }
        }
        s
    }

    /// The FGSM arm the claims are checked for: ε = 0.02 (the public
    /// implementation's) when the study has it, else the FGSM arm nearest it.
    pub fn claims_arm(&self) -> Option<Arm> {
        self.cells
            .iter()
            .filter_map(|c| match c.arm {
                Arm::Fgsm(e) => Some((e, c.arm)),
                _ => None,
            })
            .min_by(|a, b| (a.0 - 0.02).abs().total_cmp(&(b.0 - 0.02).abs()))
            .map(|(_, arm)| arm)
    }

    /// The table as CSV: every number in its own column (mean, half-width, n).
    pub fn csv(&self) -> String {
        let measures = ["fid", "precision", "recall", "g_steadiness", "d_steadiness", "lipschitz_interp", "flip_fake", "seconds_per_step", "fid_vs_none", "g_steadiness_vs_none", "d_steadiness_vs_none", "lipschitz_vs_none"];
        let mut s = String::from("arch,arm,runs");
        for m in measures {
            s += &format!(",{m}_mean,{m}_ci95,{m}_n");
        }
        s.push('\n');
        for c in &self.cells {
            s += &format!("{},{},{}", c.arch.name(), c.arm, c.runs);
            let stats = [Some(c.fid), Some(c.precision), Some(c.recall), Some(c.g_steadiness), Some(c.d_steadiness), Some(c.lipschitz), Some(c.flip_fake), Some(c.seconds_per_step), c.fid_vs_none, c.g_steadiness_vs_none, c.d_steadiness_vs_none, c.lipschitz_vs_none];
            for st in stats {
                s += &match st {
                    Some(st) => format!(",{},{},{}", st.mean, st.half_width, st.n),
                    None => ",,,".into(),
                };
            }
            s.push('\n');
        }
        s
    }

    /// The cell of `arch` × `arm`, if any run of it finished.
    pub fn cell(&self, arch: Variant, arm: Arm) -> Option<&Cell> {
        self.cells.iter().find(|c| c.arch == arch && c.arm == arm)
    }

    /// FD and G-loss steadiness per arm, one panel per architecture.
    pub fn figure(&self) -> Result<Figure> {
        super::plot::plot_study(self)
    }

    /// Writes report.md, report.csv, report.json and report.png/svg into `dir`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        crate::fsutil::create_dir(dir)?;
        let md = dir.join("report.md");
        crate::fsutil::write_atomic(&md, self.markdown().as_bytes())?;
        let csv = dir.join("report.csv");
        crate::fsutil::write_atomic(&csv, self.csv().as_bytes())?;
        let json = dir.join("report.json");
        crate::fsutil::write_json(&json, self)?;
        let fig = self.figure()?;
        fig.save(dir.join("report.png"))?;
        fig.save(dir.join("report.svg"))?;
        Ok(vec![md, csv, json, dir.join("report.png"), dir.join("report.svg")])
    }
}

/// What one part of a claim says of a paired difference (arm − baseline).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Lower than the baseline (a better FD, a steadier loss).
    Lower,
    /// Higher (a less steady loss).
    Higher,
    /// No difference the seeds can show.
    Same,
}

/// Whether the numbers bear a claim out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every part is borne out by a 95% interval that excludes 0 (or, for
    /// "like the plain version", includes it).
    Holds,
    /// Some part is contradicted: a difference in the other direction, or a
    /// difference where none was claimed.
    DoesNotHold,
    /// The intervals cannot tell (too few seeds, or too noisy).
    Inconclusive,
    /// The study has no paired runs of this architecture and arm.
    NotRun,
}

/// One of the coursework's claims about FGSM adversarial training of D,
/// checked against a study's paired differences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimCheck {
    pub arch: Variant,
    pub claim: String,
    /// The paired differences it was judged on.
    pub evidence: String,
    pub verdict: Verdict,
}

impl StudyReport {
    /// The coursework's four claims (WGAN: much better metrics and a steadier
    /// G loss; WGAN-GP: like the plain version but a less steady D loss;
    /// DCGAN: like the plain version; SNGAN: slightly better metrics and a
    /// steadier G loss), checked for the FGSM arm `arm` against the
    /// baseline, seed by seed.
    pub fn claims(&self, arm: Arm) -> Vec<ClaimCheck> {
        use Expect::*;
        let table: [(Variant, &str, Vec<(&str, Expect)>); 4] = [
            (Variant::Wgan, "a large improvement of the metrics and a steadier G loss", vec![("FD", Lower), ("G", Lower)]),
            (Variant::WganGp, "results like the plain version, but a less steady D loss", vec![("FD", Same), ("D", Higher)]),
            (Variant::Dcgan, "results like the plain version", vec![("FD", Same)]),
            (Variant::Sngan, "a small improvement of the metrics and a steadier G loss", vec![("FD", Lower), ("G", Lower)]),
        ];
        table
            .into_iter()
            .map(|(arch, claim, parts)| {
                let cell = self.cell(arch, arm);
                let pick = |what: &str| cell.and_then(|c| match what {
                    "FD" => c.fid_vs_none,
                    "G" => c.g_steadiness_vs_none,
                    _ => c.d_steadiness_vs_none,
                });
                let judged: Vec<(String, Option<Verdict>)> = parts
                    .iter()
                    .map(|(what, expect)| match pick(what) {
                        Some(d) if d.n >= 1 => {
                            let label = match *what { "FD" => "ΔFD", "G" => "ΔG-loss rolling std", _ => "ΔD-loss rolling std" };
                            (format!("{label} {:+.4} ± {:.4} (n = {})", d.mean, d.half_width, d.n), Some(judge(d, *expect)))
                        }
                        _ => (format!("{what}: no paired seeds"), None),
                    })
                    .collect();
                let verdicts: Vec<Option<Verdict>> = judged.iter().map(|j| j.1).collect();
                let verdict = if verdicts.iter().any(Option::is_none) {
                    Verdict::NotRun
                } else if verdicts.contains(&Some(Verdict::DoesNotHold)) {
                    Verdict::DoesNotHold
                } else if verdicts.iter().all(|v| *v == Some(Verdict::Holds)) {
                    Verdict::Holds
                } else {
                    Verdict::Inconclusive
                };
                ClaimCheck { arch, claim: format!("{arch} with {arm}: {claim}"), evidence: judged.into_iter().map(|j| j.0).collect::<Vec<_>>().join("; "), verdict }
            })
            .collect()
    }
}

/// Fewer paired seeds than this judge nothing: two seeds give an interval of
/// ±12.7 standard errors, which "includes 0" for almost any difference.
pub const MIN_PAIRED_SEEDS: usize = 3;

fn judge(d: Stat, expect: Expect) -> Verdict {
    if d.n < MIN_PAIRED_SEEDS {
        return Verdict::Inconclusive;
    }
    let (lower, higher) = (d.excludes_zero() && d.mean < 0.0, d.excludes_zero() && d.mean > 0.0);
    match expect {
        Expect::Lower if lower => Verdict::Holds,
        Expect::Lower if higher => Verdict::DoesNotHold,
        Expect::Higher if higher => Verdict::Holds,
        Expect::Higher if lower => Verdict::DoesNotHold,
        Expect::Same if lower || higher => Verdict::DoesNotHold,
        Expect::Same if d.half_width.is_finite() => Verdict::Holds,
        _ => Verdict::Inconclusive,
    }
}

impl std::fmt::Display for ClaimCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {} [{}]", self.verdict, self.claim, self.evidence)
    }
}

fn row(c: &Cell) -> Vec<String> {
    let diff = |s: &Option<Stat>, d: usize| match s {
        Some(s) => format!("{}{}", if s.mean >= 0.0 { "+" } else { "" }, s.cell(d)) + if s.excludes_zero() { " *" } else { "" },
        None => "–".into(),
    };
    vec![
        c.arch.name().into(),
        c.arm.label(),
        c.runs.to_string(),
        c.fid.cell(2),
        diff(&c.fid_vs_none, 2),
        c.precision.cell(3),
        c.recall.cell(3),
        c.g_steadiness.cell(4),
        diff(&c.g_steadiness_vs_none, 4),
        c.d_steadiness.cell(4),
        diff(&c.d_steadiness_vs_none, 4),
        c.lipschitz.cell(3),
        c.flip_fake.cell(3),
        format!("{:.4}", c.seconds_per_step.mean),
    ]
}

impl std::fmt::Display for StudyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.markdown())?;
        if !self.skipped.is_empty() {
            writeln!(f, "\nnot merged ({}):", self.skipped.len())?;
            for (p, why) in &self.skipped {
                writeln!(f, "  {}: {why}", p.display())?;
            }
        }
        write!(f, "* the 95% interval of the paired difference excludes 0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_judged_by_the_paired_intervals() {
        let clear_drop = Stat { mean: -5.0, half_width: 1.0, n: 3 };
        let noise = Stat { mean: -0.5, half_width: 2.0, n: 3 };
        assert_eq!(judge(clear_drop, Expect::Lower), Verdict::Holds);
        assert_eq!(judge(clear_drop, Expect::Higher), Verdict::DoesNotHold);
        assert_eq!(judge(clear_drop, Expect::Same), Verdict::DoesNotHold);
        assert_eq!(judge(noise, Expect::Lower), Verdict::Inconclusive);
        assert_eq!(judge(noise, Expect::Same), Verdict::Holds);
        assert_eq!(judge(Stat { mean: 1.0, half_width: f64::NAN, n: 1 }, Expect::Same), Verdict::Inconclusive);
        // Two seeds judge nothing, however the interval falls.
        assert_eq!(judge(Stat { mean: -6.0, half_width: 150.0, n: 2 }, Expect::Same), Verdict::Inconclusive);
        assert_eq!(judge(Stat { mean: -6.0, half_width: 1.0, n: 2 }, Expect::Lower), Verdict::Inconclusive);
    }

    #[test]
    fn stat_is_the_t_interval() {
        let s = Stat::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.mean, s.n), (2.0, 3));
        // sd 1, n 3: 4.303 / sqrt(3).
        assert!((s.half_width - 4.303 / 3f64.sqrt()).abs() < 1e-12, "{s:?}");
        assert!(!s.excludes_zero(), "2 ± 2.48 includes 0");
        assert!(Stat::of(&[1.9, 2.0, 2.1]).unwrap().excludes_zero());
        assert!(!Stat::of(&[-1.0, 1.0]).unwrap().excludes_zero());
        assert!(Stat::of(&[5.0]).unwrap().half_width.is_nan());
        assert!(Stat::of(&[]).is_none());
        assert_eq!(t_975(1000), 1.96);
        assert!(t_975(29) > t_975(30) && t_975(30) > t_975(45) && t_975(45) > t_975(100));
    }
}
