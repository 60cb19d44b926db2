"""The clip-quality metrics of netbend_models.vae.quality against SciPy's STFT and Pearson r, on
signals with known answers."""
import numpy as np
import pytest
from scipy import signal, stats

from netbend_models.vae import quality

RATE = 44100


def scipy_magnitudes(x):
    """|STFT| with SciPy: periodic Hann 1024, hop 256, unscaled, 768 zeros in front (docs/signal.md)."""
    padded = np.concatenate([np.zeros(768), x, np.zeros(1024)])
    _, _, z = signal.stft(padded, window=signal.get_window("hann", 1024), nperseg=1024, noverlap=768,
                          boundary=None, padded=False, scaling="spectrum")
    return np.abs(z).T * 512  # SciPy's "spectrum" scaling divides by the window sum (512)


def clicks(n, every, rng):
    x = 0.01 * rng.standard_normal(n)
    x[::every] += 1.0
    return x


def test_magnitudes_equal_scipy():
    x = np.random.default_rng(0).standard_normal(RATE // 2)
    ours, ref = quality.magnitudes(x), scipy_magnitudes(x)
    n = min(len(ours), len(ref))
    np.testing.assert_allclose(ours[:n], ref[:n], rtol=0, atol=1e-9 * ref.max())


def test_scores_of_known_cases():
    rng = np.random.default_rng(1)
    x = clicks(RATE, 11025, rng)
    mag = quality.magnitudes(x)
    same = quality.clip_scores(mag, mag)
    assert same == {"sc": 0.0, "lsd_db": 0.0, "onset_r": 1.0}
    half = quality.clip_scores(mag, 0.5 * mag)  # -6.02 dB everywhere (up to the 1e-5 floor)
    assert half["sc"] == pytest.approx(0.5)
    assert half["lsd_db"] == pytest.approx(20 * np.log10(2), abs=0.05)
    other = quality.magnitudes(clicks(RATE, 11025, rng)[::-1].copy())
    db = 20 * np.log10(mag + 1e-5), 20 * np.log10(other + 1e-5)
    envelopes = [np.maximum(np.diff(d, axis=0), 0).sum(axis=1) for d in db]
    assert quality.clip_scores(mag, other)["onset_r"] == pytest.approx(stats.pearsonr(*envelopes)[0], abs=1e-9)
    floor = quality.floor_scores(mag)
    mean = np.broadcast_to(mag.mean(axis=0), mag.shape)
    assert floor["sc"] == pytest.approx(np.linalg.norm(mag - mean) / np.linalg.norm(mag))
    assert floor["onset_r"] == 0.0


def test_silence_scores_leave_out_digital_silence():
    rng = np.random.default_rng(3)
    x = clicks(RATE, 5512, rng)
    x[RATE // 4:RATE // 2] = 0.0  # a gap of digital silence, like the rests of a sequenced break
    y = x.copy()
    y[RATE // 2 - 700:RATE // 2] = 0.05 * rng.standard_normal(700)  # a pre-echo into the gap
    ref, est = quality.magnitudes(x), quality.magnitudes(y)
    sounding = ref.max(axis=1) > 0
    assert 0.1 < (~sounding).mean() < 0.3
    scores = quality.silence_scores(ref, est)
    assert scores["silent_share"] == pytest.approx((~sounding).mean())
    db = 20 * np.log10(ref + 1e-5), 20 * np.log10(est + 1e-5)
    envelopes = [np.maximum(np.diff(d, axis=0), 0).sum(axis=1) for d in db]
    pairs = sounding[1:] & sounding[:-1]
    want = stats.pearsonr(envelopes[0][pairs], envelopes[1][pairs])[0]
    assert scores["onset_r_sounding"] == pytest.approx(want, abs=1e-9)
    # the pre-echo costs the whole-clip score, not the score over sounding frames
    assert quality.clip_scores(ref, est)["onset_r"] < scores["onset_r_sounding"]
    same = quality.silence_scores(ref, ref)
    assert same["onset_r_sounding"] == pytest.approx(1.0)
