//! The layer/cluster view (after the user-friendly network bending paper): the loaded model's
//! bendable layers in decoder order, each with its general clusters as clickable chips plus
//! "all" and "random %". Clicking a chip points the selected slot at it (layer, selection,
//! cluster or share) and switches the slot on, through the ParamSetter so hosts record it.
//! Each chip names the slots that currently target it.

use crate::model_catalog::{LayerSummary, ModelSummary};
use crate::params::{MAX_CLUSTER, NUM_LAYERS, NUM_SLOTS, NetbendParams, Selection, SlotParams};
use nice_plug::prelude::*;

/// What a chip stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Target {
    All,
    /// A random share of the layer's features, in (0, 1].
    Random(f32),
    Cluster(usize),
}

/// The view's own state (not plugin state).
pub(super) struct LayerView {
    /// The slot the chips assign, 0-based.
    pub selected_slot: usize,
    /// The "random %" of each layer's chip, in percent.
    random_percent: [f32; NUM_LAYERS as usize],
}

impl LayerView {
    pub(super) fn new() -> Self {
        Self {
            selected_slot: 0,
            random_percent: [25.0; NUM_LAYERS as usize],
        }
    }

    pub(super) fn show(
        &mut self,
        ui: &mut egui::Ui,
        model: Option<&ModelSummary>,
        params: &NetbendParams,
        setter: &ParamSetter,
    ) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Assign to slot:");
            for n in 0..NUM_SLOTS {
                let on = params.slots[n].enabled.value();
                let text = egui::RichText::new(format!("{}", n + 1));
                let text = if on { text.strong() } else { text };
                if ui.selectable_label(self.selected_slot == n, text).clicked() {
                    self.selected_slot = n;
                }
            }
        });
        let Some(model) = model else {
            ui.weak("Layers: no model loaded (they appear when the host activates the plugin).");
            return;
        };
        egui::Grid::new("layers")
            .num_columns(2)
            .min_col_width(96.0)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                for layer in &model.layers {
                    self.layer_row(ui, layer, params, setter);
                    ui.end_row();
                }
            });
    }

    fn layer_row(
        &mut self,
        ui: &mut egui::Ui,
        layer: &LayerSummary,
        params: &NetbendParams,
        setter: &ParamSetter,
    ) {
        ui.vertical(|ui| {
            ui.add(
                egui::Label::new(egui::RichText::new(format!("Layer {}", layer.index)).strong())
                    .extend(),
            )
            .on_hover_text(&layer.name);
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!(
                        "{} ch, {}x{}",
                        layer.channels, layer.height, layer.width
                    ))
                    .weak(),
                )
                .extend(),
            )
            .on_hover_text("features (channels), activation map height x width");
        });
        // Layers past the slots' layer range cannot be assigned (the parameter is fixed).
        let assignable = (1..=NUM_LAYERS as usize).contains(&layer.index);
        ui.add_enabled_ui(assignable, |ui| {
            ui.horizontal_wrapped(|ui| {
                let mut clicked = None;
                if chip(
                    ui,
                    "all",
                    layer.channels,
                    &targeting(params, layer.index, Target::All),
                ) {
                    clicked = Some(Target::All);
                }
                let percent = &mut self.random_percent
                    [layer.index.saturating_sub(1).min(NUM_LAYERS as usize - 1)];
                let share = *percent / 100.0;
                let label = format!("random {percent:.0} %");
                let size = ((layer.channels as f32 * share).round() as usize).max(1);
                if chip(
                    ui,
                    &label,
                    size,
                    &targeting(params, layer.index, Target::Random(share)),
                ) {
                    clicked = Some(Target::Random(share));
                }
                ui.add(
                    egui::DragValue::new(percent)
                        .range(1.0..=100.0)
                        .speed(0.5)
                        .suffix(" %"),
                )
                .on_hover_text("Share of the layer's features the random chip selects");
                ui.separator();
                if layer.cluster_sizes.is_empty() {
                    ui.weak("no general clusters");
                }
                for (c, &size) in layer.cluster_sizes.iter().enumerate() {
                    let slots = targeting(params, layer.index, Target::Cluster(c));
                    // The slots' cluster parameter ends at MAX_CLUSTER.
                    let reachable = c <= MAX_CLUSTER as usize;
                    if ui
                        .add_enabled_ui(reachable, |ui| chip(ui, &format!("C{c}"), size, &slots))
                        .inner
                    {
                        clicked = Some(Target::Cluster(c));
                    }
                }
                if let Some(target) = clicked {
                    let slot = &params.slots[self.selected_slot];
                    assign(slot, layer.index, target, setter);
                }
            });
        });
    }
}

/// The 1-based numbers of the enabled slots that bend `target` on `layer`.
pub(super) fn targeting(params: &NetbendParams, layer: usize, target: Target) -> Vec<usize> {
    params
        .slots
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.enabled.value()
                && s.layer.value() as usize == layer
                && match (s.selection.value(), target) {
                    (Selection::All, Target::All) => true,
                    (Selection::Random, Target::Random(_)) => true,
                    (Selection::Cluster, Target::Cluster(c)) => s.cluster.value() as usize == c,
                    _ => false,
                }
        })
        .map(|(n, _)| n + 1)
        .collect()
}

/// A chip: the name, its feature count and the slots on it. Returns whether it was clicked.
fn chip(ui: &mut egui::Ui, name: &str, features: usize, slots: &[usize]) -> bool {
    let mut text = format!("{name} ({features})");
    if !slots.is_empty() {
        let list: Vec<String> = slots.iter().map(|n| n.to_string()).collect();
        text.push_str(&format!(" - slot {}", list.join(",")));
    }
    let fill = if slots.is_empty() {
        ui.visuals().widgets.inactive.weak_bg_fill
    } else {
        egui::Color32::from_rgb(70, 95, 150)
    };
    // Chips never wrap their text: a chip that does not fit goes to the next line.
    ui.add(
        egui::Button::new(text)
            .fill(fill)
            .corner_radius(8.0)
            .wrap_mode(egui::TextWrapMode::Extend),
    )
    .on_hover_text(format!(
        "{features} features; click to assign the selected slot"
    ))
    .clicked()
}

/// Points `slot` at `target` on `layer` and switches it on, one host gesture per parameter.
fn assign(slot: &SlotParams, layer: usize, target: Target, setter: &ParamSetter) {
    set_int(setter, &slot.layer, layer as i32);
    let selection = match target {
        Target::All => Selection::All,
        Target::Random(_) => Selection::Random,
        Target::Cluster(_) => Selection::Cluster,
    };
    setter.begin_set_parameter(&slot.selection);
    setter.set_parameter(&slot.selection, selection);
    setter.end_set_parameter(&slot.selection);
    match target {
        Target::Cluster(c) => set_int(setter, &slot.cluster, c as i32),
        Target::Random(share) => {
            setter.begin_set_parameter(&slot.fraction);
            setter.set_parameter(&slot.fraction, share);
            setter.end_set_parameter(&slot.fraction);
        }
        Target::All => {}
    }
    setter.begin_set_parameter(&slot.enabled);
    setter.set_parameter(&slot.enabled, true);
    setter.end_set_parameter(&slot.enabled);
}

fn set_int(setter: &ParamSetter, param: &IntParam, value: i32) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}
