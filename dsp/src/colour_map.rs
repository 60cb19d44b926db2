//! The spectrogram colour map shared by the CLI's `--spectrogram` PNGs and the plugin editor:
//! an inferno-like ramp from black (quiet) to pale yellow (loud).

/// Colour map control points (inferno, approximately).
const INFERNO: [[f32; 3]; 6] = [
    [0.0, 0.0, 4.0],
    [40.0, 11.0, 84.0],
    [101.0, 21.0, 110.0],
    [188.0, 55.0, 84.0],
    [249.0, 142.0, 9.0],
    [252.0, 255.0, 164.0],
];

/// RGB of `v` in [0, 1] (clamped): 0 is the quietest level shown, 1 the loudest.
pub fn inferno(v: f32) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0) * (INFERNO.len() - 1) as f32;
    let i = (v.floor() as usize).min(INFERNO.len() - 2);
    let f = v - i as f32;
    let mut out = [0u8; 3];
    for c in 0..3 {
        out[c] = (INFERNO[i][c] + f * (INFERNO[i + 1][c] - INFERNO[i][c])).round() as u8;
    }
    out
}
