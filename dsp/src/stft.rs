//! Offline STFT/ISTFT of whole signals, per docs/signal.md.
//!
//! Analysis: periodic Hann window, frame `m` covers samples `[m*hop, m*hop + n_fft)` of the signal
//! padded with `n_fft - hop` zeros in front and enough zeros behind that the last sample lies in
//! `n_fft / hop` frames; `X_m[k]` is NumPy's unnormalised `rfft` of the windowed frame.
//!
//! Synthesis: weighted overlap-add with the synthesis window `w[n] / sum_m w[n + m*hop]^2`
//! (1.5 for Hann 1024 / hop 256, computed here rather than assumed), which inverts the analysis
//! exactly because every kept sample is covered by the same number of frames.
//!
//! The per-frame transform ([`FrameTransform`]) is shared with the streaming framer, so the
//! offline and real-time paths use one implementation of windowing and scaling.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Frame geometry. The default is the model's (1024 / 256).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StftConfig {
    pub n_fft: usize,
    pub hop: usize,
}

impl Default for StftConfig {
    fn default() -> Self {
        Self {
            n_fft: crate::N_FFT,
            hop: crate::HOP,
        }
    }
}

impl StftConfig {
    /// Panics unless `n_fft` is even and a multiple of `hop`: exact overlap-add needs every
    /// sample covered by the same number of frames.
    pub fn new(n_fft: usize, hop: usize) -> Self {
        let config = Self { n_fft, hop };
        config.validate();
        config
    }

    fn validate(&self) {
        assert!(
            self.n_fft >= 2 && self.n_fft.is_multiple_of(2),
            "n_fft must be even and >= 2, got {}",
            self.n_fft
        );
        assert!(
            self.hop > 0 && self.n_fft.is_multiple_of(self.hop) && self.hop < self.n_fft,
            "hop must divide n_fft and be smaller than it, got n_fft {} hop {}",
            self.n_fft,
            self.hop
        );
    }

    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Zeros before the signal in offline analysis (`n_fft - hop`).
    pub fn front_padding(&self) -> usize {
        self.n_fft - self.hop
    }

    /// Frames of the offline STFT of a signal of `signal_len` samples (0 for an empty signal).
    pub fn frames_for(&self, signal_len: usize) -> usize {
        if signal_len == 0 {
            0
        } else {
            // Enough frames that one starts at the last sample's padded position.
            (self.front_padding() + signal_len - 1) / self.hop + 1
        }
    }

    /// Periodic Hann `w[n] = 0.5 - 0.5 cos(2 pi n / n_fft)` (scipy `get_window("hann", n)`).
    pub fn analysis_window(&self) -> Vec<f32> {
        let n = self.n_fft as f64;
        (0..self.n_fft)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n).cos()) as f32)
            .collect()
    }

    /// `w[n] / sum_m w[n + m*hop]^2`: the window whose overlap-add undoes the analysis.
    pub fn synthesis_window(&self) -> Vec<f32> {
        let window: Vec<f64> = self.analysis_window().iter().map(|&w| w as f64).collect();
        let mut squares = vec![0.0f64; self.hop];
        for (i, w) in window.iter().enumerate() {
            squares[i % self.hop] += w * w;
        }
        window
            .iter()
            .enumerate()
            .map(|(i, w)| (w / squares[i % self.hop]) as f32)
            .collect()
    }
}

/// One frame's forward and inverse transform with the window and scaling of docs/signal.md.
/// Owns its FFT plans and scratch, so after construction it never allocates.
pub(crate) struct FrameTransform {
    config: StftConfig,
    analysis_window: Vec<f32>,
    synthesis_window: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    time: Vec<f32>,
    spectrum: Vec<Complex32>,
    forward_scratch: Vec<Complex32>,
    inverse_scratch: Vec<Complex32>,
}

impl FrameTransform {
    pub(crate) fn new(config: StftConfig) -> Self {
        config.validate();
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(config.n_fft);
        let inverse = planner.plan_fft_inverse(config.n_fft);
        Self {
            config,
            analysis_window: config.analysis_window(),
            synthesis_window: config.synthesis_window(),
            time: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            forward_scratch: forward.make_scratch_vec(),
            inverse_scratch: inverse.make_scratch_vec(),
            forward,
            inverse,
        }
    }

    pub(crate) fn config(&self) -> StftConfig {
        self.config
    }

