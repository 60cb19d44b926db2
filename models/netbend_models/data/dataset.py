"""Build the training data: normalised dB spectrogram windows [N, 128, 513] split by track.

  python -m netbend_models.data.dataset --out data/ [--audio-dir DIR ...] [--drum-breaks N]

Without --audio-dir the music comes from the Debian packages supertuxkart-data and
wesnoth-1.16-music; with it, from the given folders (searched recursively), which is how an
artist trains on their own material. Drum breaks are sequenced from hydrogen-drumkits.
Output: {train,validation,test}.npy (float16 windows), {split}_track.npy (int32 index of
each window's track in split.json), split.json (tracks per split and settings), READY.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from ..cli import run_tool
from . import audio, drums

PACKAGE_MUSIC_DIRS = [
    Path("/usr/share/games/supertuxkart/data/music"),
    Path("/usr/share/games/wesnoth/1.16/data/core/music"),
]
AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3"}
# Tracks always held out of training: the committed test excerpt (tests/data/music_excerpt.flac)
# comes from hacienda.ogg, so the model must never have seen it.
ALWAYS_HELD_OUT = {"hacienda.ogg"}
# SuperTuxKart ships sped-up copies ("_fast", "farm_f") of some tracks: they are the same music,
# so they are grouped with their original and never straddle a split.
FAST_VARIANT = re.compile(r"(_fast|_f)$")
HELD_OUT_KIT = "rumpf_kit_z01_h2"  # also the kit of the committed test drum break
TRAIN_BPM = (80.0, 160.0)
HELD_OUT_BPM = (165.0, 180.0)
SPLITS = ("train", "validation", "test")


@dataclass
class Track:
    name: str  # unique id within the dataset
    group: str  # tracks of one group share a split
    source: str
    seconds: float
    split: str = "train"
    info: dict = field(default_factory=dict)
    windows: int = 0


def find_audio_files(dirs: list[Path]) -> list[Path]:
    files = []
    for d in dirs:
        if not d.is_dir():
            raise SystemExit(f"error: audio folder {d} does not exist")
        files += [p for p in sorted(d.rglob("*")) if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS]
    return files


def music_tracks(dirs: list[Path], skip_unreadable: bool) -> list[Track]:
    files = find_audio_files(dirs)
    if not files:
        raise SystemExit(f"error: no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))}) found in "
                         + ", ".join(str(d) for d in dirs))
    tracks, unreadable = [], []
    for f in files:
        try:
            info = sf.info(str(f))
        except Exception as exc:
            unreadable.append(f"{f}: {exc}")
            continue
        if info.frames == 0 or info.samplerate <= 0:
            unreadable.append(f"{f}: no samples")
            continue
        group = str(f.parent / FAST_VARIANT.sub("", f.stem))
        tracks.append(Track(str(f), group, "file", info.frames / info.samplerate,
                            info={"sample_rate": info.samplerate, "channels": info.channels}))
    if unreadable and not skip_unreadable:
        raise SystemExit("error: cannot read these audio files (fix or remove them, or pass "
                         "--skip-unreadable):\n  " + "\n  ".join(unreadable))
    for u in unreadable:
        print(f"warning: skipping unreadable audio file {u}", file=sys.stderr)
    if not tracks:
        raise SystemExit("error: none of the audio files found could be read")
    return tracks


def split_music(tracks: list[Track], rng: np.random.Generator, validation: float, test: float) -> None:
    """Assign whole groups of tracks to splits; ALWAYS_HELD_OUT groups go to test."""
    groups = sorted({t.group for t in tracks})
    forced = {t.group for t in tracks if Path(t.name).name in ALWAYS_HELD_OUT}
    free = [g for g in groups if g not in forced]
    order = [free[i] for i in rng.permutation(len(free))]
    n_test = max(round(test * len(groups)) - len(forced), 0 if forced else (1 if len(groups) >= 3 else 0))
    n_val = max(round(validation * len(groups)), 1 if len(groups) >= 3 else 0)
    test_groups = forced | set(order[:n_test])
    val_groups = set(order[n_test:n_test + n_val])
    for t in tracks:
        t.split = "test" if t.group in test_groups else "validation" if t.group in val_groups else "train"


def drum_break_plan(n: int, rng: np.random.Generator, kits: list[drums.Kit], validation: float,
                    test: float) -> list[Track]:
    """Breaks for train/validation use the training kits and tempi; test breaks use the held-out
    kit (any tempo) or a held-out tempo (any kit), so they are unlike anything in training."""
    train_kits = [k for k in kits if k.directory.name != HELD_OUT_KIT]
    held_kit = [k for k in kits if k.directory.name == HELD_OUT_KIT]
    if not train_kits:
        raise SystemExit("error: no usable Hydrogen drumkit found (install hydrogen-drumkits)")
    n_test = max(round(test * n), 2) if n >= 4 else 0
    n_val = max(round(validation * n), 1) if n >= 4 else 0
    plan = []
    for i in range(n):
        split = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
        if split == "test" and (i % 2 == 0) and held_kit:
            kit, bpm = held_kit[0], float(rng.uniform(*TRAIN_BPM))
        elif split == "test":
            kit, bpm = train_kits[int(rng.integers(len(train_kits)))], float(rng.uniform(*HELD_OUT_BPM))
        else:
            kit, bpm = train_kits[int(rng.integers(len(train_kits)))], float(rng.uniform(*TRAIN_BPM))
        bars = 4
        seconds = bars * 4 * 60.0 / bpm + 0.5
        plan.append(Track(f"drums/break_{i:04d}", f"drums/break_{i:04d}", "drums", seconds, split,
                          info={"kit": kit.directory.name, "bpm": round(bpm, 2), "bars": bars,
                                "seed": int(rng.integers(2**31))}))
    return plan


def frames_for(seconds: float) -> int:
    """STFT frame count of a signal of this length (docs/signal.md padding)."""
    n = int(round(seconds * audio.SAMPLE_RATE))
    return (audio.N_FFT - audio.HOP + n - 1) // audio.HOP + 1


def plan_windows(tracks: list[Track], seconds_per_track: float, stride: int) -> None:
    for t in tracks:
        usable = frames_for(min(t.seconds, seconds_per_track)) - audio.WINDOW_FRAMES
        t.windows = 0 if usable < 0 else usable // stride + 1


def track_signal(track: Track, kits: dict[str, drums.Kit], seconds_per_track: float,
                 rng: np.random.Generator) -> np.ndarray:
    if track.source == "drums":
        kit_rng = np.random.default_rng(track.info["seed"])
        signal, _, meta = drums.random_break(kits[track.info["kit"]], kit_rng, track.info["bpm"],
                                             bars=track.info["bars"])
        track.info.update(groove=meta["groove"], swing=meta["swing"])
        return signal
    signal = audio.load_audio(track.name)
    keep = int(seconds_per_track * audio.SAMPLE_RATE)
    if len(signal) > keep:  # a random excerpt of long tracks, so all tracks weigh about the same
        start = int(rng.integers(len(signal) - keep + 1))
        track.info["excerpt_start_seconds"] = round(start / audio.SAMPLE_RATE, 3)
        signal = signal[start:start + keep]
    return signal


def build(out: Path, audio_dirs: list[Path] | None, n_drum_breaks: int, seconds_per_track: float,
          stride: int, seed: int, validation: float, test: float, skip_unreadable: bool,
          kits_dir: Path = drums.HYDROGEN_KITS_DIR, progress: bool = True) -> dict:
    if stride < 1:
        raise SystemExit(f"error: --window-stride must be >= 1 frame, got {stride}")
    if seconds_per_track <= 0:
        raise SystemExit(f"error: --seconds-per-track must be > 0, got {seconds_per_track}")
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise SystemExit("error: --validation and --test must be fractions in [0, 1) summing below 1")
    rng = np.random.default_rng(seed)
    dirs = audio_dirs or [d for d in PACKAGE_MUSIC_DIRS if d.is_dir()]
    if not dirs:
        raise SystemExit("error: no --audio-dir given and no package music installed "
                         "(apt-get install supertuxkart-data wesnoth-1.16-music)")
    tracks = music_tracks(dirs, skip_unreadable)
    split_music(tracks, rng, validation, test)
    kit_list = drums.available_kits(kits_dir) if n_drum_breaks > 0 else []
    tracks += drum_break_plan(n_drum_breaks, rng, kit_list, validation, test) if n_drum_breaks else []
    kits = {k.directory.name: k for k in kit_list}
    plan_windows(tracks, seconds_per_track, stride)
    for t in tracks:
        if t.windows == 0:
            print(f"warning: {t.name} is shorter than one window ({t.seconds:.2f} s); left out", file=sys.stderr)

    out.mkdir(parents=True, exist_ok=True)
    (out / "READY").unlink(missing_ok=True)
    shape = (audio.WINDOW_FRAMES, audio.N_BINS)
    arrays, owners, filled = {}, {}, {}
    for split in SPLITS:
        total = sum(t.windows for t in tracks if t.split == split)
        arrays[split] = np.lib.format.open_memmap(out / f"{split}.npy", mode="w+", dtype=np.float16,
                                                  shape=(total, *shape))
        owners[split] = np.zeros(total, dtype=np.int32)
        filled[split] = 0
    per_split_index = {s: [t for t in tracks if t.split == s and t.windows] for s in SPLITS}
    bar = tqdm(total=sum(t.windows for t in tracks), unit="win", disable=not progress, desc="windows")
    for split in SPLITS:
        for index, t in enumerate(per_split_index[split]):
            bar.set_postfix_str(Path(t.name).name[:30])
            spec = audio.normalised_spectrogram(track_signal(t, kits, seconds_per_track, rng))
            starts = rng.integers(0, max(spec.shape[0] - audio.WINDOW_FRAMES, 0) + 1, size=t.windows) \
                if spec.shape[0] >= audio.WINDOW_FRAMES else np.array([], dtype=np.int64)
            windows = audio.cut_windows(spec, starts)
            if len(windows) < t.windows:  # decoded shorter than the header said: repeat-pad
                windows = np.concatenate([windows, np.zeros((t.windows - len(windows), *shape), np.float32)])
            a = filled[split]
            arrays[split][a:a + t.windows] = windows.astype(np.float16)
            owners[split][a:a + t.windows] = index
            filled[split] += t.windows
            bar.update(t.windows)
    bar.close()
    for split in SPLITS:
        arrays[split].flush()
        np.save(out / f"{split}_track.npy", owners[split])
    counts = {s: int(filled[s]) for s in SPLITS}
    summary = {
        "settings": {"seed": seed, "seconds_per_track": seconds_per_track, "window_stride_frames": stride,
                     "drum_breaks": n_drum_breaks, "audio_dirs": [str(d) for d in dirs],
                     "held_out_kit": HELD_OUT_KIT, "train_bpm": TRAIN_BPM, "held_out_bpm": HELD_OUT_BPM,
                     "always_held_out": sorted(ALWAYS_HELD_OUT), "dtype": "float16",
                     "window_shape": list(shape), "sample_rate": audio.SAMPLE_RATE, "n_fft": audio.N_FFT,
                     "hop": audio.HOP, "normalisation": audio.Normalisation().__dict__},
        "counts": counts,
        "tracks": {s: [{"name": t.name, "windows": t.windows, **t.info} for t in per_split_index[s]]
                   for s in SPLITS},
    }
    (out / "split.json").write_text(json.dumps(summary, indent=1))
    (out / "READY").write_text("".join(f"{s} {counts[s]}\n" for s in SPLITS))
    return summary


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="output folder (e.g. data/)")
    p.add_argument("--audio-dir", type=Path, action="append",
                   help="folder of your own audio (repeatable); default: the Debian package music")
    p.add_argument("--drum-breaks", type=int, default=300, help="number of sequenced 4-bar drum breaks")
    p.add_argument("--seconds-per-track", type=float, default=150.0, help="longest excerpt used per track")
    p.add_argument("--window-stride", type=int, default=64,
                   help="mean distance in frames between random window starts (128 = no overlap)")
    p.add_argument("--validation", type=float, default=0.1, help="share of tracks for validation")
    p.add_argument("--test", type=float, default=0.1, help="share of tracks held out for testing")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-unreadable", action="store_true", help="warn about unreadable files instead of stopping")
    a = p.parse_args(argv)
    if a.drum_breaks < 0:
        p.error(f"--drum-breaks must be >= 0, got {a.drum_breaks}")
    summary = build(a.out, a.audio_dir, a.drum_breaks, a.seconds_per_track, a.window_stride, a.seed,
                    a.validation, a.test, a.skip_unreadable)
    c = summary["counts"]
    print(f"wrote {a.out}: train {c['train']}, validation {c['validation']}, test {c['test']} windows")


if __name__ == "__main__":
    run_tool(main)
