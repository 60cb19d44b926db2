//! Where the pipeline's windows read each frame's magnitude and write the bent one
//! ([`crate::pipeline::Renderer::bend_frames`]): a whole magnitude spectrogram, or the input's
//! STFT computed and resynthesised as the windows advance, its channels linked as the plugin
//! links them (`dsp::stereo_link`).

use std::collections::VecDeque;

use dsp::stereo_link::{apply_gains, linked_magnitude};
use dsp::voice::voice_gains;
use dsp::{Complex32, Stft, StftConfig, StreamingSynthesis};

/// Frames are written in ascending order, each after every read of it, and never read again
/// once written, so a store may keep one buffer for both or drop written frames.
pub trait FrameStore {
    fn frames(&self) -> usize;
    /// Frame `t`'s magnitudes into `row` (`bins` values).
    fn read(&mut self, t: usize, row: &mut [f32]);
    /// The bent magnitudes of frame `t`, and the neutral decode's when the bend of a window it
    /// comes from was not neutral and the voice asked for it (`dsp::voice`).
    fn write(&mut self, t: usize, row: &[f32], neutral: Option<&[f32]>);
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
    fn write(&mut self, t: usize, row: &[f32], _neutral: Option<&[f32]>) {
        self.data[t * self.bins..][..self.bins].copy_from_slice(row);
    }
}

/// One analysed frame: each channel's spectrum and the mid magnitude the model reads.
struct LiveFrame {
    spectra: Vec<Vec<Complex32>>,
    mid: Vec<f32>,
}

/// Input-phase reuse with linked channels, streamed: the frames of one or two channels' STFTs are
/// analysed when a window first reads them, and the model reads their mid magnitude
/// (`dsp::stereo_link`: the channel itself for mono). The bent magnitude written back becomes a
/// per-bin gain over that mid magnitude on each channel's own spectrum, which goes straight into
/// the channel's overlap-add synthesis, so only the frames between the oldest unwritten one and
/// the newest read one exist at any time (about one batch of windows). The values are those of
/// analysing, bending and synthesising the whole signal at once, bit for bit.
pub struct LinkedInputPhase<'a> {
    signals: Vec<&'a [f32]>,
    stft: Stft,
    frames: usize,
    /// The mid magnitude below which the gain's denominator is held (the normalisation's amin).
    floor: f32,
    /// `--voice` (`dsp::voice`): 0, the model's output, to 1, the input's detail.
    voice: f32,
    /// Frames `first..first + live.len()`, analysed and not yet written.
    live: VecDeque<LiveFrame>,
    first: usize,
    spare: Vec<LiveFrame>,
    gains: Vec<f32>,
    bent: Vec<Complex32>,
    synthesis: Vec<StreamingSynthesis>,
    outputs: Vec<Vec<f32>>,
    /// The written (bent mid) magnitudes, when asked for (`--dump-magnitude`).
    pub record: Option<Vec<f32>>,
}

impl<'a> LinkedInputPhase<'a> {
    /// `signals`: one or two channels of equal length at the model rate; `floor`: the
    /// normalisation's amin.
    pub fn new(signals: Vec<&'a [f32]>, floor: f32, record: bool) -> Self {
        assert!(
            matches!(signals.len(), 1 | 2),
            "mono or stereo, got {} channels",
            signals.len()
        );
        let len = signals[0].len();
        assert!(signals.iter().all(|s| s.len() == len), "equal lengths");
        let config = StftConfig::default();
        let bins = config.n_bins();
        LinkedInputPhase {
            stft: Stft::new(config),
            frames: config.frames_for(len),
            floor,
            voice: 0.0,
            live: VecDeque::new(),
            first: 0,
            spare: Vec::new(),
            gains: vec![0.0; bins],
            bent: vec![Complex32::new(0.0, 0.0); bins],
            synthesis: signals
                .iter()
                .map(|_| StreamingSynthesis::new(len))
                .collect(),
            outputs: signals.iter().map(|_| Vec::with_capacity(len)).collect(),
            signals,
            record: record.then(Vec::new),
        }
    }

    /// The same store at voice `voice` (`--voice`; 0 unless set).
    pub fn with_voice(mut self, voice: f32) -> Self {
        self.voice = voice;
        self
    }

    /// The resynthesised channels (each as long as its input) once every frame has been written.
    pub fn finish(self) -> Vec<Vec<f32>> {
        assert!(self.first == self.frames, "frames left unwritten");
        let config = self.stft.config();
        self.synthesis
            .into_iter()
            .zip(self.outputs)
            .map(|(synthesis, mut output)| {
                synthesis.finish(config, &mut output);
                output
            })
            .collect()
    }

    fn analyse(&mut self, t: usize) -> LiveFrame {
        let bins = self.stft.config().n_bins();
        let mut frame = self.spare.pop().unwrap_or_else(|| LiveFrame {
            spectra: vec![vec![Complex32::new(0.0, 0.0); bins]; self.signals.len()],
            mid: vec![0.0; bins],
        });
        for (signal, spectrum) in self.signals.iter().zip(&mut frame.spectra) {
            self.stft.analyse_frames(signal, t, spectrum);
        }
        let right = frame.spectra.get(1).map(Vec::as_slice);
        linked_magnitude(&frame.spectra[0], right, &mut frame.mid);
        frame
    }
}

impl FrameStore for LinkedInputPhase<'_> {
    fn frames(&self) -> usize {
        self.frames
    }

    fn read(&mut self, t: usize, row: &mut [f32]) {
        assert!(t >= self.first, "frame {t} read after it was written");
        while self.first + self.live.len() <= t {
            let frame = self.analyse(self.first + self.live.len());
            self.live.push_back(frame);
        }
        row.copy_from_slice(&self.live[t - self.first].mid);
    }

    fn write(&mut self, t: usize, row: &[f32], neutral: Option<&[f32]>) {
        assert_eq!(t, self.first, "frames must be written in order");
        let frame = self
            .live
            .pop_front()
            .expect("a frame is read before it is written");
        let (floor, voice) = (self.floor, self.voice);
        voice_gains(row, neutral, &frame.mid, floor, voice, &mut self.gains);
        for ((spectrum, synthesis), output) in frame
            .spectra
            .iter()
            .zip(&mut self.synthesis)
            .zip(&mut self.outputs)
        {
            apply_gains(spectrum, &self.gains, &mut self.bent);
            synthesis.push(&mut self.stft, &self.bent, output);
        }
        self.spare.push(frame);
        self.first += 1;
        if let Some(record) = &mut self.record {
            record.extend_from_slice(row);
        }
    }
}
