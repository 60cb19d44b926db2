//! `cargo xtask test` and `cargo xtask demo`.

use crate::setup::{self, Setup, run_command};
use std::path::Path;
use std::process::Command;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

/// Every Rust and Python test. Both suites always run, so one failure does not hide the other.
pub fn test(extra_cargo_args: &[String]) -> Result<(), String> {
    let env = setup::run()?;
    let mut failures = Vec::new();

    println!("\n[test] Rust: cargo test --workspace");
    let rust = run_command(
        cargo()
            .current_dir(&env.root)
            .args(["test", "--workspace"])
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
    if Command::new("xvfb-run").arg("--help").output().is_ok() {
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
            "\n[test] xvfb-run not found: the plugin editor test ran without opening a window"
        );
    }

    println!("\n[test] VST3: cargo xtask bundle netbend --release, then pytest plugin/tests/");
    let vst3 = nice_plug_xtask::main_with_args(
        "cargo xtask",
        ["bundle", "netbend", "--release"]
            .map(String::from)
            .to_vec(),
    )
    .map_err(|e| format!("bundling netbend failed: {e:#}"))
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

    println!(
        "\n[demo] No trained model has landed yet, so the demo shows the signal path the model will sit in:\n\
         [demo] the bundled drum break through the STFT and back (input phase), and resynthesised from its\n\
         [demo] magnitude alone by fast Griffin-Lim (what `netbend generate` will use)."
    );
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
    println!("\n[demo] done: outputs are in {}", out_dir.display());
    Ok(())
}
