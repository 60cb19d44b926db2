"""Drum-break sequencer over Hydrogen drumkits (real recorded samples).

Kits are read from their drumkit.xml: each instrument's name decides its role (kick, snare,
hat, ...) and its velocity layers give the sample to play for a given velocity.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE, load_audio

HYDROGEN_KITS_DIR = Path("/usr/share/hydrogen/data/drumkits")
STEPS_PER_BAR = 16  # sixteenth notes in 4/4

# Instrument-name patterns for each role, tried in this order (first match wins), so that a
# "snare rimshot" is not taken for a plain snare and an "open hat" not for a closed one.
ROLE_PATTERNS = [
    ("ride", r"\bride\b(?!.*(bell|cup))"),
    ("rim", r"stick|rim|click"),
    ("open_hat", r"(hat|hh|hi-hat).*\b(op|open|opened)\b|\bopen\b.*(hat|hh)"),
    ("closed_hat", r"(hat|hh|hi-hat).*\b(cl|closed)\b|\bclosed\b.*(hat|hh)|\bchh\b"),
    ("kick", r"kick|bass ?drum|\bbd\b"),
    ("snare", r"snare(?!.*(roll|rim))"),
]
REQUIRED_ROLES = ("kick", "snare", "closed_hat")


@dataclass
class Layer:
    path: Path
    min_velocity: float
    max_velocity: float
    gain: float


@dataclass
class Instrument:
    name: str
    volume: float
    layers: list[Layer]

    def layer_for(self, velocity: float) -> Layer:
        for layer in self.layers:
            if layer.min_velocity <= velocity <= layer.max_velocity:
                return layer
        # Layers may leave gaps; take the nearest one.
        return min(self.layers, key=lambda l: min(abs(velocity - l.min_velocity), abs(velocity - l.max_velocity)))


@dataclass
class Kit:
    name: str
    directory: Path
    author: str
    license: str
    roles: dict[str, Instrument]
    _cache: dict = field(default_factory=dict, repr=False)

    def sample(self, layer: Layer) -> np.ndarray:
        if layer.path not in self._cache:
            self._cache[layer.path] = load_audio(layer.path, SAMPLE_RATE)
        return self._cache[layer.path]


def _strip_ns(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(elem, name, default=""):
    for c in elem:
        if _strip_ns(c.tag) == name:
            return (c.text or default).strip()
    return default


def load_kit(directory: str | Path) -> Kit:
    """Parse a Hydrogen kit folder; raises ValueError if it lacks kick, snare or closed hat."""
    directory = Path(directory)
    xml_path = directory / "drumkit.xml"
    if not xml_path.is_file():
        raise ValueError(f"{directory} is not a Hydrogen drumkit (no drumkit.xml)")
    root = ET.parse(xml_path).getroot()
    roles: dict[str, Instrument] = {}
    instrument_list = next((c for c in root if _strip_ns(c.tag) == "instrumentList"), [])
    for ins in instrument_list:
        name = _child_text(ins, "name")
        layers = []
        for node in ins.iter():
            if _strip_ns(node.tag) != "layer":
                continue
            fname = _child_text(node, "filename")
            if not fname or not (directory / fname).is_file():
                continue
            layers.append(Layer(directory / fname, float(_child_text(node, "min", "0")),
                                float(_child_text(node, "max", "1")), float(_child_text(node, "gain", "1"))))
        if not layers:
            # Old kit format: one <filename> directly under <instrument>.
            fname = _child_text(ins, "filename")
            if fname and (directory / fname).is_file():
                layers.append(Layer(directory / fname, 0.0, 1.0, 1.0))
        if not layers:
            continue
        lowered = name.lower()
        for role, pattern in ROLE_PATTERNS:
            if re.search(pattern, lowered):
                roles.setdefault(role, Instrument(name, float(_child_text(ins, "volume", "1")), layers))
                break
    missing = [r for r in REQUIRED_ROLES if r not in roles]
    if missing:
        raise ValueError(f"drumkit {directory.name} has no instrument for {', '.join(missing)}")
    return Kit(_child_text(root, "name") or directory.name, directory, _child_text(root, "author"),
               _child_text(root, "license"), roles)


def available_kits(kits_dir: str | Path = HYDROGEN_KITS_DIR) -> list[Kit]:
    """Every kit under kits_dir that has kick, snare and closed hat, sorted by folder name."""
    kits = []
    for d in sorted(Path(kits_dir).glob("*/drumkit.xml")):
        try:
            kits.append(load_kit(d.parent))
        except ValueError:
            continue  # percussion-only kits (hand drums, djembes) cannot play a break
    return kits


# A pattern is role -> list of (step, velocity) over one bar of 16 sixteenths.
Pattern = dict[str, list[tuple[int, float]]]

BASE_GROOVES: dict[str, Pattern] = {
    "rock": {"kick": [(0, 1.0), (8, 0.9)], "snare": [(4, 1.0), (12, 1.0)],
             "closed_hat": [(s, 0.8 if s % 4 == 0 else 0.55) for s in range(0, 16, 2)]},
    "funk": {"kick": [(0, 1.0), (3, 0.7), (10, 0.9)], "snare": [(4, 1.0), (7, 0.3), (12, 1.0), (15, 0.3)],
             "closed_hat": [(s, 0.75 if s % 2 == 0 else 0.4) for s in range(16)]},
    "breakbeat": {"kick": [(0, 1.0), (2, 0.8), (10, 0.9), (11, 0.7)], "snare": [(4, 1.0), (9, 0.35), (12, 1.0)],
                  "closed_hat": [(s, 0.7) for s in range(0, 16, 2)], "open_hat": [(14, 0.6)]},
    "halftime": {"kick": [(0, 1.0), (6, 0.6), (11, 0.8)], "snare": [(8, 1.0)],
                 "closed_hat": [(s, 0.65 if s % 4 == 0 else 0.45) for s in range(0, 16, 2)]},
    "two_step": {"kick": [(0, 1.0), (10, 0.85)], "snare": [(4, 1.0), (12, 1.0)], "rim": [(7, 0.5)],
                 "closed_hat": [(2, 0.6), (6, 0.6), (10, 0.6), (14, 0.6)]},
    "ride_jazz": {"kick": [(0, 0.6), (10, 0.5)], "snare": [(6, 0.3), (12, 0.8)],
                  "ride": [(0, 0.8), (4, 0.7), (7, 0.5), (8, 0.8), (12, 0.7), (15, 0.5)],
                  "closed_hat": [(4, 0.5), (12, 0.5)]},
}


def vary_pattern(base: Pattern, rng: np.random.Generator) -> Pattern:
    """A variation: ghost notes, extra or dropped kicks, open hats, humanised velocities."""
    pattern = {role: list(hits) for role, hits in base.items()}
    if rng.random() < 0.5:  # ghost snares on free sixteenths
        taken = {s for s, _ in pattern.get("snare", [])}
        for s in rng.choice(16, size=int(rng.integers(1, 4)), replace=False):
            if int(s) not in taken:
                pattern["snare"].append((int(s), float(rng.uniform(0.15, 0.35))))
    if rng.random() < 0.4:
        pattern["kick"].append((int(rng.choice([6, 7, 13, 14])), float(rng.uniform(0.6, 0.9))))
    if rng.random() < 0.3:
        pattern.setdefault("open_hat", []).append((int(rng.choice([6, 14])), float(rng.uniform(0.5, 0.8))))
    if rng.random() < 0.3 and len(pattern["closed_hat"]) > 4:
        pattern["closed_hat"] = [(s, v) for s, v in pattern["closed_hat"] if rng.random() > 0.2]
    return {role: sorted((s, float(np.clip(v * rng.uniform(0.85, 1.1), 0.05, 1.0))) for s, v in hits)
            for role, hits in pattern.items()}


@dataclass
class Hit:
    sample_position: int
    role: str
    velocity: float


def step_position(bar: int, step: int, bpm: float, swing: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Sample index of a sixteenth; swing delays the off-beat sixteenths by swing * step length."""
    step_len = 60.0 / bpm / 4.0 * sample_rate
    t = (bar * STEPS_PER_BAR + step) * step_len + (swing * step_len if step % 2 else 0.0)
    return int(round(t))


