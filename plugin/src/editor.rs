//! The egui editor: global controls, a status line, and the eight bend slots. Each slot shows
//! only the controls its transform and selection use.

use crate::bridge::EngineStatus;
use crate::params::{DEFAULT_MODEL, NetbendParams, Selection, SlotParams, Transform};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{EguiEditorState, Frame, NiceEguiApp};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Logical size of the editor window.
pub const EDITOR_WIDTH: u32 = 1200;
pub const EDITOR_HEIGHT: u32 = 640;

const SLOT_COLUMNS: usize = 4;
const SLIDER_WIDTH: f32 = 100.0;
const COMBO_WIDTH: f32 = 170.0;

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
    /// "Cluster this audio" (crate::clip_panel).
    clip: Option<Arc<crate::clip_clusters::ClipClustering>>,
}

impl NetbendEditor {
    pub fn new(params: Arc<NetbendParams>, status: Arc<EngineStatus>) -> Self {
        Self {
            params,
            status,
            gui: None,
            clip: None,
        }
    }

    /// Shows the "cluster this audio" row for this clustering thread.
    pub fn with_clip_clustering(mut self, clip: Arc<crate::clip_clusters::ClipClustering>) -> Self {
        self.clip = Some(clip);
        self
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
            header(ui, &params, &setter);
            crate::config_panel::config_panel(ui, &params, &setter);
            if let Some(clip) = &self.clip {
                crate::clip_panel::clip_panel(ui, &params, clip);
            }
            status_line(ui, &params, &self.status);
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
                                    |ui| slot_card(ui, n, slot, &setter, card_width),
                                );
                            }
                        });
                        ui.add_space(spacing);
                    }
                });
        });
    }
}

fn header(ui: &mut egui::Ui, params: &NetbendParams, setter: &ParamSetter) {
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
    });
}

fn status_line(ui: &mut egui::Ui, params: &NetbendParams, status: &EngineStatus) {
    let connected = status.model_connected.load(Ordering::Relaxed);
    let latency = status.latency_samples.load(Ordering::Relaxed);
    let rate = status.sample_rate.load(Ordering::Relaxed);
    let misses = status.deadline_misses.load(Ordering::Relaxed);
    let guards = status.guard_events.load(Ordering::Relaxed);
    let message = status.message();
    let window_ms = status.window_ms.load(Ordering::Relaxed);
    let window_ms_max = status.window_ms_max.load(Ordering::Relaxed);
    ui.horizontal_wrapped(|ui| {
        let model = params.model_name();
        let warning = egui::Color32::from_rgb(240, 190, 90);
        if connected {
            ui.label(format!("Model: {model}"));
            ui.separator();
            ui.label(format!(
                "Model time per window: {window_ms:.1} ms (max {window_ms_max:.1} ms)"
            ));
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
        let ms = if rate > 0.0 {
            latency as f32 * 1000.0 / rate
        } else {
            0.0
        };
        ui.label(format!("Latency: {latency} samples ({ms:.1} ms)"));
        ui.separator();
        ui.label(format!("Deadline misses: {misses}"));
        ui.separator();
        ui.label(format!("Guarded samples: {guards}"));
    });
}

fn slot_card(ui: &mut egui::Ui, n: usize, slot: &SlotParams, setter: &ParamSetter, width: f32) {
    let enabled = slot.enabled.value();
    let margin = 8.0;
    egui::Frame::group(ui.style())
        .inner_margin(margin)
        .show(ui, |ui| {
            ui.set_width(width - 2.0 * margin - 2.0);
            ui.set_min_height(250.0);
            ui.horizontal(|ui| {
                bool_checkbox(ui, &slot.enabled, &format!("Slot {n}"), setter);
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
                        if selection == Selection::Random || slot.transform.value().uses_seed() {
                            row_slider(ui, "Seed", &slot.seed, setter);
                        }
                        row_slider(ui, "Mix", &slot.mix, setter);
                    });
            });
        });
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

fn row_slider<P: Param>(ui: &mut egui::Ui, label: &str, param: &P, setter: &ParamSetter) {
    ui.label(label);
    ui.add(ParamSlider::for_param(param, setter).with_width(SLIDER_WIDTH));
    ui.end_row();
}

fn bool_checkbox(ui: &mut egui::Ui, param: &BoolParam, label: &str, setter: &ParamSetter) {
    let mut value = param.value();
    if ui.checkbox(&mut value, label).changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

fn enum_combo<T: Enum + PartialEq + Copy + 'static>(
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
