//! `--spectrogram out.png`: dB spectrograms of signals at the model rate, stacked one above the
//! other (e.g. input on top, output below), low frequencies at the bottom, an inferno-like
//! colour map from -80 dB (black) to the loudest bin (pale yellow). Written atomically.

use std::path::Path;

use anyhow::Result;
use dsp::{AudioData, Normalisation, Stft, StftConfig, write_wav};

/// Writes the spectrograms of `signals` (model rate), one panel each from top to bottom.
pub fn write(path: &Path, signals: &[&[f32]]) -> Result<()> {
    let mut stft = Stft::new(StftConfig::default());
    let norm = Normalisation::default();
    let spectra: Vec<(usize, Vec<f32>)> = signals
        .iter()
        .map(|s| {
            let sp = stft.analyse(s);
            (sp.frames(), sp.magnitudes())
        })
        .collect();
    let bins = dsp::N_BINS;
    let width = spectra.iter().map(|s| s.0).max().unwrap_or(1).max(1);
    let gap = 4;
    let height = spectra.len() * bins + gap * spectra.len().saturating_sub(1);
    // dB range: from -80 dB to the loudest bin of all panels, so panels compare directly.
    let top_db = spectra
        .iter()
        .flat_map(|s| s.1.iter())
        .map(|&m| norm.magnitude_to_db(m))
        .fold(-80.0f32, f32::max)
        .max(-60.0);
    let floor_db = -80.0f32;
    let mut img = image::RgbImage::from_pixel(
        width as u32,
        height.max(1) as u32,
        image::Rgb([255, 255, 255]),
    );
    for (p, (frames, mags)) in spectra.iter().enumerate() {
        let y0 = p * (bins + gap);
        for t in 0..*frames {
            for b in 0..bins {
                let db = norm.magnitude_to_db(mags[t * bins + b]);
                let v = (db - floor_db) / (top_db - floor_db);
                img.put_pixel(
                    t as u32,
                    (y0 + bins - 1 - b) as u32,
                    image::Rgb(dsp::colour_map::inferno(v)),
                );
            }
        }
    }
    crate::image_io::write_png(path, &img)
}

/// Writes the optional spectrogram PNG of `signals` and then the WAV, each atomically; if the WAV
/// cannot be written the PNG just written is removed again, so a failed command leaves neither.
pub fn write_with_wav(
    png: Option<&Path>,
    signals: &[&[f32]],
    wav: &Path,
    audio: &AudioData,
) -> Result<()> {
    if let Some(png) = png {
        write(png, signals)?;
    }
    if let Err(e) = write_wav(wav, audio) {
        if let Some(png) = png {
            let _ = std::fs::remove_file(png);
        }
        return Err(e.into());
    }
    Ok(())
}
