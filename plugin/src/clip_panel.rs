//! The editor's "cluster this audio" row: the plugin-wide choice of clusters for `cluster`
//! selections (general / this clip), the action that clusters the last seconds of input on a
//! background thread ([`crate::clip_clusters`]), its progress with Cancel, and its outcome.

use crate::clip_capture::CLIP_SECONDS;
use crate::clip_clusters::{ClipClustering, ClipProgress};
use crate::params::NetbendParams;
use engine::ClipClusterOptions;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the editor redraws while a clustering runs (progress) or the clip fills.
const REFRESH: Duration = Duration::from_millis(200);

/// The row: clusters choice, clip fill, action / progress + Cancel, and the last outcome.
pub fn clip_panel(ui: &mut egui::Ui, params: &NetbendParams, clip: &ClipClustering) {
    let id = egui::Id::unique("netbend-clip-panel-error");
    let state = params.clip_cluster_state();
    let progress = clip.progress();
    let history = clip.history();
    ui.horizontal(|ui| {
        ui.label("Clusters");
        let mut use_clip = state.use_clip;
        let has_clip = !state.yaml.trim().is_empty();
        egui::ComboBox::from_id_salt("clip-clusters-choice")
            .selected_text(if use_clip { "this clip" } else { "general" })
            .width(90.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut use_clip, false, "general");
                ui.add_enabled_ui(has_clip, |ui| {
                    ui.selectable_value(&mut use_clip, true, "this clip")
                        .on_disabled_hover_text("cluster some audio first");
                });
            });
        if use_clip != state.use_clip {
            params.clip_clusters.write().use_clip = use_clip;
        }
        ui.separator();
        let held = history.seconds();
        ui.label(format!("clip {held:.1} of {CLIP_SECONDS:.0} s"));
        let dropped = history.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            ui.weak(format!("({dropped} samples dropped)"));
        }
        match &progress {
            ClipProgress::Running { done, total } => {
                let fraction = if *total > 0 {
                    *done as f32 / *total as f32
                } else {
                    0.0
                };
                let text = if *total > 0 {
                    format!("clustering: window {done} of {total}")
                } else {
                    "clustering: loading the embedding networks".to_string()
                };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(200.0)
                        .text(text),
                );
                if ui.button("Cancel").clicked() {
                    clip.cancel();
                }
            }
            _ => {
                if ui.button("Cluster this audio").clicked() {
                    let started =
                        crate::model_catalog::find_model(&params.model_name()).and_then(|dir| {
                            let options = ClipClusterOptions {
                                k: None,
                                seed: None,
                            };
                            clip.start(dir, options, params.clip_clusters.clone())
                        });
                    let error = started.err();
                    ui.data_mut(|d| d.insert_temp(id, error));
                }
            }
        }
    });
    let refused: Option<String> = ui.data_mut(|d| d.get_temp(id)).flatten();
    let (is_error, text) = match (&refused, &progress) {
        (Some(why), _) => (true, why.clone()),
        (None, ClipProgress::Finished(Ok(text))) => (false, text.clone()),
        (None, ClipProgress::Finished(Err(why))) => (true, why.clone()),
        _ => (false, String::new()),
    };
    if !text.is_empty() {
        let colour = if is_error {
            egui::Color32::from_rgb(255, 120, 100)
        } else {
            egui::Color32::from_rgb(140, 200, 140)
        };
        ui.add(egui::Label::new(egui::RichText::new(text).color(colour)).wrap());
    }
    if matches!(progress, ClipProgress::Running { .. }) || history.seconds() < CLIP_SECONDS {
        ui.ctx().request_repaint_after(REFRESH);
    }
}
