//! The audio-thread half of the model path: host rate -> 44.1 kHz (`dsp::StreamingResampler`),
//! STFT frames (`dsp::StreamingFramer`), 128-frame windows of the normalised magnitude to the
//! worker and bent windows back (SPSC rings of `ringbuf`, see [`crate::worker`]), cross-faded
//! per [`dsp::StreamSchedule`], resynthesised under the input's phase, back to the host rate.
//!
//! How a bent frame is put back: the framer hands us frame `k`; we keep its spectra and return,
//! in its place, frame `k - D` (`D = schedule.delay_frames()`) with the bent magnitude. So the
//! model path delays by the framer's `n_fft` plus `D` hops, a fixed number of samples whatever
//! the worker does.
//!
//! Stereo is linked (`dsp::stereo_link`, which `netbend render` uses too): the model runs once,
//! on the mid signal `(L + R) / 2`; its bent magnitude over the mid's magnitude is a per-bin gain
//! applied to each channel's own spectrum, so each channel keeps its phase (and its level
//! relative to the other). Mono is the same with mid = the channel. A window that is missing
//! when its frames are due (late worker, full pool, model
//! error) is replaced by the dry magnitude: the sin² fade of the schedule then cross-fades into
//! and out of the dry signal, and a frame with no bent source at all passes through unchanged
//! (the framer's identity: the dry signal delayed by the latency).
//!
//! Once per frame the mid magnitude going in (frame `k`) and coming out (frame `k - D`) go to the
//! editor as one spectrogram column ([`crate::spectrum`]), when it asked for them.
//!
//! Nothing here allocates, locks, does I/O or waits after construction, except while the plugin
//! has set it waiting ([`ModelPath::set_waiting`]: the host renders offline, by its own word or
//! by the pace of its calls, see [`crate::pace_guard`]), where waiting for the worker is what
//! makes a bounce exact.

use crate::bridge::EngineStatus;
pub use crate::path_latency::{
    PathLatency, SCHEDULE_ENV, grid_anchor_skip, latency_for, model_delay, schedule_for,
};
use crate::path_latency::{Resamplers, latency_of, resamplers};
use crate::safety::DelayLine;
use crate::song_clock::BlockClock;
use crate::spectrum::{SpectrumColumn, SpectrumPublisher, spectrum_ring};
use crate::voice_frame::{FrameRows, VoiceFrame, WindowRows};
use crate::worker::{Job, NeutralDecode};
use dsp::stereo_link::{self, apply_gains};
use dsp::{
    Complex32, Frame, MODEL_SAMPLE_RATE, Normalisation, ResampleError, StftConfig, StreamSchedule,
    StreamingFramer,
};
use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Window buffers in circulation between the audio thread and the worker. Two in flight cover a
/// worker that is one window behind; more would only queue work that is already late.
pub const POOL: usize = 3;
/// Longest wait for a window in offline rendering before it counts as a miss.
const OFFLINE_TIMEOUT: Duration = Duration::from_secs(30);

/// A window's bent rows that output frames still need: the last `hop + fade` rows, and the same
/// rows of its neutral decode when it has one (the voice, [`crate::voice_frame`]).
struct Stored {
    index: Option<u64>,
    ok: bool,
    rows: Vec<f32>,
    neutral_rows: Vec<f32>,
    neutral: NeutralDecode,
}

/// The per-frame work inside the framer's callback.
struct Spectral {
    schedule: StreamSchedule,
    norm: Normalisation,
    bins: usize,
    window: usize,
    delay: u64,
    /// Normalised mid magnitudes of the last `window` frames, row `frame % window`.
    history: Vec<f32>,
    /// Spectra of the last `delay + 1` frames per channel, slot `frame % (delay + 1)`.
    spectra: Vec<Vec<Complex32>>,
    mid: Vec<f32>,
    /// The per-bin gain of the frame being put back (`dsp::voice`: bent mid over mid at voice 0).
    gains: Vec<f32>,
    /// The voice of the current block (0: the model's output, 1: the input's detail).
    voice: f32,
    voice_frame: VoiceFrame,
    store: Vec<Stored>,
    free: Vec<Job>,
    jobs: HeapProd<Job>,
    results: HeapCons<Job>,
    last_dispatched: Option<u64>,
    last_miss: Option<u64>,
    /// Wait for the worker instead of missing deadlines (offline rendering).
    waiting: bool,
    /// Time spent waiting since the plugin last asked ([`ModelPath::take_waited`]).
    waited: Duration,
    status: Arc<EngineStatus>,
    /// Spectrogram columns for the editor, when one asked for them.
    spectrum: Option<SpectrumPublisher>,
    /// Frame `k`'s mid magnitude and the output frame's, for the spectrogram.
    input_magnitude: Vec<f32>,
    output_magnitude: Vec<f32>,
    /// The song position of the current block's first sample, and that sample's place in the
    /// model-rate stream (frame `k` is at stream sample `k * hop`, as in `netbend render`).
    clock: BlockClock,
    clock_start: f64,
}

