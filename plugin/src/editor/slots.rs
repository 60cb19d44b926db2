//! The eight slot cards. Each shows only the controls its transform and selection use.

use super::motion::{motion_rows, motion_view};
use super::widgets::{COMBO_WIDTH, bool_checkbox, enum_combo, row_slider};
use crate::bridge::EngineStatus;
use crate::params::{Selection, SlotParams, Transform};
use nice_plug::prelude::*;

pub(super) fn slot_card(
    ui: &mut egui::Ui,
    n: usize,
    slot: &SlotParams,
    setter: &ParamSetter,
    status: &EngineStatus,
    width: f32,
    selected: bool,
) -> bool {
    let enabled = slot.enabled.value();
    let margin = 8.0;
    let mut select = false;
    let mut frame = egui::Frame::group(ui.style()).inner_margin(margin);
    if selected {
        // The slot the layer view's chips assign.
        frame = frame.stroke(egui::Stroke::new(
            1.5,
            egui::Color32::from_rgb(110, 150, 230),
        ));
    }
    frame.show(ui, |ui| {
        ui.set_width(width - 2.0 * margin - 2.0);
        ui.set_min_height(215.0);
        ui.horizontal(|ui| {
            bool_checkbox(ui, &slot.enabled, &format!("Slot {n}"), setter);
            select = ui
                .selectable_label(selected, "target")
                .on_hover_text("The layer view's chips assign this slot")
                .clicked();
            let summary = if enabled {
                format!(
                    "{} on layer {}",
                    slot.transform.value().display_name(),
                    slot.layer.value()
                )
            } else {
                "off".to_string()
            };
            ui.weak(summary);
        });
        ui.add_space(4.0);
        ui.add_enabled_ui(enabled, |ui| {
            egui::Grid::new(("slot", n))
                .num_columns(2)
                .spacing([6.0, 4.0])
                .show(ui, |ui| {
                    row_slider(ui, "Layer", &slot.layer, setter);
                    ui.label("Transform");
                    enum_combo(ui, ("transform", n), &slot.transform, setter, COMBO_WIDTH);
                    ui.end_row();
                    transform_controls(ui, slot, setter);
                    ui.label("Selection");
                    enum_combo(ui, ("selection", n), &slot.selection, setter, COMBO_WIDTH);
                    ui.end_row();
                    let selection = slot.selection.value();
                    match selection {
                        Selection::All => {}
                        Selection::Random => {
                            row_slider(ui, "Fraction", &slot.fraction, setter);
                        }
                        Selection::Cluster => {
                            row_slider(ui, "Cluster", &slot.cluster, setter);
                        }
                    }
                    if slot.transform.value().draws_at_random(selection) {
                        row_slider(ui, "Seed", &slot.seed, setter);
                    }
                    row_slider(ui, "Mix", &slot.mix, setter);
                    motion_rows(ui, n, slot, setter);
                });
            motion_view(ui, slot, status);
        });
    });
    select
}

/// The controls of the slot's current transform only.
fn transform_controls(ui: &mut egui::Ui, slot: &SlotParams, setter: &ParamSetter) {
    match slot.transform.value() {
        Transform::Translate => {
            row_slider(ui, "X", &slot.translate_x, setter);
            row_slider(ui, "Y", &slot.translate_y, setter);
        }
        Transform::Scale => {
            row_slider(ui, "X", &slot.scale_x, setter);
            row_slider(ui, "Y", &slot.scale_y, setter);
        }
        Transform::Rotate => row_slider(ui, "Angle", &slot.rotate, setter),
        Transform::Erode | Transform::Dilate => row_slider(ui, "Radius", &slot.radius, setter),
        Transform::ScalarMultiply => row_slider(ui, "Factor", &slot.multiply, setter),
        Transform::Offset => row_slider(ui, "Offset", &slot.offset, setter),
        Transform::BinaryThresh => row_slider(ui, "Threshold", &slot.threshold, setter),
        Transform::Noise => row_slider(ui, "Sigma", &slot.noise, setter),
        Transform::Shuffle
        | Transform::FlipH
        | Transform::FlipV
        | Transform::Invert
        | Transform::Ablate => {}
    }
}
