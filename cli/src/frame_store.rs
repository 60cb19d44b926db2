//! Where the pipeline's windows read each frame's magnitude and write the bent one
//! ([`crate::pipeline::Renderer::bend_frames`]): a whole magnitude spectrogram, or the input's
//! STFT computed and resynthesised as the windows advance.

use std::collections::VecDeque;

use dsp::{Complex32, Stft, StftConfig, StreamingSynthesis, apply_magnitude};

/// Frames are written in ascending order, each after every read of it, and never read again
/// once written, so a store may keep one buffer for both or drop written frames.
pub trait FrameStore {
    fn frames(&self) -> usize;
    /// Frame `t`'s magnitudes into `row` (`bins` values).
    fn read(&mut self, t: usize, row: &mut [f32]);
    /// The bent magnitudes of frame `t`.
    fn write(&mut self, t: usize, row: &[f32]);
}

/// A row-major `[frames, bins]` magnitude spectrogram (Griffin-Lim, `generate`).
pub struct Magnitudes {
    pub data: Vec<f32>,
    pub bins: usize,
}

impl FrameStore for Magnitudes {
    fn frames(&self) -> usize {
        self.data.len() / self.bins
    }
    fn read(&mut self, t: usize, row: &mut [f32]) {
        row.copy_from_slice(&self.data[t * self.bins..][..self.bins]);
    }
    fn write(&mut self, t: usize, row: &[f32]) {
        self.data[t * self.bins..][..self.bins].copy_from_slice(row);
    }
}

/// Input-phase reuse, streamed: frames of the signal's STFT are analysed when a window first
/// reads them, get the bent magnitude under their own phase when written, and go straight into
/// the overlap-add synthesis, so only the frames between the oldest unwritten one and the
/// newest read one exist at any time (about one batch of windows). The values are those of
/// analysing, bending and synthesising the whole signal at once, bit for bit.
pub struct StreamingInputPhase<'a> {
    signal: &'a [f32],
    stft: Stft,
    frames: usize,
    /// Frames `first..first + live.len()`, analysed and not yet written.
    live: VecDeque<Vec<Complex32>>,
    first: usize,
    spare: Vec<Vec<Complex32>>,
    synthesis: StreamingSynthesis,
    output: Vec<f32>,
    /// The written magnitudes, when asked for (`--dump-magnitude`).
    pub record: Option<Vec<f32>>,
}

impl<'a> StreamingInputPhase<'a> {
    pub fn new(signal: &'a [f32], record: bool) -> Self {
        let config = StftConfig::default();
        StreamingInputPhase {
            signal,
            stft: Stft::new(config),
            frames: config.frames_for(signal.len()),
            live: VecDeque::new(),
            first: 0,
            spare: Vec::new(),
            synthesis: StreamingSynthesis::new(signal.len()),
            output: Vec::with_capacity(signal.len()),
            record: record.then(Vec::new),
        }
    }

    /// The resynthesised signal (`signal.len()` samples) once every frame has been written.
    pub fn finish(mut self) -> Vec<f32> {
        assert!(self.first == self.frames, "frames left unwritten");
        let config = self.stft.config();
        self.synthesis.finish(config, &mut self.output);
        self.output
    }
}

impl FrameStore for StreamingInputPhase<'_> {
    fn frames(&self) -> usize {
        self.frames
    }

    fn read(&mut self, t: usize, row: &mut [f32]) {
        assert!(t >= self.first, "frame {t} read after it was written");
        let bins = self.stft.config().n_bins();
        while self.first + self.live.len() <= t {
            let next = self.first + self.live.len();
            let mut frame = self
                .spare
                .pop()
                .unwrap_or_else(|| vec![Complex32::new(0.0, 0.0); bins]);
            self.stft.analyse_frames(self.signal, next, &mut frame);
            self.live.push_back(frame);
        }
        for (m, c) in row.iter_mut().zip(&self.live[t - self.first]) {
            *m = c.norm();
        }
    }

    fn write(&mut self, t: usize, row: &[f32]) {
        assert_eq!(t, self.first, "frames must be written in order");
        let mut frame = self
            .live
            .pop_front()
            .expect("a frame is read before it is written");
        apply_magnitude(&mut frame, row);
        self.synthesis
            .push(&mut self.stft, &frame, &mut self.output);
        self.spare.push(frame);
        self.first += 1;
        if let Some(record) = &mut self.record {
            record.extend_from_slice(row);
        }
    }
}
