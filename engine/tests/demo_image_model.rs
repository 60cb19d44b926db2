//! The shipped demo image model `models/stylegan2-demo/` loads through the engine with what its
//! manifest promises: a StyleGAN2 with 9 bendable layers (4x4 to 64x64), general clusters that
//! partition every layer, the clustering record's embedding CNNs, and the image example configs.

mod common;

use engine::{Model, compile, load_config};
use netbend_test_support::workspace_root;

fn demo_model() -> Model {
    Model::load(workspace_root().join("models/stylegan2-demo")).unwrap()
}

#[test]
fn nine_layers_from_4_to_64_px_and_general_clusters_partition_every_layer() {
    let model = demo_model();
    let sizes: Vec<usize> = model.manifest().layers.iter().map(|l| l.height).collect();
    assert_eq!(sizes, [4, 8, 8, 16, 16, 32, 32, 64, 64]);
    common::assert_general_clusters_partition_every_layer(&model);
    common::assert_embedding_cnns_exist(&model);
}

#[test]
fn image_example_configs_compile_against_it() {
    let model = demo_model();
    let manifest = model.manifest().clone();
    let dir = workspace_root().join("examples/images");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let spec =
                load_config(&path, &manifest).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            compile(&spec, &manifest).unwrap();
            n += 1;
        }
    }
    assert!(n >= 1, "no image examples in {}", dir.display());
}
