//! Streaming STFT framer for the audio thread.
//!
//! Host blocks of any size go in; every `hop` samples the framer windows the last `n_fft` input
//! samples of each channel, hands all channels' spectra to one synchronous callback (which may
//! rewrite them, e.g. put a bent magnitude under the frame's own phase), inverts them and
//! overlap-adds the result into an output ring that the same block is refilled from.
//!
//! Latency: exactly `n_fft` samples (1024 at the default geometry). The output for input sample
//! `s` is complete once the last frame covering `s` (ending at `s + n_fft - 1`) has been
//! processed; reading it out `n_fft` samples after it came in keeps one ring buffer per
//! direction and makes the delay independent of the host's block size.
//!
//! Everything is allocated in [`StreamingFramer::new`]; [`StreamingFramer::process`] only copies,
//! multiplies and runs preplanned FFTs.
//!
//! How the plugin uses it (in `process()`, with buffers and the framer built in `initialize()`):
//!
//! ```
//! use dsp::{StftConfig, StreamingFramer, apply_magnitude};
//!
//! let mut framer = StreamingFramer::new(StftConfig::default(), 2);
//! assert_eq!(framer.latency(), 1024); // report this to the host
//! let mut magnitude = vec![0.0f32; StftConfig::default().n_bins()];
//! let (mut left, mut right) = (vec![0.1f32; 300], vec![0.2f32; 300]); // one host block
//! framer.process(&mut [&mut left[..], &mut right[..]], |frame| {
//!     for channel in 0..frame.channels() {
//!         // Here: hand |X| of frame.index() to the worker, fetch a bent magnitude back.
//!         for (m, x) in magnitude.iter_mut().zip(frame.spectrum(channel)) {
//!             *m = x.norm();
//!         }
//!         // Bent magnitude under this frame's own (input) phase.
//!         apply_magnitude(frame.spectrum_mut(channel), &magnitude);
//!     }
//! });
//! ```

use realfft::num_complex::Complex32;

use crate::stft::{FrameTransform, StftConfig};

/// The spectra of one frame (one per channel), handed to the per-frame callback.
pub struct Frame<'a> {
    index: u64,
    spectra: &'a mut [Vec<Complex32>],
}

impl Frame<'_> {
    /// Frames processed since construction or [`StreamingFramer::reset`], starting at 0.
    pub fn index(&self) -> u64 {
        self.index
    }
    pub fn channels(&self) -> usize {
        self.spectra.len()
    }
    /// `n_bins` complex values of `channel` (NumPy rfft convention, unnormalised).
    pub fn spectrum(&self, channel: usize) -> &[Complex32] {
        &self.spectra[channel]
    }
    /// Mutable spectrum: whatever it holds when the callback returns is resynthesised.
    pub fn spectrum_mut(&mut self, channel: usize) -> &mut [Complex32] {
        &mut self.spectra[channel]
    }
}

/// Block-size independent STFT -> callback -> ISTFT with a fixed latency of `n_fft` samples.
pub struct StreamingFramer {
    config: StftConfig,
    transform: FrameTransform,
    /// Last `n_fft` input samples per channel, written at `position`.
    input_rings: Vec<Vec<f32>>,
    /// Overlap-added output per channel; the sample at `position` is due now.
    output_rings: Vec<Vec<f32>>,
    spectra: Vec<Vec<Complex32>>,
    /// Ring position shared by all channels (samples since construction mod `n_fft`).
    position: usize,
    /// Samples taken since the last frame, `0..hop`.
    since_frame: usize,
    frame_index: u64,
}

impl StreamingFramer {
    /// A framer for `channels` channels (at least one) with the given geometry.
    pub fn new(config: StftConfig, channels: usize) -> Self {
        assert!(channels > 0, "a framer needs at least one channel");
        let transform = FrameTransform::new(config);
        Self {
            config,
            transform,
            input_rings: vec![vec![0.0; config.n_fft]; channels],
            output_rings: vec![vec![0.0; config.n_fft]; channels],
            spectra: vec![vec![Complex32::new(0.0, 0.0); config.n_bins()]; channels],
            position: 0,
            since_frame: 0,
            frame_index: 0,
        }
    }

    pub fn config(&self) -> StftConfig {
        self.config
    }

    pub fn channels(&self) -> usize {
        self.input_rings.len()
    }

    /// Delay in samples between a sample going in and its resynthesis coming out (`n_fft`).
    pub fn latency(&self) -> usize {
        self.config.n_fft
    }

    /// Back to the freshly constructed state (silent history, frame index 0). No allocation.
    pub fn reset(&mut self) {
        for ring in self.input_rings.iter_mut().chain(&mut self.output_rings) {
            ring.fill(0.0);
        }
        self.position = 0;
        self.since_frame = 0;
        self.frame_index = 0;
    }

