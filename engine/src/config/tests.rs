use super::*;
use crate::test_support;

const FILE: &str = "bends/test.yaml";

fn parse(text: &str) -> Result<BendConfig> {
    BendConfig::parse(text, Path::new(FILE))
}

fn spec(text: &str) -> Result<BendSpec> {
    parse(text)?.to_spec(&test_support::manifest())
}

/// The error message, checked to start with `bends/test.yaml:LINE:` and to name `field`.
fn error_at(result: Result<impl std::fmt::Debug>, line: u64, field: &str) -> String {
    let e = result.expect_err("expected an error").to_string();
    assert!(
        e.starts_with(&format!("{FILE}:{line}:")),
        "expected an error at {FILE}:{line}, got: {e}"
    );
    assert!(
        e.contains(field),
        "expected the error to name `{field}`, got: {e}"
    );
    e
}

const REFERENCE: &str = r#"transforms:
- layer: 1
  transform: "translate"
  params: [0.25, 0.0]
  features: "all"
  feature-param:
- layer: 2
  transform: "ablate"
  params: []
  features: "cluster"
  feature-param: 0
- layer: 3
  transform: "binary-thresh"
  params: [0.5]
  features: "random"
  feature-param: 0.5
- layer: 4
  transform: "scale"
  params: [1.2]
  features: "all"
  feature-param:
"#;

#[test]
fn reference_format_parses_with_its_key_names() {
    let s = spec(REFERENCE).unwrap();
    assert_eq!(s.entries.len(), 4);
    assert_eq!(s.seed, 0);
    let e = &s.entries[0];
    assert_eq!((e.layer, e.transform.stage()), (1, Stage::Translate));
    assert_eq!(e.transform.params(), &[0.25, 0.0]);
    assert_eq!(e.selection, Selection::All);
    assert_eq!(e.mix, 1.0);
    assert_eq!(e.origin.as_deref(), Some("bends/test.yaml:2"));
    assert!(matches!(
        &s.entries[1].selection,
        Selection::Cluster { index: 0, map: ClusterSource::Manifest(m) } if m == "general"
    ));
    assert_eq!(s.entries[2].selection, Selection::Random { fraction: 0.5 });
    assert_eq!(s.entries[3].transform.params(), &[1.2, 1.2]);
}

#[test]
fn netbend_keys_and_transforms() {
    let s = spec(
        "seed: 7\ntransforms:\n\
         - {layer: 1, transform: offset, params: [0.5], channels: [1, 3], mix: 0.25}\n\
         - {layer: 2, transform: noise, params: [0.1], features: random, feature-param: 0.5, seed: 99}\n\
         - {layer: 3, transform: shuffle, features: channels, channels: [0, 1, 2]}\n\
         - {layer: 4, transform: invert}\n",
    )
    .unwrap();
    assert_eq!(s.seed, 7);
    assert_eq!(s.entries[0].selection, Selection::Channels(vec![1, 3]));
    assert_eq!(s.entries[0].mix, 0.25);
    assert_eq!(s.entries[1].seed, Some(99));
    assert_eq!(s.entries[2].transform.stage(), Stage::Shuffle);
    assert_eq!(s.entries[3].selection, Selection::All);
}

#[test]
fn empty_and_missing_transforms_are_neutral() {
    assert!(spec("transforms: []\n").unwrap().entries.is_empty());
    assert!(spec("transforms:\n").unwrap().entries.is_empty());
    assert!(spec("seed: 3\n").unwrap().entries.is_empty());
}

#[test]
fn unknown_transform_lists_the_allowed_ones() {
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: erosion\n"),
        3,
        "transforms[0].transform",
    );
    assert!(e.contains("unknown transform \"erosion\""), "{e}");
    assert!(e.contains(&Stage::all_names()), "{e}");
}

#[test]
fn wrong_number_of_params_says_how_many() {
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: rotate\n  params: [45, 2]\n"),
        4,
        "transforms[0].params",
    );
    assert!(
        e.contains("`rotate` takes 1 (theta) parameter(s), got 2"),
        "{e}"
    );
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: erode\n"),
        3,
        "transforms[0].params",
    );
    assert!(e.contains("takes 1 (r)"), "{e}");
}

#[test]
fn parameter_out_of_range() {
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: dilate\n  params: [5]\n"),
        4,
        "transforms[0].params",
    );
    assert!(e.contains("1, 2 or 3"), "{e}");
}

