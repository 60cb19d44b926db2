//! The egui editor: global controls, a status line, and the eight bend slots.

mod header;
mod slots;
mod status;
mod widgets;

use crate::bridge::EngineStatus;
use crate::params::NetbendParams;
use nice_plug::context::gui::GuiContext;
use nice_plug_egui::{EguiEditorState, Frame, NiceEguiApp};
use std::sync::Arc;

/// Logical size of the editor window.
pub const EDITOR_WIDTH: u32 = 1200;
pub const EDITOR_HEIGHT: u32 = 640;

const SLOT_COLUMNS: usize = 4;
pub(super) const SLIDER_WIDTH: f32 = 100.0;
pub(super) const COMBO_WIDTH: f32 = 170.0;

pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(
        nice_plug::editor::dpi::LogicalSize::new(EDITOR_WIDTH as f64, EDITOR_HEIGHT as f64),
        1.0,
    )
}

pub struct NetbendEditor {
    params: Arc<NetbendParams>,
    status: Arc<EngineStatus>,
    gui: Option<GuiContext>,
}

impl NetbendEditor {
    pub fn new(params: Arc<NetbendParams>, status: Arc<EngineStatus>) -> Self {
        Self {
            params,
            status,
            gui: None,
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
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        let params = self.params.clone();
        egui::Frame::central_panel(ui.style()).show(ui, |ui| {
            ui.set_min_size(ui.available_size());
            header::header(ui, &params, &setter);
            status::status_line(ui, &params, &self.status);
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
                                    |ui| slots::slot_card(ui, n, slot, &setter, card_width),
                                );
                            }
                        });
                        ui.add_space(spacing);
                    }
                });
        });
    }
}
