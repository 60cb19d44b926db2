"""Regenerate the committed test audio in tests/data/ (deterministic).

  drum_break.flac     mono 44.1 kHz 16-bit: 2 bars of a funk break at 120 BPM, rumpf_kit_z01 kit
  music_excerpt.flac  stereo 44.1 kHz 16-bit: 4.0 s of SuperTuxKart's "Hacienda" (held out of training)

Run from models/:  ../.venv/bin/python scripts/make_test_audio.py
"""
from __future__ import annotations

import sys
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from netbend_models.data import drums  # noqa: E402
from netbend_models.data.audio import SAMPLE_RATE  # noqa: E402

OUT_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"
DRUM_KIT = drums.HYDROGEN_KITS_DIR / "rumpf_kit_z01_h2"
MUSIC_FILE = Path("/usr/share/games/supertuxkart/data/music/hacienda.ogg")
MUSIC_START_SECONDS = 30.0
MUSIC_SECONDS = 4.0
SEED = 20261124


def make_drum_break(path: Path) -> None:
    rng = np.random.default_rng(SEED)
    kit = drums.load_kit(DRUM_KIT)
    bars = [drums.vary_pattern(drums.BASE_GROOVES["funk"], rng) for _ in range(2)]
    audio, hits = drums.render(kit, bars, bpm=120.0, swing=0.1, tail_seconds=0.3, peak=0.89)
    sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
    print(f"{path.name}: {len(audio) / SAMPLE_RATE:.2f} s, {len(hits)} hits")


def make_music_excerpt(path: Path) -> None:
    data, rate = sf.read(MUSIC_FILE, dtype="float64", always_2d=True)
    start = int(MUSIC_START_SECONDS * rate)
    excerpt = data[start:start + int(MUSIC_SECONDS * rate)]
    if rate != SAMPLE_RATE:
        g = gcd(rate, SAMPLE_RATE)
        excerpt = resample_poly(excerpt, SAMPLE_RATE // g, rate // g, axis=0)
    fade = int(0.01 * SAMPLE_RATE)  # 10 ms fades so the cut does not click
    ramp = np.linspace(0.0, 1.0, fade)[:, None]
    excerpt[:fade] *= ramp
    excerpt[-fade:] *= ramp[::-1]
    # Scale to a -1 dBFS peak: the source is mastered to full scale and would clip at 16 bits.
    excerpt *= 0.89 / max(np.max(np.abs(excerpt)), 1e-9)
    if excerpt.shape[1] == 1:
        excerpt = np.repeat(excerpt, 2, axis=1)
    sf.write(path, np.clip(excerpt[:, :2], -1, 1).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    print(f"{path.name}: {len(excerpt) / SAMPLE_RATE:.2f} s from {MUSIC_FILE.name} at {MUSIC_START_SECONDS} s")


if __name__ == "__main__":
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    make_drum_break(OUT_DIR / "drum_break.flac")
    make_music_excerpt(OUT_DIR / "music_excerpt.flac")
