//! The output stage, one definition for the plugin and the offline renderer: the NaN/Inf guard, a
//! DC blocker, a soft limiter, the silence gate, the latency-compensation delay, dry/wet mixing,
//! output gain and the bypass cross-fade, as plain functions and small state structs. Nothing
//! here allocates after construction.
//!
//! Signal flow per channel and sample (see [`ChannelOutput::process`]):
//!
//! ```text
//! input -> delay (reported latency) -> dry
//! wet (model output) -> guard -> DC blocker -> soft limiter -> silence gate (keyed by the
//!                      input, crate::silence_gate) -> wet'
//! out = guard(gain * ((1 - drywet) * dry + drywet * wet'))
//! out = (1 - bypass) * out + bypass * dry        (bypass fades over a few ms)
//! ```
//!
//! The safety stage sits on the wet path, where extreme bends happen, so the dry signal passes
//! untouched; the final guard only catches non-finite input from the host. The plugin runs this
//! per sample in `process()` (`netbend::safety` re-exports it); `netbend render`, `variations`
//! and `generate` put their whole output through the same [`ChannelOutput`] at dry/wet 100 %,
//! not bypassed ([`apply_fully_wet`], with the input as the gate's key where there is one), so
//! that a file sounds as the plugin plays it.

use crate::silence_gate::{SilenceGate, silence_gate_samples};

/// Replaces NaN and +-Inf with 0. Returns the sample and whether it was replaced.
#[inline]
pub fn guard_sample(x: f32) -> (f32, bool) {
    if x.is_finite() {
        (x, false)
    } else {
        (0.0, true)
    }
}

/// Cut-off of the DC blocker, Hz.
pub const DC_BLOCKER_HZ: f32 = 5.0;

/// First-order DC blocker `y[n] = x[n] - x[n-1] + r * y[n-1]` with `r = 1 - 2 pi fc / fs`.
#[derive(Debug, Clone, Copy)]
pub struct DcBlocker {
    r: f32,
    x1: f32,
    y1: f32,
}

impl DcBlocker {
    pub fn new(sample_rate: f32) -> Self {
        Self {
            r: dc_blocker_coefficient(sample_rate),
            x1: 0.0,
            y1: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.x1 = 0.0;
        self.y1 = 0.0;
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let y = x - self.x1 + self.r * self.y1;
        self.x1 = if x.is_finite() { x } else { 0.0 };
        // Flush denormals and any non-finite state so one bad sample cannot stick.
        self.y1 = if y.is_finite() && y.abs() > 1e-30 {
            y
        } else {
            0.0
        };
        y
    }
}

/// The pole of the DC blocker at `sample_rate`.
pub fn dc_blocker_coefficient(sample_rate: f32) -> f32 {
    (1.0 - 2.0 * std::f32::consts::PI * DC_BLOCKER_HZ / sample_rate.max(1000.0)).clamp(0.9, 0.99999)
}

/// Level where the soft limiter starts to bend (about -0.9 dBFS). Below it the limiter is the
/// identity, bit for bit.
pub const LIMITER_KNEE: f32 = 0.9;
/// The limiter's ceiling: outputs never exceed this magnitude (they reach it only where tanh
/// rounds to 1 in f32).
pub const LIMITER_CEILING: f32 = 1.0;

/// Memoryless soft limiter: identity for `|x| <= LIMITER_KNEE`, then a tanh curve that meets it
/// with the same value and slope and approaches `LIMITER_CEILING`. Non-finite input gives 0.
#[inline]
pub fn soft_limit(x: f32) -> f32 {
    let a = x.abs();
    if a <= LIMITER_KNEE {
        return x;
    }
    if !x.is_finite() {
        return if x.is_nan() {
            0.0
        } else {
            LIMITER_CEILING.copysign(x)
        };
    }
    let room = LIMITER_CEILING - LIMITER_KNEE;
    let y = LIMITER_KNEE + room * ((a - LIMITER_KNEE) / room).tanh();
    y.copysign(x)
}

/// Linear dry/wet mix: `(1 - wet_amount) * dry + wet_amount * wet`, exact at 0 and 1.
#[inline]
pub fn mix(dry: f32, wet: f32, wet_amount: f32) -> f32 {
    if wet_amount <= 0.0 {
        dry
    } else if wet_amount >= 1.0 {
        wet
    } else {
        (1.0 - wet_amount) * dry + wet_amount * wet
    }
}

/// A fixed-capacity delay line for latency compensation. The buffer is allocated once
/// ([`DelayLine::with_capacity`]); changing the delay within the capacity never allocates.
#[derive(Debug, Clone)]
pub struct DelayLine {
    buffer: Vec<f32>,
    write: usize,
    delay: usize,
}

impl DelayLine {
    /// A delay line that can delay by up to `max_delay` samples.
    pub fn with_capacity(max_delay: usize) -> Self {
        Self {
            buffer: vec![0.0; max_delay + 1],
            write: 0,
            delay: 0,
        }
    }

