//! The shipped default model `models/vae/` loads through the engine with everything the manifest
//! promises: sessions matching the manifest, general clusters that partition every layer, the
//! embedding CNNs of the clustering pipeline, and the example configs (including the cluster one).

mod common;

use engine::{Model, Runtime, RuntimeOptions, compile, load_config};
use ndarray::Array3;
use netbend_test_support::workspace_root;

fn default_model() -> Model {
    Model::load(workspace_root().join("models/vae")).unwrap()
}

#[test]
fn general_clusters_partition_every_layer() {
    common::assert_general_clusters_partition_every_layer(&default_model());
}

#[test]
fn clustering_record_names_existing_embedding_cnns() {
    common::assert_embedding_cnns_exist(&default_model());
}

#[test]
fn example_configs_compile_and_a_cluster_ablation_changes_the_output() {
    let model = default_model();
    let manifest = model.manifest().clone();
    let examples = workspace_root().join("examples");
    for name in [
        "figure3-stochastic.yaml",
        "reference-format.yaml",
        "netbend-extras.yaml",
        "cluster-ablate-clusters.yaml",
    ] {
        let spec = load_config(examples.join(name), &manifest).unwrap();
        compile(&spec, &manifest).unwrap();
    }
    let options = RuntimeOptions {
        intra_threads: Some(1),
        ..Default::default()
    };
    let mut rt = Runtime::new(model, &options).unwrap();
    // A smooth, spectrum-like window: loud lows falling towards the highs.
    let window = Array3::from_shape_fn((1, 128, 513), |(_, t, f)| {
        0.8 - 0.5 * f as f32 / 513.0 + 0.05 * ((t as f32) * 0.3).sin()
    });
    let neutral = rt.autoencode(window.view()).unwrap();
    let spec = load_config(examples.join("cluster-ablate-clusters.yaml"), &manifest).unwrap();
    rt.set_spec(&spec).unwrap();
    let bent = rt.autoencode(window.view()).unwrap();
    let mean_abs = (&bent - &neutral).mapv(f32::abs).mean().unwrap();
    assert!(
        mean_abs > 1e-3,
        "ablating a layer-1 cluster changed the output by only {mean_abs}"
    );
    rt.clear_bend().unwrap();
    assert_eq!(rt.autoencode(window.view()).unwrap(), neutral);
}
