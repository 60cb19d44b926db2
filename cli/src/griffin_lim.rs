//! Fast Griffin-Lim with the commands' progress bar: for `generate`'s decoded spectrograms and
//! for the channels of `--phase griffin-lim` renders (`channels`). Its own module below both, so
//! that `channels` does not reach up into the pipeline that uses it (imports run one way).

use dsp::{GriffinLim, GriffinLimVariant, InitialPhase, Stft};
use indicatif::ProgressBar;

/// Fast Griffin-Lim (momentum 0.99) from a seeded random phase; advances `bar` by one step per
/// iteration.
pub fn griffin_lim(
    stft: &mut Stft,
    magnitude: &[f32],
    samples: usize,
    iterations: usize,
    seed: u64,
    bar: &ProgressBar,
) -> Vec<f32> {
    let gl = GriffinLim {
        iterations,
        variant: GriffinLimVariant::FAST,
        initial_phase: InitialPhase::Random { seed },
    };
    gl.run(stft, magnitude, samples, |report| {
        if report.iteration > 0 {
            bar.inc(1);
        }
    })
}
