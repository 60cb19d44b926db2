//! The dsp crate against independent references: NumPy/SciPy STFT framing, soundfile decoding,
//! scipy.signal.resample_poly, and the Python model tooling's normalisation (models/).

mod common;

use common::noise;
use dsp::{Normalisation, Stft, StftConfig, read_audio, resample};
use netbend_test_support::{
    max_abs_diff, read_raw, relative_l2, run_python, test_data, workspace_root, write_raw,
};

/// NumPy STFT of raw f32 input with docs/signal.md framing, written as f64 (re, im) pairs.
const NUMPY_STFT: &str = r#"
import sys, numpy as np
from scipy.signal import get_window
x = np.fromfile(sys.argv[1], dtype=np.float32).astype(np.float64)
n_fft, hop = 1024, 256
front = n_fft - hop
n_frames = (front + len(x) - 1) // hop + 1
total = (n_frames - 1) * hop + n_fft
padded = np.concatenate([np.zeros(front), x, np.zeros(total - front - len(x))])
w = get_window("hann", n_fft)  # periodic Hann
frames = np.stack([padded[m * hop:m * hop + n_fft] * w for m in range(n_frames)])
X = np.fft.rfft(frames, axis=1)
np.stack([X.real, X.imag], axis=-1).astype(np.float64).tofile(sys.argv[2])
"#;

/// `max |X - X_ref| / max |X_ref|` of our STFT of `signal` against `script`'s, which reads the
/// signal (raw f32, `argv[1]`) and writes its frames as f64 (re, im) pairs (`argv[2]`).
fn stft_error_against(script: &str, signal: &[f32], label: &str) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("x.f32"), dir.path().join("X.f64"));
    write_raw(&input, signal);
    run_python(script, [&input, &output]);
    let reference = read_raw::<f64>(&output);
    let spec = Stft::new(StftConfig::default()).analyse(signal);
    assert_eq!(
        reference.len(),
        spec.data().len() * 2,
        "{label}: frame count differs from the reference"
    );
    let peak = reference
        .chunks_exact(2)
        .map(|c| c[0].hypot(c[1]))
        .fold(0.0, f64::max);
    let max_err = reference
        .chunks_exact(2)
        .zip(spec.data())
        .map(|(r, x)| (r[0] - x.re as f64).hypot(r[1] - x.im as f64))
        .fold(0.0, f64::max);
    max_err / peak
}

fn compare_with_numpy(signal: &[f32], label: &str) {
    let error = stft_error_against(NUMPY_STFT, signal, label);
    println!("{label}: max |X - X_numpy| / max |X_numpy| = {error:.2e}");
    assert!(error < 1e-5, "{label}: relative error {error:.2e}");
}

#[test]
fn stft_matches_numpy_rfft_framing_on_music_and_noise() {
    let music = read_audio(test_data("music_excerpt.flac")).unwrap();
    compare_with_numpy(&music.channels[0], "music (left)");
    compare_with_numpy(&noise(10_000, 7), "noise");
    compare_with_numpy(&noise(300, 9), "short noise");
}

#[test]
fn stft_matches_scipy_signal_stft() {
    // scipy.signal.stft scales by 1/sum(w) and pads n_fft/2 each side by default; with
    // boundary=None, padded=False and our own 768-sample front padding it frames exactly like
    // docs/signal.md. Undo its scaling and compare the frames it returns.
    const SCIPY_STFT: &str = r#"
import sys, numpy as np
from scipy.signal import stft, get_window
x = np.fromfile(sys.argv[1], dtype=np.float32).astype(np.float64)
n_fft, hop = 1024, 256
front = n_fft - hop
n_frames = (front + len(x) - 1) // hop + 1
total = (n_frames - 1) * hop + n_fft
padded = np.concatenate([np.zeros(front), x, np.zeros(total - front - len(x))])
w = get_window("hann", n_fft)
_, _, Z = stft(padded, window=w, nperseg=n_fft, noverlap=n_fft - hop, boundary=None, padded=False, detrend=False)
Z = Z.T * w.sum()
np.stack([Z.real, Z.imag], axis=-1).astype(np.float64).tofile(sys.argv[2])
"#;
    let error = stft_error_against(SCIPY_STFT, &noise(12_345, 3), "scipy.signal.stft");
    println!("scipy.signal.stft: relative max error {error:.2e}");
    assert!(error < 1e-5);
}

