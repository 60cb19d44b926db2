//! The lock-free parameter bridge: consistency under a concurrent writer and readers, change
//! detection, and the mapping from slot parameters to snapshots.

use netbend::bridge::{BendBridge, BendSnapshot, BridgeWriter, QualityModeSnapshot, SlotSnapshot};
use netbend::motion_params::SlotMotion;
use netbend::params::{
    ModRate, ModShape, ModTarget, NUM_SLOTS, NetbendParams, QualityMode, Reroll, Selection,
    Transform,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A snapshot whose every field is a function of `k`, so a reader can tell whether the fields
/// it copied come from one publication.
fn snapshot_for(k: u32) -> BendSnapshot {
    let slots = std::array::from_fn(|i| {
        let v = k.wrapping_mul(31).wrapping_add(i as u32);
        SlotSnapshot {
            enabled: v.is_multiple_of(2),
            layer: (v % 4) as u8 + 1,
            transform: Transform::from_u8((v % 14) as u8),
            params: [v as f32, -(v as f32)],
            selection: Selection::from_u8((v % 3) as u8),
            fraction: (v % 1000) as f32 / 1000.0,
            seed: v,
            cluster: v ^ 0x5555,
            mix: (v % 101) as f32 / 100.0,
            motion: SlotMotion {
                shape: ModShape::from_u8((v % 7) as u8),
                rate: ModRate::from_u8((v % 9) as u8),
                hz: (v % 20) as f32 + 0.5,
                depth: (v % 200) as f32 / 100.0 - 1.0,
                phase_degrees: (v % 360) as f32,
                target: ModTarget::from_u8((v % 2) as u8),
                range: [-(v as f32), v as f32 + 1.0],
                reroll: Reroll::from_u8((v % 7) as u8),
            },
        }
    });
    BendSnapshot {
        generation: 0,
        mode: QualityModeSnapshot(if k.is_multiple_of(2) {
            QualityMode::Default
        } else {
            QualityMode::LowLatency
        }),
        slots,
    }
}

/// The `k` a snapshot was made from, if all of its fields agree on one.
fn consistent_k(s: &BendSnapshot) -> Option<u32> {
    let k_from_seed = s.slots[0].seed.wrapping_sub(0).wrapping_mul(invert_31());
    let expected = snapshot_for(k_from_seed);
    (expected.mode == s.mode && expected.slots == s.slots).then_some(k_from_seed)
}

/// Multiplicative inverse of 31 modulo 2^32 (so seed of slot 0 = 31 k gives back k).
fn invert_31() -> u32 {
    let mut x: u32 = 1;
    for _ in 0..5 {
        x = x.wrapping_mul(2u32.wrapping_sub(31u32.wrapping_mul(x)));
    }
    assert_eq!(31u32.wrapping_mul(x), 1);
    x
}

#[test]
fn readers_never_see_a_torn_snapshot() {
    const PUBLICATIONS: u32 = 200_000;
    let bridge = Arc::new(BendBridge::new());
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicU64::new(0));

    let writer = {
        let (bridge, stop, published) = (bridge.clone(), stop.clone(), published.clone());
        std::thread::spawn(move || {
            // The audio thread publishes once per block; here publications come back to back
            // with a short pause, so that readers both overlap them and get clean copies.
            for k in 1..=PUBLICATIONS {
                bridge.publish(&snapshot_for(k));
                published.fetch_add(1, Ordering::Relaxed);
                for _ in 0..100 {
                    std::hint::spin_loop();
                }
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    // One reader per remaining core (this machine has two).
    let readers: Vec<_> = (0..1)
        .map(|_| {
            let (bridge, stop) = (bridge.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut reads, mut distinct, mut last_gen) = (0u64, 0u64, 0u64);
                let (mut last_k, mut rejected) = (0u32, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    // try_read, so the test can count the copies the seqlock rejected.
                    let Some(s) = bridge.try_read() else {
                        rejected += 1;
                        continue;
                    };
                    reads += 1;
                    if s.generation == 0 {
                        continue; // nothing published yet: the defaults
                    }
                    let k = consistent_k(&s).unwrap_or_else(|| {
                        panic!("torn snapshot at generation {}: {s:?}", s.generation)
                    });
                    // Generations and contents only move forward, and agree with each other.
                    assert!(s.generation >= last_gen, "generation went back");
                    assert_eq!(
                        s.generation, k as u64,
                        "generation {} vs k {k}",
                        s.generation
                    );
                    if k != last_k {
                        distinct += 1;
                    }
                    last_gen = s.generation;
                    last_k = k;
                }
                (reads, distinct, rejected)
            })
        })
        .collect();

    writer.join().unwrap();
    let n = published.load(Ordering::Relaxed);
    for r in readers {
        let (reads, distinct, rejected) = r.join().expect("reader saw a torn snapshot");
        println!(
            "published {n}; a reader kept {reads} consistent snapshots ({distinct} distinct) \
             and rejected {rejected} copies that overlapped a publication"
        );
        assert!(
            distinct >= 20,
            "the test did race: {reads} reads, {distinct} distinct"
        );
    }
}

#[test]
fn try_read_fails_only_during_a_publication_and_read_returns_latest() {
    let bridge = BendBridge::new();
    let first = bridge.try_read().expect("idle bridge reads");
    assert_eq!(first.generation, 0);
    assert_eq!(first.slots, [SlotSnapshot::default(); NUM_SLOTS]);
    bridge.publish(&snapshot_for(7));
    bridge.publish(&snapshot_for(8));
    let s = bridge.read();
    assert_eq!(s.generation, 2);
    assert_eq!(bridge.generation(), 2);
    assert_eq!(consistent_k(&s), Some(8));
}

#[test]
fn writer_publishes_only_changes() {
    let bridge = BendBridge::new();
    let mut writer = BridgeWriter::default();
    let a = snapshot_for(3);
    assert!(writer.publish_if_changed(&bridge, &a), "first publication");
    assert!(!writer.publish_if_changed(&bridge, &a));
    assert_eq!(bridge.generation(), 1);
    let mut b = a;
    b.slots[5].mix = 0.123;
    assert!(writer.publish_if_changed(&bridge, &b));
    assert_eq!(bridge.generation(), 2);
    assert_eq!(bridge.read().slots[5].mix, 0.123);
}

#[test]
fn slot_snapshot_keeps_the_parameters_of_the_chosen_transform() {
    let params = NetbendParams::default();
    let slot = &params.slots[2];
    // The wrapper resets smoothers to the parameter values on activation; do the same here.
    for p in [
        &slot.translate_x,
        &slot.translate_y,
        &slot.scale_x,
        &slot.scale_y,
        &slot.rotate,
        &slot.multiply,
        &slot.offset,
        &slot.threshold,
        &slot.noise,
        &slot.mix,
    ] {
        p.smoothed.reset(p.value());
    }
    // Defaults: disabled, layer 1, ablate (no params), all channels, mix 1.
    let s = netbend::slot_snapshot(slot, 64);
    assert!(!s.enabled);
    assert_eq!(s.layer, 1);
    assert_eq!(s.transform, Transform::Ablate);
    assert_eq!(s.params, [0.0, 0.0]);
    assert_eq!(s.selection, Selection::All);
    assert_eq!(s.mix, 1.0);
    assert_eq!(s.seed, 3, "slot 3's default seed is 3");
    // Per-transform parameter counts follow docs/bend-graph.md.
    let counts: Vec<usize> = Transform::ALL.iter().map(|t| t.param_count()).collect();
    assert_eq!(counts, [0, 2, 2, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0]);
    let names: Vec<&str> = Transform::ALL.iter().map(|t| t.stage_name()).collect();
    assert_eq!(
        names,
        [
            "shuffle",
            "translate",
            "scale",
            "rotate",
            "flip-h",
            "flip-v",
            "erode",
            "dilate",
            "scalar-multiply",
            "offset",
            "invert",
            "binary-thresh",
            "noise",
            "ablate"
        ]
    );
}
