"""Reconstruction quality as a producer hears it: neutral `netbend render` of whole clips.

  python -m netbend_models.vae.quality clips --data data/ --out runs/heldout-clips/   # held-out test clips
  python -m netbend_models.vae.quality score --model vae/ --clips runs/heldout-clips/ \
      [--clips DIR ...] [--netbend ../target/release/netbend] [--json out.json] [--keep DIR] \
      [--no-silence-gate]

`score` renders every clip of each `--clips` folder through the real renderer (input phase, no
bend, its output stage; `--no-silence-gate` passes the model's output through where the input is
digital silence) and scores the output against the input on STFT magnitudes (periodic Hann 1024, hop 256),
per kind of material: a folder's subfolders are the kinds (`drums/`, `music/`, ...), the clips
in them any file `netbend render` reads. Per clip (then averaged over the clips of a kind):
- spectral convergence  SC  = ||X - Y||_F / ||X||_F  (magnitudes; the loud bins dominate);
- log-spectral distance LSD = mean over frames of the RMS over bins of
  20 log10((|X| + 1e-5) / (|Y| + 1e-5)), dB (every bin counts);
- onset correlation: Pearson correlation over frames of the onset envelopes, the sum over bins of
  the positive frame-to-frame increase of 20 log10(|X| + 1e-5) (do the hits survive?).
The floor is each clip's own mean spectrum in every frame (no timing at all): a model that scores
no better than it has learnt nothing about the clip. Its onset envelope is constant, so its onset
correlation is 0 by definition.

`clips` writes the dataset's held-out test split as clips: each test music track's middle 20 s
and each held-out drum break re-sequenced from its recorded kit, tempo and seed, all mono.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from ..cli import run_tool
from ..data import audio, drums

EPS = 1e-5
AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"}
DEFAULT_NETBEND = Path(__file__).resolve().parents[3] / "target" / "release" / "netbend"


def magnitudes(signal: np.ndarray) -> np.ndarray:
    """|STFT| [frames, bins] of a mono signal (docs/signal.md framing)."""
    return np.abs(audio.stft(signal.astype(np.float64)))


def onset_envelope(mag: np.ndarray) -> np.ndarray:
    db = 20.0 * np.log10(mag + EPS)
    return np.maximum(np.diff(db, axis=0), 0.0).sum(axis=1)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def clip_scores(reference: np.ndarray, estimate: np.ndarray) -> dict:
    """SC, LSD and onset correlation of estimate against reference, magnitudes [frames, bins]."""
    sc = float(np.linalg.norm(reference - estimate) / np.linalg.norm(reference))
    diff_db = 20.0 * np.log10((reference + EPS) / (estimate + EPS))
    lsd = float(np.mean(np.sqrt(np.mean(diff_db ** 2, axis=1))))
    return {"sc": sc, "lsd_db": lsd, "onset_r": pearson(onset_envelope(reference), onset_envelope(estimate))}


def silence_scores(reference: np.ndarray, estimate: np.ndarray) -> dict:
    """Where a clip has digital silence (frames whose every bin is exactly 0, as between the hits
    of a sequenced break), a hit that follows it rises from the 1e-5 floor (-100 dB) in the input,
    and from whatever the resynthesis leaks there in the output: the onset score of such clips
    weighs those frames most. `silent_share` is the share of such frames in the reference and
    `onset_r_sounding` the onset correlation over the frame pairs where both input frames have
    sound (equal to onset_r for a clip without digital silence)."""
    sounding = reference.max(axis=1) > 0
    pairs = sounding[1:] & sounding[:-1]
    r = pearson(onset_envelope(reference)[pairs], onset_envelope(estimate)[pairs]) if pairs.sum() > 1 else 0.0
    return {"silent_share": float(1.0 - sounding.mean()) if len(sounding) else 0.0, "onset_r_sounding": r}


def floor_scores(reference: np.ndarray) -> dict:
    """The clip's own mean spectrum in every frame."""
    mean = np.broadcast_to(reference.mean(axis=0), reference.shape)
    scores = clip_scores(reference, mean)
    scores["onset_r"] = 0.0  # a constant envelope correlates with nothing
    return scores


def render_neutral(netbend: Path, model: Path, clip: Path, out: Path, silence_gate: bool = True) -> None:
    cmd = [str(netbend), "render", "--in", str(clip), "--out", str(out), "--model", str(model), "--threads", "1"]
    if not silence_gate:
        cmd.append("--no-silence-gate")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr.strip()}")


