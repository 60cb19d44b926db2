//! The image half of `cargo xtask demo`: bent StyleGAN2 images and animations from the shipped
//! demo image model (`models/stylegan2-demo/`).

use crate::setup::run_command;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Directory of the shipped demo image model, relative to the workspace root.
pub const MODEL_DIR: &str = "models/stylegan2-demo";

/// Truncation of every demo image: the demo model is small and young, so its images are most
/// legible near the mean latent.
const TRUNCATION: &str = "0.7";

/// Fails at once (before any build) when the image model is not in the checkout.
pub fn check_model(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join(MODEL_DIR);
    if !dir.join("manifest.json").is_file() {
        return Err(format!(
            "the shipped demo image model is missing: {} has no manifest.json \
             (models/docs/stylegan2.md says how it is exported)",
            dir.display()
        ));
    }
    Ok(dir)
}

/// Renders neutral and bent stills, a parameter sweep and a "Fragments of Self" ablation
/// sequence into `out_dir/images/`.
pub fn render(
    root: &Path,
    netbend: &Path,
    ort_dylib: &Path,
    model_dir: &Path,
    out_dir: &Path,
) -> Result<(), String> {
    let images = out_dir.join("images");
    let run = |args: &[&OsStr], what: &str| -> Result<(), String> {
        run_command(
            Command::new(netbend)
                .args(args)
                .arg("--model")
                .arg(model_dir)
                .args(["--truncation", TRUNCATION])
                .env("ORT_DYLIB_PATH", ort_dylib),
            what,
        )
    };
    let config = root.join("examples/images/cluster-bends.yaml");
    let (neutral, bent) = (images.join("neutral"), images.join("bent"));

    println!(
        "\n[demo] images from the demo StyleGAN2 {} (seeds 0-7, truncation {TRUNCATION}):",
        model_dir.display()
    );
    println!("[demo] 7. unbent");
    run(
        &[
            "image".as_ref(),
            "--seeds".as_ref(),
            "0-7".as_ref(),
            "--out".as_ref(),
            neutral.as_os_str(),
        ],
        "netbend image (neutral)",
    )?;
    println!("[demo] 8. bent by {}", config.display());
    run(
        &[
            "image".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            "--seeds".as_ref(),
            "0-7".as_ref(),
            "--out".as_ref(),
            bent.as_os_str(),
        ],
        "netbend image (bent)",
    )?;
    println!("[demo] 9. animation: layer 3 rotated through a full turn (seed 3, 24 frames)");
    let sweep = images.join("rotate-sweep");
    run(
        &[
            "animate".as_ref(),
            "sweep".as_ref(),
            "--layer".as_ref(),
            "3".as_ref(),
            "--transform".as_ref(),
            "rotate".as_ref(),
            "--from".as_ref(),
            "0".as_ref(),
            "--to".as_ref(),
            "360".as_ref(),
            "--seed".as_ref(),
            "3".as_ref(),
            "--force".as_ref(),
            "--out".as_ref(),
            sweep.as_os_str(),
        ],
        "netbend animate sweep",
    )?;
    println!(
        "[demo] 10. animation: Perlin-noise ablation of layer 5's features (\"Fragments of Self\")"
    );
    let fragments = images.join("fragments");
    run(
        &[
            "animate".as_ref(),
            "fragments".as_ref(),
            "--layer".as_ref(),
            "5".as_ref(),
            "--seed".as_ref(),
            "3".as_ref(),
            "--force".as_ref(),
            "--out".as_ref(),
            fragments.as_os_str(),
        ],
        "netbend animate fragments",
    )?;
    Ok(())
}
