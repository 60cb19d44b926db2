//! The JSON text of synthetic manifests for tests. Apart from [`crate::test_support`], which
//! parses it into a `Manifest`, so that the manifest's own tests can use the text without
//! depending on a module that depends on the manifest (imports run one way).

use crate::stages::Stage;

/// The JSON text of a valid spectrogram-VAE manifest with `layers` given as (channels, height,
/// width), and `clusters` as the `general` map's JSON object text (e.g. `{"1": [[0, 1], [2]]}`).
pub fn manifest_json(layers: &[(usize, usize, usize)], clusters: &str) -> String {
    let stages: Vec<String> = Stage::ALL
        .iter()
        .map(|s| {
            format!(
                r#"{{"name": "{}", "params": {}}}"#,
                s.name(),
                s.graph_params()
            )
        })
        .collect();
    let layer_objs: Vec<String> = layers
        .iter()
        .enumerate()
        .map(|(i, (c, h, w))| {
            format!(
                r#"{{"index": {l}, "name": "decoder.stages.{i}", "channels": {c}, "height": {h}, "width": {w}, "activation": "act.L{l}"}}"#,
                l = i + 1
            )
        })
        .collect();
    let mut inputs = vec!["\"z\"".to_string()];
    let mut outputs = vec!["\"spectrogram\"".to_string()];
    for l in 1..=layers.len() {
        for s in Stage::ALL {
            inputs.extend(s.input_names(l).into_iter().map(|n| format!("\"{n}\"")));
        }
        outputs.push(format!("\"act.L{l}\""));
    }
    format!(
        r#"{{
  "format": "netbend-model", "format_version": 1, "bend_interface": 1,
  "kind": "spectrogram-vae", "name": "synthetic", "description": "built by a test",
  "latent_dim": 8,
  "signal": {{"sample_rate": 44100, "n_fft": 1024, "hop": 256, "window": "hann-periodic", "bins": 513, "window_frames": 128}},
  "normalisation": {{"kind": "db-minmax", "amin": 0.0001, "db_min": -80.0, "db_max": 50.0}},
  "graphs": {{
    "encoder": {{"file": "encoder.onnx", "inputs": ["spectrogram"], "outputs": ["mu", "logvar"]}},
    "decoder": {{"file": "decoder.onnx", "inputs": [{inputs}], "outputs": [{outputs}]}}
  }},
  "stages": [{stages}],
  "layers": [{layers}],
  "clusters": {{"general": {clusters}}}
}}"#,
        inputs = inputs.join(", "),
        outputs = outputs.join(", "),
        stages = stages.join(", "),
        layers = layer_objs.join(", "),
    )
}
