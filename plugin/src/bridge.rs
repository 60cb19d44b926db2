//! The lock-free bridge from host automation to the model worker.
//!
//! The audio thread (the only writer) publishes the smoothed slot parameters once per process
//! block; the worker thread (any number of readers) takes a consistent [`BendSnapshot`] of all
//! slots when it prepares the next model window. There is no lock: every field is its own atomic
//! (`atomic_float` for floats) and a sequence counter makes the set of fields a seqlock:
//!
//! - the writer makes the counter odd, stores the fields, then makes it even again; it never
//!   waits for a reader;
//! - a reader copies the fields between two reads of the counter and keeps the copy only when
//!   the counter was even and unchanged, so a snapshot never mixes two publications.
//!
//! The writer publishes only when a value changed, so [`BendSnapshot::generation`] tells the
//! worker whether it has to rebuild the graph inputs at all.
//!
//! [`EngineStatus`] carries the other direction (worker and audio thread -> editor): deadline
//! misses, guard events, latency and whether a model path is connected.

use crate::motion_params::{ModRate, ModShape, ModTarget, Reroll, SlotMotion};
use crate::params::{NUM_SLOTS, QualityMode, Selection, SlotParams, Transform};
use crate::song_clock::BlockClock;
use atomic_float::{AtomicF32, AtomicF64};
use nice_plug::prelude::{FloatParam, Param};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering, fence};

/// One slot as the worker sees it: the plugin's form of one bend config entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotSnapshot {
    pub enabled: bool,
    /// Layer, 1-based (1..=4).
    pub layer: u8,
    pub transform: Transform,
    /// The stage's float parameters (`params` of the config entry): the first
    /// `transform.param_count()` are meaningful, the rest are 0. Erode/dilate radius is a whole
    /// number of pixels stored as a float.
    pub params: [f32; 2],
    pub selection: Selection,
    /// Share of channels for [`Selection::Random`], in [0, 1].
    pub fraction: f32,
    /// Seed for a random selection, the shuffle permutation and the noise field.
    pub seed: u32,
    /// Cluster index for [`Selection::Cluster`].
    pub cluster: u32,
    /// Per-channel mix of the stage, in [0, 1].
    pub mix: f32,
    /// The slot's modulator and re-roll.
    pub motion: SlotMotion,
}

impl Default for SlotSnapshot {
    fn default() -> Self {
        Self {
            enabled: false,
            layer: 1,
            transform: Transform::Ablate,
            params: [0.0; 2],
            selection: Selection::All,
            fraction: 0.5,
            seed: 0,
            cluster: 0,
            mix: 1.0,
            motion: SlotMotion::default(),
        }
    }
}

/// Everything the worker needs from the parameters, taken at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BendSnapshot {
    /// Number of publications so far (0 = nothing published yet). Equal generations mean equal
    /// contents, so the worker can skip rebuilding its graph inputs.
    pub generation: u64,
    pub mode: QualityModeSnapshot,
    pub slots: [SlotSnapshot; NUM_SLOTS],
}

impl BendSnapshot {
    /// Whether two snapshots hold the same parameters (ignoring the generation).
    pub fn same_values(&self, other: &BendSnapshot) -> bool {
        self.mode == other.mode && self.slots == other.slots
    }

    /// The enabled slots in config order (slot 1 first).
    pub fn enabled_slots(&self) -> impl Iterator<Item = (usize, &SlotSnapshot)> {
        self.slots.iter().enumerate().filter(|(_, s)| s.enabled)
    }
}

/// [`QualityMode`] with a `Default` (the snapshot type must be `Default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityModeSnapshot(pub QualityMode);

impl Default for QualityModeSnapshot {
    fn default() -> Self {
        Self(QualityMode::Default)
    }
}

/// The atomics of one slot.
#[derive(Debug)]
struct SlotAtoms {
    enabled: AtomicBool,
    layer: AtomicU8,
    transform: AtomicU8,
    params: [AtomicF32; 2],
    selection: AtomicU8,
    fraction: AtomicF32,
    seed: AtomicU32,
    cluster: AtomicU32,
    mix: AtomicF32,
    motion: MotionAtoms,
}

