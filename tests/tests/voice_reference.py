"""Independent NumPy reference of `netbend render --voice v` (docs/signal.md, "Voice"), mono at
44.1 kHz: the input's STFT X (netbend_models.data.audio), the per-bin gain
g = (1 - v) B / max(|X|, amin) + v clip(B / N, 10^(-60/20), 10^(40/20)), the weighted overlap-add
inverse of g X (synthesis window w / 1.5), the analysis padding removed, then the output stage
(5 Hz DC blocker from rest, soft limiter above 0.9). B and N are the magnitudes `netbend render
--dump-magnitude` wrote at voice 0 with the bend and without it (the neutral decode of the same
windows); without N (argument "-") the ratio is 1. Compares with the rendered WAV and prints the
relative L2 difference, the share of bins held at each bound and the output's RMS difference
from the voice-0 formula; exits 1 above `tolerance`.

argv: audio_file bent.f32 neutral.f32|- voice rendered.wav tolerance
"""
import sys

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from netbend_models.data.audio import HOP, N_BINS, N_FFT, hann_window, stft

audio_path, bent_path, neutral_path, voice, rendered_path, tolerance = sys.argv[1:7]
voice, tolerance = float(voice), float(tolerance)
signal, rate = sf.read(audio_path, dtype="float64", always_2d=True)
assert rate == 44_100 and signal.shape[1] == 1, (rate, signal.shape)
x = signal[:, 0]
X = stft(x)
T = X.shape[0]
B = np.fromfile(bent_path, dtype="<f4").astype(np.float64).reshape(T, N_BINS)
amin = 1e-4
lo, hi = 10.0 ** (-60 / 20), 10.0 ** (40 / 20)
if neutral_path == "-":
    ratio = np.ones_like(B)
    held_low = held_high = 0.0
else:
    N = np.fromfile(neutral_path, dtype="<f4").astype(np.float64).reshape(T, N_BINS)
    raw = B / N
    held_low, held_high = np.mean(raw < lo), np.mean(raw > hi)
    ratio = np.clip(raw, lo, hi)
model_gain = B / np.maximum(np.abs(X), amin)
gain = (1 - voice) * model_gain + voice * ratio


def istft(spectrum):
    """Weighted overlap-add of the frames, synthesis window w / sum_m w^2 = w / 1.5."""
    frames = np.fft.irfft(spectrum, n=N_FFT, axis=1) * (hann_window() / 1.5)
    out = np.zeros((T - 1) * HOP + N_FFT)
    for m in range(T):
        out[m * HOP:m * HOP + N_FFT] += frames[m]
    front = N_FFT - HOP
    return out[front:front + len(x)]


def output_stage(y):
    r = 1 - 2 * np.pi * 5 / rate
    y = lfilter([1, -1], [1, -r], y)
    a = np.abs(y)
    return np.where(a <= 0.9, y, np.sign(y) * (0.9 + 0.1 * np.tanh((a - 0.9) / 0.1)))


expected = output_stage(istft(gain * X))
rendered, rendered_rate = sf.read(rendered_path, dtype="float64", always_2d=True)
assert rendered_rate == rate and rendered.shape == signal.shape, rendered.shape
got = rendered[:, 0]
rel = np.linalg.norm(got - expected) / np.linalg.norm(expected)
voice0 = output_stage(istft(model_gain * X))
apart = np.linalg.norm(got - voice0) / np.linalg.norm(voice0)
print(
    f"voice {voice}: relative L2 {rel:.3e} (tolerance {tolerance:.0e}); bins held at -60 dB "
    f"{held_low:.2%}, at +40 dB {held_high:.2%}; {apart:.3f} apart from voice 0"
)
sys.exit(0 if rel <= tolerance else 1)
