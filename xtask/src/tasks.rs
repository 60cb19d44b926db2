//! `cargo xtask test` and `cargo xtask demo`.

use crate::demo_images;
use crate::setup::{self, Setup, run_command};
use crate::system_packages::on_path;
use std::path::Path;
use std::process::Command;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

/// Every Rust and Python test. Both suites always run, and every Rust test binary runs
/// (`--no-fail-fast`), so one failure does not hide another.
pub fn test(extra_cargo_args: &[String]) -> Result<(), String> {
    let env = setup::run()?;
    let mut failures = Vec::new();

    // Lints first: a formatting slip or a clippy warning fails CI as a test does.
    println!("\n[test] rustfmt: cargo fmt --all -- --check");
    if let Err(e) = run_command(
        cargo()
            .current_dir(&env.root)
            .args(["fmt", "--all", "--", "--check"]),
        "the rustfmt check",
    ) {
        failures.push(e);
    }
    println!("\n[test] clippy: cargo clippy --workspace --all-targets -- -D warnings");
    if let Err(e) = run_command(
        cargo().current_dir(&env.root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "clippy",
    ) {
        failures.push(e);
    }

    println!("\n[test] Rust: cargo test --workspace --no-fail-fast");
    let rust = run_command(
        cargo()
            .current_dir(&env.root)
            .args(["test", "--workspace", "--no-fail-fast"])
            .args(extra_cargo_args)
            .env("ORT_DYLIB_PATH", &env.ort_dylib),
        "the Rust tests",
    );
    if let Err(e) = rust {
        failures.push(e);
    }

    println!("\n[test] Python: pytest in models/");
    let python = run_command(
        python_in(&env, &env.root.join("models")).args(["-m", "pytest", "-q", "-ra"]),
        "the Python tests",
    );
    if let Err(e) = python {
        failures.push(e);
    }

    // The editor test needs an X server; with Xvfb installed it opens the editor for real.
    // xvfb-run also needs xauth, without which it fails rather than skipping.
    if on_path("xvfb-run") && on_path("xauth") {
        println!(
            "\n[test] plugin editor under Xvfb: xvfb-run cargo test -p netbend --test editor_gui"
        );
        let editor = run_command(
            Command::new("xvfb-run")
                .args(["-a", "-s", "-screen 0 1400x900x24"])
                .arg(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
                .current_dir(&env.root)
                .args(["test", "-p", "netbend", "--test", "editor_gui"])
                .args(extra_cargo_args),
            "the plugin editor test under Xvfb",
        );
        if let Err(e) = editor {
            failures.push(e);
        }
    } else {
        println!(
            "\n[test] xvfb-run or xauth not found: the plugin editor test ran without opening a window"
        );
    }

    println!("\n[test] VST3: cargo xtask bundle netbend --release, then pytest plugin/tests/");
    let vst3 = crate::bundle::run(&["bundle", "netbend", "--release"].map(String::from))
        .map_err(|e| format!("bundling netbend failed: {e}"))
        .and_then(|()| {
            run_command(
                python_in(&env, &env.root)
                    .args(["-m", "pytest", "-q", "-ra", "plugin/tests"])
                    .env(
                        "NETBEND_VST3",
                        setup::target_dir(&env.root).join("bundled/Netbend.vst3"),
                    ),
                "the plugin's VST3 tests (pedalboard)",
            )
        });
    if let Err(e) = vst3 {
        failures.push(e);
    }

    // A real DAW on the same bundle: Ardour 7, headless (setup installs it when it can).
    if on_path("ardour7-lua") {
        println!(
            "\n[test] Ardour: cargo test -p netbend --test ardour (the VST3 bundle in Ardour 7)"
        );
        let ardour = run_command(
            cargo()
                .current_dir(&env.root)
                .args(["test", "-p", "netbend", "--test", "ardour"])
                .args(extra_cargo_args)
                .env("ORT_DYLIB_PATH", &env.ort_dylib)
                .env(
                    "NETBEND_VST3",
                    setup::target_dir(&env.root).join("bundled/Netbend.vst3"),
                ),
            "the Ardour end-to-end test",
        );
        if let Err(e) = ardour {
            failures.push(e);
        }
    } else {
        println!(
            "\n[test] ardour7-lua not found (setup could not install the `ardour` package): the \
             Ardour end-to-end test is skipped"
        );
    }

    if failures.is_empty() {
        println!("\n[test] all Rust and Python tests passed");
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

fn python_in(env: &Setup, dir: &Path) -> Command {
    let mut command = Command::new(&env.venv_python);
    command
        .current_dir(dir)
        .env("ORT_DYLIB_PATH", &env.ort_dylib)
        .env("NETBEND_ROOT", &env.root);
    command
}

/// The main job on the shipped default: renders into `demo-output/`.
pub fn demo(extra_args: &[String]) -> Result<(), String> {
    if !extra_args.is_empty() {
        return Err(format!(
            "`cargo xtask demo` takes no arguments (got {extra_args:?})"
        ));
    }
    // Checked before the setup so that a missing model fails at once.
    let model_dir = setup::workspace_root().join("models").join("vae");
    let manifest = model_dir.join("manifest.json");
    if !manifest.is_file() {
        return Err(format!(
            "the shipped default model is missing: {} does not exist. Export it first \
             (models/README.md, \"Export\"), e.g. `cd models && ../.venv/bin/python -m \
             netbend_models.export.vae --checkpoint runs/default/last.pt --out vae/`",
            manifest.display()
        ));
    }
    let image_model = demo_images::check_model(&setup::workspace_root())?;
    let env = setup::run()?;
    let out_dir = env.root.join("demo-output");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;

    println!("\n[demo] building the netbend command line (release)");
    run_command(
        cargo()
            .current_dir(&env.root)
            .args(["build", "--release", "-p", "netbend-cli"]),
        "building netbend",
    )?;
    let netbend = setup::target_dir(&env.root).join("release").join("netbend");
    let drum_break = env.root.join("tests/data/drum_break.flac");
    let figure3 = env.root.join("examples/figure3-stochastic.yaml");
    let run = |args: &[&std::ffi::OsStr], what: &str| -> Result<(), String> {
        run_command(
            Command::new(&netbend)
                .args(args)
                .arg("--model")
                .arg(&model_dir)
                .env("ORT_DYLIB_PATH", &env.ort_dylib),
            what,
        )
    };
    let path = |name: &str| out_dir.join(name);

    println!(
        "\n[demo] the bundled drum break through the default model {}:",
        model_dir.display()
    );
    println!("[demo] 1. plain autoencoding (neutral bends)");
    let (neutral, neutral_png) = (
        path("drum_break_neutral.wav"),
        path("drum_break_neutral.png"),
    );
    run(
        &[
            "render".as_ref(),
            "--in".as_ref(),
            drum_break.as_os_str(),
            "--out".as_ref(),
            neutral.as_os_str(),
            "--spectrogram".as_ref(),
            neutral_png.as_os_str(),
        ],
        "netbend render (neutral)",
    )?;
    println!(
        "[demo] 2. bent by the paper's Figure 3 configuration ({})",
        figure3.display()
    );
    let (bent, bent_png) = (
        path("drum_break_figure3.wav"),
        path("drum_break_figure3.png"),
    );
    run(
        &[
            "render".as_ref(),
            "--config".as_ref(),
            figure3.as_os_str(),
            "--in".as_ref(),
            drum_break.as_os_str(),
            "--out".as_ref(),
            bent.as_os_str(),
            "--spectrogram".as_ref(),
            bent_png.as_os_str(),
        ],
        "netbend render (Figure 3)",
    )?;
    let moving = env.root.join("examples/moving.yaml");
    println!(
        "[demo] 3. a bend that moves over the song ({} at 96 BPM: a rotation swinging once a bar)",
        moving.display()
    );
    let (moved, moved_png) = (path("drum_break_moving.wav"), path("drum_break_moving.png"));
    run(
        &[
            "render".as_ref(),
            "--config".as_ref(),
            moving.as_os_str(),
            "--bpm".as_ref(),
            "96".as_ref(),
            "--in".as_ref(),
            drum_break.as_os_str(),
            "--out".as_ref(),
            moved.as_os_str(),
            "--spectrogram".as_ref(),
            moved_png.as_os_str(),
        ],
        "netbend render (moving)",
    )?;
    println!(
        "[demo] 4. four variations of the Figure 3 bend (seeds 1 to 4: other random feature selections)"
    );
    let variations = path("figure3-variations");
    run(
        &[
            "variations".as_ref(),
            "--config".as_ref(),
            figure3.as_os_str(),
            "--in".as_ref(),
            drum_break.as_os_str(),
            "--count".as_ref(),
            "4".as_ref(),
            "--seed".as_ref(),
            "1".as_ref(),
            "--out-dir".as_ref(),
            variations.as_os_str(),
            "--spectrogram".as_ref(),
        ],
        "netbend variations",
    )?;
    println!("[demo] 5. four seconds generated from random latents (seed 7, Griffin-Lim)");
    let (generated, generated_png) = (path("generated_seed7.wav"), path("generated_seed7.png"));
    run(
        &[
            "generate".as_ref(),
            "--seed".as_ref(),
            "7".as_ref(),
            "--seconds".as_ref(),
            "4".as_ref(),
            "--out".as_ref(),
            generated.as_os_str(),
            "--spectrogram".as_ref(),
            generated_png.as_os_str(),
        ],
        "netbend generate",
    )?;

    println!("[demo] 6. the signal path alone: STFT round trip and Griffin-Lim from the magnitude");
    let jobs: [(&str, &[&str]); 2] = [
        ("drum_break_stft_roundtrip.wav", &["--phase", "input"]),
        (
            "drum_break_griffin_lim.wav",
            &["--phase", "griffin-lim", "--iterations", "100"],
        ),
    ];
    for (name, args) in jobs {
        let out = out_dir.join(name);
        run_command(
            Command::new(&netbend)
                .arg("resynth")
                .arg("--in")
                .arg(&drum_break)
                .arg("--out")
                .arg(&out)
                .args(args)
                .env("ORT_DYLIB_PATH", &env.ort_dylib),
            "netbend resynth",
        )?;
    }
    demo_images::render(&env.root, &netbend, &env.ort_dylib, &image_model, &out_dir)?;
    println!(
        "\n[demo] done: outputs are in {} (each spectrogram PNG: input on top, output below; images/: the image model's stills and animations)",
        out_dir.display()
    );
    Ok(())
}
