use super::*;
use crate::motion::*;
use crate::spec::{BendEntry, Selection};

fn pos(beats: f64) -> SongPosition {
    // 120 BPM: a beat is half a second.
    SongPosition::at_tempo(beats * 0.5, 120.0, 4.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn shapes_follow_their_formulas_at_song_positions() {
    // A one-bar sine (4 beats) with a quarter-cycle phase is a cosine of the bar.
    let m = |shape| Modulator {
        shape,
        rate: Rate::Bars(1.0),
        depth: 2.0,
        phase: 0.25,
        target: Target::Mix,
        range: None,
    };
    for beats in [0.0f64, 0.5, 1.0, 1.7, 3.0, 5.25, 13.9, -2.2] {
        let c = beats / 4.0 + 0.25;
        let x = c - c.floor();
        let p = pos(beats);
        assert!(close(
            m(Shape::Sine).offset(p, 0),
            2.0 * (2.0 * std::f64::consts::PI * c).sin()
        ));
        // The triangle is sine's shape with straight sides: asin(sin) scaled.
        let tri = (2.0 / std::f64::consts::PI) * (2.0 * std::f64::consts::PI * c).sin().asin();
        assert!(
            (m(Shape::Triangle).offset(p, 0) - 2.0 * tri).abs() < 1e-9,
            "{beats}"
        );
        assert!(close(m(Shape::Saw).offset(p, 0), 2.0 * (2.0 * x - 1.0)));
        let square = if x < 0.5 { 2.0 } else { -2.0 };
        assert!(close(m(Shape::Square).offset(p, 0), square));
    }
}

#[test]
fn free_rates_count_seconds_and_synced_rates_count_beats() {
    let p = SongPosition::at_tempo(3.0, 90.0, 3.0); // 4.5 beats, 1.5 bars of 3/4
    assert!(close(Rate::Hz(2.0).cycles(p), 6.0));
    assert!(close(Rate::Beats(0.25).cycles(p), 18.0));
    assert!(close(Rate::Bars(2.0).cycles(p), 0.75));
    assert_eq!(Rate::from_text("1/16"), Some(Rate::Beats(0.25)));
    assert_eq!(Rate::from_text("1/4"), Some(Rate::Beats(1.0)));
    assert_eq!(Rate::from_text("3/8"), Some(Rate::Beats(1.5)));
    assert_eq!(Rate::from_text("1 bar"), Some(Rate::Bars(1.0)));
    assert_eq!(Rate::from_text(" 8 bars "), Some(Rate::Bars(8.0)));
    for bad in [
        "1/3", "0/4", "bar", "2 beats", "1 bar x", "65 bars", "1/4/4", "",
    ] {
        assert_eq!(Rate::from_text(bad), None, "{bad}");
    }
}

#[test]
fn random_shapes_hold_or_drift_and_repeat_for_a_seed() {
    let at = |shape: Shape, c: f64, seed| shape.at(c, seed);
    // Sample and hold: constant within a cycle, a new value per cycle, the same per seed.
    let values: Vec<f64> = (0..64)
        .map(|n| at(Shape::Random, n as f64 + 0.1, 7))
        .collect();
    for (n, v) in values.iter().enumerate() {
        assert!((-1.0..=1.0).contains(v));
        assert_eq!(*v, at(Shape::Random, n as f64 + 0.9, 7));
    }
    assert!(values.windows(2).all(|w| w[0] != w[1]));
    assert_ne!(at(Shape::Random, 3.5, 7), at(Shape::Random, 3.5, 8));
    let mean = values.iter().sum::<f64>() / 64.0;
    assert!(mean.abs() < 0.3, "uniform in [-1, 1]: mean {mean}");
    // Drift: 0 at whole cycles (gradient noise), continuous, within [-1, 1], not constant.
    let mut last = at(Shape::Drift, 0.0, 3);
    assert_eq!(last, 0.0);
    let mut largest = 0.0f64;
    for i in 1..=4000 {
        let v = at(Shape::Drift, i as f64 * 0.001, 3);
        assert!((-1.0..=1.0).contains(&v));
        assert!((v - last).abs() < 0.01, "jump at {i}");
        largest = largest.max(v.abs());
        last = v;
    }
    assert!(largest > 0.2, "the drift moves: {largest}");
}

fn entry(stage: Stage, params: &[f64], selection: Selection) -> BendEntry {
    BendEntry::new(1, Transform::new(stage, params).unwrap(), selection)
}

#[test]
fn a_spec_at_a_position_moves_only_its_moving_entries_within_range() {
    let lfo = |target, depth| Motion {
        modulator: Some(Modulator {
            shape: Shape::Square,
            rate: Rate::Beats(2.0),
            depth,
            phase: 0.0,
            target,
            range: None,
        }),
        reroll: None,
    };
    let mut rotate = entry(Stage::Rotate, &[30.0], Selection::All);
    rotate.motion = Some(lfo(Target::Param, 45.0));
    let mut mix = entry(Stage::Ablate, &[], Selection::All).with_mix(0.8);
    mix.motion = Some(lfo(Target::Mix, 0.5));
    let mut erode = entry(Stage::Erode, &[2.0], Selection::All);
    erode.motion = Some(lfo(Target::Param, 5.0));
    let still = entry(Stage::ScalarMultiply, &[2.0], Selection::All);
    let spec = BendSpec::neutral()
        .push(rotate)
        .push(mix)
        .push(erode)
        .push(still.clone());
    assert!(spec.moves());
    // First half of the 2-beat square: +depth; second half: -depth.
    let up = spec.at(pos(0.5));
    let down = spec.at(pos(1.5));
    assert_eq!(up.entries[0].transform.params(), &[75.0]);
    assert_eq!(down.entries[0].transform.params(), &[-15.0]);
    assert_eq!((up.entries[1].mix, down.entries[1].mix), (1.0, 0.3));
    assert_eq!(up.entries[2].transform.params(), &[3.0]);
    assert_eq!(down.entries[2].transform.params(), &[1.0]);
    assert_eq!(up.entries[3], still);
    assert!(!up.moves());
}

#[test]
fn a_modulator_range_bounds_the_moved_value_before_the_targets_own() {
    let bounded = |target, depth, range| Motion {
        modulator: Some(Modulator {
            shape: Shape::Square,
            rate: Rate::Beats(2.0),
            depth,
            phase: 0.0,
            target,
            range: Some(range),
        }),
        reroll: None,
    };
    let mut rotate = entry(Stage::Rotate, &[150.0], Selection::All);
    rotate.motion = Some(bounded(Target::Param, 90.0, (-180.0, 180.0)));
    let mut scale = entry(Stage::Scale, &[1.0, 3.0], Selection::All);
    scale.motion = Some(bounded(Target::Param, 2.0, (0.25, 4.0)));
    let mut mix = entry(Stage::Ablate, &[], Selection::All).with_mix(0.5);
    mix.motion = Some(bounded(Target::Mix, 0.4, (0.2, 0.7)));
    let spec = BendSpec::neutral().push(rotate).push(scale).push(mix);
    let (up, down) = (spec.at(pos(0.5)), spec.at(pos(1.5)));
    // 150 + 90 = 240 is kept at 180; 150 - 90 = 60 is inside.
    assert_eq!(up.entries[0].transform.params(), &[180.0]);
    assert_eq!(down.entries[0].transform.params(), &[60.0]);
    // Both factors move: 3, 5 -> 3, 4 up; -1, 1 -> 0.25, 1 down.
    assert_eq!(up.entries[1].transform.params(), &[3.0, 4.0]);
    assert_eq!(down.entries[1].transform.params(), &[0.25, 1.0]);
    assert_eq!((up.entries[2].mix, down.entries[2].mix), (0.7, 0.2));
}

#[test]
fn rerolls_draw_per_period_and_repeat_at_the_same_position() {
    let mut e = entry(Stage::Ablate, &[], Selection::Random { fraction: 0.25 });
    e.motion = Some(Motion {
        modulator: None,
        reroll: Some(Rate::Bars(1.0)),
    });
    let spec = BendSpec::neutral().with_seed(5).push(e);
    let seed_at = |beats| spec.at(pos(beats)).entries[0].seed.unwrap();
    // Bar 1 (beats 0..4), bar 2, bar 3: one seed each, the same anywhere in the bar.
    assert_eq!(seed_at(0.0), seed_at(3.99));
    assert_eq!(seed_at(4.0), seed_at(7.5));
    assert_ne!(seed_at(0.0), seed_at(4.0));
    assert_ne!(seed_at(4.0), seed_at(8.0));
    let base = entry_base_seed(None, 5, 1);
    assert_eq!(seed_at(9.0), reroll_seed(base, 2));
    // Another top-level seed draws other sets.
    let other = spec.clone().with_seed(6);
    assert_ne!(
        other.at(pos(0.0)).entries[0].seed,
        spec.at(pos(0.0)).entries[0].seed
    );
}

#[test]
fn splitmix64_matches_its_published_sequence() {
    // The first outputs of SplitMix64 seeded with 1234567 (state advanced by the golden gamma
    // before each output), as given with the reference implementation.
    let mut state = 1234567u64;
    let mut next = || {
        let out = splitmix64(state);
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        out
    };
    assert_eq!(next(), 6457827717110365317);
    assert_eq!(next(), 3203168211198807973);
    assert_eq!(next(), 9817491932198370423);
}
