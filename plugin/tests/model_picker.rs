//! The model picker's list and choice, through a real CLAP host: a model directory in a
//! temporary user models folder (`$XDG_DATA_HOME/netbend/models`) is listed as usable, chosen
//! the way the editor stores it (its path in the persisted `model` state), survives the host's
//! state round trip and is the model the plugin runs after activation; invalid directories are
//! listed with the reason, and choosing one leaves the plugin on the dry fallback.

mod common;

use common::LoadedPlugin;
use netbend::model_catalog::{MODEL_PATH_ENV, list_models};
use std::path::{Path, PathBuf};

/// nice-plug's CLAP state: a little-endian u64 length, then the JSON of its `PluginState`.
fn with_model(state: &[u8], model: &str) -> Vec<u8> {
    let len = u64::from_le_bytes(state[..8].try_into().unwrap()) as usize;
    assert_eq!(len, state.len() - 8, "length prefix");
    let mut json: serde_json::Value = serde_json::from_slice(&state[8..]).unwrap();
    // A persisted field is stored as its own JSON text.
    json["fields"]["model"] = serde_json::Value::String(serde_json::to_string(model).unwrap());
    let body = serde_json::to_vec(&json).unwrap();
    let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&body);
    bytes
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Activates `plugin` with the persisted model `model`, renders 1.5 s offline and returns the
/// status line the plugin writes when it is deactivated.
fn run_with_model(model: &str, stats: &Path) -> String {
    let mut plugin = LoadedPlugin::load();
    let state = plugin.save_state();
    plugin.load_state(&with_model(&state, model));
    plugin.set_offline(true);
    let mut processor = plugin.activate(44_100.0, 512);
    for b in 0..130 {
        let mut input: Vec<Vec<f32>> = (0..2)
            .map(|_| {
                (0..512)
                    .map(|i| (((b * 512 + i) as f32) * 0.0627).sin() * 0.3)
                    .collect()
            })
            .collect();
        let mut output = vec![vec![0.0f32; 512]; 2];
        processor.process(&mut input, &mut output, &[]);
    }
    let _ = std::fs::remove_file(stats);
    processor.finish(&mut plugin);
    std::fs::read_to_string(stats).expect("stats file written on deactivation")
}

#[test]
fn a_trained_model_in_the_user_folder_is_listed_and_chosen_through_the_state() {
    let _serial = common::serial();
    let root = std::env::temp_dir().join(format!("netbend-picker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let models = root.join("netbend").join("models");
    copy_dir(&common::tiny_model(), &models.join("my-vae"));
    std::fs::create_dir_all(models.join("broken")).unwrap();
    std::fs::write(
        models.join("broken").join("manifest.json"),
        r#"{"format": "netbend-model"}"#,
    )
    .unwrap();
    std::fs::create_dir_all(models.join("notes")).unwrap();
    let stats = root.join("stats.txt");
    // SAFETY: tests of this binary are serialised by `serial()`; the plugin reads these on this
    // thread only.
    unsafe {
        std::env::set_var("XDG_DATA_HOME", &root);
        std::env::remove_var(MODEL_PATH_ENV);
        std::env::set_var(netbend::STATS_ENV, &stats);
    }
    // The shipped default is not available here, so a running model can only be the chosen one.
    common::use_model(None);

    let list = list_models();
    let labels: Vec<&str> = list.iter().map(|c| c.label.as_str()).collect();
    // The paper's model ships beside the default (from the workspace here, from
    // `netbend-models/` in a bundle) and is offered first after it.
    assert_eq!(
        labels,
        ["default", "vae-paper", "broken", "my-vae", "notes"]
    );
    assert_eq!(list[1].problem, None);
    let paper = netbend::model_catalog::check_model_dir(Path::new(&list[1].name)).unwrap();
    assert_eq!(
        paper.manifest().latent_shape,
        None,
        "the paper's latent vector"
    );
    let mine = &list[3];
    assert_eq!(mine.problem, None);
    assert_eq!(PathBuf::from(&mine.name), models.join("my-vae"));
    let broken = list[2].problem.as_deref().expect("broken is refused");
    assert!(
        broken.contains("manifest.json") && broken.contains("broken"),
        "reason names the file and the directory: {broken}"
    );
    let notes = list[4].problem.as_deref().expect("notes is refused");
    assert!(notes.contains("manifest.json missing"), "{notes}");

    // NETBEND_MODEL_PATH adds folders of model directories: tests/data holds an audio model and
    // an image model, which the plugin cannot run.
    unsafe { std::env::set_var(MODEL_PATH_ENV, common::workspace_root().join("tests/data")) };
    let extra = list_models();
    let find = |label: &str| extra.iter().find(|c| c.label == label).cloned();
    assert_eq!(find("tiny-vae").expect("tiny-vae listed").problem, None);
    let image = find("tiny-stylegan2")
        .expect("tiny-stylegan2 listed")
        .problem;
    assert!(image.is_some(), "an image model is refused");
    unsafe { std::env::remove_var(MODEL_PATH_ENV) };

    // Chosen: the path goes through the host's state and the plugin runs that model.
    let line = run_with_model(&mine.name, &stats);
    assert!(line.contains("connected=true"), "{line}");
    assert!(!line.contains("windows=0 "), "{line}");
    // An invalid directory, chosen anyway (e.g. a session saved before it broke): refused, the
    // plugin passes the dry signal.
    let line = run_with_model(&list[2].name, &stats);
    assert!(line.contains("connected=false"), "{line}");

    unsafe {
        std::env::remove_var(netbend::STATS_ENV);
        std::env::remove_var("XDG_DATA_HOME");
    }
    let _ = std::fs::remove_dir_all(&root);
}