#[test]
fn layer_out_of_range_for_this_model() {
    let text = "transforms:\n- layer: 1\n  transform: invert\n- layer: 5\n  transform: invert\n";
    // Parsing alone does not know the model.
    parse(text).unwrap();
    let e = error_at(spec(text), 4, "transforms[1].layer");
    assert!(
        e.contains("layer 5 is out of range for model `synthetic`: allowed 1..=4"),
        "{e}"
    );
    let e = error_at(
        spec("transforms:\n- {layer: 0, transform: invert}\n"),
        2,
        "transforms[0].layer",
    );
    assert!(e.contains("allowed 1..=4"), "{e}");
}

#[test]
fn cluster_index_beyond_the_models_clusters() {
    let e = error_at(
        spec(
            "transforms:\n- layer: 1\n  transform: ablate\n  features: cluster\n  feature-param: 3\n",
        ),
        5,
        "transforms[0].feature-param",
    );
    assert!(
        e.contains("cluster index 3 is beyond layer 1's clusters"),
        "{e}"
    );
    assert!(e.contains("allowed: 0..=2"), "{e}");
    let e = error_at(
        spec(
            "transforms:\n- {layer: 2, transform: ablate, features: cluster, feature-param: 1.5}\n",
        ),
        2,
        "transforms[0].feature-param",
    );
    assert!(e.contains("not a non-negative integer"), "{e}");
}

#[test]
fn random_fraction_outside_0_1() {
    for bad in ["0", "1.5", "-0.25", "25"] {
        let text = format!(
            "transforms:\n- layer: 1\n  transform: ablate\n  features: random\n  feature-param: {bad}\n"
        );
        let e = error_at(spec(&text), 5, "transforms[0].feature-param");
        assert!(e.contains("outside the allowed range (0, 1]"), "{e}");
    }
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: ablate\n  features: random\n"),
        4,
        "transforms[0].feature-param",
    );
    assert!(e.contains("needs a feature-param"), "{e}");
}

#[test]
fn unknown_keys_are_rejected_with_the_known_ones() {
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: invert\n  mixx: 0.5\n"),
        4,
        "mixx",
    );
    assert!(
        e.contains("feature-param"),
        "the known keys are listed: {e}"
    );
    let e = error_at(spec("transform:\n- layer: 1\n"), 1, "transform");
    assert!(e.contains("transforms"), "{e}");
}

#[test]
fn unknown_selection_and_stray_feature_param() {
    let e = error_at(
        spec("transforms:\n- {layer: 1, transform: invert, features: some}\n"),
        2,
        "transforms[0].features",
    );
    assert!(e.contains("allowed: all, random, cluster, channels"), "{e}");
    let e = error_at(
        spec("transforms:\n- {layer: 1, transform: invert, features: all, feature-param: 0.5}\n"),
        2,
        "transforms[0].feature-param",
    );
    assert!(e.contains("takes no feature-param"), "{e}");
}

#[test]
fn mix_and_channels_ranges() {
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: invert\n  mix: 1.2\n"),
        4,
        "transforms[0].mix",
    );
    assert!(e.contains("[0, 1]"), "{e}");
    let e = error_at(
        spec("transforms:\n- layer: 4\n  transform: invert\n  channels: [0, 9]\n"),
        4,
        "transforms[0].channels",
    );
    assert!(
        e.contains("channel 9 is outside layer 4's channels (allowed: 0..=3)"),
        "{e}"
    );
}

#[test]
fn wrong_types_and_yaml_syntax_errors_have_positions() {
    let e = error_at(
        spec("transforms:\n- layer: one\n  transform: invert\n"),
        2,
        "transforms[0].layer",
    );
    assert!(e.contains("expected an integer"), "{e}");
    let e = error_at(
        spec("transforms:\n- {layer: 1, transform: rotate, params: 45}\n"),
        2,
        "transforms[0].params",
    );
    assert!(e.contains("expected a list"), "{e}");
    let e = error_at(
        spec("transforms:\n- {layer: 1, transform: rotate, params: [a]}\n"),
        2,
        "transforms[0].params[0]",
    );
    assert!(e.contains("expected a number"), "{e}");
    let e = error_at(
        spec("transforms:\n- layer: 1\n  transform: invert\n  mix: 0.5\n  mix: 0.7\n"),
        5,
        "transforms[0]",
    );
    assert!(
        e.contains("duplicate mapping key: mix") && !e.contains("Options"),
        "{e}"
    );
    error_at(
        spec("transforms:\n- layer: 1\n  transform: [invert\n"),
        3,
        FILE,
    );
    let e = error_at(
        spec("transforms:\n- transform: invert\n"),
        2,
        "transforms[0]",
    );
    assert!(e.contains("missing"), "{e}");
}

