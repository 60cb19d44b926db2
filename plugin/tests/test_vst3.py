"""The Netbend VST3 bundle in a host nobody here wrote: PyPI `pedalboard` (JUCE's VST3 hosting).

Loads `target/bundled/Netbend.vst3` (or `NETBEND_VST3`), finds parameters by name, sets them
through the host, and renders audio that is checked against the expected dry/wet and gain.
Build the bundle first: `cargo xtask bundle netbend --release` (`cargo xtask test` does).
"""

import os
from pathlib import Path

import numpy as np
import pytest

pedalboard = pytest.importorskip("pedalboard")

ROOT = Path(os.environ.get("NETBEND_ROOT", Path(__file__).resolve().parents[2]))
BUNDLE = Path(os.environ.get("NETBEND_VST3", ROOT / "target" / "bundled" / "Netbend.vst3"))
SR = 48_000


@pytest.fixture(scope="module")
def plugin():
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} not found: run `cargo xtask bundle netbend --release` first")
    return pedalboard.load_plugin(str(BUNDLE))


def fresh():
    return pedalboard.load_plugin(str(BUNDLE))


def test_lists_parameters_by_name(plugin):
    names = set(plugin.parameters.keys())
    # pedalboard names a parameter after its name and unit: "Slot 3 Rotate" in deg becomes
    # slot_3_rotate_deg, "Output Gain" in dB output_gain_db.
    for name in [
        "dry_wet",
        "output_gain_db",
        "bypass",
        "quality_mode",
        "slot_1_on",
        "slot_3_mix",
        "slot_3_rotate_deg",
        "slot_3_transform",
        "slot_3_scale_x",
        "slot_3_multiply",
        "slot_3_radius_px",
        "slot_8_cluster",
        "slot_5_fraction",
        "slot_2_mod_shape",
        "slot_2_mod_phase_deg",
        "slot_7_reroll",
    ]:
        assert name in names, f"{name} missing from {sorted(names)[:20]}..."
    slot_params = [n for n in names if n.startswith("slot_")]
    # 18 of the bend and 7 of its modulator and re-roll per slot.
    assert len(slot_params) == 8 * 25
    transform = plugin.parameters["slot_2_transform"]
    assert "Rotate" in transform.valid_values and "Ablate" in transform.valid_values
    assert len(transform.valid_values) == 14


def test_sets_slot_parameters_by_name():
    p = fresh()
    p.slot_3_on = True
    p.slot_3_transform = "Rotate"
    p.slot_3_rotate_deg = 30.0
    p.slot_3_mix = 40.0
    assert p.slot_3_transform == "Rotate"
    assert abs(p.slot_3_rotate_deg - 30.0) < 0.5
    assert abs(p.slot_3_mix - 40.0) < 0.5


def signal(seconds=1.0):
    t = np.arange(int(SR * seconds)) / SR
    left = 0.25 * np.sin(2 * np.pi * 440 * t)
    right = 0.2 * np.sin(2 * np.pi * 1000 * t)
    return np.stack([left, right]).astype(np.float32)


def test_renders_dry_at_minus_6_db():
    p = fresh()
    p.dry_wet = 0.0  # percent parameter: pedalboard sets the displayed value
    p.output_gain_db = -6.0
    x = signal()
    y = p(x, SR)
    assert y.shape == x.shape
    assert np.all(np.isfinite(y))
    skip = SR // 10  # smoothing from the defaults
    expected = x * 10 ** (-6 / 20)
    np.testing.assert_allclose(y[:, skip:], expected[:, skip:], atol=1e-4)


