//! A slot card's motion: the modulator's and re-roll's controls, and a small view of the
//! modulated value over the last two bars of the song. A modulator is a function of the song
//! position alone (`engine::motion`), so the view draws that function over the positions that
//! just went by (the last block's song clock) instead of keeping a history.

use super::widgets::{COMBO_WIDTH, enum_combo, row_slider};
use crate::bridge::{EngineStatus, slot_motion};
use crate::motion_params::{ModRate, ModShape};
use crate::params::{SlotParams, Transform};
use nice_plug::prelude::*;

/// Points drawn along the view.
const POINTS: usize = 96;
/// Bars of song the view shows.
const BARS: f64 = 2.0;
const VIEW_HEIGHT: f32 = 30.0;

/// The modulator's rows of the slot's grid (shape first; the rest once it is on), and the
/// re-roll row where the slot draws at random.
pub(super) fn motion_rows(ui: &mut egui::Ui, n: usize, slot: &SlotParams, setter: &ParamSetter) {
    ui.label("Modulate");
    enum_combo(ui, ("mod-shape", n), &slot.mod_shape, setter, COMBO_WIDTH);
    ui.end_row();
    if slot.mod_shape.value() != ModShape::Off {
        ui.label("Rate");
        enum_combo(ui, ("mod-rate", n), &slot.mod_rate, setter, COMBO_WIDTH);
        ui.end_row();
        if slot.mod_rate.value() == ModRate::Free {
            row_slider(ui, "Hz", &slot.mod_hz, setter);
        }
        row_slider(ui, "Depth", &slot.mod_depth, setter);
        row_slider(ui, "Phase", &slot.mod_phase, setter);
        ui.label("Target");
        enum_combo(ui, ("mod-target", n), &slot.mod_target, setter, COMBO_WIDTH);
        ui.end_row();
    }
    if slot
        .transform
        .value()
        .draws_at_random(slot.selection.value())
    {
        ui.label("Re-roll");
        enum_combo(ui, ("reroll", n), &slot.reroll, setter, COMBO_WIDTH);
        ui.end_row();
    }
}

/// The modulated value over the last two bars (left: two bars ago, right: now), within the
/// target's range, with the re-roll's draws as ticks. Nothing when the slot does not move.
pub(super) fn motion_view(ui: &mut egui::Ui, slot: &SlotParams, status: &EngineStatus) {
    let transform = slot.transform.value();
    let motion = slot_motion(slot, transform);
    let range = motion.range;
    let draws = transform.draws_at_random(slot.selection.value());
    let Some(motion) = motion.motion(transform.param_count(), draws) else {
        return;
    };
    let clock = status.song_clock();
    if clock.beats_per_second <= 0.0 {
        return;
    }
    let span = BARS * clock.beats_per_bar / clock.beats_per_second;
    let width = ui.available_width();
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(width, VIEW_HEIGHT), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, egui::Color32::from_gray(24));
    let x_at = |j: usize| rect.left() + rect.width() * j as f32 / (POINTS - 1) as f32;
    let seconds_at = |j: usize| -span + span * j as f64 / (POINTS - 1) as f64;
    if let Some(rate) = motion.reroll {
        // A tick where a new draw starts.
        let mut last = None;
        for j in 0..POINTS {
            let index = engine::motion::reroll_index(rate, clock.after(seconds_at(j)));
            if last.is_some_and(|l| l != index) {
                painter.vline(
                    x_at(j),
                    rect.y_range(),
                    egui::Stroke::new(1.0, egui::Color32::from_rgb(200, 160, 60)),
                );
            }
            last = Some(index);
        }
    }
    let Some(m) = motion.modulator else {
        response.on_hover_text("Re-rolls: a new random draw at each tick (the last two bars)");
        return;
    };
    let base = match m.target {
        engine::Target::Mix => slot.mix.value(),
        engine::Target::Param => main_param(slot, transform),
    };
    let seed = slot.seed.value().max(0) as u64;
    let (low, high) = (f64::from(range[0]), f64::from(range[1]));
    let points: Vec<egui::Pos2> = (0..POINTS)
        .map(|j| {
            let value = m.bounded(f64::from(base) + m.offset(clock.after(seconds_at(j)), seed));
            let y = ((value - low) / (high - low)).clamp(0.0, 1.0) as f32;
            egui::pos2(x_at(j), rect.bottom() - 2.0 - y * (rect.height() - 4.0))
        })
        .collect();
    painter.add(egui::Shape::line(
        points,
        egui::Stroke::new(1.5, egui::Color32::from_rgb(120, 200, 140)),
    ));
    let now = m.bounded(f64::from(base) + m.offset(clock.after(0.0), seed));
    response.on_hover_text(format!(
        "{} now {now:.3} (range {low}..{high}); the last two bars",
        match m.target {
            engine::Target::Mix => "Mix",
            engine::Target::Param => "Parameter",
        }
    ));
}

/// The host value of the transform's main parameter (what a `param` modulator moves around).
fn main_param(slot: &SlotParams, transform: Transform) -> f32 {
    match transform {
        Transform::Translate => slot.translate_x.value(),
        Transform::Scale => slot.scale_x.value(),
        Transform::Rotate => slot.rotate.value(),
        Transform::Erode | Transform::Dilate => slot.radius.value() as f32,
        Transform::ScalarMultiply => slot.multiply.value(),
        Transform::Offset => slot.offset.value(),
        Transform::BinaryThresh => slot.threshold.value(),
        Transform::Noise => slot.noise.value(),
        Transform::Shuffle
        | Transform::FlipH
        | Transform::FlipV
        | Transform::Invert
        | Transform::Ablate => slot.mix.value(),
    }
}
