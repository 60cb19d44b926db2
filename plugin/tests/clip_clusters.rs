//! "Cluster this audio" through the plugin's own parts on the shipped model: the audio thread's
//! model path captures the input, the collector keeps the last 8 s, the clustering thread (what
//! the editor's button starts) learns the clip clusters, and the model worker bends with them.
//! References: `engine::ClipClusterer` called directly on the same audio, as `netbend clusters`
//! does (its output is the one the Rust vs Python parity tests trust), and the engine's config
//! parser with a `cluster-file` (the `netbend render --config` path).

mod common;

use common::{LoadedPlugin, ParamChange, json_state, state_json};
use engine::{ClipClusterOptions, ClipClusterer, ClusterMap, Model, Runtime, RuntimeOptions};
use netbend::bridge::{BendBridge, BendSnapshot, EngineStatus, SlotSnapshot};
use netbend::clip_capture::{CLIP_SECONDS, ClipHistory, Collector};
use netbend::clip_clusters::{ClipClusterState, ClipClustering, ClipProgress};
use netbend::config_panel::{clip_state_after_load, cluster_file_beside, write_config};
use netbend::model_path::{ModelPath, PathSetup, schedule_for};
use netbend::params::{QualityMode, Selection, Transform};
use netbend::slot_config::{config_into_slots, default_slots};
use netbend::worker::{Job, WorkerHandle, WorkerLink, spec_from_snapshot_with};
use parking_lot::RwLock;
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Producer, Split};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RATE: u32 = 44_100;

fn options() -> RuntimeOptions {
    RuntimeOptions {
        intra_threads: Some(1),
        ..RuntimeOptions::default()
    }
}

/// 8.3 s of real audio at 44.1 kHz, stereo: the drum break (right channel at half level), then
/// the music excerpt.
fn recording() -> Vec<Vec<f32>> {
    let drums = dsp::read_audio(common::test_data("drum_break.flac")).unwrap();
    let music = dsp::read_audio(common::test_data("music_excerpt.flac")).unwrap();
    assert_eq!((drums.sample_rate, music.sample_rate), (RATE, RATE));
    let mut left = drums.channels[0].clone();
    let mut right: Vec<f32> = left.iter().map(|x| 0.5 * x).collect();
    left.extend(&music.channels[0]);
    right.extend(&music.channels[1]);
    vec![left, right]
}

