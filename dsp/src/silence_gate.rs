//! The silence gate: where the input is digital silence, the wet signal is silent too.
//!
//! Why: input-phase resynthesis spreads the model's magnitude error of a hit's first frames over
//! the whole 1024-sample synthesis window, so a hit that follows digital silence (the rests of a
//! sequenced break, a track's lead-in) gets a soft pre-echo, and a sample that stops dead gets a
//! tail. A producer hears both as hiss in what was silence. The gate keys on the input (the dry
//! signal, exactly aligned with the wet one): it closes once the input has been exactly 0 for
//! [`SILENCE_HOLD_SECONDS`], and it looks [`SILENCE_RAMP_SECONDS`] ahead so that it is fully open
//! again at the first non-zero input sample. Recorded audio is almost never exactly 0 for that
//! long, so on it the gate stays open (gain exactly 1). Measured effect: models/docs/spatial-vae.md.
//!
//! It runs per sample in the output stage (`crate::output_stage::ChannelOutput`), which reads the
//! key from its dry delay line `lookahead` samples before the dry tap; `netbend render` puts a
//! whole file through the same stage (`apply_fully_wet`), so that both gate the same samples.

/// How long the input must be exactly 0 before the gate starts to close, seconds.
pub const SILENCE_HOLD_SECONDS: f32 = 0.010;
/// The gate's fade, and its lookahead, seconds.
pub const SILENCE_RAMP_SECONDS: f32 = 0.0015;

/// The gate's timing in samples at `sample_rate`: (hold, ramp = lookahead), both at least 1.
pub fn silence_gate_samples(sample_rate: f32) -> (u32, u32) {
    let samples = |seconds: f32| ((seconds * sample_rate).round() as u32).max(1);
    (samples(SILENCE_HOLD_SECONDS), samples(SILENCE_RAMP_SECONDS))
}

/// The gate's state. It starts closed: from rest the input has been silent.
#[derive(Debug, Clone, Copy)]
pub struct SilenceGate {
    /// Samples the key must stay 0 (counted on the lookahead key) before the gate closes:
    /// hold + lookahead.
    open_while: u32,
    /// Gain change per sample (1 / ramp).
    step: f32,
    /// Key samples since the last non-zero one (saturating).
    since_sound: u32,
    gain: f32,
}

impl SilenceGate {
    /// A gate that closes after `hold` silent samples and fades over `ramp` samples, fed with a
    /// key `lookahead` samples ahead of the signal it gates. With `lookahead >= ramp` the gate is
    /// fully open at the first non-zero sample; with less (a path with less latency than the
    /// ramp) the first `ramp - lookahead` samples of a sound are faded in.
    pub fn new(hold: u32, ramp: u32, lookahead: u32) -> Self {
        Self {
            open_while: hold.saturating_add(lookahead),
            step: 1.0 / ramp.max(1) as f32,
            since_sound: u32::MAX,
            gain: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.since_sound = u32::MAX;
        self.gain = 0.0;
    }

    /// Takes the key sample `lookahead` samples ahead of the sample to gate and returns that
    /// sample's gain in [0, 1]. Any non-zero key (NaN and infinities included) is sound.
    #[inline]
    pub fn next_gain(&mut self, key_ahead: f32) -> f32 {
        self.since_sound = if key_ahead != 0.0 {
            0
        } else {
            self.since_sound.saturating_add(1)
        };
        self.gain = if self.since_sound <= self.open_while {
            (self.gain + self.step).min(1.0)
        } else {
            (self.gain - self.step).max(0.0)
        };
        self.gain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key with sound on [start, end) and digital silence elsewhere.
    fn key(len: usize, start: usize, end: usize) -> Vec<f32> {
        (0..len)
            .map(|i| if (start..end).contains(&i) { 0.3 } else { 0.0 })
            .collect()
    }

    /// The gate's gain per sample of `key`, read `ramp` samples ahead (0 beyond its end) from
    /// rest `ramp` samples before the first.
    fn gains(key: &[f32], hold: u32, ramp: u32) -> Vec<f32> {
        let mut gate = SilenceGate::new(hold, ramp, ramp);
        let key_at = |i: usize| key.get(i).copied().unwrap_or(0.0);
        (0..key.len() + ramp as usize)
            .map(|i| gate.next_gain(key_at(i)))
            .skip(ramp as usize)
            .collect()
    }

    #[test]
    fn open_at_the_first_sound_and_closed_after_the_hold() {
        let (hold, ramp) = (20u32, 8u32);
        let k = key(200, 50, 100);
        let gains = gains(&k, hold, ramp);
        // Closed well before the sound, fully open through it and for the hold after it.
        assert!(gains[..50 - ramp as usize].iter().all(|&g| g == 0.0));
        assert!(gains[50..100 + hold as usize].iter().all(|&g| g == 1.0));
        // Fades out over the ramp, then stays closed.
        let fade = &gains[100 + hold as usize..100 + (hold + ramp) as usize];
        assert!(fade.windows(2).all(|w| w[1] < w[0]));
        assert!(
            gains[100 + (hold + ramp) as usize..]
                .iter()
                .all(|&g| g == 0.0)
        );
    }

    #[test]
    fn short_zero_runs_do_not_close_the_gate() {
        // Zero crossings and short rests of recorded audio: zero runs shorter than the hold.
        let (hold, ramp) = silence_gate_samples(44_100.0);
        let k: Vec<f32> = (0..44_100)
            .map(|i| {
                if i % 300 < 200 {
                    (i as f32 + 1.0).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let gains = gains(&k, hold, ramp);
        assert!(gains.iter().all(|&g| g == 1.0));
    }
}
