//! The header row: title, global controls (dry/wet, output gain, voice, bypass), quality mode and
//! the model picker. The config row
//! (load/save/reset, `crate::config_panel`) follows it.

use super::model_picker::ModelPicker;
use super::widgets::{bool_checkbox, enum_combo};
use crate::params::NetbendParams;
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;

pub(super) fn header(
    ui: &mut egui::Ui,
    params: &NetbendParams,
    setter: &ParamSetter,
    gui: &GuiContext,
    picker: &mut ModelPicker,
) {
    ui.horizontal(|ui| {
        ui.heading(egui::RichText::new("Netbend").strong());
        ui.add_space(12.0);
        ui.label("Dry/Wet");
        ui.add(ParamSlider::for_param(&params.dry_wet, setter).with_width(120.0));
        ui.label("Output");
        ui.add(ParamSlider::for_param(&params.output_gain, setter).with_width(120.0));
        // 0 %: the model's own rendering; 100 %: the input's detail with the bend as a mask.
        ui.label("Voice: model")
            .on_hover_text("The model's own rendering of the input (0 %)");
        ui.add(ParamSlider::for_param(&params.voice, setter).with_width(100.0));
        ui.label("input").on_hover_text(
            "The input's own detail, shaped by what the bend changes (100 %; with no bend, the \
             input itself)",
        );
        bool_checkbox(ui, &params.bypass, "Bypass", setter);
        ui.add_space(12.0);
        ui.label("Mode");
        enum_combo(ui, "mode", &params.mode, setter, 170.0);
        ui.add_space(12.0);
        ui.label("Model");
        picker.show(ui, params, gui);
    });
}
