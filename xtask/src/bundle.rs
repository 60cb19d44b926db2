//! `cargo xtask bundle netbend`: nice-plug's bundler, then what the plugin needs at run time.
//!
//! The plugin looks for ONNX Runtime and its default model beside its own binary (plugin
//! `find_model`, engine `onnxruntime::search_locations`), so a user who copies the bundle into a
//! plugin folder gets a working effect without `ORT_DYLIB_PATH` or a checkout of this workspace:
//!
//! - VST3: `Netbend.vst3/Contents/x86_64-linux/` holds `Netbend.so`, the library,
//!   `netbend-model/` (the default) and `netbend-models/vae-paper/` (the paper's model, offered in
//!   the model picker); the VST3 bundle is a folder, so everything travels inside it.
//! - CLAP: `Netbend.clap` is a single file on Linux, so the library and the model folders go beside
//!   it in `target/bundled/`; hosts scan CLAP folders recursively, so the three are installed
//!   together as one folder (`~/.clap/Netbend/`).

use crate::setup;
use std::fs;
use std::path::{Path, PathBuf};

/// The package whose bundles carry ONNX Runtime and the default model.
const PACKAGE: &str = "netbend";
/// The bundle name from `bundler.toml`.
const BUNDLE_NAME: &str = "Netbend";
/// Folder name the plugin looks for beside its binary.
const MODEL_DIR_NAME: &str = "netbend-model";
/// Folder of the other shipped models beside the binary (plugin `model_catalog::shipped_models`).
const SHIPPED_MODELS_FOLDER: &str = "netbend-models";
/// The other shipped models, by directory name under `models/`: the paper's configuration.
const SHIPPED_MODELS: [&str; 1] = ["vae-paper"];

/// Runs nice-plug's bundler with `args` (as given after `cargo xtask`), then, when the netbend
/// package was bundled, copies ONNX Runtime and the shipped default model into place.
pub fn run(args: &[String]) -> Result<(), String> {
    let ships_runtime = args.first().map(String::as_str) == Some("bundle")
        && args.iter().skip(1).any(|a| a == PACKAGE);
    // Fetch ONNX Runtime before the long build, so that a missing library fails fast. Only the
    // library: the venv and PyTorch of the full setup are not needed to bundle.
    let ort_dylib = if ships_runtime {
        Some(setup::onnxruntime_only()?)
    } else {
        None
    };
    nice_plug_xtask::main_with_args("cargo xtask", args.to_vec()).map_err(|e| format!("{e:#}"))?;
    if let Some(ort_dylib) = ort_dylib {
        ship(&ort_dylib)?;
    }
    Ok(())
}

/// Copies the library and the models beside the CLAP file and into the VST3 bundle.
fn ship(ort_dylib: &Path) -> Result<(), String> {
    let root = setup::workspace_root();
    let bundled = setup::target_dir(&root).join("bundled");
    let model = root.join("models").join("vae");
    if !model.join("manifest.json").is_file() {
        return Err(format!(
            "the default model is missing: {} has no manifest.json",
            model.display()
        ));
    }
    let vst3_binary_dir = bundled
        .join(format!("{BUNDLE_NAME}.vst3"))
        .join("Contents")
        .join("x86_64-linux");
    for dir in [bundled.clone(), vst3_binary_dir] {
        if !dir.is_dir() {
            return Err(format!("the bundler did not create {}", dir.display()));
        }
        let library = dir.join(file_name(ort_dylib)?);
        copy_file(ort_dylib, &library)?;
        replace_dir(&model, &dir.join(MODEL_DIR_NAME))?;
        let shipped = dir.join(SHIPPED_MODELS_FOLDER);
        fs::create_dir_all(&shipped).map_err(|e| format!("creating {}: {e}", shipped.display()))?;
        for name in SHIPPED_MODELS {
            replace_dir(&root.join("models").join(name), &shipped.join(name))?;
        }
        println!(
            "[bundle] {}, {}/ and {}/{{{}}} in {}",
            library.file_name().unwrap_or_default().to_string_lossy(),
            MODEL_DIR_NAME,
            SHIPPED_MODELS_FOLDER,
            SHIPPED_MODELS.join(","),
            dir.display()
        );
    }
    Ok(())
}

fn file_name(path: &Path) -> Result<&std::ffi::OsStr, String> {
    path.file_name()
        .ok_or_else(|| format!("{} has no file name", path.display()))
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Replaces `to` with a copy of the directory `from` (files only, one level deep: a model
/// directory is flat). The copy is built under a temporary name and renamed into place, so an
/// interrupted bundle never leaves a half-copied model the plugin would then load.
fn replace_dir(from: &Path, to: &Path) -> Result<(), String> {
    let staging = to.with_extension("partial");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| format!("creating {}: {e}", staging.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", from.display()))?;
        let source: PathBuf = entry.path();
        if source.is_file() {
            copy_file(&source, &staging.join(entry.file_name()))?;
        }
    }
    if to.exists() {
        fs::remove_dir_all(to).map_err(|e| format!("removing the old {}: {e}", to.display()))?;
    }
    fs::rename(&staging, to)
        .map_err(|e| format!("renaming {} to {}: {e}", staging.display(), to.display()))
}
