//! The per-bin gains of one output frame on the audio thread: the bent rows of the frame's source
//! windows cross-faded (the schedule's `a + f (b - a)`, as `dsp::cross_fade` and `netbend render`
//! do) and denormalised, likewise their neutral decodes when the voice needs them, then
//! `dsp::voice::voice_gains`, the formula `netbend render --voice` uses.
//!
//! A source window that is missing (late, failed) counts as the dry magnitude in both, as before
//! the voice existed. A window whose bend was neutral has its bent rows as its neutral decode; one
//! whose bend was not neutral but was cut while the voice was 0 (no neutral decode: a voice that
//! has just been raised) counts the dry magnitude as its neutral, which gives that window the
//! model's voice instead of an unbent input, until windows decoded for the voice arrive.
//! Nothing here allocates after construction.

use crate::worker::NeutralDecode;
use dsp::Normalisation;
use dsp::voice::voice_gains;

/// A source window's rows for the frame being put back.
#[derive(Clone, Copy)]
pub struct WindowRows<'a> {
    /// The bent decode's row (normalised).
    pub bent: &'a [f32],
    /// The neutral decode's row (normalised), read when `neutral` is `Decoded`.
    pub neutral_rows: &'a [f32],
    pub neutral: NeutralDecode,
}

impl WindowRows<'_> {
    fn neutral_at(&self, bin: usize, dry: f32) -> f32 {
        match self.neutral {
            NeutralDecode::SameAsBent => self.bent[bin],
            NeutralDecode::Decoded => self.neutral_rows[bin],
            NeutralDecode::Missing => dry,
        }
    }
}

/// The frame's sources: window `a` and, in a fade, window `b` with its weight; `None` is a
/// missing window.
pub struct FrameRows<'a> {
    pub a: Option<WindowRows<'a>>,
    pub b: Option<(Option<WindowRows<'a>>, f32)>,
}

impl FrameRows<'_> {
    /// Whether the neutral decode differs from the bent one in any source window.
    fn has_neutral(&self) -> bool {
        let own =
            |w: &Option<WindowRows>| w.is_some_and(|w| w.neutral != NeutralDecode::SameAsBent);
        own(&self.a) || self.b.as_ref().is_some_and(|(w, _)| own(w))
    }
}

/// Scratch rows of the denormalised bent and neutral magnitudes.
pub struct VoiceFrame {
    bent: Vec<f32>,
    neutral: Vec<f32>,
}

impl VoiceFrame {
    pub fn new(bins: usize) -> VoiceFrame {
        VoiceFrame {
            bent: vec![0.0; bins],
            neutral: vec![0.0; bins],
        }
    }

    /// The gains of the frame whose linked magnitude is `mid` at voice `voice`.
    pub fn gains(
        &mut self,
        rows: &FrameRows,
        mid: &[f32],
        norm: &Normalisation,
        voice: f32,
        gains: &mut [f32],
    ) {
        let with_neutral = voice > 0.0 && rows.has_neutral();
        for (bin, &m) in mid.iter().enumerate() {
            let dry = norm.normalise(m);
            let mix = |value: &dyn Fn(&WindowRows) -> f32| {
                let va = rows.a.as_ref().map_or(dry, value);
                match &rows.b {
                    Some((w, f)) => {
                        let vb = w.as_ref().map_or(dry, value);
                        va + f * (vb - va)
                    }
                    None => va,
                }
            };
            self.bent[bin] = norm.denormalise(mix(&|w| w.bent[bin]));
            if with_neutral {
                self.neutral[bin] = norm.denormalise(mix(&|w| w.neutral_at(bin, dry)));
            }
        }
        let neutral = with_neutral.then_some(&self.neutral[..]);
        voice_gains(&self.bent, neutral, mid, norm.amin, voice, gains);
    }
}
