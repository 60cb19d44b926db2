//! The model worker thread: owns the engine [`Runtime`] (sessions built once), takes 128-frame
//! windows from the audio thread through a lock-free SPSC ring, bends them with the latest
//! [`BendSnapshot`] and hands them back through a second ring.
//!
//! The window buffers themselves travel through the rings (a fixed pool allocated before the
//! audio thread starts), so neither side allocates or frees memory per window and the audio
//! thread never waits for this one.

use crate::bridge::{BendBridge, BendSnapshot, EngineStatus};
use crate::clip_clusters::ClipClusterState;
use crate::params::Selection as SlotSelection;
use engine::{
    BendEntry, BendSpec, ClusterSource, Runtime, Selection, SongPosition, Stage, Transform,
};
use ndarray::ArrayView3;
use parking_lot::RwLock;
use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One model window on its way to the worker (normalised input) and back (bent output).
pub struct Job {
    /// Window index in the stream's schedule.
    pub index: u64,
    /// `[window, bins]` row-major normalised values.
    pub data: Box<[f32]>,
    /// Whether the model ran: `false` means the data is not a bent window (treated as a miss).
    pub ok: bool,
    /// The song position of the window's last frame: moving slots are bent as they stand there.
    pub position: SongPosition,
    /// Set by the audio thread: the voice is above 0, so a bent window needs its neutral decode.
    pub want_neutral: bool,
    /// The neutral decode of the same window (`[window, bins]`), valid when `neutral` says so.
    pub neutral_data: Box<[f32]>,
    /// What the window's neutral decode is, as the worker ran it.
    pub neutral: NeutralDecode,
}

/// Where a window's neutral decode (the voice's reference, `dsp::voice`) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeutralDecode {
    /// The bend was neutral: the neutral decode is the bent one (not decoded twice).
    SameAsBent,
    /// Decoded: in `neutral_data`.
    Decoded,
    /// Not decoded although the bend was not neutral (the voice was 0 when the window was cut).
    Missing,
}

impl Job {
    pub fn new(len: usize) -> Job {
        Job {
            index: 0,
            data: vec![0.0; len].into_boxed_slice(),
            ok: false,
            position: SongPosition::at_tempo(0.0, 120.0, 4.0),
            want_neutral: false,
            neutral_data: vec![0.0; len].into_boxed_slice(),
            neutral: NeutralDecode::SameAsBent,
        }
    }
}

/// How long the worker sleeps when there is nothing to do. Bounds the extra delay a window sees
/// before the model starts on it; small against the smallest budget (6 frames = 35 ms).
const IDLE_SLEEP: Duration = Duration::from_micros(250);

/// The bend spec of a snapshot with `cluster` selections from the model's general clusters.
pub fn spec_from_snapshot(snapshot: &BendSnapshot) -> (BendSpec, Vec<String>) {
    spec_from_snapshot_with(snapshot, &ClusterSource::default())
}

/// The bend spec of a snapshot: one entry per enabled slot, in slot order, `cluster` selections
/// from `clusters` (the general clusters or the clip's). Slots the model cannot take (e.g. a
/// cluster index the layer does not have) are left out; the returned messages say which and why.
pub fn spec_from_snapshot_with(
    snapshot: &BendSnapshot,
    clusters: &ClusterSource,
) -> (BendSpec, Vec<String>) {
    let mut spec = BendSpec::neutral();
    let mut problems = Vec::new();
    for (i, slot) in snapshot.enabled_slots() {
        let name = slot.transform.stage_name();
        let Some(stage) = Stage::from_name(name) else {
            problems.push(format!("slot {}: unknown transform `{name}`", i + 1));
            continue;
        };
        let params: Vec<f64> = slot.params[..slot.transform.param_count()]
            .iter()
            .map(|&p| p as f64)
            .collect();
        let transform = match Transform::new(stage, &params) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("slot {}: {e}", i + 1));
                continue;
            }
        };
        let selection = match slot.selection {
            SlotSelection::All => Selection::All,
            SlotSelection::Random => Selection::Random {
                fraction: (slot.fraction as f64).clamp(1e-6, 1.0),
            },
            SlotSelection::Cluster => Selection::Cluster {
                index: slot.cluster as usize,
                map: clusters.clone(),
            },
        };
        let draws = slot.transform.draws_at_random(slot.selection);
        let mut entry = BendEntry::new(slot.layer as usize, transform, selection)
            .with_mix(slot.mix.clamp(0.0, 1.0))
            .with_seed(slot.seed as u64);
        entry.motion = slot.motion.motion(slot.transform.param_count(), draws);
        spec = spec.push(entry);
    }
    (spec, problems)
}

/// Makes the snapshot's bend current. A spec the model rejects as a whole is retried slot by slot
/// so that one bad slot does not silence the others. Returns the spec in use (with its motion:
/// [`MovingBend`] moves it per window) and the problems.
fn apply_snapshot(
    runtime: &mut Runtime,
    snapshot: &BendSnapshot,
    clip: &ClipClusterState,
) -> (BendSpec, Vec<String>) {
    let (clusters, mut problems) = match clip.source(runtime.model().manifest()) {
        Ok(source) => (source, Vec::new()),
        Err(why) => (ClusterSource::default(), vec![why]),
    };
    let (spec, slot_problems) = spec_from_snapshot_with(snapshot, &clusters);
    problems.extend(slot_problems);
    if runtime.set_spec(&spec).is_ok() {
        return (spec, problems);
    }
    let mut kept = BendSpec::neutral();
    for entry in spec.entries {
        let single = BendSpec::neutral().push(entry.clone());
        match runtime.set_spec(&single) {
            Ok(()) => kept = kept.push(entry),
            Err(e) => problems.push(format!("layer {} slot skipped: {e}", entry.layer)),
        }
    }
    if let Err(e) = runtime.set_spec(&kept) {
        problems.push(format!("bend not applied: {e}"));
        let _ = runtime.clear_bend();
        return (BendSpec::neutral(), problems);
    }
    (kept, problems)
}

