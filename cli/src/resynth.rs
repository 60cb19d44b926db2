//! `netbend resynth`: read a file, go to the model rate, STFT, resynthesise, come back, write WAV.
//!
//! With `--phase input` the magnitude is put back under the input's own phase, channel by
//! channel: a near-exact round trip that exercises the whole signal path the bent model will
//! sit in. With `--phase griffin-lim` the phase is discarded and recovered from the magnitude
//! alone (mono mixdown), which is how a generated spectrogram without any input will be voiced.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use dsp::{
    AudioData, GriffinLim, GriffinLimVariant, InitialPhase, MODEL_SAMPLE_RATE, Stft, StftConfig,
    read_audio, resample, resample_channels, with_input_phase, write_wav,
};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args, Debug)]
pub struct ResynthArgs {
    /// Input audio file (WAV, FLAC, OGG Vorbis or MP3; mono or stereo)
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
    /// Output WAV file (32-bit float, at the input's sample rate)
    #[arg(long = "out", value_name = "FILE")]
    output: PathBuf,
    /// Where the phase comes from
    #[arg(long, value_enum, default_value_t = PhaseSource::Input)]
    phase: PhaseSource,
    /// Griffin-Lim iterations (only with --phase griffin-lim) [default: 100]
    #[arg(long, value_name = "N")]
    iterations: Option<usize>,
    /// Griffin-Lim variant (only with --phase griffin-lim)
    #[arg(long, value_enum, default_value_t = Variant::Fast)]
    variant: Variant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PhaseSource {
    /// Keep the input's phase (per channel): a near-exact round trip
    Input,
    /// Recover the phase from the magnitude alone (mono mixdown)
    GriffinLim,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Variant {
    /// Fast Griffin-Lim, momentum 0.99 (Perraudin et al. 2013)
    Fast,
    /// Original Griffin-Lim (1984)
    Standard,
}

pub fn run(args: &ResynthArgs) -> Result<()> {
    if args.phase == PhaseSource::Input && args.iterations.is_some() {
        bail!("--iterations only applies to --phase griffin-lim");
    }
    if args.iterations == Some(0) {
        bail!("--iterations must be at least 1");
    }
    let started = Instant::now();
    let audio = read_audio(&args.input)?;
    let rate = audio.sample_rate;
    let frames = audio.frames();
    eprintln!(
        "read {} ({} ch, {} Hz, {:.2} s)",
        args.input.display(),
        audio.channel_count(),
        rate,
        frames as f64 / rate as f64
    );

    let channels = match args.phase {
        PhaseSource::Input => resynth_input_phase(&audio)?,
        PhaseSource::GriffinLim => vec![resynth_griffin_lim(
            &audio,
            args.iterations.unwrap_or(100),
            args.variant,
        )?],
    };
    let result = AudioData {
        channels,
        sample_rate: rate,
    };
    write_wav(&args.output, &result)?;
    eprintln!(
        "wrote {} ({} ch, {} Hz) in {:.1} s",
        args.output.display(),
        result.channel_count(),
        rate,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The file's channels at the model rate.
fn to_model_rate(audio: &AudioData) -> Result<Vec<Vec<f32>>> {
    resample_channels(&audio.channels, audio.sample_rate, MODEL_SAMPLE_RATE).with_context(|| {
        format!(
            "cannot resample {} Hz to the model rate {MODEL_SAMPLE_RATE} Hz",
            audio.sample_rate
        )
    })
}

/// Back to the file's rate and exactly its length (resampling rounds the length up).
fn to_file_rate(signal: &[f32], rate: u32, frames: usize) -> Result<Vec<f32>> {
    let mut out = resample(signal, MODEL_SAMPLE_RATE, rate)
        .with_context(|| format!("cannot resample back to {rate} Hz"))?;
    out.resize(frames, 0.0);
    Ok(out)
}

fn resynth_input_phase(audio: &AudioData) -> Result<Vec<Vec<f32>>> {
    let mut stft = Stft::new(StftConfig::default());
    to_model_rate(audio)?
        .iter()
        .map(|channel| {
            let spectrogram = stft.analyse(channel);
            // The magnitude a model would replace; until the engine lands it is the input's own.
            let magnitude = spectrogram.magnitudes();
            let resynthesised = stft.synthesise(&with_input_phase(&magnitude, &spectrogram));
            to_file_rate(&resynthesised, audio.sample_rate, audio.frames())
        })
        .collect()
}

fn resynth_griffin_lim(audio: &AudioData, iterations: usize, variant: Variant) -> Result<Vec<f32>> {
    let mono = AudioData {
        channels: vec![audio.mono_mixdown()],
        sample_rate: audio.sample_rate,
    };
    let signal = to_model_rate(&mono)?.remove(0);
    let mut stft = Stft::new(StftConfig::default());
    let magnitude = stft.analyse(&signal).magnitudes();
    let gl = GriffinLim {
        iterations,
        variant: match variant {
            Variant::Fast => GriffinLimVariant::FAST,
            Variant::Standard => GriffinLimVariant::Standard,
        },
        initial_phase: InitialPhase::Random { seed: 0 },
    };
    // indicatif hides itself when stderr is not a terminal (CI, tests, pipes).
    let bar = ProgressBar::new(iterations as u64).with_style(
        ProgressStyle::with_template(
            "griffin-lim {bar:30} {pos}/{len} iterations  spectral convergence {msg}  eta {eta}",
        )
        .expect("static template is valid"),
    );
    let mut last = f32::NAN;
    let resynthesised = gl.run(&mut stft, &magnitude, signal.len(), |report| {
        last = report.spectral_convergence;
        bar.set_position(report.iteration as u64);
        bar.set_message(format!("{last:.4}"));
    });
    bar.finish_and_clear();
    eprintln!("griffin-lim: {iterations} iterations, spectral convergence {last:.4}");
    to_file_rate(&resynthesised, audio.sample_rate, audio.frames())
}
