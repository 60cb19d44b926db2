use super::*;
use crate::spec::{BendEntry, BendSpec, ClusterSource, Selection, Transform};
use crate::test_support;

fn entry(layer: usize, stage: Stage, params: &[f64], selection: Selection) -> BendEntry {
    BendEntry::new(layer, Transform::new(stage, params).unwrap(), selection)
}

fn channels(list: &[usize]) -> Selection {
    Selection::Channels(list.to_vec())
}

#[test]
fn empty_spec_is_neutral_with_every_layer() {
    let m = test_support::manifest();
    let c = compile(&BendSpec::neutral(), &m).unwrap();
    assert!(c.is_neutral());
    assert_eq!(c.layers.len(), 4);
    assert_eq!(c.layers[3].stages.len(), 14);
}

#[test]
fn entries_on_disjoint_channels_merge_into_one_stage() {
    let m = test_support::manifest();
    let spec = BendSpec::neutral()
        .push(entry(1, Stage::ScalarMultiply, &[2.0], channels(&[0, 1])))
        .push(entry(1, Stage::ScalarMultiply, &[-1.0], channels(&[5])).with_mix(0.5));
    let c = compile(&spec, &m).unwrap();
    let s = c.stage(1, Stage::ScalarMultiply).unwrap();
    assert_eq!(s.idx, [0, 1, 5]);
    assert_eq!(s.mix, [1.0, 1.0, 0.5]);
    assert_eq!(s.params, [2.0, 2.0, -1.0]);
    assert!(c.stage(2, Stage::ScalarMultiply).unwrap().is_empty());
}

#[test]
fn params_are_k_by_p_row_major() {
    let m = test_support::manifest();
    let spec =
        BendSpec::neutral().push(entry(2, Stage::Translate, &[0.25, -0.5], channels(&[3, 4])));
    let c = compile(&spec, &m).unwrap();
    assert_eq!(
        c.stage(2, Stage::Translate).unwrap().params,
        [0.25, -0.5, 0.25, -0.5]
    );
}

#[test]
fn chain_in_block_order_on_shared_channels_is_accepted() {
    let m = test_support::manifest();
    let spec = BendSpec::neutral()
        .push(entry(1, Stage::Erode, &[2.0], Selection::All))
        .push(entry(1, Stage::Dilate, &[2.0], Selection::All))
        .push(entry(1, Stage::Ablate, &[], channels(&[3])));
    compile(&spec, &m).unwrap();
}

#[test]
fn chain_against_block_order_on_shared_channels_names_both_entries_and_channels() {
    let m = test_support::manifest();
    let mut dilate = entry(1, Stage::Dilate, &[2.0], channels(&[1, 2, 3]));
    dilate.origin = Some("bend.yaml:2".into());
    let mut erode = entry(1, Stage::Erode, &[1.0], channels(&[3, 2, 9]));
    erode.origin = Some("bend.yaml:7".into());
    let spec = BendSpec::neutral().push(dilate).push(erode);
    let e = compile(&spec, &m).unwrap_err().to_string();
    assert!(
        e.contains("entry 1 (`dilate` on layer 1, bend.yaml:2)"),
        "{e}"
    );
    assert!(
        e.contains("entry 2 (`erode` on layer 1, bend.yaml:7)"),
        "{e}"
    );
    assert!(e.contains("share channels 2, 3 on layer 1"), "{e}");
    assert!(
        e.contains("runs `erode` (stage 7) before `dilate` (stage 8)"),
        "{e}"
    );
    assert!(e.contains("shuffle -> translate"), "{e}");
}

#[test]
fn same_stage_twice_on_a_shared_channel_is_rejected() {
    let m = test_support::manifest();
    let spec = BendSpec::neutral()
        .push(entry(3, Stage::ScalarMultiply, &[2.0], channels(&[0, 1])))
        .push(entry(3, Stage::ScalarMultiply, &[3.0], channels(&[1])));
    let e = compile(&spec, &m).unwrap_err().to_string();
    assert!(e.contains("share channel 1 on layer 3"), "{e}");
    assert!(e.contains("cannot apply `scalar-multiply` twice"), "{e}");
}

#[test]
fn out_of_order_entries_commute_when_disjoint_or_on_other_layers() {
    let m = test_support::manifest();
    let spec = BendSpec::neutral()
        .push(entry(1, Stage::Ablate, &[], channels(&[0])))
        .push(entry(1, Stage::Shuffle, &[], channels(&[1, 2])))
        .push(entry(2, Stage::Shuffle, &[], channels(&[0, 1])));
    compile(&spec, &m).unwrap();
}

#[test]
fn shuffle_source_is_a_seeded_cyclic_permutation_of_the_selection() {
    let m = test_support::manifest();
    let spec = |seed| {
        BendSpec::neutral()
            .with_seed(seed)
            .push(entry(1, Stage::Shuffle, &[], Selection::All))
    };
    let a = compile(&spec(1), &m).unwrap();
    let s = a.stage(1, Stage::Shuffle).unwrap();
    let mut sorted = s.source.clone();
    sorted.sort();
    assert_eq!(sorted, s.idx);
    assert!(s.idx.iter().zip(&s.source).all(|(i, j)| i != j));
    assert_eq!(a, compile(&spec(1), &m).unwrap());
    assert_ne!(a, compile(&spec(2), &m).unwrap());
}

#[test]
fn shuffle_footprint_includes_its_sources() {
    // A later translate on a channel that the shuffle only reads from is still a conflict-free
    // forward chain; a shuffle after a translate on the source channels is not.
    let m = test_support::manifest();
    let spec = BendSpec::neutral()
        .push(entry(1, Stage::Translate, &[0.1, 0.0], channels(&[4])))
        .push(entry(1, Stage::Shuffle, &[], channels(&[4, 5])));
    let e = compile(&spec, &m).unwrap_err().to_string();
    assert!(e.contains("share channel 4"), "{e}");
}

