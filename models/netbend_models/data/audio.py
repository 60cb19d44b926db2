"""Audio I/O and the spectrogram conventions of docs/signal.md (the Python reference)."""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SAMPLE_RATE = 44_100
N_FFT = 1024
HOP = 256
N_BINS = N_FFT // 2 + 1
WINDOW_FRAMES = 128


@dataclass(frozen=True)
class Normalisation:
    """The manifest's `normalisation` object (kind "db-minmax")."""

    amin: float = 1e-4
    db_min: float = -80.0
    db_max: float = 50.0
    kind: str = "db-minmax"

    def __post_init__(self):
        if self.kind != "db-minmax":
            raise ValueError(f"normalisation kind must be 'db-minmax', got {self.kind!r}")
        if not self.amin > 0:
            raise ValueError(f"normalisation amin must be > 0, got {self.amin}")
        if not self.db_max > self.db_min:
            raise ValueError(f"normalisation needs db_max > db_min, got {self.db_min}..{self.db_max}")


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read any soundfile-readable file (WAV/FLAC/OGG), mix to mono float32, resample."""
    path = Path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types; name the file in every case
        raise ValueError(f"cannot read audio file {path}: {exc}") from exc
    if data.shape[0] == 0:
        raise ValueError(f"audio file {path} contains no samples")
    return resample(data.mean(axis=1), rate, sample_rate)


def resample(signal: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (scipy) by the reduced integer ratio rate_out / rate_in."""
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
    if rate_in == rate_out:
        return np.asarray(signal, dtype=np.float32)
    g = gcd(int(rate_in), int(rate_out))
    return resample_poly(signal, rate_out // g, rate_in // g, axis=0).astype(np.float32)


def hann_window(n_fft: int = N_FFT) -> np.ndarray:
    """Periodic Hann: w[n] = 0.5 - 0.5 cos(2 pi n / N)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)


def pad_for_analysis(signal: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Pad n_fft - hop zeros before and enough after that every sample lies in n_fft/hop frames."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"expected a mono 1-D signal, got shape {signal.shape}")
    front = n_fft - hop
    # Frames needed so the frame starting at the last sample's position exists.
    n_frames = (front + len(signal) - 1) // hop + 1 if len(signal) else 0
    total = (n_frames - 1) * hop + n_fft if n_frames else 0
    return np.concatenate([np.zeros(front), signal, np.zeros(max(total - front - len(signal), 0))])


def stft(signal: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Complex STFT [frames, n_fft/2+1] of the padded signal (NumPy rfft, unnormalised)."""
    padded = pad_for_analysis(signal, n_fft, hop)
    n_frames = (len(padded) - n_fft) // hop + 1 if len(padded) >= n_fft else 0
    if n_frames == 0:
        return np.zeros((0, n_fft // 2 + 1), dtype=np.complex128)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    return np.fft.rfft(frames * hann_window(n_fft), axis=1)


def magnitude_db(magnitude: np.ndarray, norm: Normalisation = Normalisation()) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(magnitude, norm.amin))


def normalise(magnitude: np.ndarray, norm: Normalisation = Normalisation()) -> np.ndarray:
    """|X| -> v in [0, 1] (db-minmax)."""
    db = magnitude_db(magnitude, norm)
    return np.clip((db - norm.db_min) / (norm.db_max - norm.db_min), 0.0, 1.0)


def denormalise(values: np.ndarray, norm: Normalisation = Normalisation()) -> np.ndarray:
    """v -> |X| = 10^((db_min + v (db_max - db_min)) / 20)."""
    return 10.0 ** ((norm.db_min + np.asarray(values, dtype=np.float64) * (norm.db_max - norm.db_min)) / 20.0)


def normalised_spectrogram(signal: np.ndarray, norm: Normalisation = Normalisation()) -> np.ndarray:
    """Mono 44.1 kHz signal -> normalised [frames, 513] float32."""
    return normalise(np.abs(stft(signal)), norm).astype(np.float32)


def cut_windows(spec: np.ndarray, starts, frames: int = WINDOW_FRAMES) -> np.ndarray:
    """Cut [len(starts), frames, bins] windows from a [time, bins] spectrogram."""
    starts = np.asarray(list(starts), dtype=np.int64)
    if spec.ndim != 2:
        raise ValueError(f"spectrogram must be [time, bins], got shape {spec.shape}")
    if len(starts) and (starts.min() < 0 or starts.max() + frames > spec.shape[0]):
        raise ValueError(
            f"window starts must lie in [0, {spec.shape[0] - frames}] for {spec.shape[0]} frames")
    if len(starts) == 0:
        return np.zeros((0, frames, spec.shape[1]), dtype=spec.dtype)
    return np.stack([spec[s:s + frames] for s in starts])
