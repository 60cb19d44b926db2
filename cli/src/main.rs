//! `netbend`: the offline command line. Each subcommand lives in its own module; this file only
//! parses the command line and dispatches, and turns errors into a message and exit status 1.

mod resynth;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "netbend",
    version,
    about = "Netbend: network bending for sound (offline tools)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse a file with the model's STFT and resynthesise it (input phase or Griffin-Lim)
    Resynth(resynth::ResynthArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Resynth(args) => resynth::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line, without a backtrace.
            eprintln!("netbend: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