impl Spectral {
    fn stored_rows(&self) -> usize {
        self.schedule.hop + self.schedule.fade
    }

    fn on_frame(&mut self, frame: &mut Frame<'_>) {
        let k = frame.index();
        let bins = self.bins;
        let channels = frame.channels();
        // Keep frame k: its spectra (for its own output later) and its normalised mid magnitude.
        let slot = (k % (self.delay + 1)) as usize;
        for c in 0..channels {
            self.spectra[c][slot * bins..(slot + 1) * bins].copy_from_slice(frame.spectrum(c));
        }
        linked_magnitude(&self.spectra, channels, slot, bins, &mut self.mid);
        if self.spectrum.is_some() {
            self.input_magnitude.copy_from_slice(&self.mid);
        }
        let row = (k % self.window as u64) as usize;
        self.norm
            .normalise_slice(&self.mid, &mut self.history[row * bins..(row + 1) * bins]);
        if let Some(w) = self.schedule.window_ending_at(k) {
            self.dispatch(w, k);
            if self.waiting {
                // A bounce waits for each window at once, so the worker bends it with the
                // parameters of this very block: the same render gives the same result.
                let _ = self.fetch(w);
            }
        }
        self.collect();

        if k < self.delay {
            // Before the first delayed frame: the latency's leading silence.
            for c in 0..channels {
                frame.spectrum_mut(c).fill(Complex32::new(0.0, 0.0));
            }
            if let Some(spectrum) = &mut self.spectrum {
                spectrum.publish(&self.input_magnitude, None);
            }
            return;
        }
        let t = k - self.delay;
        let src = self.schedule.sources(t);
        let a = self.fetch(src.a.0);
        let b = src.b.map(|(w, row, f)| (self.fetch(w), row, f));
        let t_slot = (t % (self.delay + 1)) as usize;
        let range = t_slot * bins..(t_slot + 1) * bins;
        let bent_any = a.is_some() || b.is_some_and(|(s, _, _)| s.is_some());
        if !bent_any {
            for c in 0..channels {
                frame
                    .spectrum_mut(c)
                    .copy_from_slice(&self.spectra[c][range.clone()]);
            }
            if let Some(spectrum) = &mut self.spectrum {
                linked_magnitude(&self.spectra, channels, t_slot, bins, &mut self.mid);
                spectrum.publish(&self.input_magnitude, Some(&self.mid));
            }
            return;
        }
        linked_magnitude(&self.spectra, channels, t_slot, bins, &mut self.mid);
        let first_row = self.window - self.stored_rows();
        let store = &self.store;
        let window_rows = |i: usize, row: usize| {
            let stored = &store[i];
            let range = (row - first_row) * bins..(row - first_row + 1) * bins;
            WindowRows {
                bent: &stored.rows[range.clone()],
                neutral_rows: &stored.neutral_rows[range],
                neutral: stored.neutral,
            }
        };
        let rows = FrameRows {
            a: a.map(|i| window_rows(i, src.a.1)),
            b: b.map(|(s, row, f)| (s.map(|i| window_rows(i, row)), f)),
        };
        let (norm, voice) = (self.norm, self.voice);
        self.voice_frame
            .gains(&rows, &self.mid, &norm, voice, &mut self.gains);
        for ((out, &m), &g) in self
            .output_magnitude
            .iter_mut()
            .zip(&self.mid)
            .zip(&self.gains)
        {
            *out = m * g;
        }
        for c in 0..channels {
            apply_gains(
                &self.spectra[c][range.clone()],
                &self.gains,
                frame.spectrum_mut(c),
            );
        }
        if let Some(spectrum) = &mut self.spectrum {
            spectrum.publish(&self.input_magnitude, Some(&self.output_magnitude));
        }
    }

