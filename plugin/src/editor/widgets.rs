//! Small parameter widgets that go through the ParamSetter (begin/set/end, so hosts record
//! the gesture).

use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;

// The widgets' widths live here, below the editor panels that use them, rather than in
// `editor/mod.rs`, which uses the panels (imports run one way).
pub(super) const SLIDER_WIDTH: f32 = 100.0;
pub(super) const COMBO_WIDTH: f32 = 170.0;

pub(super) fn row_slider<P: Param>(
    ui: &mut egui::Ui,
    label: &str,
    param: &P,
    setter: &ParamSetter,
) {
    ui.label(label);
    ui.add(ParamSlider::for_param(param, setter).with_width(SLIDER_WIDTH));
    ui.end_row();
}

pub(super) fn bool_checkbox(
    ui: &mut egui::Ui,
    param: &BoolParam,
    label: &str,
    setter: &ParamSetter,
) -> egui::Response {
    let mut value = param.value();
    let response = ui.checkbox(&mut value, label);
    if response.changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
    response
}

pub(super) fn enum_combo<T: Enum + PartialEq + Copy + 'static>(
    ui: &mut egui::Ui,
    id: impl std::hash::Hash + std::fmt::Debug,
    param: &EnumParam<T>,
    setter: &ParamSetter,
    width: f32,
) {
    let current = param.value();
    let names = T::variants();
    egui::ComboBox::from_id_salt(id)
        .selected_text(names[current.to_index()])
        .width(width)
        .show_ui(ui, |ui| {
            for (index, name) in names.iter().enumerate() {
                let variant = T::from_index(index);
                if ui.selectable_label(variant == current, *name).clicked() && variant != current {
                    setter.begin_set_parameter(param);
                    setter.set_parameter(param, variant);
                    setter.end_set_parameter(param);
                }
            }
        });
}