#[test]
fn normalised_spectrogram_matches_the_python_model_tooling() {
    // models/netbend_models/data/audio.py is the Python side of the same convention: both must give
    // the model the same values.
    const PY_NORMALISE: &str = r#"
import sys
sys.path.insert(0, sys.argv[3])
import numpy as np
from netbend_models.data.audio import normalised_spectrogram, Normalisation
x = np.fromfile(sys.argv[1], dtype=np.float32)
norm = Normalisation(amin=1e-3, db_min=-60.0, db_max=40.0)
normalised_spectrogram(x, norm).astype(np.float32).tofile(sys.argv[2])
"#;
    let music = read_audio(test_data("music_excerpt.flac")).unwrap();
    let signal = &music.channels[1];
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("x.f32"), dir.path().join("v.f32"));
    write_raw(&input, signal);
    let models = workspace_root().join("models");
    run_python(PY_NORMALISE, [&input, &output, &models]);
    let reference = read_raw::<f32>(&output);
    let norm = Normalisation::new(1e-3, -60.0, 40.0).unwrap();
    let magnitudes = Stft::new(StftConfig::default())
        .analyse(signal)
        .magnitudes();
    let mut values = vec![0.0; magnitudes.len()];
    norm.normalise_slice(&magnitudes, &mut values);
    assert_eq!(values.len(), reference.len());
    let err = max_abs_diff(&values, &reference);
    println!("normalised values: max abs difference {err:.2e}");
    // Bins near the amin floor differ most: f32 vs f64 FFT of a value 1e-3 of the peak.
    // 0.065 dB: bins near the floor carry the f32 FFT's absolute error (~1e-7 of the peak).
    assert!(err < 5e-4, "max abs difference {err}");
}

#[test]
fn reader_matches_soundfile_on_the_committed_flacs() {
    const SOUNDFILE: &str = r#"
import sys, soundfile as sf, numpy as np
data, rate = sf.read(sys.argv[1], dtype="float32", always_2d=True)
np.array([rate, data.shape[1]], dtype=np.float32).tofile(sys.argv[2])
data.T.astype(np.float32).tofile(sys.argv[3])
"#;
    for name in ["drum_break.flac", "music_excerpt.flac"] {
        let dir = tempfile::tempdir().unwrap();
        let (meta, samples) = (dir.path().join("meta"), dir.path().join("samples"));
        let path = test_data(name);
        run_python(SOUNDFILE, [&path, &meta, &samples]);
        let meta = read_raw::<f32>(&meta);
        let reference = read_raw::<f32>(&samples);
        let audio = read_audio(&path).unwrap();
        assert_eq!(audio.sample_rate, meta[0] as u32, "{name}: rate");
        assert_eq!(audio.channel_count(), meta[1] as usize, "{name}: channels");
        let ours: Vec<f32> = audio.channels.concat();
        assert_eq!(ours.len(), reference.len(), "{name}: sample count");
        let err = max_abs_diff(&ours, &reference);
        println!(
            "{name}: {} ch, {} frames, max abs difference to soundfile {err:e}",
            audio.channel_count(),
            audio.frames()
        );
        // Both decode 16-bit FLAC as i16 / 32768: identical.
        assert!(err <= 1e-7, "{name}: {err}");
    }
}