    /// Hands window `w` (ending at frame `k`) to the worker, if a buffer is free.
    fn dispatch(&mut self, w: u64, k: u64) {
        let mut job = self.free.pop();
        if job.is_none() && self.waiting {
            let started = Instant::now();
            while job.is_none() && started.elapsed() < OFFLINE_TIMEOUT {
                std::thread::sleep(Duration::from_micros(100));
                self.collect();
                job = self.free.pop();
            }
            self.waited += started.elapsed();
        }
        let Some(mut job) = job else {
            // The worker holds every buffer: it is late. This window will be counted as missed.
            return;
        };
        let (bins, window) = (self.bins, self.window);
        for j in 0..window {
            // Row j of the window is frame k - window + 1 + j (the ring's oldest row first).
            let frame = k + 1 + j as u64;
            let row = (frame % window as u64) as usize;
            job.data[j * bins..(j + 1) * bins]
                .copy_from_slice(&self.history[row * bins..(row + 1) * bins]);
        }
        job.index = w;
        job.ok = false;
        // The window's song position: its last frame's (engine::motion, cli timeline).
        let hop = StftConfig::default().hop as f64;
        job.position = self
            .clock
            .after((k as f64 * hop - self.clock_start) / f64::from(MODEL_SAMPLE_RATE));
        // The neutral decode is only worth its model time while the voice is above 0.
        job.want_neutral = self.voice > 0.0;
        job.neutral = NeutralDecode::SameAsBent;
        match self.jobs.try_push(job) {
            Ok(()) => self.last_dispatched = Some(w),
            Err(job) => self.free.push(job),
        }
    }

    /// Moves finished windows into the store and their buffers back to the free list.
    fn collect(&mut self) {
        let keep = self.stored_rows() * self.bins;
        let start = (self.window * self.bins) - keep;
        while let Some(job) = self.results.try_pop() {
            let slot = (job.index % self.store.len() as u64) as usize;
            let stored = &mut self.store[slot];
            stored.index = Some(job.index);
            stored.ok = job.ok;
            stored.rows.copy_from_slice(&job.data[start..]);
            stored.neutral = job.neutral;
            if job.neutral == NeutralDecode::Decoded {
                stored
                    .neutral_rows
                    .copy_from_slice(&job.neutral_data[start..]);
            }
            // Capacity POOL was reserved, and at most POOL jobs exist.
            self.free.push(job);
        }
    }

    fn find(&self, w: u64) -> Option<usize> {
        let slot = (w % self.store.len() as u64) as usize;
        (self.store[slot].index == Some(w)).then_some(slot)
    }

    /// The store slot of window `w` if it is back and good; otherwise counts the miss (once per
    /// window). Offline rendering waits for a dispatched window instead.
    fn fetch(&mut self, w: u64) -> Option<usize> {
        // Read the clock only once there is something to wait for: live, never.
        let mut waiting_since: Option<Instant> = None;
        let found = loop {
            if let Some(i) = self.find(w) {
                break self.store[i].ok.then_some(i);
            }
            let dispatched = self.last_dispatched.is_some_and(|d| d >= w);
            if !(self.waiting && dispatched) {
                break None;
            }
            let since = *waiting_since.get_or_insert_with(Instant::now);
            if since.elapsed() > OFFLINE_TIMEOUT {
                break None;
            }
            std::thread::sleep(Duration::from_micros(100));
            self.collect();
        };
        if let Some(since) = waiting_since {
            self.waited += since.elapsed();
        }
        if found.is_none() && self.last_miss.is_none_or(|m| w > m) {
            self.last_miss = Some(w);
            self.status.deadline_misses.fetch_add(1, Ordering::Relaxed);
        }
        found
    }
}

/// The linked magnitude of the frame in spectra slot `slot` (`dsp::stereo_link`).
fn linked_magnitude(
    spectra: &[Vec<Complex32>],
    channels: usize,
    slot: usize,
    bins: usize,
    out: &mut [f32],
) {
    let range = slot * bins..(slot + 1) * bins;
    let right = (channels == 2).then(|| &spectra[1][range.clone()]);
    stereo_link::linked_magnitude(&spectra[0][range], right, out);
}

/// Everything the audio thread needs for the model path, built on the main thread.
pub struct ModelPath {
    spectral: Spectral,
    framer: StreamingFramer,
    resamplers: Option<Resamplers>,
    model_buf: Vec<Vec<f32>>,
    align: Vec<DelayLine>,
    latency: PathLatency,
    /// Host samples between two model windows (fractional at host rates other than 44.1 kHz).
    grid_period: f64,
    /// "Cluster this audio": the model-rate mid input goes to the clip collector.
    capture: Option<crate::clip_capture::CaptureWriter>,
    /// Host samples taken so far, the host rate, and the downsampler's delay in model samples:
    /// where a block starts in the model-rate stream.
    host_in: u64,
    host_rate: u32,
    down_delay: usize,
}

