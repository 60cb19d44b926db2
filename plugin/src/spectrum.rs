//! Spectrogram columns for the editor: the audio thread reduces each STFT frame's magnitude (at
//! the model rate, 44.1 kHz, 513 bins) to [`SPECTRUM_BANDS`] log-spaced bands in dBFS and pushes
//! them into a preallocated lock-free SPSC ring (`ringbuf`); the editor drains the ring into a
//! scrolling image. Pushing never allocates or waits: when the editor is closed the ring fills
//! and further columns are dropped.
//!
//! Band `b` covers `[LOW_HZ * r^b, LOW_HZ * r^(b + 1))` with `r = (HIGH_HZ / LOW_HZ)^(1 /
//! SPECTRUM_BANDS)`. Its value is the largest magnitude of the STFT bins whose centre frequency
//! lies in the band; a band narrower than the bin spacing (the lowest ones) takes the bin nearest
//! to its centre. Levels are dBFS: a full-scale sine on a bin centre reads 0 dB (the periodic
//! Hann window of docs/signal.md sums to `n_fft / 2`, so its peak magnitude is `n_fft / 4`).

use parking_lot::Mutex;
use ringbuf::traits::{Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::sync::Arc;

/// Number of log-spaced bands of a column.
pub const SPECTRUM_BANDS: usize = 128;
/// Lower edge of the lowest band.
pub const LOW_HZ: f32 = 30.0;
/// Upper edge of the highest band (the model rate's Nyquist frequency).
pub const HIGH_HZ: f32 = 22_050.0;
/// Level of silence (and the floor of every band).
pub const FLOOR_DB: f32 = -120.0;
/// Columns the ring holds: about 1.5 s of STFT frames, far more than the editor leaves between
/// two repaints.
pub const RING_COLUMNS: usize = 256;

/// One STFT frame of the input and the model path's output, in dBFS per band. `input_db` is
/// the frame entering the model path, `output_db` the frame leaving it at the same moment
/// (the bent mid signal `latency` earlier), so both scroll in step with what is heard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectrumColumn {
    pub input_db: [f32; SPECTRUM_BANDS],
    pub output_db: [f32; SPECTRUM_BANDS],
}

impl Default for SpectrumColumn {
    fn default() -> Self {
        Self {
            input_db: [FLOOR_DB; SPECTRUM_BANDS],
            output_db: [FLOOR_DB; SPECTRUM_BANDS],
        }
    }
}

/// Lower edge of band `b` in Hz (`b = SPECTRUM_BANDS` gives the upper edge of the last band).
pub fn band_edge_hz(b: usize) -> f32 {
    LOW_HZ * (HIGH_HZ / LOW_HZ).powf(b as f32 / SPECTRUM_BANDS as f32)
}

/// Which STFT bins make up each band, fixed for one rate and FFT size.
#[derive(Debug, Clone)]
pub struct BandMap {
    /// Bins `first[b]..last[b]` (exclusive end) belong to band `b`.
    first: [usize; SPECTRUM_BANDS],
    last: [usize; SPECTRUM_BANDS],
    /// `1 / peak magnitude of a full-scale sine`.
    full_scale: f32,
}

impl BandMap {
    pub fn new(sample_rate: f32, n_fft: usize) -> Self {
        let bins = n_fft / 2 + 1;
        let bin_hz = sample_rate / n_fft as f32;
        let mut first = [0; SPECTRUM_BANDS];
        let mut last = [0; SPECTRUM_BANDS];
        for b in 0..SPECTRUM_BANDS {
            let (lo, hi) = (band_edge_hz(b), band_edge_hz(b + 1));
            let start = (lo / bin_hz).ceil() as usize;
            let end = ((hi / bin_hz).ceil() as usize).min(bins);
            if start < end {
                (first[b], last[b]) = (start, end);
            } else {
                let centre = ((lo * hi).sqrt() / bin_hz).round() as usize;
                let centre = centre.min(bins - 1);
                (first[b], last[b]) = (centre, centre + 1);
            }
        }
        Self {
            first,
            last,
            full_scale: 4.0 / n_fft as f32,
        }
    }

    /// Reduces one frame's magnitudes to band levels in dBFS.
    pub fn reduce(&self, magnitude: &[f32], out: &mut [f32; SPECTRUM_BANDS]) {
        for (b, o) in out.iter_mut().enumerate() {
            let peak = magnitude[self.first[b]..self.last[b]]
                .iter()
                .fold(0.0f32, |m, &x| m.max(x));
            *o = (20.0 * (peak * self.full_scale).log10()).max(FLOOR_DB);
        }
    }
}

/// Audio-thread end: reduces frames and pushes columns (no allocation, no lock).
pub struct SpectrumPublisher {
    map: BandMap,
    column: SpectrumColumn,
    ring: HeapProd<SpectrumColumn>,
}

impl SpectrumPublisher {
    /// Reduces the input and output magnitude of one frame and pushes the column; a full ring
    /// (nobody is reading) drops it.
    pub fn publish(&mut self, input: &[f32], output: Option<&[f32]>) {
        self.map.reduce(input, &mut self.column.input_db);
        match output {
            Some(m) => self.map.reduce(m, &mut self.column.output_db),
            None => self.column.output_db = [FLOOR_DB; SPECTRUM_BANDS],
        }
        let _ = self.ring.try_push(self.column);
    }
}

/// A new ring: the publisher for the audio thread and the consumer for the editor.
pub fn spectrum_ring(
    sample_rate: f32,
    n_fft: usize,
) -> (SpectrumPublisher, HeapCons<SpectrumColumn>) {
    let (ring, consumer) = HeapRb::<SpectrumColumn>::new(RING_COLUMNS).split();
    (
        SpectrumPublisher {
            map: BandMap::new(sample_rate, n_fft),
            column: SpectrumColumn::default(),
            ring,
        },
        consumer,
    )
}

/// Where the editor finds the current activation's ring. Only the main thread (which installs a
/// new consumer in `activate()`) and the editor's thread (which drains it) take the lock; the
/// audio thread holds only the publisher.
#[derive(Default)]
pub struct SpectrumFeed {
    consumer: Mutex<Option<HeapCons<SpectrumColumn>>>,
}

impl SpectrumFeed {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Installs the consumer of a new ring (`None`: no model path, no columns).
    pub fn install(&self, consumer: Option<HeapCons<SpectrumColumn>>) {
        *self.consumer.lock() = consumer;
    }

    /// Calls `f` with every column published since the last call, oldest first. Returns
    /// whether a ring is installed.
    pub fn drain(&self, mut f: impl FnMut(&SpectrumColumn)) -> bool {
        use ringbuf::traits::Consumer;
        let mut guard = self.consumer.lock();
        let Some(consumer) = guard.as_mut() else {
            return false;
        };
        while let Some(column) = consumer.try_pop() {
            f(&column);
        }
        true
    }
}
