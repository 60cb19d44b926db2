//! The last seconds of input for "cluster this audio": the audio thread pushes the model-rate
//! mono (mid) input into a preallocated lock-free SPSC ring (`ringbuf`) and never waits (when the
//! ring is full the samples are dropped and counted); a collector thread (neither the audio nor
//! the GUI thread) drains the ring every few milliseconds into a history of the last
//! [`CLIP_SECONDS`], which the clustering thread copies out.

use parking_lot::Mutex;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Seconds of input the clip holds (and per-clip clustering needs before it starts).
pub const CLIP_SECONDS: f32 = 8.0;
/// How often the collector drains the ring.
const COLLECT_EVERY: Duration = Duration::from_millis(10);
/// Ring capacity in seconds: 50 drains of headroom for a collector the scheduler delays.
const RING_SECONDS: f32 = 0.5;

/// The clip's history and its counters, shared by the collector and the clustering side.
#[derive(Debug)]
pub struct ClipHistory {
    rate: u32,
    capacity: usize,
    samples: Mutex<VecDeque<f32>>,
    /// Samples the audio thread could not push because the ring was full.
    pub dropped: AtomicU64,
    /// Samples the collector has moved out of the ring so far.
    pub collected: AtomicU64,
}

impl ClipHistory {
    /// A history of `seconds` at `rate` Hz (the model rate).
    pub fn new(rate: u32, seconds: f32) -> Arc<ClipHistory> {
        let capacity = (seconds * rate as f32).round() as usize;
        Arc::new(ClipHistory {
            rate,
            capacity,
            samples: Mutex::new(VecDeque::with_capacity(capacity)),
            dropped: AtomicU64::new(0),
            collected: AtomicU64::new(0),
        })
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Samples the clip holds when full.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Seconds of audio held now.
    pub fn seconds(&self) -> f32 {
        self.samples.lock().len() as f32 / self.rate as f32
    }

    /// A copy of the held audio, oldest sample first (clustering thread).
    pub fn copy(&self) -> Vec<f32> {
        self.samples.lock().iter().copied().collect()
    }

    /// Forgets the held audio (a new activation starts a new clip).
    pub fn clear(&self) {
        self.samples.lock().clear();
    }

    fn append(&self, chunk: &[f32]) {
        let mut s = self.samples.lock();
        let excess = (s.len() + chunk.len()).saturating_sub(self.capacity);
        let held = s.len();
        s.drain(..excess.min(held));
        let skip = chunk.len().saturating_sub(self.capacity);
        s.extend(&chunk[skip..]);
        drop(s);
        self.collected
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
}

/// The audio thread's end: wait-free, no allocation.
pub struct CaptureWriter {
    ring: HeapProd<f32>,
    history: Arc<ClipHistory>,
}

impl CaptureWriter {
    /// Pushes the mid `(L + R) / 2` (or the single channel) of `block[c][..n]`; what does not fit
    /// is dropped and counted.
    pub fn push_mid(&mut self, block: &[Vec<f32>], n: usize) {
        let pushed = match block {
            [mono] => self.ring.push_slice(&mono[..n]),
            [l, r, ..] => self
                .ring
                .push_iter(l[..n].iter().zip(&r[..n]).map(|(a, b)| (a + b) * 0.5)),
            [] => 0,
        };
        if pushed < n && !block.is_empty() {
            self.history
                .dropped
                .fetch_add((n - pushed) as u64, Ordering::Relaxed);
        }
    }
}

/// The collector thread; dropping it stops the thread (after a last drain).
pub struct Collector {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// Makes the ring (allocated here, on the main thread) and starts the collector draining it
    /// into `history`. The audio thread gets the [`CaptureWriter`].
    pub fn start(history: Arc<ClipHistory>) -> std::io::Result<(CaptureWriter, Collector)> {
        let ring_len = ((RING_SECONDS * history.rate() as f32) as usize).max(1);
        let (producer, mut consumer): (HeapProd<f32>, HeapCons<f32>) =
            HeapRb::<f32>::new(ring_len).split();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let target = history.clone();
        let thread = std::thread::Builder::new()
            .name("netbend-clip-collector".into())
            .spawn(move || {
                let mut chunk = vec![0.0f32; ring_len];
                loop {
                    let stopping = stop_flag.load(Ordering::Acquire);
                    while consumer.occupied_len() > 0 {
                        let got = consumer.pop_slice(&mut chunk);
                        target.append(&chunk[..got]);
                    }
                    if stopping {
                        break;
                    }
                    std::thread::sleep(COLLECT_EVERY);
                }
            })?;
        Ok((
            CaptureWriter {
                ring: producer,
                history,
            },
            Collector {
                stop,
                thread: Some(thread),
            },
        ))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