/// What [`ModelPath::new`] needs to know.
pub struct PathSetup {
    pub host_rate: u32,
    pub channels: usize,
    pub max_block: usize,
    pub schedule: StreamSchedule,
    pub norm: Normalisation,
    pub bins: usize,
    /// The host renders offline: wait for the worker instead of missing deadlines, until
    /// [`ModelPath::set_waiting`] says otherwise.
    pub offline: bool,
}

/// The worker's ends of the rings plus a fresh buffer pool.
pub struct WorkerEnds {
    pub jobs: HeapCons<Job>,
    pub results: HeapProd<Job>,
}

impl ModelPath {
    /// Builds the path and the rings; the worker takes [`WorkerEnds`].
    pub fn new(
        setup: &PathSetup,
        status: Arc<EngineStatus>,
    ) -> Result<(ModelPath, WorkerEnds), ResampleError> {
        assert!((1..=2).contains(&setup.channels), "mono or stereo");
        let schedule = setup.schedule;
        let (window, bins) = (schedule.window, setup.bins);
        let resamplers = resamplers(setup.host_rate, setup.channels, setup.max_block)?;
        let latency = latency_of(resamplers.as_ref(), setup.host_rate, model_delay(&schedule));
        let model_cap = match &resamplers {
            Some((down, _)) => down.max_output_per_push(),
            None => setup.max_block,
        };
        let delay = schedule.delay_frames() as u64;
        let down_delay = resamplers.as_ref().map_or(0, |(down, _)| down.delay());
        let (jobs_prod, jobs_cons) = HeapRb::<Job>::new(POOL).split();
        let (results_prod, results_cons) = HeapRb::<Job>::new(POOL).split();
        let mut free = Vec::with_capacity(POOL);
        free.extend((0..POOL).map(|_| Job::new(window * bins)));
        let pad = setup.norm.normalise(0.0);
        let stored_rows = schedule.hop + schedule.fade;
        // Windows needed at once span delay / hop + 2; keep a few more for late arrivals.
        let store_len = (delay as usize / schedule.hop + 4).max(POOL + 2);
        let spectral = Spectral {
            schedule,
            norm: setup.norm,
            bins,
            window,
            delay,
            history: vec![pad; window * bins],
            spectra: vec![
                vec![Complex32::new(0.0, 0.0); (delay as usize + 1) * bins];
                setup.channels
            ],
            mid: vec![0.0; bins],
            gains: vec![0.0; bins],
            voice: 0.0,
            voice_frame: VoiceFrame::new(bins),
            store: (0..store_len)
                .map(|_| Stored {
                    index: None,
                    ok: false,
                    rows: vec![0.0; stored_rows * bins],
                    neutral_rows: vec![0.0; stored_rows * bins],
                    neutral: NeutralDecode::SameAsBent,
                })
                .collect(),
            free,
            jobs: jobs_prod,
            results: results_cons,
            last_dispatched: None,
            last_miss: None,
            waiting: setup.offline,
            waited: Duration::ZERO,
            status,
            spectrum: None,
            input_magnitude: vec![0.0; bins],
            output_magnitude: vec![0.0; bins],
            clock: BlockClock::default(),
            clock_start: 0.0,
        };
        let align = (0..setup.channels)
            .map(|_| {
                let mut d = DelayLine::with_capacity(latency.align_samples + 1);
                d.set_delay(latency.align_samples);
                d
            })
            .collect();
        Ok((
            ModelPath {
                spectral,
                framer: StreamingFramer::new(StftConfig::default(), setup.channels),
                resamplers,
                model_buf: vec![vec![0.0; model_cap.max(1)]; setup.channels],
                align,
                latency,
                grid_period: (schedule.hop * StftConfig::default().hop) as f64
                    * setup.host_rate as f64
                    / MODEL_SAMPLE_RATE as f64,
                capture: None,
                host_in: 0,
                host_rate: setup.host_rate,
                down_delay,
            },
            WorkerEnds {
                jobs: jobs_cons,
                results: results_prod,
            },
        ))
    }

    pub fn latency(&self) -> PathLatency {
        self.latency
    }

    /// Host samples between two model windows: the period of the window grid.
    pub fn grid_period(&self) -> f64 {
        self.grid_period
    }

    /// Feeds `samples` of silence through the path and drops the output, in blocks of
    /// `scratch`'s length (at most the host's block; no allocation). After a silent start this
    /// moves the window grid by `samples` without changing the latency: the dropped output is
    /// the path's answer to silence, and later input comes out as many host samples later as
    /// before.
    pub fn skip_silence(&mut self, samples: usize, scratch: &mut [Vec<f32>]) {
        let block = scratch[0].len();
        let mut left = samples;
        while left > 0 && block > 0 {
            let n = left.min(block);
            for channel in scratch.iter_mut() {
                channel[..n].fill(0.0);
            }
            self.process(scratch, n);
            left -= n;
        }
    }