def find_clips(folder: Path) -> dict[str, list[Path]]:
    kinds = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(p for p in sub.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
        if files:
            kinds[sub.name] = files
    if not kinds:
        raise SystemExit(f"error: {folder} has no kind subfolders with audio (expected e.g. drums/, music/)")
    return kinds


def score(model: Path, folders: list[Path], netbend: Path, keep: Path | None = None, progress: bool = True,
          silence_gate: bool = True) -> dict:
    """{folder name: {kind: {"clips": n, "model": means, "floor": means, "per_clip": [...]}}}."""
    if not netbend.is_file():
        raise SystemExit(f"error: {netbend} does not exist; build it with `cargo build --release -p netbend-cli` "
                         "or pass --netbend")
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            rows = {}
            for kind, clips in find_clips(folder).items():
                per_clip = []
                for clip in tqdm(clips, desc=f"{folder.name}/{kind}", disable=not progress):
                    out = (keep / folder.name / kind if keep else Path(tmp)) / f"{clip.stem}.wav"
                    out.parent.mkdir(parents=True, exist_ok=True)
                    render_neutral(netbend, model, clip, out, silence_gate)
                    x, y = audio.load_audio(clip), audio.load_audio(out)
                    n = min(len(x), len(y))
                    reference, estimate = magnitudes(x[:n]), magnitudes(y[:n])
                    per_clip.append({"clip": clip.name, "seconds": round(n / audio.SAMPLE_RATE, 2),
                                     "model": clip_scores(reference, estimate), "floor": floor_scores(reference),
                                     "silence": silence_scores(reference, estimate)})
                rows[kind] = {"clips": len(per_clip), "per_clip": per_clip,
                              **{side: {m: float(np.mean([c[side][m] for c in per_clip]))
                                        for m in ("sc", "lsd_db", "onset_r")} for side in ("model", "floor")},
                              "silence": {m: float(np.mean([c["silence"][m] for c in per_clip]))
                                          for m in ("silent_share", "onset_r_sounding")}}
            result[folder.name] = rows
    return result


def markdown_table(result: dict) -> str:
    lines = ["| clips | kind | n | SC | LSD (dB) | onset r | floor SC | floor LSD (dB) | silent frames | "
             "onset r, sounding frames |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for folder, rows in result.items():
        for kind, r in rows.items():
            m, f, s = r["model"], r["floor"], r["silence"]
            lines.append(f"| {folder} | {kind} | {r['clips']} | {m['sc']:.3f} | {m['lsd_db']:.2f} | "
                         f"{m['onset_r']:.3f} | {f['sc']:.3f} | {f['lsd_db']:.2f} | "
                         f"{100 * s['silent_share']:.1f} % | {s['onset_r_sounding']:.3f} |")
    return "\n".join(lines)


def middle(signal: np.ndarray, seconds: float) -> np.ndarray:
    keep = int(seconds * audio.SAMPLE_RATE)
    if len(signal) <= keep:
        return signal
    start = (len(signal) - keep) // 2
    return signal[start:start + keep]


def write_excerpts(source: Path, out: Path, seconds: float = 20.0, max_files: int = 0) -> int:
    """The middle `seconds` of every audio file under source (any format soundfile reads, Opus
    included), mono FLAC in out/: for recordings `netbend render` cannot read as they are."""
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS | {".opus"})
    if max_files:
        files = files[:max_files]
    for f in tqdm(files, desc=f"excerpts of {source}"):
        sf.write(out / f"{f.stem}.flac", middle(audio.load_audio(f), seconds), audio.SAMPLE_RATE, subtype="PCM_24")
    return len(files)


def write_heldout_clips(data: Path, out: Path, seconds: float = 20.0,
                        kits_dir: Path = drums.HYDROGEN_KITS_DIR) -> dict[str, int]:
    """The dataset's test split as mono clips in out/{music,drums}/ (see the module docstring)."""
    split = json.loads((data / "split.json").read_text())
    tracks = split["tracks"]["test"]
    kits = {k.directory.name: k for k in drums.available_kits(kits_dir)} if any(
        t["name"].startswith("drums/") for t in tracks) else {}
    counts = {"music": 0, "drums": 0}
    for kind in counts:
        (out / kind).mkdir(parents=True, exist_ok=True)
    for t in tqdm(tracks, desc="held-out clips"):
        if t["name"].startswith("drums/"):
            signal = drums.random_break(kits[t["kit"]], np.random.default_rng(t["seed"]), t["bpm"],
                                        bars=t["bars"])[0]
            kind, name = "drums", Path(t["name"]).name
        else:
            signal = middle(audio.load_audio(t["name"]), seconds)
            kind, name = "music", Path(t["name"]).stem
        sf.write(out / kind / f"{name}.flac", signal, audio.SAMPLE_RATE, subtype="PCM_24")
        counts[kind] += 1
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("clips", help="write the dataset's held-out test split as clips")
    c.add_argument("--data", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--seconds", type=float, default=20.0, help="music excerpt length")
    e = sub.add_parser("excerpts", help="mono FLAC excerpts of a folder of recordings")
    e.add_argument("--from", dest="source", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True, help="the kind folder to write, e.g. extra/music")
    e.add_argument("--seconds", type=float, default=20.0)
    e.add_argument("--max-files", type=int, default=0)
    s = sub.add_parser("score", help="neutral netbend render of every clip, scored against its input")
    s.add_argument("--model", type=Path, required=True)
    s.add_argument("--clips", type=Path, action="append", required=True, help="folder of kind subfolders")
    s.add_argument("--netbend", type=Path, default=DEFAULT_NETBEND)
    s.add_argument("--json", type=Path)
    s.add_argument("--keep", type=Path, help="keep the renders here")
    s.add_argument("--no-silence-gate", action="store_true",
                   help="render with `netbend render --no-silence-gate` (the model's output alone)")
    a = p.parse_args(argv)
    if a.command == "clips":
        if not (a.data / "READY").exists():
            p.error(f"{a.data} is not a finished dataset folder (no READY file)")
        print(write_heldout_clips(a.data, a.out, a.seconds))
        return
    if a.command == "excerpts":
        print(f"wrote {write_excerpts(a.source, a.out, a.seconds, a.max_files)} excerpts to {a.out}")
        return
    result = score(a.model, a.clips, a.netbend, a.keep, silence_gate=not a.no_silence_gate)
    print(markdown_table(result))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    run_tool(main)
