//! The header row: title, global controls, quality mode and the model picker. The config panel
//! (load/save/reset) is one call placed at the end of the row.

use super::widgets::{bool_checkbox, enum_combo};
use crate::params::{DEFAULT_MODEL, NetbendParams};
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;

pub(super) fn header(ui: &mut egui::Ui, params: &NetbendParams, setter: &ParamSetter) {
    ui.horizontal(|ui| {
        ui.heading(egui::RichText::new("Netbend").strong());
        ui.add_space(12.0);
        ui.label("Dry/Wet");
        ui.add(ParamSlider::for_param(&params.dry_wet, setter).with_width(120.0));
        ui.label("Output");
        ui.add(ParamSlider::for_param(&params.output_gain, setter).with_width(120.0));
        bool_checkbox(ui, &params.bypass, "Bypass", setter);
        ui.add_space(12.0);
        ui.label("Mode");
        enum_combo(ui, "mode", &params.mode, setter, 170.0);
        ui.add_space(12.0);
        ui.label("Model");
        let current = params.model_name();
        egui::ComboBox::from_id_salt("model")
            .selected_text(current.as_str())
            .width(110.0)
            .show_ui(ui, |ui| {
                // The picker lists the shipped default; trained model directories are listed
                // once the engine can read them.
                if ui
                    .selectable_label(current == DEFAULT_MODEL, DEFAULT_MODEL)
                    .clicked()
                {
                    params.set_model_name(DEFAULT_MODEL);
                }
            });
        // The config panel (load/save/reset) is called here, last in the row.
    });
}
