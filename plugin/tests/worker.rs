//! The worker's conversion of the bridge's slots into a bend: compiled, it must equal the bend
//! the engine compiles from the same settings written as a YAML config (the CLI's path).

use netbend::bridge::{BendSnapshot, SlotSnapshot};
use netbend::params::{Selection, Transform};
use netbend::worker::spec_from_snapshot;

fn tiny_manifest() -> engine::Manifest {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/tiny-vae");
    engine::Model::load(dir).unwrap().manifest().clone()
}

#[test]
fn slots_compile_to_the_same_bend_as_the_equivalent_config_file() {
    let manifest = tiny_manifest();
    let mut snapshot = BendSnapshot::default();
    snapshot.slots[1] = SlotSnapshot {
        enabled: true,
        layer: 2,
        transform: Transform::Translate,
        params: [0.25, -0.5],
        selection: Selection::Random,
        fraction: 0.5,
        seed: 9,
        cluster: 0,
        mix: 0.75,
        motion: Default::default(),
    };
    snapshot.slots[4] = SlotSnapshot {
        enabled: true,
        layer: 4,
        transform: Transform::Erode,
        params: [2.0, 0.0],
        selection: Selection::All,
        fraction: 0.5,
        seed: 3,
        cluster: 0,
        mix: 1.0,
        motion: Default::default(),
    };
    // Disabled slots are not part of the bend, whatever they hold.
    snapshot.slots[6] = SlotSnapshot {
        enabled: false,
        transform: Transform::Ablate,
        ..SlotSnapshot::default()
    };
    let (spec, problems) = spec_from_snapshot(&snapshot);
    assert!(problems.is_empty(), "{problems:?}");

    let yaml = "transforms:\n\
        - layer: 2\n  transform: translate\n  params: [0.25, -0.5]\n  features: random\n  \
          feature-param: 0.5\n  mix: 0.75\n  seed: 9\n\
        - layer: 4\n  transform: erode\n  params: [2]\n  seed: 3\n";
    let path =
        std::env::temp_dir().join(format!("netbend-worker-test-{}.yaml", std::process::id()));
    std::fs::write(&path, yaml).unwrap();
    let from_config = engine::load_config(&path, &manifest).unwrap();
    std::fs::remove_file(&path).unwrap();

    let a = engine::compile(&spec, &manifest).unwrap();
    let b = engine::compile(&from_config, &manifest).unwrap();
    assert_eq!(a, b);
    assert!(!a.is_neutral());
}

#[test]
fn a_slot_the_model_rejects_is_reported_not_fatal() {
    let mut snapshot = BendSnapshot::default();
    snapshot.slots[0] = SlotSnapshot {
        enabled: true,
        transform: Transform::Scale,
        params: [0.0, 1.0], // a zero scale factor is not allowed
        ..SlotSnapshot::default()
    };
    let (spec, problems) = spec_from_snapshot(&snapshot);
    assert!(spec.entries.is_empty());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("slot 1:"), "{problems:?}");
}
