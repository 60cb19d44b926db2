//! The egui editor: global controls and the model picker, a status line, the layer/cluster
//! view, live spectrograms of the model path's input and output, and the eight bend slots.

mod header;
mod layers;
mod model_picker;
mod motion;
mod slots;
mod spectrogram;
mod status;
mod widgets;

use crate::bridge::EngineStatus;
use crate::model_catalog::LoadedModel;
use crate::params::NetbendParams;
use crate::spectrum::SpectrumFeed;
use nice_plug::context::gui::GuiContext;
use nice_plug_egui::{EguiEditorState, Frame, NiceEguiApp};
use std::sync::Arc;

/// Logical size of the editor window.
pub const EDITOR_WIDTH: u32 = 1280;
pub const EDITOR_HEIGHT: u32 = 860;

const SLOT_COLUMNS: usize = 4;
/// Height of each of the two spectrogram images.
const SPECTROGRAM_HEIGHT: f32 = 92.0;

pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(
        nice_plug::editor::dpi::LogicalSize::new(EDITOR_WIDTH as f64, EDITOR_HEIGHT as f64),
        1.0,
    )
}

/// What the editor shares with the plugin.
pub struct EditorLinks {
    pub params: Arc<NetbendParams>,
    pub status: Arc<EngineStatus>,
    pub loaded_model: Arc<LoadedModel>,
    pub spectrum: Arc<SpectrumFeed>,
    /// "Cluster this audio" (crate::clip_panel).
    pub clip: Arc<crate::clip_clusters::ClipClustering>,
}

pub struct NetbendEditor {
    links: EditorLinks,
    gui: Option<GuiContext>,
    layers: layers::LayerView,
    spectrogram: spectrogram::SpectrogramView,
    picker: Option<model_picker::ModelPicker>,
}

impl NetbendEditor {
    pub fn new(links: EditorLinks) -> Self {
        Self {
            links,
            gui: None,
            layers: layers::LayerView::new(),
            spectrogram: spectrogram::SpectrogramView::new(),
            picker: None,
        }
    }
}

impl NiceEguiApp for NetbendEditor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(nice_gui_ctx);
        self.picker = Some(model_picker::ModelPicker::new());
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        let params = self.links.params.clone();
        self.spectrogram.update(ui.ctx(), &self.links.spectrum);
        // The spectrograms scroll: keep painting while the editor is open.
        ui.ctx().request_repaint();
        let model = self.links.loaded_model.get();
        let picker = self
            .picker
            .get_or_insert_with(model_picker::ModelPicker::new);
        egui::Frame::central_panel(ui.style()).show(ui, |ui| {
            ui.set_min_size(ui.available_size());
            header::header(ui, &params, &setter, &gui, picker);
            crate::config_panel::config_panel(ui, &params, &setter);
            crate::clip_panel::clip_panel(ui, &params, &self.links.clip);
            status::status_line(ui, &params, &self.links.status, model.as_deref());
            ui.separator();
            ui.horizontal_top(|ui| {
                let layers_width = (ui.available_width() * 0.55).floor();
                ui.allocate_ui_with_layout(
                    egui::vec2(layers_width, 0.0),
                    egui::Layout::top_down(egui::Align::LEFT),
                    |ui| {
                        ui.set_width(layers_width);
                        self.layers.show(ui, model.as_deref(), &params, &setter);
                    },
                );
                // A gap, not a separator: a vertical separator would claim the full height.
                ui.add_space(12.0);
                ui.vertical(|ui| {
                    let width = ui.available_width();
                    self.spectrogram.show(ui, width, SPECTROGRAM_HEIGHT);
                });
            });
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    let spacing = 8.0;
                    let card_width = ((ui.available_width()
                        - spacing * (SLOT_COLUMNS as f32 - 1.0))
                        / SLOT_COLUMNS as f32)
                        .floor()
                        - 1.0;
                    for row in params.slots.chunks(SLOT_COLUMNS).enumerate() {
                        let (r, slots) = row;
                        ui.horizontal_top(|ui| {
                            ui.spacing_mut().item_spacing.x = spacing;
                            for (c, slot) in slots.iter().enumerate() {
                                let n = r * SLOT_COLUMNS + c + 1;
                                ui.allocate_ui_with_layout(
                                    egui::vec2(card_width, 0.0),
                                    egui::Layout::top_down(egui::Align::LEFT),
                                    |ui| {
                                        let selected = self.layers.selected_slot == n - 1;
                                        if slots::slot_card(
                                            ui,
                                            n,
                                            slot,
                                            &setter,
                                            &self.links.status,
                                            card_width,
                                            selected,
                                        ) {
                                            self.layers.selected_slot = n - 1;
                                        }
                                    },
                                );
                            }
                        });
                        ui.add_space(spacing);
                    }
                });
        });
    }
}
