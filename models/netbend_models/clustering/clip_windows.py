"""A clip's windows as `netbend render` cuts them (the per-clip clusters' step 1, clip_clusters.py):
STFT and db-minmax normalisation (data/audio.py); windows of `window` frames every window / 2
frames, window / 2 frames of the normalised value of silence in front and as many at the end as
make every frame lie in exactly two windows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from ..data.audio import SAMPLE_RATE, Normalisation, normalise, resample, stft


def clip_windows(signal: np.ndarray, norm: Normalisation, window: int) -> np.ndarray:
    """Mono 44.1 kHz signal -> normalised windows [count, window, 513] float32."""
    spec = normalise(np.abs(stft(signal)), norm).astype(np.float32)
    frames, bins = spec.shape
    if frames == 0:
        raise ValueError("the clip has no samples")
    hop = window // 2
    count = (frames + hop - 1) // hop + 1
    pad = np.float32(normalise(np.zeros(1), norm)[0])
    padded = np.full(((count - 1) * hop + window, bins), pad, dtype=np.float32)
    padded[hop:hop + frames] = spec
    return np.stack([padded[k * hop:k * hop + window] for k in range(count)])


def read_mono(path: Path) -> np.ndarray:
    """An audio file as float32, mixed to mono (mean of the channels), resampled to 44.1 kHz."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if data.shape[0] == 0:
        raise ValueError(f"{path}: no samples")
    return resample(data.mean(axis=1), rate, SAMPLE_RATE)