/// Layer 1 of the test manifest (16 channels): cluster 1 = {0, 5}, cluster 0 = the rest.
fn full_layer_1() -> String {
    let mut text = "1:\n".to_string();
    for c in 0..16 {
        let j = usize::from(c == 0 || c == 5);
        text += &format!("- {{cluster_index: {j}, feature_index: {c}}}\n");
    }
    text
}

#[test]
fn cluster_file_in_the_reference_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clusters.yaml"), full_layer_1()).unwrap();
    let config = dir.path().join("bend.yaml");
    std::fs::write(
        &config,
        "cluster-file: clusters.yaml\ntransforms:\n- {layer: 1, transform: ablate, features: cluster, feature-param: 1}\n",
    )
    .unwrap();
    let m = test_support::manifest();
    let s = load_config(&config, &m).unwrap();
    let c = crate::compile(&s, &m).unwrap();
    assert_eq!(c.stage(1, Stage::Ablate).unwrap().idx, [0, 5]);

    // Cluster index beyond the file's clusters, and the file's own errors.
    std::fs::write(
        &config,
        "cluster-file: clusters.yaml\ntransforms:\n- {layer: 1, transform: ablate, features: cluster, feature-param: 2}\n",
    )
    .unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("bend.yaml:3:") && e.contains("cluster index 2 is beyond"),
        "{e}"
    );
    std::fs::write(
        dir.path().join("clusters.yaml"),
        "9:\n- {cluster_index: 0, feature_index: 0}\n",
    )
    .unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("clusters.yaml:2:") && e.contains("layer 9 is out of range"),
        "{e}"
    );
    std::fs::write(
        dir.path().join("clusters.yaml"),
        "4:\n- {cluster_index: 0, feature_index: 7}\n",
    )
    .unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("clusters.yaml:2:")
            && e.contains("channel 7 is outside layer 4's channels: allowed 0..=3"),
        "{e}"
    );
    // A channel left out, and a gap in the cluster indices.
    let without_9 = full_layer_1().replace("- {cluster_index: 0, feature_index: 9}\n", "");
    std::fs::write(dir.path().join("clusters.yaml"), without_9).unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("clusters.yaml:2:") && e.contains("field `1`") && e.contains("1 missing: 9"),
        "{e}"
    );
    let gap = full_layer_1().replace("cluster_index: 1,", "cluster_index: 2,");
    std::fs::write(dir.path().join("clusters.yaml"), gap).unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("field `1.cluster_index`") && e.contains("no channel has cluster_index 1"),
        "{e}"
    );
    let dup = full_layer_1() + "- {cluster_index: 0, feature_index: 5}\n";
    std::fs::write(dir.path().join("clusters.yaml"), dup).unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("clusters.yaml:18:")
            && e.contains("channel 5 is assigned to more than one cluster"),
        "{e}"
    );
    std::fs::write(
        dir.path().join("clusters.yaml"),
        "1:\n- {cluster: 0, feature_index: 7}\n",
    )
    .unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("clusters.yaml:2:") && e.contains("cluster"),
        "{e}"
    );
    std::fs::remove_file(dir.path().join("clusters.yaml")).unwrap();
    let e = load_config(&config, &m).unwrap_err().to_string();
    assert!(
        e.contains("bend.yaml:1:") && e.contains("cluster-file") && e.contains("not found"),
        "{e}"
    );
}

#[test]
fn unknown_cluster_map() {
    let e = spec("cluster-map: spectral\ntransforms:\n- {layer: 1, transform: ablate, features: cluster, feature-param: 0}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cluster map `spectral` does not exist") && e.contains("general"),
        "{e}"
    );
}

#[test]
fn examples_in_the_repository_parse_against_a_four_layer_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml")
            // The file name, not the path: a checkout under a folder named "...clusters..."
            // would otherwise skip every example.
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("clusters"))
        {
            let s = load_config(&path, &test_support::manifest())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            crate::compile(&s, &test_support::manifest()).unwrap();
            n += 1;
        }
    }
    assert!(n >= 3, "expected example configs in {}", dir.display());
}

#[test]
fn a_chain_against_the_block_order_names_both_entries_with_their_lines() {
    let s = spec(
        "transforms:\n\
         - {layer: 1, transform: dilate, params: [2], channels: [0, 1, 2]}\n\
         - {layer: 1, transform: erode, params: [2], channels: [2, 3]}\n",
    )
    .unwrap();
    let e = crate::compile(&s, &test_support::manifest())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("entry 1 (`dilate` on layer 1, bends/test.yaml:2)"),
        "{e}"
    );
    assert!(
        e.contains("entry 2 (`erode` on layer 1, bends/test.yaml:3)"),
        "{e}"
    );
    assert!(e.contains("share channel 2 on layer 1"), "{e}");
}