/// Plays `input` through the audio thread's model path (blocks of 512) with the clip capture
/// attached, and returns the collector's clip once everything is collected.
fn capture(input: &[Vec<f32>]) -> Arc<ClipHistory> {
    let model = Model::load(common::shipped_model()).unwrap();
    let signal = model.audio_signal().unwrap();
    let block = 512;
    let setup = PathSetup {
        host_rate: RATE,
        channels: 2,
        max_block: block,
        schedule: schedule_for(QualityMode::Default, signal.window),
        norm: signal.norm,
        bins: signal.bins,
        offline: false,
    };
    let (mut path, _worker_ends) =
        ModelPath::new(&setup, Arc::new(EngineStatus::default())).unwrap();
    let history = ClipHistory::new(RATE, CLIP_SECONDS);
    let (writer, collector) = Collector::start(history.clone()).unwrap();
    path.set_capture(writer);
    let total = input[0].len();
    let mut buffer = vec![vec![0.0f32; block]; 2];
    for start in (0..total).step_by(block) {
        // A host faster than real time, but never more than a quarter second (half the ring)
        // ahead of the collector, however late a loaded machine schedules it: the capture must
        // then lose nothing (dropping is tested below). Paced by the collector's own counter,
        // not by sleeps, which were too short under load.
        let started = Instant::now();
        while start as u64 - history.collected.load(std::sync::atomic::Ordering::Relaxed)
            > u64::from(RATE / 4)
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the collector stopped draining"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let n = block.min(total - start);
        for (dst, src) in buffer.iter_mut().zip(input) {
            dst[..n].copy_from_slice(&src[start..start + n]);
        }
        path.process(&mut buffer, n);
    }
    drop(collector); // stops after a last drain
    assert_eq!(
        history.dropped.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(
        history.collected.load(std::sync::atomic::Ordering::Relaxed),
        total as u64
    );
    history
}

/// Runs one window through a running worker and returns its output.
fn through_worker(
    jobs: &mut ringbuf::HeapProd<Job>,
    results: &mut ringbuf::HeapCons<Job>,
    window: &[f32],
) -> Vec<f32> {
    let mut job = Job::new(window.len());
    job.data.copy_from_slice(window);
    assert!(jobs.try_push(job).is_ok());
    let started = Instant::now();
    loop {
        if let Some(job) = results.try_pop() {
            assert!(job.ok, "the model ran");
            return job.data.to_vec();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "worker answers"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `text` as a config file in a fresh folder, with `clusters.yaml` beside it when given.
fn config_file(name: &str, text: &str, clusters: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netbend-clip-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(yaml) = clusters {
        std::fs::write(dir.join("clusters.yaml"), yaml).unwrap();
    }
    let path = dir.join("bend.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn clustering_the_last_8_s_matches_the_engine_and_cluster_slots_bend_exactly_those_channels() {
    let input = recording();
    let history = capture(&input);
    let n = history.capacity();
    assert_eq!(n, 8 * RATE as usize);
    let total = input[0].len();
    let last: Vec<Vec<f32>> = input.iter().map(|c| c[total - n..].to_vec()).collect();

    // The editor's button: manifest k and seed, the shipped model, result into the state.
    let state = Arc::new(RwLock::new(ClipClusterState::default()));
    let clustering = ClipClustering::new(history);
    let defaults = ClipClusterOptions {
        k: None,
        seed: None,
    };
    let started = Instant::now();
    clustering
        .start(common::shipped_model(), defaults.clone(), state.clone())
        .unwrap();
    clustering.wait();
    eprintln!(
        "clustering 8 s (sessions built on this first run): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let outcome = clustering.progress();
    assert!(
        matches!(outcome, ClipProgress::Finished(Ok(_))),
        "{outcome:?}"
    );

    // Reference: the engine's clusterer on the last 8 s of the same stereo input (as the CLI).
    let mut reference =
        ClipClusterer::new(Model::load(common::shipped_model()).unwrap(), &options()).unwrap();
    let expected = reference
        .cluster_audio(&last, RATE, &defaults, &mut |_, _| true)
        .unwrap();
    let clip = state.read().clone();
    assert!(clip.use_clip, "a finished clustering is chosen");
    assert_eq!(
        clip.yaml,
        expected.to_yaml(),
        "the cluster file, byte for byte"
    );

    // A cluster the clip and the general map disagree on, deepest layer first (k-means on one
    // clip can reproduce a layer's general partition, e.g. layer 4's 16 channels).
    let model = Model::load(common::shipped_model()).unwrap();
    let manifest = model.manifest().clone();
    let (layer, k) = (1..=4usize)
        .rev()
        .find_map(|layer| {
            let general = manifest.clusters_of("general", layer);
            let clip = &expected.layers[layer - 1];
            (0..clip.len())
                .find(|&k| general.get(k) != Some(&clip[k]))
                .map(|k| (layer, k))
        })
        .expect("the clip's clusters differ from the general ones on some layer");
    eprintln!("clip and general clusters differ at layer {layer}, cluster {k}");

    let mut snapshot = BendSnapshot::default();
    snapshot.slots[0] = SlotSnapshot {
        enabled: true,
        layer: layer as u8,
        transform: Transform::Ablate,
        selection: Selection::Cluster,
        cluster: k as u32,
        mix: 1.0,
        ..SlotSnapshot::default()
    };
    let (spec, problems) = spec_from_snapshot_with(&snapshot, &clip.source(&manifest).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
    let compiled = engine::compile(&spec, &manifest).unwrap();
    let ablated = &compiled.stage(layer, engine::Stage::Ablate).unwrap().idx;
    let want: Vec<i64> = expected.layers[layer - 1][k]
        .iter()
        .map(|&c| c as i64)
        .collect();
    assert_eq!(
        ablated, &want,
        "slot cluster {k} bends exactly clip cluster {k}"
    );

    // The same bend written as configs, the CLI's way: with the clip's cluster-file and without.
    let entry = format!(
        "transforms:\n- layer: {layer}\n  transform: ablate\n  features: cluster\n  feature-param: {k}\n"
    );
    let with_clip = config_file(
        "clip",
        &format!("cluster-file: clusters.yaml\n{entry}"),
        Some(&clip.yaml),
    );
    let spec_clip = engine::load_config(&with_clip, &manifest).unwrap();
    let without_clip = config_file("general", &entry, None);
    let spec_general = engine::load_config(&without_clip, &manifest).unwrap();
    assert_eq!(compiled, engine::compile(&spec_clip, &manifest).unwrap());

    // The worker thread: the choice reaches it without a new bridge generation.
    let bridge = Arc::new(BendBridge::new());
    bridge.publish(&snapshot);
    let (mut jobs, jobs_cons) = HeapRb::<Job>::new(2).split();
    let (results_prod, mut results) = HeapRb::<Job>::new(2).split();
    let signal = model.audio_signal().unwrap();
    let link = WorkerLink {
        jobs: jobs_cons,
        results: results_prod,
        window: signal.window,
        bins: signal.bins,
        extra_delay: Duration::ZERO,
        clip_clusters: Some(state.clone()),
    };
    let runtime = Runtime::new(Model::load(common::shipped_model()).unwrap(), &options()).unwrap();
    let worker = WorkerHandle::spawn(
        runtime,
        bridge.clone(),
        Arc::new(EngineStatus::default()),
        link,
    )
    .unwrap();
    let mono = engine::clip_clusters::mix_to_mono(&last);
    let windows = reference.windows(&mono);
    let window = windows.slice(ndarray::s![3..4, .., ..]).to_owned();
    let window_data = window.as_slice().unwrap();
    let bent_clip = through_worker(&mut jobs, &mut results, window_data);
    state.write().use_clip = false;
    let bent_general = through_worker(&mut jobs, &mut results, window_data);
    let mut runtime = worker.stop().expect("the worker returns its runtime");
    assert_eq!(
        runtime.bend(),
        &engine::compile(&spec_general, &manifest).unwrap(),
        "after 'general' the worker bends the general cluster {k}"
    );

    runtime.set_spec(&spec_clip).unwrap();
    let want_clip = runtime.autoencode(window.view()).unwrap();
    runtime.set_spec(&spec_general).unwrap();
    let want_general = runtime.autoencode(window.view()).unwrap();
    assert_eq!(bent_clip, want_clip.as_slice().unwrap());
    assert_eq!(bent_general, want_general.as_slice().unwrap());
    let differ = bent_clip
        .iter()
        .zip(&bent_general)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        differ > bent_clip.len() / 10,
        "the two choices bend differently ({differ} values)"
    );
    for config in [with_clip, without_clip] {
        let _ = std::fs::remove_dir_all(config.parent().unwrap());
    }
}

#[test]
fn clustering_refuses_until_the_clip_is_full_and_can_be_cancelled() {
    let history = ClipHistory::new(RATE, CLIP_SECONDS);
    let (mut writer, collector) = Collector::start(history.clone()).unwrap();
    // 2.1 s of a tone, pushed in blocks as the audio thread would.
    let tone: Vec<f32> = (0..(2.1 * RATE as f32) as usize)
        .map(|i| (i as f32 * 0.05).sin() * 0.3)
        .collect();
    for chunk in tone.chunks(441) {
        writer.push_mid(&[chunk.to_vec()], chunk.len());
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(collector);
    let clustering = ClipClustering::new(history.clone());
    let state = Arc::new(RwLock::new(ClipClusterState::default()));
    let options = ClipClusterOptions {
        k: None,
        seed: None,
    };
    let err = clustering
        .start(common::shipped_model(), options.clone(), state.clone())
        .unwrap_err();
    assert_eq!(
        err,
        "not enough audio yet: 2.1 s of 8 s (play the part to cluster)"
    );
    assert_eq!(*state.read(), ClipClusterState::default());

    // Full clip; cancelled at once: the state keeps what it had.
    let (mut writer, collector) = Collector::start(history.clone()).unwrap();
    for _ in 0..7 {
        for chunk in tone[..RATE as usize].chunks(4410) {
            writer.push_mid(&[chunk.to_vec()], chunk.len());
            std::thread::sleep(Duration::from_millis(15));
        }
    }
    drop(collector);
    assert!(history.seconds() >= CLIP_SECONDS);
    clustering.cancel();
    clustering
        .start(common::shipped_model(), options, state.clone())
        .unwrap();
    clustering.cancel();
    clustering.wait();
    match clustering.progress() {
        ClipProgress::Finished(Err(why)) => assert!(why.contains("cancelled"), "{why}"),
        other => panic!("expected a cancelled run, got {other:?}"),
    }
    assert_eq!(*state.read(), ClipClusterState::default());
}

#[test]
fn a_full_ring_drops_and_counts_instead_of_waiting() {
    let history = ClipHistory::new(RATE, CLIP_SECONDS);
    let (mut writer, collector) = Collector::start(history.clone()).unwrap();
    // One push of 2 s into a 0.5 s ring: at most the ring's free space goes in at once.
    let block = vec![vec![0.25f32; 2 * RATE as usize]; 2];
    writer.push_mid(&block, block[0].len());
    drop(collector);
    let dropped = history.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let collected = history.collected.load(std::sync::atomic::Ordering::Relaxed);
    assert!(dropped >= RATE as u64, "dropped {dropped}");
    assert_eq!(dropped + collected, 2 * RATE as u64);
    assert!(
        history.copy().iter().all(|&x| x == 0.25),
        "the mid of 0.25 and 0.25"
    );
}

/// Clusters for the shipped model that are not its general ones: layer 4's channel `c` in
/// cluster `c % 3`.
fn every_third_channel(manifest: &engine::Manifest) -> ClusterMap {
    let channels = manifest.layers[3].channels;
    ClusterMap {
        layers: vec![
            Vec::new(),
            Vec::new(),
            Vec::new(),
            (0..3)
                .map(|j| (0..channels).filter(|c| c % 3 == j).collect())
                .collect(),
        ],
    }
}

/// 2 s of the drum break through `plugin` (offline, 44.1 kHz, blocks of 512) with slot 1
/// ablating cluster 0 of layer 4.
fn render_cluster_ablation(plugin: &mut LoadedPlugin) -> Vec<f32> {
    let drums = dsp::read_audio(common::test_data("drum_break.flac")).unwrap();
    let input = &drums.channels[0][..2 * RATE as usize];
    let set = |plugin: &mut LoadedPlugin, name: &str, value: f64| {
        ParamChange::new(plugin.param(name).id, value)
    };
    // CLAP values of stepped parameters count steps from the minimum.
    let changes = [
        set(plugin, "Slot 1 On", 1.0),
        set(plugin, "Slot 1 Layer", 3.0), // layer 4
        set(plugin, "Slot 1 Transform", Transform::Ablate.index() as f64),
        set(plugin, "Slot 1 Selection", 2.0), // Cluster
        set(plugin, "Slot 1 Cluster", 0.0),
    ];
    plugin.set_offline(true);
    let block = 512;
    let mut processor = plugin.activate(RATE as f64, block as u32);
    let mut out = Vec::with_capacity(input.len());
    for (b, chunk) in input.chunks(block).enumerate() {
        let mut inb = vec![chunk.to_vec(), chunk.to_vec()];
        let mut outb = vec![vec![0.0f32; chunk.len()]; 2];
        processor.process(&mut inb, &mut outb, if b == 0 { &changes } else { &[] });
        out.extend_from_slice(&outb[0]);
    }
    processor.finish(plugin);
    out
}

#[test]
fn the_clip_clusters_survive_the_hosts_state_and_bend_after_a_reload() {
    let _serial = common::serial();
    common::use_model(Some(&common::shipped_model()));
    let manifest = Model::load(common::shipped_model())
        .unwrap()
        .manifest()
        .clone();
    let clip = ClipClusterState {
        use_clip: true,
        yaml: every_third_channel(&manifest).to_yaml(),
    };
    let mut a = LoadedPlugin::load();
    let mut json = state_json(&a.save_state());
    let fresh: ClipClusterState =
        serde_json::from_str(json["fields"]["clip-clusters"].as_str().unwrap()).unwrap();
    assert_eq!(fresh, ClipClusterState::default());
    json["fields"]["clip-clusters"] =
        serde_json::Value::String(serde_json::to_string(&clip).unwrap());
    let with_clip = json_state(&json);
    json["fields"]["clip-clusters"] = serde_json::Value::String(
        serde_json::to_string(&ClipClusterState {
            use_clip: false,
            ..clip.clone()
        })
        .unwrap(),
    );
    let with_general = json_state(&json);

    let mut b = LoadedPlugin::load();
    b.load_state(&with_clip);
    let resaved = state_json(&b.save_state());
    let kept: ClipClusterState =
        serde_json::from_str(resaved["fields"]["clip-clusters"].as_str().unwrap()).unwrap();
    assert_eq!(kept, clip, "the clip clusters survive a save after a load");

    // After the reload the worker selects from them: cluster 0 is another set of channels than
    // the general cluster 0, so the same slots render differently.
    let out_clip = render_cluster_ablation(&mut b);
    let mut c = LoadedPlugin::load();
    c.load_state(&with_general);
    let out_general = render_cluster_ablation(&mut c);
    let latency = b.latency() as usize;
    let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
    let diff: Vec<f32> = out_clip[latency..]
        .iter()
        .zip(&out_general[latency..])
        .map(|(a, b)| a - b)
        .collect();
    let (d, level) = (rms(&diff), rms(&out_general[latency..]));
    eprintln!("clip vs general clusters after a reload: rms diff {d:.3e}, output rms {level:.3e}");
    assert!(level > 1e-3, "the bend's output is audible ({level})");
    assert!(
        d > 0.05 * level,
        "clip vs general clusters: rms diff {d} at level {level}"
    );
    // Same state, same render (offline renders are exact), so the difference is the clusters.
    let mut d2 = LoadedPlugin::load();
    d2.load_state(&with_general);
    assert_eq!(render_cluster_ablation(&mut d2), out_general);
}

#[test]
fn save_and_load_carry_the_clip_clusters_as_a_cluster_file() {
    let manifest = Model::load(common::shipped_model())
        .unwrap()
        .manifest()
        .clone();
    let channels = manifest.layers[3].channels;
    let map = every_third_channel(&manifest);
    let clip = ClipClusterState {
        use_clip: true,
        yaml: map.to_yaml(),
    };
    let mut slots = default_slots();
    slots[0].enabled = true;
    slots[0].layer = 4;
    slots[0].transform = Transform::Invert;
    slots[0].selection = Selection::Cluster;
    slots[0].cluster = 2;
    let dir = std::env::temp_dir().join(format!("netbend-clip-save-{}", std::process::id()));
    let path = dir.join("bend.yaml");
    write_config(&slots, QualityMode::Default, &clip, &path).unwrap();
    let beside = cluster_file_beside(&path);
    assert_eq!(beside, dir.join("bend.clusters.yaml"));
    assert_eq!(std::fs::read_to_string(&beside).unwrap(), clip.yaml);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("cluster-file: \"bend.clusters.yaml\""),
        "{text}"
    );

    // The CLI's parser selects the file's cluster 2 of layer 4: channels 2, 5, 8, ...
    let spec = engine::load_config(&path, &manifest).unwrap();
    let compiled = engine::compile(&spec, &manifest).unwrap();
    let want: Vec<i64> = (0..channels as i64).filter(|c| c % 3 == 2).collect();
    assert_eq!(compiled.stage(4, engine::Stage::Invert).unwrap().idx, want);

    // Load: the same slots, and the file becomes the chosen clip clusters.
    let loaded = config_into_slots(&text, &path, &manifest).unwrap();
    assert_eq!(loaded.slots, slots);
    let before = ClipClusterState::default();
    assert_eq!(clip_state_after_load(&loaded, &before), clip);

    // With the general clusters chosen: no cluster file, and loading chooses general again
    // (keeping the clip clusters the plugin has).
    std::fs::remove_dir_all(&dir).unwrap();
    let general = ClipClusterState {
        use_clip: false,
        ..clip.clone()
    };
    write_config(&slots, QualityMode::Default, &general, &path).unwrap();
    assert!(!beside.exists());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("cluster-file"), "{text}");
    let loaded = config_into_slots(&text, &path, &manifest).unwrap();
    assert_eq!(clip_state_after_load(&loaded, &clip), general);
    std::fs::remove_dir_all(&dir).unwrap();
}
