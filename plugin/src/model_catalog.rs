//! What the editor knows about models: the loaded model's bendable layers with their general
//! clusters ([`ModelSummary`], built on the main thread when a model loads and shared through
//! [`LoadedModel`]), and the models a user can pick ([`list_models`]: the shipped default, the
//! paper's model shipped beside it, and every model directory in the user models folder and in
//! `NETBEND_MODEL_PATH`), and the directory a picked name stands for ([`find_model`]).

use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Extra folders of model directories, separated like `PATH`.
pub const MODEL_PATH_ENV: &str = "NETBEND_MODEL_PATH";
/// The cluster map the editor offers (docs/model-manifest.md).
pub const GENERAL_CLUSTERS: &str = "general";

/// One bendable layer as the editor shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSummary {
    /// 1-based, as in configs and the slots' `layer` parameter.
    pub index: usize,
    pub name: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Features (channels) in each general cluster, cluster 0 first.
    pub cluster_sizes: Vec<usize>,
}

/// The loaded model's layers in decoder order.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    /// The persisted model name it was loaded for (`default` or a directory).
    pub chosen_as: String,
    pub dir: PathBuf,
    pub name: String,
    pub layers: Vec<LayerSummary>,
}

impl ModelSummary {
    pub fn of(model: &engine::Model, chosen_as: &str) -> Self {
        let manifest = model.manifest();
        let layers = model
            .layers()
            .iter()
            .map(|l| LayerSummary {
                index: l.index,
                name: l.name.clone(),
                channels: l.channels,
                height: l.height,
                width: l.width,
                cluster_sizes: manifest
                    .clusters_of(GENERAL_CLUSTERS, l.index)
                    .iter()
                    .map(|c| c.len())
                    .collect(),
            })
            .collect();
        Self {
            chosen_as: chosen_as.to_string(),
            dir: model.dir().to_path_buf(),
            name: manifest.name.clone(),
            layers,
        }
    }
}

/// The summary of the model the current activation runs. Written by the main thread in
/// `activate()`, read by the editor; the audio thread never touches it.
#[derive(Debug, Default)]
pub struct LoadedModel {
    current: Mutex<Option<Arc<ModelSummary>>>,
}

impl LoadedModel {
    pub fn set(&self, summary: Option<Arc<ModelSummary>>) {
        *self.current.lock() = summary;
    }

    pub fn get(&self) -> Option<Arc<ModelSummary>> {
        self.current.lock().clone()
    }
}

/// Checks that `dir` holds a Netbend audio model the plugin can run (the engine's manifest
/// loader, plus the plugin's window length). The error is the reason shown to the user.
pub fn check_model_dir(dir: &Path) -> Result<engine::Model, String> {
    let model = engine::Model::load(dir).map_err(|e| e.to_string())?;
    plugin_signal(&model)?;
    Ok(model)
}

/// The model's audio signal settings, if the plugin can run them (128-frame windows).
pub fn plugin_signal(model: &engine::Model) -> Result<engine::AudioSignal, String> {
    let signal = model.audio_signal().map_err(|e| e.to_string())?;
    if signal.window != dsp::WINDOW_FRAMES {
        return Err(format!(
            "model {} has {}-frame windows; the plugin runs {}-frame windows",
            model.dir().display(),
            signal.window,
            dsp::WINDOW_FRAMES
        ));
    }
    Ok(signal)
}

/// The user models folder: `$XDG_DATA_HOME/netbend/models`, else
/// `~/.local/share/netbend/models`.
pub fn user_models_folder() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(data.join("netbend").join("models"))
}

/// The folders searched for trained models: the user models folder, then `NETBEND_MODEL_PATH`.
pub fn model_folders() -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = user_models_folder().into_iter().collect();
    if let Some(extra) = std::env::var_os(MODEL_PATH_ENV) {
        folders.extend(std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()));
    }
    folders
}

/// Folder beside the plugin binary holding the models shipped with it besides the default.
pub const SHIPPED_MODELS_FOLDER: &str = "netbend-models";

/// The other models shipped with the plugin: the directories in `netbend-models/` beside the
/// plugin binary (a bundle puts the paper's model there), else, for a build run from the
/// workspace, the workspace's paper model `models/vae-paper/`.
pub fn shipped_models() -> Vec<PathBuf> {
    if let Some(binary) = engine::onnxruntime::containing_binary()
        && let Some(folder) = binary.parent().map(|d| d.join(SHIPPED_MODELS_FOLDER))
        && let Ok(entries) = std::fs::read_dir(&folder)
    {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        return found;
    }
    let paper = engine::paper_model_dir();
    if paper.join(engine::model::MANIFEST_FILE).is_file() {
        vec![paper]
    } else {
        Vec::new()
    }
}

/// One entry of the model picker.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChoice {
    /// What the persisted `model` state holds: `default` or the directory's path.
    pub name: String,
    /// The directory's name (or `default`).
    pub label: String,
    /// Why the directory cannot be used (`None`: it can).
    pub problem: Option<String>,
}

/// The shipped default, the other [`shipped_models`], then every directory inside
/// [`model_folders`] (sorted by path). A
/// directory that is not a usable model is listed with the reason; a folder given in
/// `NETBEND_MODEL_PATH` that is itself a model directory is listed as one.
pub fn list_models() -> Vec<ModelChoice> {
    let mut choices = vec![ModelChoice {
        name: crate::params::DEFAULT_MODEL.to_string(),
        label: crate::params::DEFAULT_MODEL.to_string(),
        problem: None,
    }];
    let mut dirs = shipped_models();
    for folder in model_folders() {
        if folder.join(engine::model::MANIFEST_FILE).is_file() {
            dirs.push(folder);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        dirs.extend(found);
    }
    for dir in dirs {
        let label = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        choices.push(ModelChoice {
            name: dir.display().to_string(),
            label,
            problem: check_model_dir(&dir).err(),
        });
    }
    choices
}

/// The directory of a model name: "default" is the shipped model (`NETBEND_MODEL_DIR`, then
/// `netbend-model/` beside the plugin binary, then the workspace's `models/vae/`); any other name
/// is a directory path.
pub fn find_model(name: &str) -> Result<PathBuf, String> {
    if name != crate::params::DEFAULT_MODEL {
        let dir = PathBuf::from(name);
        return if dir.join("manifest.json").is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "model `{name}`: no manifest.json in that directory"
            ))
        };
    }
    // An explicit NETBEND_MODEL_DIR wins: when it is wrong, say so instead of loading another.
    if let Some(dir) = std::env::var_os("NETBEND_MODEL_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.join("manifest.json").is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "NETBEND_MODEL_DIR is {}, which has no manifest.json; passing dry audio",
                dir.display()
            ))
        };
    }
    let mut candidates = Vec::new();
    if let Some(binary) = engine::onnxruntime::containing_binary()
        && let Some(dir) = binary.parent()
    {
        candidates.push(dir.join("netbend-model"));
    }
    candidates.push(engine::default_model_dir());
    candidates
        .iter()
        .find(|d| d.join("manifest.json").is_file())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
            format!(
                "the default model was not found (looked in {}); passing dry audio",
                looked.join(", ")
            )
        })
}