    /// Processes one host block in place: `block[channel][i]`. Every channel slice must have the
    /// same length (any length, including 0). `on_frame` is called once per completed hop, with
    /// all channels' spectra, before that frame is resynthesised.
    pub fn process<F>(&mut self, block: &mut [&mut [f32]], mut on_frame: F)
    where
        F: FnMut(&mut Frame<'_>),
    {
        assert_eq!(
            block.len(),
            self.channels(),
            "block has {} channels, framer was built for {}",
            block.len(),
            self.channels()
        );
        let len = block.first().map_or(0, |c| c.len());
        assert!(
            block.iter().all(|c| c.len() == len),
            "all channels of a block must have the same length"
        );
        let n_fft = self.config.n_fft;
        let hop = self.config.hop;
        let mut done = 0;
        while done < len {
            // Move samples in runs that stop at the next frame boundary and at the ring's end,
            // so the inner loops are plain slice copies.
            let run = (len - done)
                .min(hop - self.since_frame)
                .min(n_fft - self.position);
            let ring_range = self.position..self.position + run;
            for (channel, samples) in block.iter_mut().enumerate() {
                let samples = &mut samples[done..done + run];
                self.input_rings[channel][ring_range.clone()].copy_from_slice(samples);
                let out = &mut self.output_rings[channel][ring_range.clone()];
                samples.copy_from_slice(out);
                // Consumed output slots are reused as the newest overlap-add positions.
                out.fill(0.0);
            }
            done += run;
            self.position = (self.position + run) % n_fft;
            self.since_frame += run;
            if self.since_frame == hop {
                self.since_frame = 0;
                self.process_frame(&mut on_frame);
            }
        }
    }

    fn process_frame<F>(&mut self, on_frame: &mut F)
    where
        F: FnMut(&mut Frame<'_>),
    {
        // `position` is now the oldest sample of the frame: the frame is ring[position..] then
        // ring[..position].
        let oldest = self.position;
        for (ring, spectrum) in self.input_rings.iter().zip(&mut self.spectra) {
            let (tail, head) = ring.split_at(oldest);
            self.transform.forward(head, tail, spectrum);
        }
        on_frame(&mut Frame {
            index: self.frame_index,
            spectra: &mut self.spectra,
        });
        self.frame_index += 1;
        for (ring, spectrum) in self.output_rings.iter_mut().zip(&self.spectra) {
            self.transform.inverse(spectrum);
            let synthesised = self.transform.synthesised();
            // The frame's first sample lands where its oldest input sample was stored.
            let (before, after) = ring.split_at_mut(oldest);
            let (first, second) = synthesised.split_at(after.len());
            for (acc, y) in after.iter_mut().zip(first) {
                *acc += y;
            }
            for (acc, y) in before.iter_mut().zip(second) {
                *acc += y;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_signal(len: usize, seed: u32) -> Vec<f32> {
        // Deterministic broadband signal: a few sines plus a hashed-noise component.
        (0..len)
            .map(|i| {
                let t = i as f32;
                let h = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8;
                0.3 * (t * 0.031).sin()
                    + 0.2 * (t * 0.57).sin()
                    + (h as f32 / 16_777_216.0 - 0.5) * 0.4
            })
            .collect()
    }

    #[test]
    fn identity_callback_delays_by_latency_for_every_block_size() {
        let config = StftConfig::default();
        for block_size in [1usize, 7, 64, 256, 500, 512, 1024, 8192] {
            let mut framer = StreamingFramer::new(config, 2);
            let left = test_signal(20_000, 1);
            let right = test_signal(20_000, 2);
            let (mut out_l, mut out_r) = (left.clone(), right.clone());
            let mut frames = 0;
            for (l, r) in out_l
                .chunks_mut(block_size)
                .zip(out_r.chunks_mut(block_size))
            {
                framer.process(&mut [l, r], |_| frames += 1);
            }
            assert_eq!(frames, 20_000 / config.hop);
            let latency = framer.latency();
            assert_eq!(latency, 1024);
            for (input, output) in [(&left, &out_l), (&right, &out_r)] {
                assert!(output[..latency].iter().all(|&y| y.abs() < 1e-6));
                let err = input[..input.len() - latency]
                    .iter()
                    .zip(&output[latency..])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(err < 1e-5, "block {block_size}: max error {err}");
            }
        }
    }

    #[test]
    fn callback_sees_the_offline_stft_frames() {
        // Streaming frame k ends at input sample (k+1)*hop - 1; offline frame m (with 768 zeros of
        // front padding) ends at m*hop + 255: the same frames, k = m.
        let config = StftConfig::default();
        let x = test_signal(5000, 3);
        let offline = crate::Stft::new(config).analyse(&x);
        let mut framer = StreamingFramer::new(config, 1);
        let mut block = x.clone();
        let mut max_err = 0.0f32;
        let mut seen = 0;
        framer.process(&mut [&mut block], |frame| {
            let m = frame.index() as usize;
            if m < offline.frames() {
                for (a, b) in frame.spectrum(0).iter().zip(offline.frame(m)) {
                    max_err = max_err.max((a - b).norm());
                }
                seen += 1;
            }
        });
        assert_eq!(seen, 5000 / 256);
        assert!(max_err < 1e-3, "max abs difference {max_err}");
    }

    #[test]
    fn reset_restores_the_initial_state() {
        let config = StftConfig::default();
        let x = test_signal(3000, 4);
        let mut framer = StreamingFramer::new(config, 1);
        let mut first = x.clone();
        framer.process(&mut [&mut first], |_| {});
        framer.reset();
        let mut second = x.clone();
        framer.process(&mut [&mut second], |f| assert!(f.index() < 12));
        assert_eq!(first, second);
    }
}