def test_renders_wet_through_the_safety_stage():
    p = fresh()
    p.dry_wet = 100.0
    p.output_gain_db = 0.0
    x = signal() + 0.1  # DC offset: removed by the wet path's DC blocker
    y = p(x.astype(np.float32), SR)
    assert np.all(np.isfinite(y))
    tail = y[:, SR // 2 :]
    assert np.all(np.abs(tail.mean(axis=1)) < 0.01)
    # Audio passes through the model path, never above full scale: the point is that the wet
    # path is audible and bounded, not its level.
    peaks = np.abs(tail).max(axis=1)
    assert np.all(peaks > 1e-4) and np.all(peaks <= 1.0), peaks


def test_bypass_passes_input_unchanged():
    p = fresh()
    p.output_gain_db = -12.0
    p.bypass = "Bypassed"
    x = signal(0.5)
    y = p(x, SR)
    np.testing.assert_allclose(y[:, SR // 10 :], x[:, SR // 10 :], atol=1e-6)


# What a user gets by copying the bundle into ~/.vst3: ONNX Runtime and the default model travel
# inside it (`cargo xtask bundle netbend` puts them beside the plugin binary, the first place the
# plugin looks), so it needs no environment variables and no checkout.
BINARY_DIR = BUNDLE / "Contents" / "x86_64-linux"


def test_bundle_carries_onnx_runtime_the_default_model_and_the_paper_model():
    libraries = sorted(BINARY_DIR.glob("libonnxruntime.so*"))
    assert libraries, f"no libonnxruntime.so* in {BINARY_DIR}"
    for shipped, bundled in [
        (ROOT / "models" / "vae", BINARY_DIR / "netbend-model"),
        (ROOT / "models" / "vae-paper", BINARY_DIR / "netbend-models" / "vae-paper"),
    ]:
        for name in sorted(p.name for p in shipped.iterdir() if p.is_file()):
            assert (bundled / name).read_bytes() == (shipped / name).read_bytes(), name
    clap_dir = BUNDLE.parent
    assert (clap_dir / "Netbend.clap").is_file()
    assert sorted(clap_dir.glob("libonnxruntime.so*")), f"no ONNX Runtime beside {clap_dir}"
    assert (clap_dir / "netbend-model" / "manifest.json").is_file()
    assert (clap_dir / "netbend-models" / "vae-paper" / "manifest.json").is_file()


def test_a_copied_bundle_runs_the_model_without_any_environment(tmp_path):
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "vst3" / "Netbend.vst3"
    shutil.copytree(BUNDLE, copy)
    env = {k: v for k, v in os.environ.items()
           if k not in ("ORT_DYLIB_PATH", "NETBEND_MODEL_DIR", "NETBEND_ROOT")}
    # Two tones at -12 dB through the fully wet path. The dry fallback (no model or no ONNX
    # Runtime found) gives them back unchanged (pedalboard compensates the latency, see
    # test_renders_dry_...), to ~1e-6. The model's reconstruction keeps their level but not
    # their exact waveform, and ablating layer 1 replaces them with the decoder's bias output.
    script = f"""
import numpy as np, pedalboard
sr = {SR}
t = np.arange(2 * sr) / sr
x = np.stack([0.25 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 1000 * t)])
x = x.astype(np.float32)
def rel(y):
    d = y[:, sr:] - x[:, sr:]
    return float(np.sqrt((d ** 2).mean() / (x[:, sr:] ** 2).mean()))
p = pedalboard.load_plugin({str(copy)!r})
p.dry_wet = 100.0
neutral = p(x, sr)
p = pedalboard.load_plugin({str(copy)!r})
p.dry_wet = 100.0
p.slot_1_on = True
p.slot_1_layer = 1
p.slot_1_transform = "Ablate"
ablated = p(x, sr)
print(rel(neutral), rel(ablated), float(np.abs(neutral[:, sr:]).max()))
"""
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    neutral, ablated, peak = map(float, result.stdout.strip().splitlines()[-1].split())
    assert 0.25 * 10 ** (-20 / 20) < peak <= 1.0, peak  # reconstructed at about the input's level
    assert neutral > 1e-3, f"the neutral render is the dry input ({neutral}): no model ran"
    assert ablated > 0.5 and abs(ablated - neutral) > 0.1, (neutral, ablated)
