//! The model picker: the shipped default plus every model directory in the user models folder
//! and `NETBEND_MODEL_PATH` ([`crate::model_catalog::list_models`]). Unusable directories are
//! listed greyed out with the reason. Choosing one stores its path in the persisted `model`
//! state and asks the host to restart the plugin: `activate()` then loads it on the main thread.

use crate::model_catalog::{ModelChoice, list_models};
use crate::params::NetbendParams;
use nice_plug::context::gui::GuiContext;

pub(super) struct ModelPicker {
    choices: Vec<ModelChoice>,
}

impl ModelPicker {
    /// Scans the model folders (the editor's thread: reads a few small manifests).
    pub(super) fn new() -> Self {
        Self {
            choices: list_models(),
        }
    }

    pub(super) fn show(&mut self, ui: &mut egui::Ui, params: &NetbendParams, gui: &GuiContext) {
        let current = params.model_name();
        let shown = self
            .choices
            .iter()
            .find(|c| c.name == current)
            .map_or(current.as_str(), |c| c.label.as_str())
            .to_string();
        egui::ComboBox::from_id_salt("model")
            .selected_text(shown)
            .width(140.0)
            .show_ui(ui, |ui| {
                let mut chosen = None;
                for choice in &self.choices {
                    let selected = choice.name == current;
                    match &choice.problem {
                        None => {
                            if ui
                                .selectable_label(selected, &choice.label)
                                .on_hover_text(&choice.name)
                                .clicked()
                                && !selected
                            {
                                chosen = Some(choice.name.clone());
                            }
                        }
                        Some(why) => {
                            ui.add_enabled(false, egui::Button::selectable(false, &choice.label))
                                .on_disabled_hover_text(why);
                        }
                    }
                }
                ui.separator();
                if ui.button("Rescan model folders").clicked() {
                    self.choices = list_models();
                }
                if let Some(name) = chosen {
                    params.set_model_name(&name);
                    // The model loads in activate(), off the audio thread.
                    gui.request_restart();
                }
            });
    }
}