/// The atomics of one slot's [`SlotMotion`].
#[derive(Debug)]
struct MotionAtoms {
    shape: AtomicU8,
    rate: AtomicU8,
    hz: AtomicF32,
    depth: AtomicF32,
    phase: AtomicF32,
    target: AtomicU8,
    range: [AtomicF32; 2],
    reroll: AtomicU8,
}

impl MotionAtoms {
    fn new(m: &SlotMotion) -> Self {
        Self {
            shape: AtomicU8::new(m.shape.index()),
            rate: AtomicU8::new(m.rate.index()),
            hz: AtomicF32::new(m.hz),
            depth: AtomicF32::new(m.depth),
            phase: AtomicF32::new(m.phase_degrees),
            target: AtomicU8::new(m.target.index()),
            range: [AtomicF32::new(m.range[0]), AtomicF32::new(m.range[1])],
            reroll: AtomicU8::new(m.reroll.index()),
        }
    }

    fn store(&self, m: &SlotMotion) {
        let r = Ordering::Relaxed;
        self.shape.store(m.shape.index(), r);
        self.rate.store(m.rate.index(), r);
        self.hz.store(m.hz, r);
        self.depth.store(m.depth, r);
        self.phase.store(m.phase_degrees, r);
        self.target.store(m.target.index(), r);
        self.range[0].store(m.range[0], r);
        self.range[1].store(m.range[1], r);
        self.reroll.store(m.reroll.index(), r);
    }

    fn load(&self) -> SlotMotion {
        let r = Ordering::Relaxed;
        SlotMotion {
            shape: ModShape::from_u8(self.shape.load(r)),
            rate: ModRate::from_u8(self.rate.load(r)),
            hz: self.hz.load(r),
            depth: self.depth.load(r),
            phase_degrees: self.phase.load(r),
            target: ModTarget::from_u8(self.target.load(r)),
            range: [self.range[0].load(r), self.range[1].load(r)],
            reroll: Reroll::from_u8(self.reroll.load(r)),
        }
    }
}

impl SlotAtoms {
    fn new(s: &SlotSnapshot) -> Self {
        Self {
            enabled: AtomicBool::new(s.enabled),
            layer: AtomicU8::new(s.layer),
            transform: AtomicU8::new(s.transform.index()),
            params: [AtomicF32::new(s.params[0]), AtomicF32::new(s.params[1])],
            selection: AtomicU8::new(s.selection.index()),
            fraction: AtomicF32::new(s.fraction),
            seed: AtomicU32::new(s.seed),
            cluster: AtomicU32::new(s.cluster),
            mix: AtomicF32::new(s.mix),
            motion: MotionAtoms::new(&s.motion),
        }
    }

    fn store(&self, s: &SlotSnapshot) {
        let r = Ordering::Relaxed;
        self.enabled.store(s.enabled, r);
        self.layer.store(s.layer, r);
        self.transform.store(s.transform.index(), r);
        self.params[0].store(s.params[0], r);
        self.params[1].store(s.params[1], r);
        self.selection.store(s.selection.index(), r);
        self.fraction.store(s.fraction, r);
        self.seed.store(s.seed, r);
        self.cluster.store(s.cluster, r);
        self.mix.store(s.mix, r);
        self.motion.store(&s.motion);
    }

    fn load(&self) -> SlotSnapshot {
        let r = Ordering::Relaxed;
        SlotSnapshot {
            enabled: self.enabled.load(r),
            layer: self.layer.load(r),
            transform: Transform::from_u8(self.transform.load(r)),
            params: [self.params[0].load(r), self.params[1].load(r)],
            selection: Selection::from_u8(self.selection.load(r)),
            fraction: self.fraction.load(r),
            seed: self.seed.load(r),
            cluster: self.cluster.load(r),
            mix: self.mix.load(r),
            motion: self.motion.load(),
        }
    }
}

