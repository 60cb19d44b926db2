//! The editor's config row: load a bend config (YAML, docs/config.md) into the slots, save the
//! slots as one, reset every slot.
//!
//! Files are chosen with a path field and a list of the `.yaml` files in the path's folder, not a
//! native file dialog: a dialog crate would pull in a D-Bus portal client and an async runtime,
//! and a modal dialog run from the editor would block the host's GUI thread. The panel keeps its
//! state in egui's memory, so the editor needs only the one call to [`config_panel`].

use crate::clip_clusters::ClipClusterState;
use crate::params::NetbendParams;
use crate::params::{NUM_SLOTS, QualityMode, Selection};
use crate::slot_config::{
    SlotValues, SlotsConfig, apply_slots, config_into_slots, default_slots, read_slots,
    slots_to_yaml,
};
use engine::{ClusterMap, ClusterSource};
use nice_plug::prelude::ParamSetter;
use std::path::{Path, PathBuf};

/// What the panel remembers between frames.
#[derive(Clone, Default)]
struct PanelState {
    /// The config file's path as typed.
    path: String,
    /// The outcome of the last action: (is an error, text).
    message: Option<(bool, String)>,
}

/// The folder a fresh editor offers: `~/Documents/Netbend` (created on the first save).
pub fn default_config_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join("Documents").join("Netbend")
}

/// The `.yaml` / `.yml` files directly in `dir`, sorted by name (none if it cannot be read).
pub fn config_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|x| {
                    x.eq_ignore_ascii_case("yaml") || x.eq_ignore_ascii_case("yml")
                })
        })
        .collect();
    files.sort();
    files
}

/// Reads the config at `path` and sets the slots from it, or changes nothing and says why. A
/// `cluster-file` the `cluster` entries select from becomes the clip clusters (and the choice);
/// `cluster` entries on the general clusters choose those.
pub fn load_config_into_slots(
    params: &NetbendParams,
    setter: &ParamSetter,
    path: &Path,
) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let dir = crate::model_catalog::find_model(&params.model_name())?;
    let model = engine::Model::load(&dir).map_err(|e| e.to_string())?;
    let config = config_into_slots(&text, path, model.manifest())?;
    let current = params.clip_cluster_state();
    let clip = clip_state_after_load(&config, &current);
    apply_slots(&params.slots, setter, &config.slots);
    let clusters = match &config.clusters {
        None => "",
        Some(_) if clip.use_clip => ", its cluster-file as the clip clusters",
        Some(_) => ", general clusters",
    };
    if clip != current {
        *params.clip_clusters.write() = clip;
    }
    let used = config.slots.iter().filter(|s| s.enabled).count();
    Ok(format!(
        "loaded {} ({used} slot(s){clusters})",
        path.display()
    ))
}

/// The clip-cluster state after loading `config`: its `cluster-file` becomes the clip clusters
/// and the choice; `cluster` entries on the general clusters choose those; a config without
/// `cluster` entries leaves `current` as it is.
pub fn clip_state_after_load(config: &SlotsConfig, current: &ClipClusterState) -> ClipClusterState {
    match &config.clusters {
        Some(ClusterSource::Explicit(per_layer)) => ClipClusterState {
            use_clip: true,
            yaml: ClusterMap {
                layers: per_layer.to_vec(),
            }
            .to_yaml(),
        },
        Some(ClusterSource::Manifest(_)) => ClipClusterState {
            use_clip: false,
            ..current.clone()
        },
        None => current.clone(),
    }
}

/// The cluster file written beside config `path`: `NAME.clusters.yaml` for `NAME.yaml`.
pub fn cluster_file_beside(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.clusters.yaml"))
}

/// Writes the slots as a config to `path`, all or nothing: each file goes to a temporary file
/// beside it that is then renamed into place. When an enabled slot selects a cluster and the
/// clip clusters are chosen, they are written beside it ([`cluster_file_beside`]) and named
/// as the config's `cluster-file`, so `netbend render --config` selects the same channels.
pub fn save_slots_as_config(params: &NetbendParams, path: &Path) -> Result<String, String> {
    write_config(
        &read_slots(&params.slots),
        params.mode.value(),
        &params.clip_cluster_state(),
        path,
    )
}

