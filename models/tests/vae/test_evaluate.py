"""Reconstruction metrics against closed-form values, and the evaluation pipeline on a small folder."""
import json

import numpy as np
import pytest

from netbend_models.data import audio
from netbend_models.vae import evaluate
from netbend_models.vae.model import SpectrogramVAE


def test_metrics_closed_form():
    rng = np.random.default_rng(0)
    s = rng.uniform(0.1, 2.0, size=(128, 513))
    assert evaluate.spectral_convergence(s, s) == 0.0
    assert evaluate.log_spectral_distance(s, s) == 0.0
    # doubling every magnitude: SC = ||S|| / ||S|| = 1 and LSD = 20 log10 2 dB on every frame
    assert evaluate.spectral_convergence(s, 2 * s) == pytest.approx(1.0, rel=1e-12)
    assert evaluate.log_spectral_distance(s, 2 * s) == pytest.approx(20 * np.log10(2), rel=1e-12)
    # one frame off by 10x (20 dB), the others exact: the frame-mean is 20 / 128
    est = s.copy()
    est[5] *= 10
    assert evaluate.log_spectral_distance(s, est) == pytest.approx(20 / 128, rel=1e-12)


def _folder(tmp_path, train, test, names):
    for split, arr in (("train", train), ("validation", test[:1]), ("test", test)):
        np.save(tmp_path / f"{split}.npy", arr.astype(np.float16))
    np.save(tmp_path / "test_track.npy", np.arange(len(test), dtype=np.int32) % len(names))
    tracks = {"train": [], "validation": [], "test": [{"name": n, "windows": 1} for n in names]}
    (tmp_path / "split.json").write_text(json.dumps({"tracks": tracks}))
    (tmp_path / "READY").write_text("")


def test_baseline_is_exact_when_test_windows_equal_the_training_mean(tmp_path):
    rng = np.random.default_rng(1)
    # multiples of 1/1024 in [0, 1) are exact in float16, so storage does not round anything
    profile = np.round(np.linspace(0.8, 0.2, 513) * 1024) / 1024
    train = np.broadcast_to(profile, (4, 128, 513)) + rng.choice([-0.125, 0.125], size=(4, 1, 1))
    train = np.concatenate([train, 2 * profile - train])  # per-bin mean is exactly `profile`
    test = np.broadcast_to(profile, (3, 128, 513))
    _folder(tmp_path, train, test, ["music/a.ogg", "drums/break_0001"])
    result = evaluate.evaluate(SpectrogramVAE(width=1 / 64), tmp_path, progress=False)
    assert result["baseline"]["all"]["spectral_convergence"] < 1e-9
    assert result["baseline"]["all"]["log_spectral_distance_db"] < 1e-9
    assert result["model"]["all"]["windows"] == 3
    assert result["model"]["music"]["windows"] == 2 and result["model"]["drums"]["windows"] == 1
    assert np.isfinite(result["model"]["all"]["spectral_convergence"])
    assert "| all | 3 |" in evaluate.markdown_table(result)
