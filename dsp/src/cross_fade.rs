//! The cross-fade between two model windows that both window layouts use: the offline
//! [`crate::WindowLayout`] and the plugin's streaming [`crate::StreamSchedule`]. It has its own
//! module so that both take it from below (imports run one way: `windowing` uses
//! `stream_windows`, and both use this).

/// The raised-cosine fade-in weight at offset `o` of a fade `len` long:
/// `sin²(π (o + ½) / (2 len))`. `f(o) + f(len - 1 - o) = 1`, so a fade-out with `1 - f` keeps the
/// sum of the two weights at one. Shared by the offline [`crate::WindowLayout`] and the streaming
/// [`crate::StreamSchedule`] so both cross-fade model windows identically.
pub fn sin2_fade_in(o: usize, len: usize) -> f32 {
    let x = std::f64::consts::PI * (o as f64 + 0.5) / (2.0 * len as f64);
    (x.sin() * x.sin()) as f32
}

/// One output frame from its windows' rows: `a`, or in a fade `a + f (b - a)` (the plugin's
/// formula, so that equal rows give `a` back exactly).
pub fn cross_fade(a: &[f32], b: Option<(&[f32], f32)>, out: &mut [f32]) {
    match b {
        Some((b, f)) => {
            for ((y, &a), &b) in out.iter_mut().zip(a).zip(b) {
                *y = a + f * (b - a);
            }
        }
        None => out.copy_from_slice(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fade_weights_sum_to_one_and_rise() {
        for o in 0..64 {
            let f = sin2_fade_in(o, 64);
            // The partner frame of the fading-out window has weight 1 - f; the weights mirror.
            assert!((f + sin2_fade_in(63 - o, 64) - 1.0).abs() < 1e-6);
            if o > 0 {
                assert!(f > sin2_fade_in(o - 1, 64));
            }
        }
    }
}