#[test]
fn whole_signal_resampling_matches_scipy_resample_poly() {
    // Band-limited content (the music excerpt low-passed well below both Nyquists by SciPy), so
    // that the two resamplers' different anti-aliasing filters do not matter; what is compared is
    // the interpolation and the alignment (rubato's delay must be trimmed).
    const POLY: &str = r#"
import sys, numpy as np
from math import gcd
from scipy.signal import resample_poly, butter, sosfiltfilt
x = np.fromfile(sys.argv[1], dtype=np.float32).astype(np.float64)
rate_in, rate_out = int(sys.argv[3]), int(sys.argv[4])
sos = butter(8, 8000, fs=rate_in, output="sos")
x = sosfiltfilt(sos, x)
x.astype(np.float32).tofile(sys.argv[1])
g = gcd(rate_in, rate_out)
resample_poly(x, rate_out // g, rate_in // g).astype(np.float32).tofile(sys.argv[2])
"#;
    let music = read_audio(test_data("music_excerpt.flac")).unwrap();
    let signal = &music.channels[0];
    for (rate_in, rate_out) in [
        (44_100u32, 48_000u32),
        (48_000, 44_100),
        (44_100, 22_050),
        (96_000, 44_100),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("x.f32"), dir.path().join("y.f32"));
        write_raw(&input, signal);
        let (a, b) = (rate_in.to_string(), rate_out.to_string());
        run_python(
            POLY,
            [
                input.as_os_str(),
                output.as_os_str(),
                a.as_ref(),
                b.as_ref(),
            ],
        );
        let filtered = read_raw::<f32>(&input);
        let reference = read_raw::<f32>(&output);
        let ours = resample(&filtered, rate_in, rate_out).unwrap();
        let n = reference.len().min(ours.len());
        assert!(
            ours.len().abs_diff(reference.len()) <= 1,
            "{rate_in}->{rate_out}: {} vs {}",
            ours.len(),
            reference.len()
        );
        // Skip the edges, where the two filters see different zero padding.
        let edge = 2000;
        let err = relative_l2(&reference[edge..n - edge], &ours[edge..n - edge]);
        println!("{rate_in} -> {rate_out}: relative L2 difference to resample_poly {err:.2e}");
        // Measured 4.6e-4 to 6.0e-4.
        assert!(err < 2e-3, "{rate_in}->{rate_out}: relative L2 {err:.2e}");
    }
}

#[test]
fn reader_decodes_ogg_vorbis_mp3_and_wav_like_soundfile() {
    // soundfile (libsndfile: libvorbis, mpg123) encodes two seconds of the music excerpt and
    // decodes its own files; our symphonia decoding of the same files must agree.
    const ENCODE: &str = r#"
import sys, soundfile as sf, numpy as np
data, rate = sf.read(sys.argv[1], dtype="float32", always_2d=True)
data = data[: 2 * rate]
out = sys.argv[2]
for name, fmt, sub, channels in [("vorbis.ogg", "OGG", "VORBIS", 2), ("mono.mp3", "MP3", "MPEG_LAYER_III", 1),
                                 ("stereo.mp3", "MP3", "MPEG_LAYER_III", 2), ("pcm16.wav", "WAV", "PCM_16", 2)]:
    path = out + "/" + name
    sf.write(path, data[:, :channels], rate, format=fmt, subtype=sub)
    decoded, r = sf.read(path, dtype="float32", always_2d=True)
    decoded.T.astype(np.float32).tofile(path + ".f32")
"#;
    let dir = tempfile::tempdir().unwrap();
    run_python(
        ENCODE,
        [test_data("music_excerpt.flac").as_path(), dir.path()],
    );
    for (name, channels, tolerance) in [
        // Measured: 1.8e-7 (Vorbis), 5.0e-7 and 5.2e-7 (MP3), exact (PCM).
        ("vorbis.ogg", 2, 1e-5),
        ("mono.mp3", 1, 1e-5),
        ("stereo.mp3", 2, 1e-5),
        ("pcm16.wav", 2, 0.0),
    ] {
        let path = dir.path().join(name);
        let audio = read_audio(&path).unwrap();
        assert_eq!(
            (audio.sample_rate, audio.channel_count()),
            (44_100, channels),
            "{name}"
        );
        let reference = read_raw::<f32>(&dir.path().join(format!("{name}.f32")));
        let ref_frames = reference.len() / channels;
        // Both decoders remove the codecs' priming/padding, so the lengths agree exactly.
        assert_eq!(audio.frames(), ref_frames, "{name}: frame count");
        let n = ref_frames;
        let mut worst = 0.0f64;
        for c in 0..channels {
            let err = relative_l2(
                &reference[c * ref_frames..c * ref_frames + n],
                &audio.channels[c][..n],
            );
            worst = worst.max(err);
        }
        println!("{name}: relative L2 difference to soundfile {worst:.2e}");
        assert!(worst <= tolerance, "{name}: {worst:.2e} > {tolerance:e}");
    }
}