    /// Windows `frame` (`n_fft` samples, possibly split in two pieces of a ring buffer: `head`
    /// then `tail`) and writes its spectrum to `out` (`n_bins` values).
    pub(crate) fn forward(&mut self, head: &[f32], tail: &[f32], out: &mut [Complex32]) {
        debug_assert_eq!(head.len() + tail.len(), self.config.n_fft);
        let (time_head, time_tail) = self.time.split_at_mut(head.len());
        time_head.copy_from_slice(head);
        time_tail.copy_from_slice(tail);
        for (x, w) in self.time.iter_mut().zip(&self.analysis_window) {
            *x *= w;
        }
        // Lengths are fixed by construction, so realfft cannot fail here.
        self.forward
            .process_with_scratch(&mut self.time, out, &mut self.forward_scratch)
            .expect("FFT buffer lengths are fixed at construction");
    }

    /// Inverse of one spectrum, multiplied by the synthesis window and `1 / n_fft`, into
    /// `self.time` (read it with [`Self::synthesised`]). `spectrum` is not modified.
    pub(crate) fn inverse(&mut self, spectrum: &[Complex32]) {
        self.spectrum.copy_from_slice(spectrum);
        // A real signal's DC and Nyquist bins are real; NumPy's irfft ignores their imaginary
        // parts, and so do we (a caller-modified spectrum may carry some).
        self.spectrum[0].im = 0.0;
        let last = self.spectrum.len() - 1;
        self.spectrum[last].im = 0.0;
        self.inverse
            .process_with_scratch(
                &mut self.spectrum,
                &mut self.time,
                &mut self.inverse_scratch,
            )
            .expect("FFT buffer lengths are fixed at construction");
        let scale = 1.0 / self.config.n_fft as f32;
        for (x, w) in self.time.iter_mut().zip(&self.synthesis_window) {
            *x *= w * scale;
        }
    }

    /// The samples written by the last [`Self::inverse`].
    pub(crate) fn synthesised(&self) -> &[f32] {
        &self.time
    }
}

/// A complex STFT `[frames, n_bins]` (row-major, one row per frame) of a signal of known length.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrogram {
    config: StftConfig,
    frames: usize,
    signal_len: usize,
    data: Vec<Complex32>,
}

impl Spectrogram {
    /// All-zero spectrogram with the frame count of a `signal_len`-sample signal.
    pub fn zeros(config: StftConfig, signal_len: usize) -> Self {
        let frames = config.frames_for(signal_len);
        Self {
            config,
            frames,
            signal_len,
            data: vec![Complex32::new(0.0, 0.0); frames * config.n_bins()],
        }
    }

    pub fn config(&self) -> StftConfig {
        self.config
    }
    pub fn frames(&self) -> usize {
        self.frames
    }
    pub fn n_bins(&self) -> usize {
        self.config.n_bins()
    }
    /// Length of the signal this spectrogram was taken from (the ISTFT returns this many samples).
    pub fn signal_len(&self) -> usize {
        self.signal_len
    }
    /// Row-major `[frames, n_bins]` values.
    pub fn data(&self) -> &[Complex32] {
        &self.data
    }
    pub fn data_mut(&mut self) -> &mut [Complex32] {
        &mut self.data
    }
    pub fn frame(&self, m: usize) -> &[Complex32] {
        let bins = self.n_bins();
        &self.data[m * bins..(m + 1) * bins]
    }
    pub fn frame_mut(&mut self, m: usize) -> &mut [Complex32] {
        let bins = self.n_bins();
        &mut self.data[m * bins..(m + 1) * bins]
    }
    /// `|X|`, row-major `[frames, n_bins]`.
    pub fn magnitudes(&self) -> Vec<f32> {
        self.data.iter().map(|c| c.norm()).collect()
    }
}

/// Offline STFT/ISTFT with preplanned FFTs; reuse one for many signals.
pub struct Stft {
    transform: FrameTransform,
    /// Overlap-add accumulator for synthesis, sized to the largest signal seen.
    overlap_add: Vec<f32>,
}

impl Stft {
    pub fn new(config: StftConfig) -> Self {
        Self {
            transform: FrameTransform::new(config),
            overlap_add: Vec::new(),
        }
    }

    pub fn config(&self) -> StftConfig {
        self.transform.config()
    }

