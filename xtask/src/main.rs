//! `cargo xtask`: the project's own tasks plus nice-plug's plugin bundler.
//!
//! - `setup`: ONNX Runtime shared library, the Python environment and the optional system
//!   packages of some tests (run implicitly by `test` and `demo`)
//! - `test`:  every Rust and Python test
//! - `demo`:  the main job on the shipped default, output in `demo-output/`
//! - `bundle ...`: nice-plug-xtask (`cargo xtask bundle netbend --release`), then ONNX Runtime
//!   and the default model beside the CLAP file and inside the VST3 bundle

mod bundle;
mod demo_images;
mod setup;
mod system_packages;
mod tasks;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run().map(|_| ()),
        Some("test") => tasks::test(&args[1..]),
        Some("demo") => tasks::demo(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            print_usage();
            Ok(())
        }
        // Everything else (bundle, bundle-universal, known-packages) is nice-plug's bundler;
        // bundling netbend also ships ONNX Runtime and the default model with it.
        Some(_) => bundle::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_usage() {
    println!(
        "Usage:
  cargo xtask setup                 fetch ONNX Runtime {ort}, create the Python environment .venv/ and
                                    install xvfb xauth imagemagick ffmpeg ardour when root (tests)
  cargo xtask test                  run every Rust and Python test (runs setup first)
  cargo xtask demo                  render the demo on the shipped default into demo-output/ (runs setup first)
  cargo xtask bundle <package> [--release]
                                    build a CLAP + VST3 bundle (nice-plug-xtask); for netbend
                                    also copy ONNX Runtime and the default model into place",
        ort = setup::ORT_VERSION
    );
}
