//! The shipped audio models, the default `models/vae/` (a latent map, `latent_shape` in its
//! manifest) and the paper's configuration `models/vae-paper/` (a latent vector), load through the engine
//! with everything the manifest promises: sessions matching the manifest, general clusters that partition every layer, the
//! embedding CNNs of the clustering pipeline, and the example configs (including the cluster one).

mod common;

use engine::{Model, Runtime, RuntimeOptions, compile, load_config};
use ndarray::Array3;
use netbend_test_support::workspace_root;

const SHIPPED_AUDIO_MODELS: [&str; 2] = ["models/vae", "models/vae-paper"];

fn shipped_models() -> impl Iterator<Item = Model> {
    SHIPPED_AUDIO_MODELS
        .iter()
        .map(|dir| Model::load(workspace_root().join(dir)).unwrap())
}

#[test]
fn general_clusters_partition_every_layer() {
    for model in shipped_models() {
        common::assert_general_clusters_partition_every_layer(&model);
    }
}

#[test]
fn clustering_record_names_existing_embedding_cnns() {
    for model in shipped_models() {
        common::assert_embedding_cnns_exist(&model);
    }
}

#[test]
fn the_default_model_declares_its_latent_map_and_the_paper_model_a_vector() {
    let model = Model::load(workspace_root().join("models/vae")).unwrap();
    assert_eq!(model.manifest().latent_shape, Some(vec![32, 8, 33]));
    assert_eq!(model.manifest().latent_dim, 32 * 8 * 33);
    let paper = Model::load(workspace_root().join("models/vae-paper")).unwrap();
    assert_eq!(paper.manifest().latent_shape, None);
    assert_eq!(paper.manifest().latent_dim, 512);
}

#[test]
fn example_configs_compile_and_a_cluster_ablation_changes_the_output() {
    for model in shipped_models() {
        configs_compile_and_a_cluster_ablation_changes_the_output(model);
    }
}

fn configs_compile_and_a_cluster_ablation_changes_the_output(model: Model) {
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
