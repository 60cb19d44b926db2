import numpy as np
import pytest
import soundfile as sf
from scipy.signal import find_peaks

from netbend_models.data import drums

SR = 44100
KIT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>TestKit</name><author>Netbend tests</author><license>CC0</license>
 <instrumentList>
  <instrument><id>0</id><name>Bass Drum</name><volume>1</volume>
   <layer><filename>kick_soft.wav</filename><min>0</min><max>0.5</max><gain>1</gain></layer>
   <layer><filename>kick_hard.wav</filename><min>0.5</min><max>1</max><gain>1</gain></layer>
  </instrument>
  <instrument><id>1</id><name>Snare Rimshot</name><volume>1</volume>
   <layer><filename>rim.wav</filename><min>0</min><max>1</max><gain>1</gain></layer></instrument>
  <instrument><id>2</id><name>Snare</name><volume>1</volume>
   <layer><filename>snare.wav</filename><min>0</min><max>1</max><gain>1</gain></layer></instrument>
  <instrument><id>3</id><name>Hi-Hat Open</name><volume>1</volume>
   <layer><filename>ohh.wav</filename><min>0</min><max>1</max><gain>1</gain></layer></instrument>
  <instrument><id>4</id><name>Closed HH</name><volume>1</volume>
   <layer><filename>chh.wav</filename><min>0</min><max>1</max><gain>1</gain></layer></instrument>
 </instrumentList>
</drumkit_info>
"""


def burst(seed, seconds=0.08, rate=SR):
    n = int(seconds * rate)
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, n) * np.exp(-np.arange(n) / (0.015 * rate))).astype(np.float32)


@pytest.fixture
def kit_dir(tmp_path):
    (tmp_path / "drumkit.xml").write_text(KIT_XML)
    for i, name in enumerate(["kick_soft", "kick_hard", "rim", "snare", "ohh", "chh"]):
        # 48 kHz on purpose: the kit loader must resample to 44.1 kHz.
        sf.write(tmp_path / f"{name}.wav", burst(i, rate=48000) * (0.3 if name == "kick_soft" else 1.0), 48000)
    return tmp_path


def onsets(signal, hop=32, span=256, low_db=50.0, high_db=20.0):
    """Onsets from a trailing-window energy with hysteresis (independent of the sequencer): a hit
    starts where the energy last rose through (peak - low_db) before reaching (peak - high_db);
    a new hit needs the energy to have fallen below (peak - low_db) again."""
    signal = np.concatenate([np.zeros(span), signal])  # so an onset at sample 0 is a crossing too
    csum = np.concatenate([[0.0], np.cumsum(np.square(signal.astype(np.float64)))])
    t = np.arange(span, len(signal) + 1, hop)
    energy_db = 10 * np.log10(csum[t] - csum[t - span] + 1e-20)
    low, high = energy_db.max() - low_db, energy_db.max() - high_db
    found, armed, start = [], True, None
    for i, e in enumerate(energy_db):
        if e < low:
            armed, start = True, None
        elif armed:
            start = i if start is None else start
            if e >= high:
                found.append(t[start] - span - hop)  # padded-to-original shift; window end crossed within one hop
                armed = False
    return np.array(found)


def test_roles_and_layers_from_drumkit_xml(kit_dir):
    kit = drums.load_kit(kit_dir)
    assert kit.name == "TestKit" and kit.license == "CC0"
    assert {r: i.name for r, i in kit.roles.items()} == {
        "kick": "Bass Drum", "rim": "Snare Rimshot", "snare": "Snare", "open_hat": "Hi-Hat Open",
        "closed_hat": "Closed HH"}
    assert kit.roles["kick"].layer_for(0.3).path.name == "kick_soft.wav"
    assert kit.roles["kick"].layer_for(0.9).path.name == "kick_hard.wav"


def test_kit_without_snare_is_rejected_by_name(tmp_path):
    (tmp_path / "drumkit.xml").write_text(KIT_XML.replace("<name>Snare</name>", "<name>Tabla</name>")
                                          .replace("Snare Rimshot", "Stick"))
    for name in ["kick_soft", "kick_hard", "rim", "snare", "ohh", "chh"]:
        sf.write(tmp_path / f"{name}.wav", burst(0), SR)
    with pytest.raises(ValueError, match="no instrument for snare"):
        drums.load_kit(tmp_path)


@pytest.mark.parametrize("bpm,swing", [(90.0, 0.0), (150.0, 0.0), (120.0, 0.25)])
def test_onsets_at_expected_sample_positions(kit_dir, bpm, swing):
    kit = drums.load_kit(kit_dir)
    steps = [0, 3, 6, 8, 11, 13]
    bar = {"kick": [(s, 0.9) for s in steps]}
    audio, hits = drums.render(kit, [bar, bar], bpm, swing)
    step_seconds = 60.0 / bpm / 4
    expected = [round(((b * 16 + s) + (swing if s % 2 else 0)) * step_seconds * SR) for b in range(2) for s in steps]
    assert [h.sample_position for h in hits] == expected
    found = onsets(audio)
    assert len(found) == len(expected)
    assert np.max(np.abs(found - np.array(expected))) <= 32  # one detector hop
    # Tempo honoured: bar-to-bar distance of the detected onsets is one bar at this BPM.
    np.testing.assert_allclose(np.diff(found[[0, len(steps)]]), 16 * step_seconds * SR, atol=64)  # two crossings' errors partly cancel


def test_velocity_scales_level(kit_dir):
    kit = drums.load_kit(kit_dir)
    loud, _ = drums.render(kit, [{"kick": [(0, 1.0)], "snare": [(8, 1.0)]}], 120, peak=1.0)
    quiet, _ = drums.render(kit, [{"kick": [(0, 1.0)], "snare": [(8, 0.25)]}], 120, peak=1.0)
    snare_at = int(8 * 60 / 120 / 4 * SR)
    seg = slice(snare_at, snare_at + 2000)
    ratio = np.abs(quiet[seg]).max() / np.abs(loud[seg]).max()
    assert abs(ratio - 0.25) < 0.02


def test_bad_tempo_and_swing_are_named(kit_dir):
    kit = drums.load_kit(kit_dir)
    with pytest.raises(ValueError, match="bpm"):
        drums.render(kit, [{}], 10)
    with pytest.raises(ValueError, match="swing"):
        drums.render(kit, [{}], 120, swing=0.7)


@pytest.mark.skipif(not (drums.HYDROGEN_KITS_DIR / "rumpf_kit_z01_h2").is_dir(), reason="hydrogen-drumkits not installed")
def test_real_kit_kick_onsets():
    kit = drums.load_kit(drums.HYDROGEN_KITS_DIR / "rumpf_kit_z01_h2")
    audio, _ = drums.render(kit, [{"kick": [(0, 1.0), (8, 1.0)]}] * 2, 100.0)
    found = onsets(audio)
    expected = np.array([0, 8, 16, 24]) * 60 / 100 / 4 * SR
    assert len(found) == 4 and np.max(np.abs(found - expected)) <= 64