/// The bridge itself: share it as an `Arc<BendBridge>` between the plugin (writer) and the
/// worker and editor (readers).
#[derive(Debug)]
pub struct BendBridge {
    /// Seqlock counter: odd while a publication is in progress; `seq / 2` is the generation.
    seq: AtomicU64,
    mode: AtomicU8,
    slots: [SlotAtoms; NUM_SLOTS],
}

impl Default for BendBridge {
    fn default() -> Self {
        Self::new()
    }
}

/// How many times [`BendBridge::read`] retries before it yields the thread between attempts.
const SPIN_RETRIES: u32 = 64;

impl BendBridge {
    pub fn new() -> Self {
        let slot = SlotSnapshot::default();
        Self {
            seq: AtomicU64::new(0),
            mode: AtomicU8::new(QualityMode::Default.index()),
            slots: std::array::from_fn(|_| SlotAtoms::new(&slot)),
        }
    }

    /// Publishes a snapshot (its `generation` field is ignored). Wait-free, no allocation:
    /// called by the audio thread. There must be only one writer at a time.
    pub fn publish(&self, snapshot: &BendSnapshot) {
        let s = self.seq.load(Ordering::Relaxed);
        // Odd: readers that see this (or whose copy straddles it) discard their copy.
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.mode.store(snapshot.mode.0.index(), Ordering::Relaxed);
        for (atoms, slot) in self.slots.iter().zip(snapshot.slots.iter()) {
            atoms.store(slot);
        }
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// One attempt at a consistent copy: `None` if the writer was publishing meanwhile.
    pub fn try_read(&self) -> Option<BendSnapshot> {
        let s1 = self.seq.load(Ordering::Acquire);
        if s1 & 1 == 1 {
            return None;
        }
        let mode = QualityModeSnapshot(QualityMode::from_u8(self.mode.load(Ordering::Relaxed)));
        let slots = std::array::from_fn(|i| self.slots[i].load());
        fence(Ordering::Acquire);
        let s2 = self.seq.load(Ordering::Relaxed);
        (s1 == s2).then_some(BendSnapshot {
            generation: s1 / 2,
            mode,
            slots,
        })
    }

    /// A consistent copy of all slots, for the worker (never the audio thread). Retries while the
    /// writer is mid-publication; a publication takes well under a microsecond, so this returns
    /// after a few attempts at most.
    pub fn read(&self) -> BendSnapshot {
        let mut attempts = 0u32;
        loop {
            if let Some(snapshot) = self.try_read() {
                return snapshot;
            }
            attempts += 1;
            if attempts < SPIN_RETRIES {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// The generation of the last completed publication (cheap change check for the worker).
    pub fn generation(&self) -> u64 {
        self.seq.load(Ordering::Acquire) / 2
    }
}

/// Audio-thread side of the bridge: publishes only when something changed.
#[derive(Debug, Default)]
pub struct BridgeWriter {
    last: BendSnapshot,
    published_once: bool,
}

impl BridgeWriter {
    /// Publishes `next` if it differs from the last publication. Returns whether it published.
    pub fn publish_if_changed(&mut self, bridge: &BendBridge, next: &BendSnapshot) -> bool {
        if self.published_once && self.last.same_values(next) {
            return false;
        }
        bridge.publish(next);
        self.last = *next;
        self.published_once = true;
        true
    }
}

/// Status from the audio thread and the worker to the editor. The audio thread only touches the
/// atomics; `message` (a mutex) is written by the worker and the main thread only.
#[derive(Debug, Default)]
pub struct EngineStatus {
    /// Model windows that were not back by their deadline; the audio path then cross-fades to the
    /// dry signal delayed by the latency for that window.
    pub deadline_misses: AtomicU64,
    /// Windows the worker has run.
    pub windows: AtomicU64,
    /// Worker time of the last window and the largest so far, in ms.
    pub window_ms: AtomicF32,
    pub window_ms_max: AtomicF32,
    /// Why the model path is not connected, or the last problem with the bend (empty: none).
    pub message: parking_lot::Mutex<String>,
    /// Non-finite samples replaced by the output safety stage.
    pub guard_events: AtomicU64,
    /// Latency reported to the host, in samples.
    pub latency_samples: AtomicU32,
    /// The real-time budget of one window: the model rate's time between two windows (the
    /// quality mode's hop), in ms. Model time over this is the share of a core the worker uses.
    pub hop_ms: AtomicF32,
    /// Host sample rate of the current activation (0 when inactive).
    pub sample_rate: AtomicF32,
    /// Whether the model path is connected (a model is loaded and its worker runs).
    pub model_connected: AtomicBool,
    /// Process blocks run so far.
    pub blocks: AtomicU64,
    /// Peak absolute output of the last block (for a meter).
    pub output_peak: AtomicF32,
    /// Blocks in which the host ran ahead of real time without declaring offline rendering, so
    /// the audio thread waited for the worker ([`crate::pace_guard`]).
    pub ahead_blocks: AtomicU64,
    /// One more than the host samples its activation had processed when the pace guard last
    /// engaged (0: never); see [`Self::ahead_engaged_at`].
    pub ahead_engaged_at_plus_one: AtomicU64,
    /// The host timeline position (transport samples) of an activation's first processed
    /// sample, taken from its first block with the transport rolling: the model path cuts its
    /// windows from its first sample on, so this is where its window grid starts on the timeline.
    /// Kept across activations (a host may restart the plugin after a bounce without rolling);
    /// valid once [`Self::grid_origin_known`] is set.
    pub grid_origin: AtomicI64,
    pub grid_origin_known: AtomicBool,
    /// The song position of the last block's first input sample and the song's pace, for the
    /// editor's modulator view ([`crate::song_clock::BlockClock`]).
    pub song_seconds: AtomicF64,
    pub song_beats: AtomicF64,
    pub song_beats_per_second: AtomicF64,
    pub song_beats_per_bar: AtomicF64,
}

impl EngineStatus {
    /// Audio thread, once per block: four relaxed stores.
    pub fn publish_song_clock(&self, clock: &BlockClock) {
        let r = Ordering::Relaxed;
        self.song_seconds.store(clock.seconds, r);
        self.song_beats.store(clock.beats, r);
        self.song_beats_per_second.store(clock.beats_per_second, r);
        self.song_beats_per_bar.store(clock.beats_per_bar, r);
    }

    /// The last block's song clock (editor). The fields are read one by one, so a block may
    /// land between them: good enough for a picture.
    pub fn song_clock(&self) -> BlockClock {
        let r = Ordering::Relaxed;
        BlockClock {
            seconds: self.song_seconds.load(r),
            beats: self.song_beats.load(r),
            beats_per_second: self.song_beats_per_second.load(r),
            beats_per_bar: self.song_beats_per_bar.load(r),
        }
    }
    /// Replaces the status message (worker and main thread only: takes a lock).
    pub fn set_message(&self, text: String) {
        *self.message.lock() = text;
    }

    /// Host samples its activation had processed when the pace guard last engaged (`None`:
    /// never): for a bounce from a fresh activation, how much of it went by before the plugin
    /// started waiting for the worker.
    pub fn ahead_engaged_at(&self) -> Option<u64> {
        self.ahead_engaged_at_plus_one
            .load(Ordering::Relaxed)
            .checked_sub(1)
    }

    pub fn message(&self) -> String {
        self.message.lock().clone()
    }

    /// The model thread's share of one core: model time per window over the real-time budget of
    /// a window (its hop), now and at its maximum. `None` before the first activation.
    pub fn model_load(&self) -> Option<ModelLoad> {
        let hop = self.hop_ms.load(Ordering::Relaxed);
        (hop > 0.0).then(|| ModelLoad {
            now: self.window_ms.load(Ordering::Relaxed) / hop,
            max: self.window_ms_max.load(Ordering::Relaxed) / hop,
        })
    }

    /// Worker bookkeeping after one window.
    pub fn record_window_time(&self, elapsed: std::time::Duration) {
        let ms = elapsed.as_secs_f32() * 1000.0;
        self.window_ms.store(ms, Ordering::Relaxed);
        self.window_ms_max.fetch_max(ms, Ordering::Relaxed);
        self.windows.fetch_add(1, Ordering::Relaxed);
    }
}

/// The model thread's share of one core (1.0 = a whole core: windows are as slow as they come).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelLoad {
    pub now: f32,
    pub max: f32,
}

/// One slot's snapshot. Advances every smoother of the slot by `block_len` samples (so that a
/// transform switched to later starts from its current value) and keeps the parameters of the
/// slot's transform.
pub fn slot_snapshot(slot: &SlotParams, block_len: u32) -> SlotSnapshot {
    let step = |p: &FloatParam| p.smoothed.next_step(block_len);
    let tx = step(&slot.translate_x);
    let ty = step(&slot.translate_y);
    let sx = step(&slot.scale_x);
    let sy = step(&slot.scale_y);
    let rot = step(&slot.rotate);
    let mul = step(&slot.multiply);
    let offset = step(&slot.offset);
    let thresh = step(&slot.threshold);
    let sigma = step(&slot.noise);
    let mix = step(&slot.mix);
    let transform = slot.transform.value();
    let params = match transform {
        Transform::Translate => [tx, ty],
        Transform::Scale => [sx, sy],
        Transform::Rotate => [rot, 0.0],
        Transform::Erode | Transform::Dilate => [slot.radius.value() as f32, 0.0],
        Transform::ScalarMultiply => [mul, 0.0],
        Transform::Offset => [offset, 0.0],
        Transform::BinaryThresh => [thresh, 0.0],
        Transform::Noise => [sigma, 0.0],
        Transform::Shuffle
        | Transform::FlipH
        | Transform::FlipV
        | Transform::Invert
        | Transform::Ablate => [0.0, 0.0],
    };
    let motion = slot_motion(slot, transform);
    SlotSnapshot {
        enabled: slot.enabled.value(),
        layer: slot.layer.value().clamp(1, crate::params::NUM_LAYERS) as u8,
        transform,
        params,
        selection: slot.selection.value(),
        fraction: slot.fraction.value(),
        seed: slot.seed.value().max(0) as u32,
        cluster: slot.cluster.value().max(0) as u32,
        mix,
        motion,
    }
}

/// The slot's modulator as the host parameters set it (also the editor's modulator view).
pub fn slot_motion(slot: &SlotParams, transform: Transform) -> SlotMotion {
    let target = slot.mod_target.value();
    SlotMotion {
        shape: slot.mod_shape.value(),
        rate: slot.mod_rate.value(),
        hz: slot.mod_hz.value(),
        depth: slot.mod_depth.value(),
        phase_degrees: slot.mod_phase.value(),
        target,
        range: target_range(slot, target, transform),
        reroll: slot.reroll.value(),
    }
}

/// The range of what a modulator on `target` moves: the transform's main parameter's (the mix's
/// for a transform without parameters). No allocation: the audio thread calls it per block.
pub fn target_range(slot: &SlotParams, target: ModTarget, transform: Transform) -> [f32; 2] {
    let range = |p: &FloatParam| [p.preview_plain(0.0), p.preview_plain(1.0)];
    match (target, transform) {
        (ModTarget::Mix, _) => range(&slot.mix),
        (_, Transform::Translate) => range(&slot.translate_x),
        (_, Transform::Scale) => range(&slot.scale_x),
        (_, Transform::Rotate) => range(&slot.rotate),
        (_, Transform::Erode | Transform::Dilate) => [
            slot.radius.preview_plain(0.0) as f32,
            slot.radius.preview_plain(1.0) as f32,
        ],
        (_, Transform::ScalarMultiply) => range(&slot.multiply),
        (_, Transform::Offset) => range(&slot.offset),
        (_, Transform::BinaryThresh) => range(&slot.threshold),
        (_, Transform::Noise) => range(&slot.noise),
        (
            _,
            Transform::Shuffle
            | Transform::FlipH
            | Transform::FlipV
            | Transform::Invert
            | Transform::Ablate,
        ) => range(&slot.mix),
    }
}