/// [`save_slots_as_config`] of given slot values and clip-cluster state.
pub fn write_config(
    slots: &[SlotValues; NUM_SLOTS],
    mode: QualityMode,
    state: &ClipClusterState,
    path: &Path,
) -> Result<String, String> {
    let clusters_used = slots
        .iter()
        .any(|s| s.enabled && s.selection == Selection::Cluster);
    let cluster_file = (clusters_used && state.use_clip && !state.yaml.trim().is_empty())
        .then(|| (cluster_file_beside(path), state.yaml.clone()));
    let file_name = cluster_file.as_ref().map(|(p, _)| {
        p.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    let text = slots_to_yaml(slots, mode, file_name.as_deref());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot write {}: cannot create its folder {}: {e}",
                path.display(),
                dir.display()
            )
        })?;
    }
    match &cluster_file {
        Some((cluster_path, yaml)) => {
            write_whole(cluster_path, yaml)?;
            // Nothing half-written: without its config the cluster file goes again.
            write_whole(path, &text).inspect_err(|_| {
                let _ = std::fs::remove_file(cluster_path);
            })?;
            Ok(format!(
                "saved {} and its clip clusters {}",
                path.display(),
                cluster_path.display()
            ))
        }
        None => {
            write_whole(path, &text)?;
            Ok(format!("saved {}", path.display()))
        }
    }
}

/// Writes `text` to `path` through a temporary file beside it renamed over `path`.
fn write_whole(path: &Path, text: &str) -> Result<(), String> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            format!("cannot write {}: {e}", path.display())
        })
}

/// The config row: path field, folder's files, Load, Save, Reset all, and the last outcome.
pub fn config_panel(ui: &mut egui::Ui, params: &NetbendParams, setter: &ParamSetter) {
    let id = egui::Id::unique("netbend-config-panel");
    let mut state: PanelState = ui
        .data_mut(|d| d.get_temp(id))
        .unwrap_or_else(|| PanelState {
            path: default_config_dir().join("bend.yaml").display().to_string(),
            message: None,
        });
    ui.horizontal(|ui| {
        ui.label("Config");
        ui.add(egui::TextEdit::singleline(&mut state.path).desired_width(360.0));
        let path = PathBuf::from(state.path.trim());
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        egui::ComboBox::from_id_salt("config-files")
            .selected_text("files")
            .width(70.0)
            .show_ui(ui, |ui| {
                // Listed only while the list is open: no file system access on other frames.
                let files = config_files(&folder);
                if files.is_empty() {
                    ui.label(format!("no .yaml files in {}", folder.display()));
                }
                for file in files {
                    let name = file.file_name().unwrap_or_default().to_string_lossy();
                    if ui.selectable_label(file == path, name.as_ref()).clicked() {
                        state.path = file.display().to_string();
                    }
                }
            });
        let (load, save, reset) = (
            ui.button("Load").clicked(),
            ui.button("Save").clicked(),
            ui.button("Reset all").clicked(),
        );
        let outcome = if load {
            Some(load_config_into_slots(params, setter, &path))
        } else if save {
            Some(save_slots_as_config(params, &path))
        } else if reset {
            apply_slots(&params.slots, setter, &default_slots());
            Some(Ok("every slot reset to its defaults".to_string()))
        } else {
            None
        };
        if let Some(outcome) = outcome {
            state.message = Some(match outcome {
                Ok(text) => (false, text),
                Err(text) => (true, text),
            });
        }
    });
    if let Some((is_error, text)) = &state.message {
        let colour = if *is_error {
            egui::Color32::from_rgb(255, 120, 100)
        } else {
            egui::Color32::from_rgb(140, 200, 140)
        };
        ui.add(egui::Label::new(egui::RichText::new(text).color(colour)).wrap());
    }
    ui.data_mut(|d| d.insert_temp(id, state));
}
