//! `netbend`: network bending for sound from the command line. This file only parses the command
//! line and dispatches to one module per subcommand.

mod inspect;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netbend: {e}");
            ExitCode::FAILURE
        }
    }
}
