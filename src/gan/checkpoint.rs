//! A checkpoint is one file, `checkpoint.safetensors`: both networks with
//! their buffers (batch-norm statistics, spectral-norm vectors), both
//! optimisers' states, and the run so far (config, history, warnings) as a
//! JSON byte tensor `meta.json`. One file is written to a temporary name,
//! synced to disk and renamed over the previous checkpoint, so a kill at any
//! moment leaves either the old checkpoint or the new one, whole.
use super::config::GanConfig;
use super::model::Gan;
use super::report::{StepExtras, TrainHistory, TrainerState};
use super::tips::TrainWarning;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

/// The checkpoint's file name inside a run directory.
pub const FILE: &str = "checkpoint.safetensors";

#[derive(Serialize, Deserialize)]
struct Meta {
    step: usize,
    config: GanConfig,
    history: TrainHistory,
    extras: StepExtras,
    warnings: Vec<TrainWarning>,
    low_d_run: usize,
    last_g: (f64, f64),
}

/// What a checkpoint restores besides the weights.
pub struct Loaded {
    pub history: TrainHistory,
    pub extras: StepExtras,
    pub warnings: Vec<TrainWarning>,
    pub state: TrainerState,
}

fn named(vs: &nn::VarStore, prefix: &str, out: &mut Vec<(String, Tensor)>) {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(vars.into_iter().map(|(n, t)| (format!("{prefix}.{n}"), t.detach().to_device(Device::Cpu).contiguous())));
}

/// Writes the checkpoint at `path` as one unit (temporary file, fsync, rename, fsync of the directory).
pub fn save(path: &Path, config: &GanConfig, gan: &Gan, state: &TrainerState, history: &TrainHistory, extras: &StepExtras, warnings: &[TrainWarning]) -> Result<()> {
    let mut tensors = Vec::new();
    named(&gan.g_vs, "generator", &mut tensors);
    named(&gan.d_vs, "discriminator", &mut tensors);
    for (prefix, opt) in [("opt_g", &state.opt_g), ("opt_d", &state.opt_d)] {
        tensors.extend(opt.iter().map(|(n, t)| (format!("{prefix}.{n}"), t.detach().to_device(Device::Cpu).contiguous())));
    }
    let meta = Meta {
        step: history.steps(),
        config: config.clone(),
        history: history.clone(),
        extras: extras.clone(),
        warnings: warnings.to_vec(),
        low_d_run: state.low_d_run,
        last_g: state.last_g,
    };
    tensors.push(("meta.json".into(), Tensor::from_slice(&serde_json::to_vec(&meta)?)));
    crate::fsutil::write_safetensors(path, &tensors)
}

/// Loads the checkpoint at `path` into `gan` (built from `config`), after
/// checking that it was trained under the same settings. Returns the rest.
pub fn load(path: &Path, config: &GanConfig, gan: &Gan) -> Result<Loaded> {
    if !path.exists() {
        return Err(Error::data(path, "no checkpoint here: train first (a run recording into this directory writes one), or point at the run directory that holds it"));
    }
    let tensors = Tensor::read_safetensors(path).map_err(|e| Error::data(path, format!("not a readable checkpoint: {e}")))?;
    let map: HashMap<String, Tensor> = tensors.into_iter().collect();
    let meta_bytes: Vec<u8> = map
        .get("meta.json")
        .ok_or_else(|| Error::data(path, "has no `meta.json`: it holds weights only (a saved GAN, not a checkpoint of a run)"))?
        .to_kind(Kind::Uint8)
        .try_into()?;
    let meta: Meta = serde_json::from_slice(&meta_bytes).map_err(|e| Error::data(path, format!("its meta.json is not a checkpoint of this version: {e}")))?;
    if meta.history.steps() != meta.step {
        return Err(Error::data(path, format!("its history has {} steps but it says step {}: the file is damaged; delete it", meta.history.steps(), meta.step)));
    }
    if meta.config.identity() != config.identity() {
        let a = serde_json::to_value(meta.config.identity())?;
        let b = serde_json::to_value(config.identity())?;
        let differs: Vec<String> = a.as_object().into_iter().flatten().filter(|(k, v)| b.get(k.as_str()) != Some(v)).map(|(k, _)| k.clone()).collect();
        return Err(Error::config(differs.join(", "), format!("differs from the checkpoint {}: resume with the settings it was trained with", path.display())));
    }
    let mut pairs = Vec::new();
    for (prefix, vs) in [("generator", &gan.g_vs), ("discriminator", &gan.d_vs)] {
        for (name, var) in vs.variables() {
            let key = format!("{prefix}.{name}");
            let src = map.get(&key).ok_or_else(|| Error::data(path, format!("has no tensor `{key}`")))?;
            if src.size() != var.size() {
                return Err(Error::data(path, format!("`{key}` has shape {:?}, the network expects {:?}", src.size(), var.size())));
            }
            pairs.push((var, src.shallow_clone()));
        }
    }
    let device = gan.device();
    let opt = |prefix: &str| -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = map.iter().filter_map(|(k, t)| k.strip_prefix(&format!("{prefix}.")).map(|n| (n.to_string(), t.to_device(device)))).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let state = TrainerState { opt_g: opt("opt_g"), opt_d: opt("opt_d"), low_d_run: meta.low_d_run, last_g: meta.last_g };
    tch::no_grad(|| pairs.into_iter().for_each(|(mut v, s)| v.copy_(&s)));
    Ok(Loaded { history: meta.history, extras: meta.extras, warnings: meta.warnings, state })
}