    pub fn max_delay(&self) -> usize {
        self.buffer.len() - 1
    }

    /// Sets the delay in samples (clamped to the capacity). Does not clear the buffer.
    pub fn set_delay(&mut self, delay: usize) {
        self.delay = delay.min(self.max_delay());
    }

    pub fn delay(&self) -> usize {
        self.delay
    }

    pub fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.write = 0;
    }

    /// Pushes `x` and returns the sample from `delay` samples ago (`x` itself for delay 0).
    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        self.process_tapped(x, 0).0
    }

    /// Pushes `x` and returns the samples from `delay` and from `tap` samples ago (`tap` is
    /// clamped to the delay): a second read of the same line, for a look at what comes next.
    #[inline]
    pub fn process_tapped(&mut self, x: f32, tap: usize) -> (f32, f32) {
        let len = self.buffer.len();
        self.buffer[self.write] = x;
        let read = |delay: usize| self.buffer[(self.write + len - delay) % len];
        let out = (read(self.delay), read(tap.min(self.delay)));
        self.write = (self.write + 1) % len;
        out
    }
}

/// Per-sample control values of the output stage (already smoothed by the caller).
#[derive(Debug, Clone, Copy)]
pub struct OutputControls {
    /// Dry/wet amount in [0, 1] (1 = fully wet).
    pub wet_amount: f32,
    /// Linear output gain.
    pub gain: f32,
    /// Bypass cross-fade in [0, 1] (1 = bypassed: the latency-compensated dry signal).
    pub bypass: f32,
    /// Whether the silence gate acts on the wet signal (it keeps its state either way).
    pub silence_gate: bool,
}

/// The output stage of one channel.
#[derive(Debug, Clone)]
pub struct ChannelOutput {
    dry_delay: DelayLine,
    pub dc: DcBlocker,
    gate: SilenceGate,
    /// The gate's timing at this sample rate: (hold, ramp) samples.
    gate_samples: (u32, u32),
    /// How far ahead of the dry tap the gate's key is read: the ramp, or the latency if shorter.
    gate_lookahead: usize,
}

impl ChannelOutput {
    /// A stage with no latency; [`ChannelOutput::set_latency`] sets it (up to `max_latency`).
    pub fn new(sample_rate: f32, max_latency: usize) -> Self {
        let gate_samples = silence_gate_samples(sample_rate);
        Self {
            dry_delay: DelayLine::with_capacity(max_latency),
            dc: DcBlocker::new(sample_rate),
            gate: SilenceGate::new(gate_samples.0, gate_samples.1, 0),
            gate_samples,
            gate_lookahead: 0,
        }
    }

    /// Sets the latency compensation of the dry path (clamped to the capacity) and the silence
    /// gate's lookahead with it: the gate's key is the input, read from the same delay line.
    pub fn set_latency(&mut self, latency: usize) {
        self.dry_delay.set_delay(latency);
        let (hold, ramp) = self.gate_samples;
        self.gate_lookahead = (ramp as usize).min(self.dry_delay.delay());
        self.gate = SilenceGate::new(hold, ramp, self.gate_lookahead as u32);
    }

