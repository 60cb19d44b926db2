//! `netbend`: network bending for sound from the command line. This file only parses the command
//! line and dispatches to one module per subcommand, and turns errors into a message and exit
//! status 1.

mod animate;
mod bench;
mod bench_args;
mod bend_overhead;
mod channels;
mod clusters;
mod frame_store;
mod generate;
mod griffin_lim;
mod image;
mod image_bench;
mod image_io;
mod inspect;
mod pipeline;
mod process_usage;
mod render;
mod resynth;
mod spectrogram_png;
mod timeline;
mod variations;
mod video;
mod voice_args;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "netbend", version, about = "Network bending for sound")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a model: layers, channels, resolutions, bend stages, clusters, graph inputs/outputs.
    Inspect(inspect::InspectArgs),
    /// Analyse a file with the model's STFT and resynthesise it (input phase or Griffin-Lim)
    Resynth(resynth::ResynthArgs),
    /// Bend a file: autoencode it through the model with a bend config (neutral without one)
    Render(render::RenderArgs),
    /// Render a file with a stochastic config once per seed (seed, seed + 1, ...)
    Variations(variations::VariationsArgs),
    /// Decode random latents with a bend and voice them by Griffin-Lim
    Generate(generate::GenerateArgs),
    /// Cluster a clip's features per layer (per-clip clusters) and write a cluster file
    Clusters(clusters::ClustersArgs),
    /// Bent images from an image model (StyleGAN2), per seed or from a projected latent
    Image(image::ImageArgs),
    /// Bent image sequences: parameter sweeps, Perlin ablation, latent interpolation
    Animate(animate::AnimateArgs),
    /// Measure render speed (multiples of real time; images/s for image models) and peak memory
    Bench(bench_args::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args).map_err(anyhow::Error::msg),
        Command::Resynth(args) => resynth::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Variations(args) => variations::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Clusters(args) => clusters::run(&args),
        Command::Image(args) => image::run(&args),
        Command::Animate(args) => animate::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line, without a backtrace.
            eprintln!("netbend: {e:#}");
            ExitCode::FAILURE
        }
    }
}