    /// Whether the following blocks wait for the worker (offline rendering) or take the dry
    /// fallback for a late window (live). Audio thread, between blocks.
    pub fn set_waiting(&mut self, waiting: bool) {
        self.spectral.waiting = waiting;
    }

    /// The voice of the following blocks (`dsp::voice`; audio thread, between blocks). Windows
    /// cut while it is above 0 are decoded neutral too when their bend is not neutral.
    pub fn set_voice(&mut self, voice: f32) {
        self.spectral.voice = voice.clamp(0.0, 1.0);
    }

    /// The time spent waiting for the worker since the last call (audio thread).
    pub fn take_waited(&mut self) -> Duration {
        std::mem::take(&mut self.spectral.waited)
    }

    /// Starts publishing spectrogram columns (main thread, before processing): returns the
    /// editor's end of a new ring. Columns are per STFT frame at the model rate (44.1 kHz).
    pub fn publish_spectrum(&mut self) -> HeapCons<SpectrumColumn> {
        let config = StftConfig::default();
        let (publisher, consumer) = spectrum_ring(dsp::MODEL_SAMPLE_RATE as f32, config.n_fft);
        self.spectral.spectrum = Some(publisher);
        consumer
    }

    /// Sends the model-rate mid input to a clip collector from now on (main thread).
    pub fn set_capture(&mut self, capture: crate::clip_capture::CaptureWriter) {
        self.capture = Some(capture);
    }

    /// The song position of the next block's first sample (audio thread, before
    /// [`ModelPath::process`]); the windows that block completes are bent as the slots stand at
    /// their own positions.
    pub fn set_clock(&mut self, clock: BlockClock) {
        self.spectral.clock = clock;
    }

    /// Replaces `block[c][..n]` (host rate) by the bent signal, `latency().host_samples` later.
    /// Returns false if the resamplers refused the block (then the content is undefined and the
    /// caller plays its delayed dry signal).
    pub fn process(&mut self, block: &mut [Vec<f32>], n: usize) -> bool {
        // Where this block's first sample sits in the model-rate stream (its samples leave the
        // downsampler `down_delay` model samples late).
        self.spectral.clock_start = self.host_in as f64 * f64::from(MODEL_SAMPLE_RATE)
            / f64::from(self.host_rate)
            + self.down_delay as f64;
        self.host_in += n as u64;
        let Some((down, up)) = &mut self.resamplers else {
            if let Some(capture) = &mut self.capture {
                capture.push_mid(block, n);
            }
            with_slices(block, n, |b| {
                self.framer.process(b, |f| self.spectral.on_frame(f));
            });
            align(&mut self.align, block, n);
            return true;
        };
        let pushed = with_ref_slices(block, n, |b| down.push(b));
        if pushed.is_err() {
            return false;
        }
        let m = down.available().min(self.model_buf[0].len());
        if with_slices(&mut self.model_buf, m, |b| down.pop(b)).is_err() {
            return false;
        }
        if let Some(capture) = &mut self.capture {
            capture.push_mid(&self.model_buf, m);
        }
        with_slices(&mut self.model_buf, m, |b| {
            self.framer.process(b, |f| self.spectral.on_frame(f));
        });
        align(&mut self.align, &mut self.model_buf, m);
        if with_ref_slices(&self.model_buf, m, |b| up.push(b)).is_err() {
            return false;
        }
        matches!(with_slices(block, n, |b| up.pop(b)), Ok(got) if got == n)
    }
}

fn align(lines: &mut [DelayLine], block: &mut [Vec<f32>], n: usize) {
    for (line, channel) in lines.iter_mut().zip(block.iter_mut()) {
        if line.delay() > 0 {
            for x in &mut channel[..n] {
                *x = line.process(*x);
            }
        }
    }
}

/// Calls `f` with `[&mut block[c][..n]]` for one or two channels, without allocating.
fn with_slices<R>(block: &mut [Vec<f32>], n: usize, f: impl FnOnce(&mut [&mut [f32]]) -> R) -> R {
    match block {
        [a] => f(&mut [&mut a[..n]]),
        [a, b] => f(&mut [&mut a[..n], &mut b[..n]]),
        _ => unreachable!("mono or stereo"),
    }
}

fn with_ref_slices<R>(block: &[Vec<f32>], n: usize, f: impl FnOnce(&[&[f32]]) -> R) -> R {
    match block {
        [a] => f(&[&a[..n]]),
        [a, b] => f(&[&a[..n], &b[..n]]),
        _ => unreachable!("mono or stereo"),
    }
}