const MOVING: &str = r#"seed: 4
transforms:
- layer: 2
  transform: rotate
  params: [30]
  modulate:
    shape: triangle
    rate: 1/4
    depth: 45
    phase: 0.5
    target: param
- layer: 1
  transform: ablate
  features: random
  feature-param: 0.25
  reroll: 2 bars
  modulate: {shape: drift, rate: 0.5, depth: 0.3}
"#;

#[test]
fn modulators_and_rerolls_parse_into_the_spec() {
    use crate::motion::{Modulator, Motion, Rate, Shape, Target};
    let spec = spec(MOVING).unwrap();
    assert!(spec.moves());
    assert_eq!(
        spec.entries[0].motion,
        Some(Motion {
            modulator: Some(Modulator {
                shape: Shape::Triangle,
                rate: Rate::Beats(1.0),
                depth: 45.0,
                phase: 0.5,
                target: Target::Param,
                range: None,
            }),
            reroll: None,
        })
    );
    assert_eq!(
        spec.entries[1].motion,
        Some(Motion {
            modulator: Some(Modulator {
                shape: Shape::Drift,
                rate: Rate::Hz(0.5),
                depth: 0.3,
                phase: 0.0,
                target: Target::Mix,
                range: None,
            }),
            reroll: Some(Rate::Bars(2.0)),
        })
    );
    // Without motion keys nothing moves.
    assert!(!spec_of_reference().moves());
}

fn spec_of_reference() -> BendSpec {
    spec(REFERENCE).unwrap()
}

#[test]
fn bad_modulators_and_rerolls_name_the_field_and_what_is_allowed() {
    let with = |extra: &str, transform: &str| {
        format!("transforms:\n- layer: 1\n  transform: {transform}\n{extra}")
    };
    let e = error_at(
        parse(&with(
            "  modulate: {shape: wobble, rate: 1, depth: 1}\n",
            "invert",
        )),
        4,
        "transforms[0].modulate.shape",
    );
    assert!(e.contains("sine, triangle"), "{e}");
    let e = error_at(
        parse(&with(
            "  modulate: {shape: sine, rate: 1/3, depth: 1}\n",
            "invert",
        )),
        4,
        "transforms[0].modulate.rate",
    );
    assert!(e.contains("N/D") && e.contains("bars"), "{e}");
    let e = error_at(
        parse(&with(
            "  modulate: {shape: sine, rate: 0, depth: 1}\n",
            "invert",
        )),
        4,
        "transforms[0].modulate.rate",
    );
    assert!(e.contains("(0, 100]"), "{e}");
    let e = error_at(
        parse(&with(
            "  modulate: {shape: sine, rate: 1, depth: 1, phase: 1.5}\n",
            "invert",
        )),
        4,
        "transforms[0].modulate.phase",
    );
    assert!(e.contains("[0, 1)"), "{e}");
    let e = error_at(
        parse(&with(
            "  modulate: {shape: sine, rate: 1, depth: 1, target: param}\n",
            "invert",
        )),
        4,
        "transforms[0].modulate.target",
    );
    assert!(
        e.contains("no parameter") && e.contains("target: mix"),
        "{e}"
    );
    let e = error_at(
        parse(&with(
            "  modulate: {shape: sine, rate: 1, depth: 1, speed: 2}\n",
            "invert",
        )),
        4,
        "speed",
    );
    assert!(e.contains("depth"), "{e}");
    for bad in ["[1]", "[2, 1]", "[0, .inf]"] {
        let e = error_at(
            parse(&with(
                &format!("  modulate: {{shape: sine, rate: 1, depth: 1, range: {bad}}}\n"),
                "invert",
            )),
            4,
            "transforms[0].modulate.range",
        );
        assert!(e.contains("low < high"), "{e}");
    }
    let ok = with(
        "  modulate: {shape: sine, rate: 1, depth: 1, range: [0.2, 0.9]}\n",
        "invert",
    );
    let motion = spec(&ok).unwrap().entries[0].motion.unwrap();
    assert_eq!(motion.modulator.unwrap().range, Some((0.2, 0.9)));
    // A re-roll of an entry that draws nothing at random, and a re-roll in Hz.
    let e = error_at(
        parse(&with("  reroll: 1 bar\n", "invert")),
        4,
        "transforms[0].reroll",
    );
    assert!(e.contains("features: random"), "{e}");
    let e = error_at(
        parse(&with("  reroll: 2\n", "shuffle")),
        4,
        "transforms[0].reroll",
    );
    assert!(e.contains("N bars"), "{e}");
    assert!(parse(&with("  reroll: 1/2\n", "shuffle")).is_ok());
}
