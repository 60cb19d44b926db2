//! The status line: model, model time and CPU load, latency, deadline misses, guarded samples.

use crate::bridge::EngineStatus;
use crate::model_catalog::ModelSummary;
use crate::params::NetbendParams;
use std::sync::atomic::Ordering;

pub(super) fn status_line(
    ui: &mut egui::Ui,
    params: &NetbendParams,
    status: &EngineStatus,
    loaded: Option<&ModelSummary>,
) {
    let connected = status.model_connected.load(Ordering::Relaxed);
    let latency = status.latency_samples.load(Ordering::Relaxed);
    let rate = status.sample_rate.load(Ordering::Relaxed);
    let misses = status.deadline_misses.load(Ordering::Relaxed);
    let guards = status.guard_events.load(Ordering::Relaxed);
    let message = status.message();
    let window_ms = status.window_ms.load(Ordering::Relaxed);
    let window_ms_max = status.window_ms_max.load(Ordering::Relaxed);
    ui.horizontal_wrapped(|ui| {
        let name = params.model_name();
        // A trained model's name is its directory: show the directory's own name.
        let model = std::path::Path::new(&name)
            .file_name()
            .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
        let warning = egui::Color32::from_rgb(240, 190, 90);
        if connected {
            match loaded.filter(|l| l.chosen_as != name) {
                // A new choice waits for the host to restart the plugin.
                Some(running) => {
                    ui.colored_label(
                        warning,
                        format!(
                            "Model: {} (switching to {model} when the host restarts the plugin)",
                            running.name
                        ),
                    );
                }
                None => {
                    ui.label(format!("Model: {model}"));
                }
            }
            ui.separator();
            ui.label(format!(
                "Model time per window: {window_ms:.1} ms (max {window_ms_max:.1} ms)"
            ));
            if let Some(load) = status.model_load() {
                ui.separator();
                ui.label(format!(
                    "CPU: {:.0} % of a core (max {:.0} %)",
                    load.now * 100.0,
                    load.max * 100.0
                ))
                .on_hover_text(
                    "Model time per window over the time between two windows (the quality \
                     mode's hop): the share of one core the model thread uses. Over 100 % \
                     the windows come late and are replaced by the dry signal.",
                );
            }
            if !message.is_empty() {
                ui.separator();
                ui.colored_label(warning, message);
            }
        } else {
            ui.colored_label(
                warning,
                format!(
                    "Model: {model} - not running: {} The wet signal is the dry signal delayed \
                     by the reported latency.",
                    if message.is_empty() {
                        "not activated yet."
                    } else {
                        &message
                    }
                ),
            );
        }
        ui.separator();
        // The host rate is 0 while the plugin is not active: no latency to convert.
        if rate > 0.0 {
            let ms = latency as f32 * 1000.0 / rate;
            ui.label(format!("Latency: {latency} samples ({ms:.1} ms)"));
        } else {
            ui.label("Latency: inactive");
        }
        ui.separator();
        ui.label(format!("Deadline misses: {misses}"));
        ui.separator();
        ui.label(format!("Guarded samples: {guards}"));
    });
}
