//! The bend graph's overhead is measured against the same weights' decoder exported without bend
//! blocks (`netbend bench --unbent-decoder`): the Python exporter writes both
//! (`python -m netbend_models.bench.vae --save-model`), the engine runs both. With every bend
//! input neutral the bent graph must give the unbent decoder's output bit for bit (docs/bend-graph.md), through the
//! engine too.

use engine::{
    BendEntry, BendSpec, Model, Runtime, RuntimeOptions, Selection, Stage, Transform,
    UnbentDecoder, sample_latents,
};
use netbend_test_support::export_bench_model;

#[test]
fn the_neutral_bend_graph_equals_the_decoder_exported_without_bend_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    export_bench_model(&dir, &["--seed", "3"]);
    let options = RuntimeOptions {
        intra_threads: Some(1),
        ..RuntimeOptions::default()
    };
    let mut runtime = Runtime::new(Model::load(&dir).unwrap(), &options).unwrap();
    let mut unbent = UnbentDecoder::load(&dir.join("decoder-unbent.onnx"), &options).unwrap();

    let z = sample_latents(11, 3, runtime.model().manifest().latent_dim);
    let reference = unbent.decode(z.view()).unwrap();
    assert_eq!(reference.dim(), (3, 128, 513));
    assert_eq!(
        runtime.decode(z.view()).unwrap(),
        reference,
        "neutral: bit for bit"
    );

    // A bend reaches only the bent graph.
    let spec = BendSpec::neutral().push(BendEntry::new(
        2,
        Transform::new(Stage::ScalarMultiply, &[3.0]).unwrap(),
        Selection::All,
    ));
    runtime.set_spec(&spec).unwrap();
    let bent = runtime.decode(z.view()).unwrap();
    let change = (&bent - &reference)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &b| a.max(b));
    assert!(change > 1e-3, "the bend changes the output (max {change})");

    // The bend-graph decoder is not a reference: refused, naming the file and its inputs.
    let err = UnbentDecoder::load(&dir.join("decoder.onnx"), &options)
        .err()
        .expect("a decoder with bend inputs is refused")
        .to_string();
    assert!(
        err.contains("decoder.onnx")
            && err.contains("not a decoder without bend blocks")
            && err.contains("L1.shuffle.idx"),
        "{err}"
    );
}