def render(kit: Kit, bars: list[Pattern], bpm: float, swing: float = 0.0, tail_seconds: float = 0.5,
           peak: float = 0.9) -> tuple[np.ndarray, list[Hit]]:
    """Render one Pattern per bar; returns mono float32 at 44.1 kHz and the hits played."""
    if not 40.0 <= bpm <= 300.0:
        raise ValueError(f"bpm must lie in [40, 300], got {bpm}")
    if not 0.0 <= swing < 0.5:
        raise ValueError(f"swing must lie in [0, 0.5), got {swing}")
    total = step_position(len(bars), 0, bpm, 0.0) + int(tail_seconds * SAMPLE_RATE)
    out = np.zeros(total, dtype=np.float64)
    hits: list[Hit] = []
    for b, pattern in enumerate(bars):
        for role, notes in pattern.items():
            instrument = kit.roles.get(role)
            if instrument is None:
                continue  # the kit lacks this role (no ride, no rim): leave it out
            for step, velocity in notes:
                pos = step_position(b, step, bpm, swing)
                layer = instrument.layer_for(velocity)
                sample = kit.sample(layer)[: total - pos]
                out[pos:pos + len(sample)] += sample * velocity * layer.gain * instrument.volume
                hits.append(Hit(pos, role, velocity))
    max_abs = np.max(np.abs(out))
    if max_abs > 0:
        out *= peak / max_abs
    return out.astype(np.float32), sorted(hits, key=lambda h: h.sample_position)


def random_break(kit: Kit, rng: np.random.Generator, bpm: float, bars: int = 4,
                 swing: float | None = None) -> tuple[np.ndarray, list[Hit], dict]:
    """A break of `bars` bars: one base groove, each bar a fresh variation of it."""
    groove = str(rng.choice(sorted(BASE_GROOVES)))
    swing = float(rng.choice([0.0, 0.0, 0.1, 0.2, 0.3])) if swing is None else swing
    patterns = [vary_pattern(BASE_GROOVES[groove], rng) for _ in range(bars)]
    audio, hits = render(kit, patterns, bpm, swing)
    return audio, hits, {"kit": kit.name, "groove": groove, "bpm": bpm, "swing": swing, "bars": bars}
