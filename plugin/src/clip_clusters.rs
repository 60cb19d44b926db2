//! "Cluster this audio": per-clip clusters (engine::ClipClusterer, as `netbend clusters`) learnt
//! from the last [`CLIP_SECONDS`](crate::clip_capture::CLIP_SECONDS) of input on a background
//! thread, and the plugin-wide choice between them and the model's general clusters.
//!
//! The result is plugin state ([`ClipClusterState`], persisted with the project as the cluster
//! file's YAML text), so a saved project reloads it. The model worker reads that state before each
//! window and recompiles its bend when it changed; the audio thread never touches it.

use crate::clip_capture::{CLIP_SECONDS, ClipHistory};
use engine::{ClipClusterOptions, ClipClusterer, ClusterFile, ClusterMap, ClusterSource, Manifest};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Where a state's clip map is said to come from in error messages.
const STATE_NAME: &str = "the plugin state's clip clusters";

/// Persisted: which clusters `cluster` selections use, and the clip's clusters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipClusterState {
    /// Slots with selection `cluster` select from the clip's clusters (else the general ones).
    pub use_clip: bool,
    /// The clip's clusters as a cluster file (engine's `ClusterMap::to_yaml`); empty: none yet.
    pub yaml: String,
}

impl ClipClusterState {
    /// The clip's clusters checked against `manifest` (None when there are none yet).
    pub fn clip_map(&self, manifest: &Manifest) -> Result<Option<ClusterMap>, String> {
        if self.yaml.trim().is_empty() {
            return Ok(None);
        }
        let per_layer = ClusterFile::parse(&self.yaml, Path::new(STATE_NAME))
            .and_then(|f| f.per_layer(manifest))
            .map_err(|e| e.to_string())?;
        Ok(Some(ClusterMap {
            layers: per_layer.to_vec(),
        }))
    }

    /// The cluster source `cluster` selections use under this state.
    pub fn source(&self, manifest: &Manifest) -> Result<ClusterSource, String> {
        if !self.use_clip {
            return Ok(ClusterSource::default());
        }
        match self.clip_map(manifest)? {
            Some(map) => Ok(map.to_source()),
            None => Err(
                "clusters: this clip is chosen but no clip has been clustered yet; \
                         using the general clusters"
                    .into(),
            ),
        }
    }
}

/// What the clustering thread is doing, for the editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClipProgress {
    Idle,
    /// Windows done of all (0 of 0 while the sessions are being built).
    Running {
        done: usize,
        total: usize,
    },
    /// The outcome of the last run: Ok(summary) or Err(why).
    Finished(Result<String, String>),
}

/// The clustering thread's controller: one per plugin instance.
pub struct ClipClustering {
    history: Arc<ClipHistory>,
    progress: Arc<Mutex<ClipProgress>>,
    cancel: Arc<AtomicBool>,
    /// Built lazily on the first run (off the audio thread), reused while the model stays.
    clusterer: Arc<Mutex<Option<(PathBuf, ClipClusterer)>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl ClipClustering {
    pub fn new(history: Arc<ClipHistory>) -> ClipClustering {
        ClipClustering {
            history,
            progress: Arc::new(Mutex::new(ClipProgress::Idle)),
            cancel: Arc::new(AtomicBool::new(false)),
            clusterer: Arc::new(Mutex::new(None)),
            thread: Mutex::new(None),
        }
    }

    /// The clip's audio as the collector keeps it.
    pub fn history(&self) -> Arc<ClipHistory> {
        self.history.clone()
    }

    pub fn progress(&self) -> ClipProgress {
        self.progress.lock().clone()
    }

    pub fn is_running(&self) -> bool {
        matches!(self.progress(), ClipProgress::Running { .. })
    }

    /// Starts clustering the held clip with the model in `model_dir` on a background thread; on
    /// success the clip map goes into `target` and becomes the choice. Refuses (and changes
    /// nothing) while a run is going on or before the clip is full.
    pub fn start(
        &self,
        model_dir: PathBuf,
        options: ClipClusterOptions,
        target: Arc<RwLock<ClipClusterState>>,
    ) -> Result<(), String> {
        if self.is_running() {
            return Err("already clustering this audio".into());
        }
        let clip = self.history.copy();
        let rate = self.history.rate();
        if clip.len() < self.history.capacity() {
            return Err(format!(
                "not enough audio yet: {:.1} s of {CLIP_SECONDS:.0} s (play the part to cluster)",
                clip.len() as f32 / rate as f32
            ));
        }
        self.wait();
        self.cancel.store(false, Ordering::Release);
        set(&self.progress, ClipProgress::Running { done: 0, total: 0 });
        let (progress, cancel, clusterer) = (
            self.progress.clone(),
            self.cancel.clone(),
            self.clusterer.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("netbend-clip-clusters".into())
            .spawn(move || {
                let outcome = run(&clusterer, &model_dir, &clip, rate, &options, &|d, t| {
                    set(&progress, ClipProgress::Running { done: d, total: t });
                    !cancel.load(Ordering::Acquire)
                })
                .map(|map| {
                    let summary = summary(&map);
                    let mut state = target.write();
                    state.yaml = map.to_yaml();
                    state.use_clip = true;
                    summary
                });
                set(&progress, ClipProgress::Finished(outcome));
            })
            .map_err(|e| format!("cannot start the clustering thread: {e}"));
        match thread {
            Ok(t) => {
                *self.thread.lock() = Some(t);
                Ok(())
            }
            Err(e) => {
                set(&self.progress, ClipProgress::Finished(Err(e.clone())));
                Err(e)
            }
        }
    }

    /// Asks a running clustering to stop (it ends with "cancelled" after its current batch).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }

    /// Waits for the clustering thread to end (tests; the editor never blocks on it).
    pub fn wait(&self) {
        let thread = self.thread.lock().take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for ClipClustering {
    fn drop(&mut self) {
        self.cancel();
        self.wait();
    }
}

fn set(progress: &Mutex<ClipProgress>, value: ClipProgress) {
    *progress.lock() = value;
}

/// Builds (or reuses) the clusterer of `model_dir` and clusters the mono `clip` at `rate` Hz.
fn run(
    clusterer: &Mutex<Option<(PathBuf, ClipClusterer)>>,
    model_dir: &Path,
    clip: &[f32],
    rate: u32,
    options: &ClipClusterOptions,
    progress: &dyn Fn(usize, usize) -> bool,
) -> Result<ClusterMap, String> {
    let mut slot = clusterer.lock();
    if slot.as_ref().is_none_or(|(dir, _)| dir != model_dir) {
        *slot = None;
        let model = engine::Model::load(model_dir).map_err(|e| e.to_string())?;
        let built = ClipClusterer::new(model, &crate::runtime_options::runtime_options())
            .map_err(|e| format!("cannot cluster with this model: {e}"))?;
        *slot = Some((model_dir.to_path_buf(), built));
    }
    let (_, clusterer) = slot.as_mut().expect("built above");
    clusterer
        .cluster_audio(&[clip.to_vec()], rate, options, &mut |d, t| progress(d, t))
        .map_err(|e| e.to_string())
}

/// "clip clusters: L1 5, L2 5, ... (in use)" for the editor.
fn summary(map: &ClusterMap) -> String {
    format!("clip clusters: {} (in use)", map.counts())
}
