//! Slots <-> bend config YAML (`netbend::slot_config`): every transform survives a round trip,
//! the exported text is what the engine (the CLI's parser) compiles to the same bend as the
//! worker's slots, example files load or are refused with a message naming the field, and a
//! refused file yields no slots at all.

use netbend::bridge::{BendSnapshot, SlotSnapshot, target_range};
use netbend::motion_params::SlotMotion;
use netbend::params::QualityMode;
use netbend::params::{ModRate, ModShape, ModTarget, Reroll, SlotParams};
use netbend::params::{NUM_SLOTS, Selection, Transform};
use netbend::slot_config::{SlotValues, default_slots, slots_from_config, slots_to_yaml};
use netbend::worker::spec_from_snapshot;
use netbend_test_support::workspace_root;
use std::path::PathBuf;

/// The shipped model's manifest (its `general` clusters are what cluster slots select from).
fn manifest() -> engine::Manifest {
    engine::Model::load(workspace_root().join("models/vae"))
        .unwrap()
        .manifest()
        .clone()
}

/// A temporary file holding `text`, removed on drop.
struct TempConfig(PathBuf);

impl TempConfig {
    fn new(name: &str, text: &str) -> TempConfig {
        let dir = std::env::temp_dir().join(format!("netbend-slot-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        TempConfig(path)
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Slot `n` (1-based) with `transform` and parameter values unlike the defaults.
fn slot_with(n: usize, transform: Transform) -> SlotValues {
    SlotValues {
        enabled: true,
        layer: (n as i32 - 1) % 4 + 1,
        transform,
        translate_x: 0.3,
        translate_y: -0.125,
        scale_x: 0.8,
        scale_y: 1.7,
        rotate: -33.5,
        radius: 3,
        multiply: 1.5,
        offset: -0.7,
        threshold: 0.1,
        noise: 0.45,
        selection: Selection::Random,
        fraction: 0.3,
        seed: 4321,
        cluster: 0,
        mix: 0.65,
        // A modulator on the main parameter and a re-roll every two bars; free-running for
        // every other slot so both kinds of rate are written and read.
        mod_shape: ModShape::Triangle,
        mod_rate: if n.is_multiple_of(2) {
            ModRate::Free
        } else {
            ModRate::Eighth
        },
        mod_hz: 2.5,
        mod_depth: -0.3,
        mod_phase: 45.0,
        mod_target: ModTarget::Param,
        reroll: Reroll::Bars2,
    }
}

/// What the bridge would publish for `values` (the parameters of the slot's transform only).
fn snapshot_of(values: &[SlotValues; NUM_SLOTS]) -> BendSnapshot {
    let mut snapshot = BendSnapshot::default();
    for (out, v) in snapshot.slots.iter_mut().zip(values) {
        let p = v.transform_params();
        *out = SlotSnapshot {
            enabled: v.enabled,
            layer: v.layer as u8,
            transform: v.transform,
            params: [
                p.first().copied().unwrap_or(0.0),
                p.get(1).copied().unwrap_or(0.0),
            ],
            selection: v.selection,
            fraction: v.fraction,
            seed: v.seed as u32,
            cluster: v.cluster as u32,
            mix: v.mix,
            motion: SlotMotion {
                shape: v.mod_shape,
                rate: v.mod_rate,
                hz: v.mod_hz,
                depth: v.mod_depth,
                phase_degrees: v.mod_phase,
                target: v.mod_target,
                range: target_range(&SlotParams::new(1), v.mod_target, v.transform),
                reroll: v.reroll,
            },
        };
    }
    snapshot
}

/// Only the values the slot's transform and selection use matter for the bend.
fn assert_same_bend_values(a: &SlotValues, b: &SlotValues) {
    assert_eq!(a.enabled, b.enabled);
    assert_eq!(a.layer, b.layer);
    assert_eq!(a.transform, b.transform);
    assert_eq!(a.transform_params(), b.transform_params());
    assert_eq!(a.selection, b.selection);
    match a.selection {
        Selection::Random => assert_eq!(a.fraction, b.fraction),
        Selection::Cluster => assert_eq!(a.cluster, b.cluster),
        Selection::All => {}
    }
    assert_eq!(a.seed, b.seed);
    assert_eq!(a.mix, b.mix);
    assert_eq!(a.motion(1), b.motion(1));
}

#[test]
fn every_transform_round_trips_and_compiles_like_the_slots() {
    let manifest = manifest();
    for (k, transform) in Transform::ALL.into_iter().enumerate() {
        let mut slots = default_slots();
        // The transform in a slot other than the first, beside a cluster slot, so positions and
        // disabled slots in between are exercised too.
        let n = k % NUM_SLOTS;
        slots[n] = slot_with(n + 1, transform);
        let other = (n + 3) % NUM_SLOTS;
        slots[other] = SlotValues {
            enabled: true,
            layer: 1,
            transform: Transform::Ablate,
            selection: Selection::Cluster,
            cluster: 2,
            mix: 0.25,
            ..SlotValues::defaults(other + 1)
        };
        let yaml = slots_to_yaml(&slots, QualityMode::LowLatency, None);
        let file = TempConfig::new(&format!("{}.yaml", transform.stage_name()), &yaml);
        let loaded = slots_from_config(&yaml, &file.0, &manifest)
            .unwrap_or_else(|e| panic!("{transform:?}: {e}\n{yaml}"));

        // Enabled slots come back in order, starting at slot 1.
        let enabled: Vec<&SlotValues> = slots.iter().filter(|s| s.enabled).collect();
        for (i, original) in enabled.iter().enumerate() {
            assert_same_bend_values(original, &loaded[i]);
        }
        assert!(loaded[enabled.len()..].iter().all(|s| !s.enabled));

        // The engine compiles the exported file (the CLI's path) to exactly the bend the worker
        // compiles from the slots.
        let (spec, problems) = spec_from_snapshot(&snapshot_of(&slots));
        assert!(problems.is_empty(), "{problems:?}");
        let from_file = engine::load_config(&file.0, &manifest).unwrap();
        assert_eq!(
            engine::compile(&spec, &manifest).unwrap(),
            engine::compile(&from_file, &manifest).unwrap(),
            "{transform:?}\n{yaml}"
        );
        // And moves the same: the same motion, so the same bend at every song position.
        for (a, b) in spec.entries.iter().zip(&from_file.entries) {
            assert_eq!(a.motion, b.motion, "{transform:?}\n{yaml}");
        }
        assert!(spec.entries.iter().any(|e| e.motion.is_some()), "{yaml}");
        for beats in [0.0, 0.3, 1.7, 5.2, 9.0] {
            let at = engine::SongPosition::at_tempo(beats / 2.0, 120.0, 4.0);
            assert_eq!(
                engine::compile(&spec.at(at), &manifest).unwrap(),
                engine::compile(&from_file.at(at), &manifest).unwrap(),
                "{transform:?} at {beats} beats\n{yaml}"
            );
        }
    }
}

#[test]
fn save_writes_the_whole_file_into_a_new_folder_and_lists_it() {
    let params = netbend::params::NetbendParams::default();
    let dir = std::env::temp_dir().join(format!("netbend-save-{}", std::process::id()));
    let path = dir.join("nested").join("bend.yaml");
    let message = netbend::config_panel::save_slots_as_config(&params, &path).unwrap();
    assert!(message.contains("bend.yaml"), "{message}");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        written,
        slots_to_yaml(
            &netbend::slot_config::read_slots(&params.slots),
            QualityMode::Default,
            None
        )
    );
    // The header tells which layout renders it like the plugin's (default) quality mode.
    assert!(written.contains("--layout plugin-default "), "{written}");
    // No temporary file is left beside it, and the folder's list shows it.
    let listed = netbend::config_panel::config_files(&dir.join("nested"));
    assert_eq!(listed, vec![path.clone()]);
    // A path that cannot be written gives an error naming it, and no file.
    let blocked = path.join("inside-a-file.yaml");
    let e = netbend::config_panel::save_slots_as_config(&params, &blocked).unwrap_err();
    assert!(e.contains("inside-a-file.yaml"), "{e}");
    assert!(!blocked.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_enabled_slot_is_the_neutral_config() {
    let yaml = slots_to_yaml(&default_slots(), QualityMode::Default, None);
    let file = TempConfig::new("neutral.yaml", &yaml);
    let spec = engine::load_config(&file.0, &manifest()).unwrap();
    assert!(spec.entries.is_empty(), "{yaml}");
}

#[test]
fn examples_that_fit_the_slots_load_and_the_others_say_why() {
    let manifest = manifest();
    let examples = workspace_root().join("examples");
    let load = |name: &str| {
        let path = examples.join(name);
        slots_from_config(&std::fs::read_to_string(&path).unwrap(), &path, &manifest)
    };
    let slots = load("cluster-ablate-clusters.yaml").unwrap();
    assert!(slots[0].enabled);
    assert_eq!(
        (
            slots[0].layer,
            slots[0].transform,
            slots[0].selection,
            slots[0].cluster
        ),
        (1, Transform::Ablate, Selection::Cluster, 0)
    );
    assert!(slots[1..].iter().all(|s| !s.enabled));

    // Random entries without their own seed draw at their list position, which a slot cannot.
    for name in ["figure3-stochastic.yaml", "reference-format.yaml"] {
        let e = load(name).unwrap_err();
        assert!(e.contains(name) && e.contains(".seed`"), "{e}");
    }
    let e = load("netbend-extras.yaml").unwrap_err();
    assert!(e.contains("transforms[0].seed"), "{e}");

    // The moving example: a triangle on layer 2's rotation, a drifting mix on a re-rolled
    // random ablation.
    let slots = load("moving.yaml").unwrap();
    assert_eq!(
        (slots[0].mod_shape, slots[0].mod_rate, slots[0].mod_target),
        (ModShape::Triangle, ModRate::Bar1, ModTarget::Param)
    );
    assert_eq!(slots[0].mod_depth, 45.0 / 360.0);
    assert_eq!(
        (slots[1].mod_shape, slots[1].mod_rate, slots[1].mod_hz),
        (ModShape::Drift, ModRate::Free, 0.25)
    );
    assert_eq!((slots[1].mod_depth, slots[1].reroll), (0.3, Reroll::Bars2));
}

#[test]
fn files_the_slots_cannot_hold_are_refused_with_the_field_and_the_allowed_values() {
    let manifest = manifest();
    let entry = "- layer: 1\n  transform: invert\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("transforms:\n{}", entry.repeat(9)),
            "9 entries",
            "at most 8",
        ),
        (
            "transforms:\n- layer: 2\n  transform: offset\n  params: [0.5]\n  channels: [0, 1]\n"
                .into(),
            "transforms[0].channels",
            "channels",
        ),
        (
            "transforms:\n- layer: 1\n  transform: rotate\n  params: [200]\n".into(),
            "transforms[0].params",
            "-180..=180",
        ),
        (
            "transforms:\n- layer: 1\n  transform: invert\n  features: random\n  feature-param: 0.5\n  seed: 10000\n"
                .into(),
            "transforms[0].seed",
            "0..=9999",
        ),
        // The engine's own checks, with its line and column.
        (
            "transforms:\n- layer: 1\n  transform: erosion\n".into(),
            ":3:14: field `transforms[0].transform`",
            "allowed: shuffle",
        ),
        (
            "transforms:\n- layer: 9\n  transform: invert\n".into(),
            "field `transforms[0].layer`",
            "allowed 1..=4",
        ),
        (
            "transforms:\n- layer: 1\n  transform: invert\n  features: cluster\n  feature-param: 40\n"
                .into(),
            "transforms[0].feature-param",
            "allowed: 0..=",
        ),
        // Moving entries the slots' menus cannot hold.
        (
            "transforms:\n- layer: 1\n  transform: rotate\n  params: [10]\n  modulate: {shape: sine, rate: 3/8, depth: 5, target: param}\n"
                .into(),
            "transforms[0].modulate.rate",
            "1/16, 1/8",
        ),
        (
            "transforms:\n- layer: 1\n  transform: rotate\n  params: [10]\n  modulate: {shape: sine, rate: 50, depth: 5, target: param}\n"
                .into(),
            "transforms[0].modulate.rate",
            "0.01..=20 Hz",
        ),
        (
            "transforms:\n- layer: 1\n  transform: rotate\n  params: [10]\n  modulate: {shape: sine, rate: 1 bar, depth: 400, target: param}\n"
                .into(),
            "transforms[0].modulate.depth",
            "360",
        ),
        (
            "transforms:\n- layer: 1\n  transform: rotate\n  params: [10]\n  modulate: {shape: sine, rate: 1 bar, depth: 5, target: param, range: [0, 90]}\n"
                .into(),
            "transforms[0].modulate.range",
            "[-180, 180]",
        ),
        (
            "transforms:\n- layer: 1\n  transform: invert\n  features: random\n  feature-param: 0.5\n  seed: 3\n  reroll: 3 bars\n"
                .into(),
            "transforms[0].reroll",
            "1, 2, 4 or 8 bars",
        ),
        // A random curve drawn from the top-level seed at the entry's position.
        (
            "transforms:\n- layer: 1\n  transform: rotate\n  params: [10]\n  modulate: {shape: drift, rate: 1 bar, depth: 5}\n"
                .into(),
            "transforms[0].seed",
            "0..=9999",
        ),
    ];
    for (i, (text, field, allowed)) in cases.iter().enumerate() {
        let file = TempConfig::new(&format!("bad-{i}.yaml"), text);
        let e = slots_from_config(text, &file.0, &manifest).expect_err(text);
        assert!(e.contains(&file.0.display().to_string()), "{e}");
        assert!(e.contains(field) && e.contains(allowed), "{e}");
    }
}
