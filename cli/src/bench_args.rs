//! `netbend bench`'s arguments, apart from the command so that the measurements it dispatches
//! to (`bend_overhead`, `image_bench`) read them from below instead of from the module that
//! calls them (imports run one way).

use std::path::PathBuf;

use clap::Args;

use crate::pipeline::ModelArgs;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A bend config to measure besides the neutral bend
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seconds of audio per run
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Timed runs per case (the best is reported, after one warm-up run)
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Another model directory measured neutral side by side (interleaved runs), e.g. the
    /// paper's model `models/vae-paper` against the default
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,
    /// Measure the bend graph's overhead instead of render speed: one window through the model
    /// neutral, with every stage active and with --config, side by side with this decoder of
    /// the same weights exported without bend blocks (`python -m netbend_models.bench.vae
    /// --save-model DIR` writes DIR/decoder-unbent.onnx)
    #[arg(long, value_name = "FILE")]
    pub unbent_decoder: Option<PathBuf>,
    /// With --unbent-decoder: interleaved repetitions per case (medians are reported)
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub window_reps: usize,
}
