//! The header row: title, global controls (dry/wet, output gain, voice, silence gate, bypass),
//! quality mode and the model picker. The config row (load/save/reset, `crate::config_panel`)
//! follows it.

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
        ui.add_space(8.0);
        ui.label("Dry/Wet");
        ui.add(ParamSlider::for_param(&params.dry_wet, setter).with_width(80.0));
        ui.label("Output");
        ui.add(ParamSlider::for_param(&params.output_gain, setter).with_width(80.0));
        // 0 %: the model's own rendering; 100 %: the input's detail with the bend as a mask.
        ui.label("Voice").on_hover_text(
            "0 %: the model's own rendering of the input; 100 %: the input's own detail, shaped \
             by what the bend changes (with no bend, the input itself)",
        );
        ui.add(ParamSlider::for_param(&params.voice, setter).with_width(80.0));
        bool_checkbox(ui, &params.silence_gate, "Gate", setter).on_hover_text(
            "Silence Gate: where the input is digital silence (the rests of a sequenced break), \
             the output is silent too; off lets a bend sound through silence",
        );
        bool_checkbox(ui, &params.bypass, "Bypass", setter);
        ui.add_space(8.0);
        ui.label("Mode");
        enum_combo(ui, "mode", &params.mode, setter, 160.0);
        ui.add_space(8.0);
        ui.label("Model");
        picker.show(ui, params, gui);
    });
}