    pub fn reset(&mut self) {
        self.dry_delay.reset();
        self.dc.reset();
        self.gate.reset();
    }

    /// The wet path's safety stage: guard, DC blocker, soft limiter. Returns the cleaned sample
    /// and whether a non-finite value was replaced.
    #[inline]
    pub fn clean_wet(&mut self, wet: f32) -> (f32, bool) {
        let (w, bad) = guard_sample(wet);
        (soft_limit(self.dc.process(w)), bad)
    }

    /// Processes one input sample. `wet_source` maps the latency-compensated dry sample to the
    /// raw wet sample (the plugin passes the identity when it has no model path: the wet signal is
    /// then the dry signal delayed by the reported latency). Returns the output sample and
    /// the number of non-finite values replaced (0, 1 or 2).
    #[inline]
    pub fn process(
        &mut self,
        input: f32,
        controls: OutputControls,
        wet_source: impl FnOnce(f32) -> f32,
    ) -> (f32, u32) {
        let tap = self.dry_delay.delay() - self.gate_lookahead;
        let (dry, key_ahead) = self.dry_delay.process_tapped(input, tap);
        let gain = self.gate.next_gain(key_ahead);
        let (wet, bad_wet) = self.clean_wet(wet_source(dry));
        let wet = if controls.silence_gate {
            gain * wet
        } else {
            wet
        };
        let mixed = controls.gain * mix(dry, wet, controls.wet_amount);
        let (out, bad_out) = guard_sample(mix(mixed, dry, controls.bypass));
        // A non-finite dry input would come through the bypass mix: guard catches it.
        (out, bad_wet as u32 + bad_out as u32)
    }
}

/// Output gain range of the plugin's `Output Gain` parameter and of `--gain`, dB.
pub const OUTPUT_GAIN_MIN_DB: f32 = -30.0;
pub const OUTPUT_GAIN_MAX_DB: f32 = 12.0;

/// `10^(db / 20)`.
pub fn db_to_gain(db: f32) -> f32 {
    10.0f32.powf(db / 20.0)
}

/// Puts a whole signal through the output stage as the plugin runs it at dry/wet 100 %, output
/// gain `gain` (linear), not bypassed, from rest: `guard(gain * gate(limit(dc(guard(x)))))` per
/// sample, where the silence gate is keyed by `gate_key` (the input the signal was rendered
/// from, aligned with it) and left out without one (`netbend generate` has no input).
/// The plugin's stage starts from rest too and sees only silence from its model path during the
/// latency, so a file processed here lines up with the plugin's output after its latency.
/// Returns the number of non-finite values replaced.
pub fn apply_fully_wet(
    signal: &mut [f32],
    sample_rate: f32,
    gain: f32,
    gate_key: Option<&[f32]>,
) -> u64 {
    // The plugin's stage with just enough latency for the gate's lookahead: its input (the dry
    // path, and so the gate's key) is the key, its wet source the signal `lookahead` samples
    // later, silent at first as the plugin's model path is during its latency.
    let lookahead = match gate_key {
        Some(_) => silence_gate_samples(sample_rate).1 as usize,
        None => 0,
    };
    let mut stage = ChannelOutput::new(sample_rate, lookahead);
    stage.set_latency(lookahead);
    let controls = OutputControls {
        wet_amount: 1.0,
        gain,
        bypass: 0.0,
        silence_gate: gate_key.is_some(),
    };
    let key = gate_key.unwrap_or(&[]);
    let mut guarded = 0;
    for n in 0..signal.len() + lookahead {
        let key_sample = key.get(n).copied().unwrap_or(0.0);
        let Some(i) = n.checked_sub(lookahead) else {
            stage.process(key_sample, controls, |_| 0.0);
            continue;
        };
        let (y, bad) = stage.process(key_sample, controls, |_| signal[i]);
        signal[i] = y;
        guarded += bad as u64;
    }
    guarded
}