    /// Complex STFT of a whole signal (docs/signal.md padding).
    pub fn analyse(&mut self, signal: &[f32]) -> Spectrogram {
        let mut spectrogram = Spectrogram::zeros(self.config(), signal.len());
        self.analyse_into(signal, &mut spectrogram);
        spectrogram
    }

    /// As [`Self::analyse`], into an existing spectrogram of the same signal length.
    pub fn analyse_into(&mut self, signal: &[f32], out: &mut Spectrogram) {
        let config = self.config();
        assert_eq!(
            out.config, config,
            "spectrogram has a different frame geometry"
        );
        assert_eq!(
            out.signal_len,
            signal.len(),
            "spectrogram was made for another signal length"
        );
        self.analyse_frames(signal, 0, &mut out.data);
    }

    /// Frames `first..first + out.len() / n_bins` of the STFT of the whole `signal` (the same
    /// values as [`Self::analyse`] gives for them), for processing a long signal piecewise.
    pub fn analyse_frames(&mut self, signal: &[f32], first: usize, out: &mut [Complex32]) {
        let config = self.config();
        let bins = config.n_bins();
        assert!(out.len().is_multiple_of(bins), "whole frames only");
        let front = config.front_padding() as isize;
        let mut frame = vec![0.0f32; config.n_fft];
        for (k, spectrum) in out.chunks_exact_mut(bins).enumerate() {
            let m = first + k;
            // Frame m starts at m*hop in the padded signal, i.e. m*hop - front in the signal.
            let start = (m * config.hop) as isize - front;
            for (n, x) in frame.iter_mut().enumerate() {
                let i = start + n as isize;
                *x = if i >= 0 && (i as usize) < signal.len() {
                    signal[i as usize]
                } else {
                    0.0
                };
            }
            self.transform.forward(&frame, &[], spectrum);
        }
    }

    /// Weighted overlap-add inverse; returns `spectrogram.signal_len()` samples.
    pub fn synthesise(&mut self, spectrogram: &Spectrogram) -> Vec<f32> {
        let mut out = vec![0.0; spectrogram.signal_len];
        self.synthesise_into(spectrogram, &mut out);
        out
    }

    /// As [`Self::synthesise`], into `out` (`spectrogram.signal_len()` samples).
    pub fn synthesise_into(&mut self, spectrogram: &Spectrogram, out: &mut [f32]) {
        let config = self.config();
        assert_eq!(
            spectrogram.config, config,
            "spectrogram has a different frame geometry"
        );
        assert_eq!(
            out.len(),
            spectrogram.signal_len,
            "output length must equal signal_len"
        );
        if spectrogram.frames == 0 {
            return;
        }
        let padded_len = (spectrogram.frames - 1) * config.hop + config.n_fft;
        self.overlap_add.clear();
        self.overlap_add.resize(padded_len, 0.0);
        for m in 0..spectrogram.frames {
            self.transform.inverse(spectrogram.frame(m));
            let start = m * config.hop;
            for (acc, y) in self.overlap_add[start..start + config.n_fft]
                .iter_mut()
                .zip(self.transform.synthesised())
            {
                *acc += y;
            }
        }
        let front = config.front_padding();
        out.copy_from_slice(&self.overlap_add[front..front + out.len()]);
    }
}

/// The inverse of [`Stft::synthesise`] one frame at a time: frames are pushed in order and each
/// push hands out the samples no later frame can touch. Every sample is the same sum in the same
/// order as in `synthesise`, so the result is identical bit for bit; memory is one frame.
pub struct StreamingSynthesis {
    signal_len: usize,
    /// Padded samples from padded index `start` on, still receiving frames.
    acc: Vec<f32>,
    start: usize,
    frames: usize,
}

impl StreamingSynthesis {
    /// For a signal of `signal_len` samples (the length [`Spectrogram::signal_len`] would hold).
    pub fn new(signal_len: usize) -> Self {
        Self {
            signal_len,
            acc: Vec::new(),
            start: 0,
            frames: 0,
        }
    }

    /// Adds the next frame and appends the finished signal samples to `out`.
    pub fn push(&mut self, stft: &mut Stft, frame: &[Complex32], out: &mut Vec<f32>) {
        let config = stft.config();
        let offset = self.frames * config.hop - self.start;
        self.acc.resize(offset + config.n_fft, 0.0);
        stft.transform.inverse(frame);
        for (acc, y) in self.acc[offset..]
            .iter_mut()
            .zip(stft.transform.synthesised())
        {
            *acc += y;
        }
        self.frames += 1;
        // Later frames start at `frames * hop` or after: everything before is final.
        let done = self.frames * config.hop - self.start;
        self.emit(config.front_padding(), done, out);
    }

