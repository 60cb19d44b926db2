//! Live spectrograms of the model path's input and output: the columns the audio thread
//! publishes ([`crate::spectrum`]) scroll from right to left through two textures, newest at the
//! right edge, low frequencies at the bottom.

use crate::spectrum::{FLOOR_DB, SPECTRUM_BANDS, SpectrumColumn, SpectrumFeed, band_edge_hz};

/// Columns kept: STFT frames at 44.1 kHz / 256 (172 per second), so about 3 s.
const HISTORY_COLUMNS: usize = 512;
/// Levels shown: this many dB below full scale is black.
const RANGE_DB: f32 = 90.0;

/// One scrolling image (input or output).
struct Scroll {
    /// `HISTORY_COLUMNS` columns of `SPECTRUM_BANDS` pixels, column-major, a circular buffer.
    levels: Vec<egui::Color32>,
    texture: Option<egui::TextureHandle>,
}

pub(super) struct SpectrogramView {
    input: Scroll,
    output: Scroll,
    /// Next column to write (the oldest one).
    next: usize,
    /// Whether a ring was installed on the last drain (a model path runs).
    feeding: bool,
}

fn colour(db: f32) -> egui::Color32 {
    let [r, g, b] = dsp::colour_map::inferno((db + RANGE_DB) / RANGE_DB);
    egui::Color32::from_rgb(r, g, b)
}

impl Scroll {
    fn new() -> Self {
        Self {
            levels: vec![colour(FLOOR_DB); HISTORY_COLUMNS * SPECTRUM_BANDS],
            texture: None,
        }
    }

    fn write(&mut self, column: usize, db: &[f32; SPECTRUM_BANDS]) {
        let out = &mut self.levels[column * SPECTRUM_BANDS..(column + 1) * SPECTRUM_BANDS];
        for (o, &v) in out.iter_mut().zip(db) {
            *o = colour(v);
        }
    }

    /// Uploads the image with the oldest column (`next`) at the left edge.
    fn upload(&mut self, ctx: &egui::Context, name: &str, next: usize) {
        let mut image = Vec::with_capacity(HISTORY_COLUMNS * SPECTRUM_BANDS);
        for row in 0..SPECTRUM_BANDS {
            // Row 0 is the top: the highest band.
            let band = SPECTRUM_BANDS - 1 - row;
            for x in 0..HISTORY_COLUMNS {
                let column = (next + x) % HISTORY_COLUMNS;
                image.push(self.levels[column * SPECTRUM_BANDS + band]);
            }
        }
        let pixels = egui::ColorImage::new([HISTORY_COLUMNS, SPECTRUM_BANDS], image);
        match &mut self.texture {
            Some(t) => t.set(pixels, egui::TextureOptions::LINEAR),
            None => {
                self.texture = Some(ctx.load_texture(name, pixels, egui::TextureOptions::LINEAR))
            }
        }
    }
}

impl SpectrogramView {
    pub(super) fn new() -> Self {
        Self {
            input: Scroll::new(),
            output: Scroll::new(),
            next: 0,
            feeding: false,
        }
    }

    /// Takes the new columns from the audio thread and uploads both images.
    pub(super) fn update(&mut self, ctx: &egui::Context, feed: &SpectrumFeed) {
        let mut add = |column: &SpectrumColumn| {
            self.input.write(self.next, &column.input_db);
            self.output.write(self.next, &column.output_db);
            self.next = (self.next + 1) % HISTORY_COLUMNS;
        };
        self.feeding = feed.drain(&mut add);
        self.input.upload(ctx, "spectrogram-input", self.next);
        self.output.upload(ctx, "spectrogram-output", self.next);
    }

    /// Both spectrograms, stacked, `width` wide.
    pub(super) fn show(&self, ui: &mut egui::Ui, width: f32, panel_height: f32) {
        if !self.feeding {
            ui.weak(
                "Spectrograms: no model path is running (they show the model's input and output).",
            );
        }
        for (label, scroll) in [("Input", &self.input), ("Output", &self.output)] {
            ui.label(format!(
                "{label} ({:.0} Hz to {:.0} kHz, log; {RANGE_DB:.0} dB range; about {:.0} s)",
                band_edge_hz(0),
                band_edge_hz(SPECTRUM_BANDS) / 1000.0,
                (HISTORY_COLUMNS * dsp::HOP) as f32 / dsp::MODEL_SAMPLE_RATE as f32
            ));
            if let Some(texture) = &scroll.texture {
                ui.add(
                    egui::Image::new((texture.id(), egui::vec2(width, panel_height)))
                        .fit_to_exact_size(egui::vec2(width, panel_height)),
                );
            }
        }
    }
}
