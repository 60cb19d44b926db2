import json

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import ShortTimeFFT, get_window, resample_poly

from netbend_models.data import dataset

KIT_XML = """<?xml version="1.0"?>
<drumkit_info><name>TinyKit</name><author>tests</author><license>CC0</license><instrumentList>
 <instrument><id>0</id><name>Kick</name><volume>1</volume><layer><filename>k.wav</filename><min>0</min><max>1</max><gain>1</gain></layer></instrument>
 <instrument><id>1</id><name>Snare</name><volume>1</volume><layer><filename>s.wav</filename><min>0</min><max>1</max><gain>1</gain></layer></instrument>
 <instrument><id>2</id><name>Closed HH</name><volume>1</volume><layer><filename>h.wav</filename><min>0</min><max>1</max><gain>1</gain></layer></instrument>
</instrumentList></drumkit_info>"""


def tone(seconds, rate, freq, channels=1, seed=0):
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    x = 0.5 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(len(t))
    return np.stack([x * (0.5 + 0.5 * c) for c in range(channels)], axis=1) if channels > 1 else x


@pytest.fixture
def music_dir(tmp_path):
    d = tmp_path / "music"
    (d / "sub").mkdir(parents=True)
    specs = [("a.wav", 48000, 2), ("b.flac", 44100, 1), ("c.ogg", 22050, 2), ("sub/d.wav", 32000, 1),
             ("e.flac", 44100, 2), ("f.wav", 44100, 1), ("hacienda.ogg", 44100, 2), ("g.flac", 16000, 1)]
    for i, (name, rate, ch) in enumerate(specs):
        sf.write(d / name, tone(3.0 + 0.3 * i, rate, 220 * (i + 1), ch, seed=i), rate)
    (d / "notes.txt").write_text("not audio, ignored by extension")
    return d


@pytest.fixture
def kits_dir(tmp_path):
    k = tmp_path / "kits" / "TinyKit"
    k.mkdir(parents=True)
    (k / "drumkit.xml").write_text(KIT_XML)
    for i, n in enumerate("ksh"):
        rng = np.random.default_rng(i)
        sf.write(k / f"{n}.wav", rng.uniform(-1, 1, 4000) * np.exp(-np.arange(4000) / 600), 44100)
    return tmp_path / "kits"


def reference_spectrogram(path):
    """Independent pipeline: soundfile + resample_poly + ScipyShortTimeFFT + the doc's scaling."""
    x, rate = sf.read(path, always_2d=True)
    x = x.mean(axis=1)
    if rate != 44100:
        from math import gcd
        g = gcd(rate, 44100)
        x = resample_poly(x, 44100 // g, rate // g)
    padded = np.concatenate([np.zeros(768), x, np.zeros(1024 + 256)])
    sft = ShortTimeFFT(get_window("hann", 1024), hop=256, fs=44100, mfft=1024, phase_shift=None)
    n = (len(x) + 767) // 256 + 1
    mag = np.abs(sft.stft(padded, p0=2, p1=2 + n)).T
    return np.clip((20 * np.log10(np.maximum(mag, 1e-4)) + 80) / 130, 0, 1)


def test_build_shapes_range_and_split_by_track(tmp_path, music_dir, kits_dir):
    out = tmp_path / "out"
    summary = dataset.build(out, [music_dir], n_drum_breaks=6, seconds_per_track=2.5, stride=32, seed=3,
                            validation=0.15, test=0.15, skip_unreadable=False, kits_dir=kits_dir,
                            progress=False)
    split = json.loads((out / "split.json").read_text())
    names = {s: [t["name"] for t in split["tracks"][s]] for s in dataset.SPLITS}
    all_names = sum(names.values(), [])
    assert len(all_names) == len(set(all_names)) == 8 + 6  # every track in exactly one split
    assert any(n.endswith("hacienda.ogg") for n in names["test"])
    assert all(names[s] for s in dataset.SPLITS)
    # Held-out drum breaks use a tempo outside the training range (this kit set has no held-out kit).
    test_breaks = [t for t in split["tracks"]["test"] if t["name"].startswith("drums/")]
    train_breaks = [t for t in split["tracks"]["train"] if t["name"].startswith("drums/")]
    assert test_breaks and train_breaks
    assert all(t["bpm"] >= dataset.HELD_OUT_BPM[0] for t in test_breaks)
    assert all(dataset.TRAIN_BPM[0] <= t["bpm"] <= dataset.TRAIN_BPM[1] for t in train_breaks)
    ready = dict(line.split() for line in (out / "READY").read_text().splitlines())
    for s in dataset.SPLITS:
        x = np.load(out / f"{s}.npy", mmap_mode="r")
        owner = np.load(out / f"{s}_track.npy")
        assert x.dtype == np.float16 and x.shape[1:] == (128, 513)
        assert x.shape[0] == len(owner) == summary["counts"][s] == int(ready[s])
        assert x.shape[0] == sum(t["windows"] for t in split["tracks"][s])
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0 and float(x.max()) > 0.5
        assert set(np.unique(owner)) == set(range(len(names[s])))


def test_windows_match_an_independent_spectrogram(tmp_path, music_dir):
    out = tmp_path / "out"
    dataset.build(out, [music_dir], 0, 10.0, 64, 0, 0.15, 0.15, False, progress=False)
    split = json.loads((out / "split.json").read_text())
    x = np.load(out / "train.npy")
    owner = np.load(out / "train_track.npy")
    for index, track in enumerate(split["tracks"]["train"]):
        ref = reference_spectrogram(track["name"])
        for w in x[owner == index][:3].astype(np.float64):
            errors = [np.abs(ref[s:s + 128] - w).max() for s in range(ref.shape[0] - 127)]
            assert min(errors) < 2e-3, track["name"]  # float16 rounding of values in [0, 1]


def test_no_audio_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no audio files"):
        dataset.build(tmp_path / "o", [tmp_path / "empty"], 0, 5, 64, 0, 0.1, 0.1, False, progress=False)
    with pytest.raises(SystemExit, match="does not exist"):
        dataset.build(tmp_path / "o", [tmp_path / "missing"], 0, 5, 64, 0, 0.1, 0.1, False, progress=False)


def test_unreadable_file_is_named_or_skipped(tmp_path, music_dir):
    (music_dir / "broken.flac").write_bytes(b"garbage")
    with pytest.raises(SystemExit, match="broken.flac"):
        dataset.build(tmp_path / "o", [music_dir], 0, 5, 64, 0, 0.1, 0.1, False, progress=False)
    summary = dataset.build(tmp_path / "o", [music_dir], 0, 5, 64, 0, 0.1, 0.1, True, progress=False)
    names = [t["name"] for s in dataset.SPLITS for t in summary["tracks"][s]]
    assert len(names) == 8 and not any("broken" in n for n in names)