    /// Appends the remaining samples; `out` then holds exactly `signal_len` samples in all.
    pub fn finish(mut self, config: StftConfig, out: &mut Vec<f32>) {
        let len = self.acc.len();
        self.emit(config.front_padding(), len, out);
        out.resize(self.signal_len, 0.0);
    }

    /// Moves `acc[..count]` (padded indices `start..start + count`) out, keeping the samples that
    /// fall inside the signal (`front..front + signal_len`).
    fn emit(&mut self, front: usize, count: usize, out: &mut Vec<f32>) {
        let (lo, hi) = (front, front + self.signal_len);
        let from = lo.clamp(self.start, self.start + count) - self.start;
        let to = hi.clamp(self.start, self.start + count) - self.start;
        out.extend_from_slice(&self.acc[from..to]);
        self.acc.drain(..count);
        self.start += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piecewise_analysis_and_streaming_synthesis_equal_the_whole_signal_bit_for_bit() {
        let config = StftConfig::default();
        let mut stft = Stft::new(config);
        // Lengths around frame boundaries, shorter than one frame, and a few seconds.
        for len in [1, 300, 1024, 5000, 5001, 100_003] {
            let mut state = 12_345u32;
            let signal: Vec<f32> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect();
            let whole = stft.analyse(&signal);
            let bins = config.n_bins();
            let mut pieces = vec![Complex32::new(0.0, 0.0); whole.frames() * bins];
            // Uneven pieces: 1, 2, 3, ... frames.
            let (mut first, mut step) = (0, 1);
            while first < whole.frames() {
                let n = step.min(whole.frames() - first);
                stft.analyse_frames(
                    &signal,
                    first,
                    &mut pieces[first * bins..(first + n) * bins],
                );
                first += n;
                step += 1;
            }
            assert!(pieces == whole.data(), "analysis, length {len}");
            let expected = stft.synthesise(&whole);
            let mut streamed = Vec::new();
            let mut synthesis = StreamingSynthesis::new(len);
            for m in 0..whole.frames() {
                synthesis.push(&mut stft, whole.frame(m), &mut streamed);
            }
            synthesis.finish(config, &mut streamed);
            assert!(streamed == expected, "synthesis, length {len}");
        }
    }

    #[test]
    fn hann_1024_hop_256_synthesis_window_is_window_over_one_and_a_half() {
        let config = StftConfig::default();
        let w = config.analysis_window();
        let ws = config.synthesis_window();
        for (a, s) in w.iter().zip(&ws) {
            assert!((a / 1.5 - s).abs() < 1e-7);
        }
    }

    #[test]
    fn frame_count_matches_the_python_reference_padding() {
        let config = StftConfig::default();
        // models/netbend_models/data/audio.py: n_frames = (768 + len - 1) // 256 + 1
        assert_eq!(config.frames_for(0), 0);
        assert_eq!(config.frames_for(1), 4);
        assert_eq!(config.frames_for(256), 4);
        assert_eq!(config.frames_for(257), 5);
        assert_eq!(config.frames_for(44_100), (768 + 44_100 - 1) / 256 + 1);
    }

    #[test]
    fn short_and_empty_signals_round_trip() {
        let mut stft = Stft::new(StftConfig::default());
        for len in [0usize, 1, 2, 255, 256, 257, 1023, 1024, 1025] {
            let x: Vec<f32> = (0..len)
                .map(|i| ((i * 7919) % 113) as f32 / 56.0 - 1.0)
                .collect();
            let spec = stft.analyse(&x);
            let y = stft.synthesise(&spec);
            assert_eq!(y.len(), len);
            for (a, b) in x.iter().zip(&y) {
                assert!((a - b).abs() < 1e-5, "len {len}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn other_geometries_reconstruct_exactly() {
        for (n_fft, hop) in [(512, 128), (256, 128), (64, 16)] {
            let mut stft = Stft::new(StftConfig::new(n_fft, hop));
            let x: Vec<f32> = (0..3000).map(|i| (i as f32 * 0.37).sin()).collect();
            let spec = stft.analyse(&x);
            let y = stft.synthesise(&spec);
            let err = x
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-5, "{n_fft}/{hop}: max error {err}");
        }
    }
}
