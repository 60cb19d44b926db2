//! Manifests built in tests, so that config and compile tests do not need an exported model.

use crate::manifest::Manifest;
use crate::test_manifest_json::manifest_json;
use std::path::Path;

/// Four layers like a small spectrogram VAE: 16, 8, 8, 4 channels; layer 1 has three clusters,
/// layer 2 one, layers 3 and 4 none.
pub fn manifest() -> Manifest {
    let json = manifest_json(
        &[(16, 2, 9), (8, 4, 17), (8, 8, 33), (4, 16, 65)],
        r#"{"1": [[0, 1, 2], [3, 4], [5]], "2": [[0, 7]]}"#,
    );
    Manifest::parse(&json, Path::new("test/manifest.json")).expect("test manifest is valid")
}