#[test]
fn random_selection_size_and_reproducibility() {
    let m = test_support::manifest();
    let spec = |seed, fraction| {
        BendSpec::neutral().with_seed(seed).push(entry(
            1,
            Stage::Erode,
            &[2.0],
            Selection::Random { fraction },
        ))
    };
    let a = compile(&spec(7, 0.25), &m).unwrap();
    let idx = &a.stage(1, Stage::Erode).unwrap().idx;
    assert_eq!(idx.len(), 4); // 25 % of 16
    assert_eq!(a, compile(&spec(7, 0.25), &m).unwrap());
    let others: Vec<_> = (8..16)
        .map(|s| {
            compile(&spec(s, 0.25), &m)
                .unwrap()
                .stage(1, Stage::Erode)
                .unwrap()
                .idx
                .clone()
        })
        .collect();
    assert!(
        others.iter().any(|o| o != idx),
        "new seeds must give new selections"
    );
    // A tiny fraction still selects one channel; 1.0 selects all.
    assert_eq!(
        compile(&spec(1, 0.01), &m)
            .unwrap()
            .stage(1, Stage::Erode)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        compile(&spec(1, 1.0), &m)
            .unwrap()
            .stage(1, Stage::Erode)
            .unwrap()
            .len(),
        16
    );
    for bad in [0.0, -0.5, 1.5] {
        let e = compile(&spec(1, bad), &m).unwrap_err().to_string();
        assert!(e.contains("outside (0, 1]"), "{e}");
    }
}

#[test]
fn entry_seed_overrides_spec_seed() {
    let m = test_support::manifest();
    let spec = |spec_seed| {
        BendSpec::neutral()
            .with_seed(spec_seed)
            .push(entry(1, Stage::Erode, &[2.0], Selection::Random { fraction: 0.5 }).with_seed(42))
    };
    assert_eq!(
        compile(&spec(1), &m).unwrap(),
        compile(&spec(2), &m).unwrap()
    );
}

#[test]
fn cluster_selection_from_manifest_and_explicit_clusters() {
    let m = test_support::manifest();
    let cl = |layer, index, map: ClusterSource| {
        BendSpec::neutral().push(entry(
            layer,
            Stage::Ablate,
            &[],
            Selection::Cluster { index, map },
        ))
    };
    let c = compile(&cl(1, 1, ClusterSource::default()), &m).unwrap();
    assert_eq!(c.stage(1, Stage::Ablate).unwrap().idx, [3, 4]);
    let e = compile(&cl(1, 3, ClusterSource::default()), &m)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cluster index 3 is beyond layer 1's clusters"),
        "{e}"
    );
    assert!(e.contains("0..=2"), "{e}");
    let e = compile(&cl(3, 0, ClusterSource::default()), &m)
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer 3 has no clusters"), "{e}");
    let explicit = ClusterSource::Explicit(std::sync::Arc::new(vec![vec![], vec![vec![6, 2]]]));
    let c = compile(&cl(2, 0, explicit), &m).unwrap();
    assert_eq!(c.stage(2, Stage::Ablate).unwrap().idx, [6, 2]);
}

#[test]
fn bad_layer_channels_and_mix_are_rejected_with_the_allowed_range() {
    let m = test_support::manifest();
    let e = compile(
        &BendSpec::neutral().push(entry(5, Stage::Invert, &[], Selection::All)),
        &m,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("layer 5 does not exist") && e.contains("1..=4"),
        "{e}"
    );
    let e = compile(
        &BendSpec::neutral().push(entry(4, Stage::Invert, &[], channels(&[4]))),
        &m,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("channel 4 is outside") && e.contains("0..=3"),
        "{e}"
    );
    let e = compile(
        &BendSpec::neutral().push(entry(4, Stage::Invert, &[], channels(&[1, 1]))),
        &m,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("listed twice"), "{e}");
    let e = compile(
        &BendSpec::neutral().push(entry(4, Stage::Invert, &[], Selection::All).with_mix(1.5)),
        &m,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("mix 1.5 is outside [0, 1]"), "{e}");
}

#[test]
fn noise_field_is_k_by_h_by_w_and_seeded() {
    let m = test_support::manifest();
    let spec = |seed| {
        BendSpec::neutral()
            .with_seed(seed)
            .push(entry(2, Stage::Noise, &[0.5], channels(&[1, 3])))
    };
    let a = compile(&spec(1), &m).unwrap();
    let s = a.stage(2, Stage::Noise).unwrap();
    assert_eq!(s.field.len(), 2 * 4 * 17);
    assert_eq!(s.params, [0.5, 0.5]);
    assert_eq!(a, compile(&spec(1), &m).unwrap());
    assert_ne!(
        s.field,
        compile(&spec(2), &m)
            .unwrap()
            .stage(2, Stage::Noise)
            .unwrap()
            .field
    );
}

#[test]
fn entries_with_mix_zero_leave_their_stage_neutral_but_are_still_checked() {
    let m = test_support::manifest();
    let spec = BendSpec::neutral()
        .push(entry(1, Stage::Erode, &[2.0], Selection::All).with_mix(0.0))
        .push(entry(1, Stage::Invert, &[], channels(&[2])).with_mix(0.5));
    let c = compile(&spec, &m).unwrap();
    assert!(c.stage(1, Stage::Erode).unwrap().is_empty());
    assert_eq!(c.stage(1, Stage::Invert).unwrap().idx, [2]);
    let bad =
        BendSpec::neutral().push(entry(9, Stage::Erode, &[2.0], Selection::All).with_mix(0.0));
    assert!(compile(&bad, &m).is_err());
}