/// The bend of slots that move (modulators, re-rolls): evaluated at each window's song position
/// (`BendSpec::at`, the engine's one definition) and compiled only when it changed since the last
/// window, so a slow LFO or a re-roll per bar costs little between its steps.
#[derive(Default)]
struct MovingBend {
    spec: Option<BendSpec>,
    current: Option<BendSpec>,
}

impl MovingBend {
    /// A new bend from the slots: `spec` moves or not.
    fn set(&mut self, spec: BendSpec) {
        self.current = None;
        self.spec = spec.moves().then_some(spec);
    }

    /// Makes the bend at `position` current, if the slots move.
    fn apply_at(&mut self, runtime: &mut Runtime, position: SongPosition) -> engine::Result<()> {
        let Some(spec) = &self.spec else {
            return Ok(());
        };
        let at = spec.at(position);
        if self.current.as_ref() != Some(&at) {
            runtime.set_spec(&at)?;
            self.current = Some(at);
        }
        Ok(())
    }
}

/// The rings and settings a worker needs.
pub struct WorkerLink {
    pub jobs: HeapCons<Job>,
    pub results: HeapProd<Job>,
    pub window: usize,
    pub bins: usize,
    /// Extra time per window (simulates a slow machine in tests; zero otherwise).
    pub extra_delay: Duration,
    /// The plugin's clip-cluster state (general / this clip and the clip map), read by the
    /// worker only; `None`: `cluster` selections always use the general clusters.
    pub clip_clusters: Option<Arc<RwLock<ClipClusterState>>>,
}

/// A running worker. Dropping it stops the thread and waits for it (main thread only).
pub struct WorkerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Runtime>>,
}

impl WorkerHandle {
    /// Starts the worker thread on `runtime`.
    pub fn spawn(
        mut runtime: Runtime,
        bridge: Arc<BendBridge>,
        status: Arc<EngineStatus>,
        mut link: WorkerLink,
    ) -> std::io::Result<WorkerHandle> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("netbend-model".into())
            .spawn(move || {
                let mut generation = None;
                let mut clip = ClipClusterState::default();
                let mut moving = MovingBend::default();
                while !stop_flag.load(Ordering::Acquire) {
                    let Some(mut job) = link.jobs.try_pop() else {
                        std::thread::sleep(IDLE_SLEEP);
                        continue;
                    };
                    // Window time includes compiling a changed bend: it is the model thread's load.
                    let started = Instant::now();
                    let current = bridge.generation();
                    // The editor, the clustering thread or a state load may have changed the
                    // clip clusters: a lock shared with them only, never with the audio thread.
                    let clip_changed = link.clip_clusters.as_ref().is_some_and(|shared| {
                        let shared = shared.read();
                        let changed = *shared != clip;
                        if changed {
                            clip = shared.clone();
                        }
                        changed
                    });
                    if generation != Some(current) || clip_changed {
                        let snapshot = bridge.read();
                        let (spec, problems) = apply_snapshot(&mut runtime, &snapshot, &clip);
                        moving.set(spec);
                        status.set_message(problems.join("; "));
                        generation = Some(snapshot.generation);
                    }
                    if let Err(e) = moving.apply_at(&mut runtime, job.position) {
                        status.set_message(format!("the moving bend failed: {e}"));
                    }
                    job.ok = run_window(&mut runtime, &mut job, link.window, link.bins)
                        .map_err(|e| status.set_message(format!("the model failed: {e}")))
                        .is_ok();
                    // The simulated slow machine still stops promptly when asked to.
                    let slow_until = started + link.extra_delay;
                    while Instant::now() < slow_until && !stop_flag.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    status.record_window_time(started.elapsed());
                    // The ring holds the whole pool, so there is always room.
                    if link.results.try_push(job).is_err() {
                        debug_assert!(false, "result ring full");
                    }
                }
                runtime
            })?;
        Ok(WorkerHandle {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and returns the runtime (to reuse its sessions), unless the thread panicked.
    pub fn stop(mut self) -> Option<Runtime> {
        self.stop.store(true, Ordering::Release);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Autoencodes one window in place, and decodes it neutral too when the audio thread wants the
/// neutral decode and the bend is not neutral (`Runtime::autoencode_with_neutral`).
fn run_window(
    runtime: &mut Runtime,
    job: &mut Job,
    window: usize,
    bins: usize,
) -> engine::Result<()> {
    let view = ArrayView3::from_shape((1, window, bins), &job.data)
        .map_err(|e| engine::Error::Runtime(format!("window buffer: {e}")))?;
    let (out, neutral) = if job.want_neutral {
        runtime.autoencode_with_neutral(view)?
    } else {
        (runtime.autoencode(view)?, None)
    };
    for (d, v) in job.data.iter_mut().zip(out.iter()) {
        *d = *v;
    }
    job.neutral = match neutral {
        Some(neutral) => {
            for (d, v) in job.neutral_data.iter_mut().zip(neutral.iter()) {
                *d = *v;
            }
            NeutralDecode::Decoded
        }
        None if runtime.bend().is_neutral() => NeutralDecode::SameAsBent,
        None => NeutralDecode::Missing,
    };
    Ok(())
}
