//! Netbend signal processing (no ML): STFT/ISTFT, the streaming framer, resynthesis,
//! resampling, audio file I/O, and what the plugin and the offline renderer share after the
//! model: linked stereo ([`stereo_link`]), the voice ([`voice`]) and the output stage ([`output_stage`]).
//!
//! Everything here follows `docs/signal.md` (periodic Hann 1024, hop 256, 513 bins, the analysis
//! padding and the db-minmax normalisation); the Python reference of the same conventions is
//! `models/netbend_models/data/audio.py`, and the tests compare against NumPy/SciPy.
//!
//! Hot-path types ([`StreamingFramer`], [`StreamingResampler`]) allocate only in their
//! constructors. Offline helpers ([`Stft`], [`griffin_lim`], [`resample`], [`audio_file`])
//! allocate freely.

pub mod audio_file;
mod audio_format;
pub mod colour_map;
pub mod cross_fade;
pub mod framer;
pub mod normalisation;
pub mod output_stage;
pub mod resample;
pub mod resynth;
pub mod silence_gate;
pub mod stereo_link;
pub mod stft;
pub mod stream_windows;
pub mod voice;
pub mod windowing;

pub use audio_file::{AudioData, AudioFileError, read_audio, write_wav};
pub use cross_fade::{cross_fade, sin2_fade_in};
pub use framer::{Frame, StreamingFramer};
pub use normalisation::Normalisation;
pub use realfft::num_complex::Complex32;
pub use resample::{ResampleError, StreamingResampler, resample, resample_channels};
pub use resynth::{
    GriffinLim, GriffinLimReport, GriffinLimVariant, InitialPhase, apply_magnitude,
    spectral_convergence, with_input_phase,
};
pub use stft::{Spectrogram, Stft, StftConfig, StreamingSynthesis};
pub use stream_windows::{FrameSources, LayoutMode, StreamSchedule};
pub use windowing::WindowLayout;

/// The model's sample rate (docs/signal.md): every other rate is resampled to it.
pub const MODEL_SAMPLE_RATE: u32 = 44_100;
/// FFT size and analysis window length.
pub const N_FFT: usize = 1024;
/// Hop between frames (75 % overlap).
pub const HOP: usize = 256;
/// Frequency bins per frame, `N_FFT / 2 + 1`.
pub const N_BINS: usize = N_FFT / 2 + 1;
/// Frames in one model window (`[128, 513]`).
pub const WINDOW_FRAMES: usize = 128;
