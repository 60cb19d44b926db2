import numpy as np
import pytest
import soundfile as sf
from scipy.signal import ShortTimeFFT, get_window, resample_poly

from netbend_models.data import audio


def test_window_matches_scipy_periodic_hann():
    np.testing.assert_allclose(audio.hann_window(), get_window("hann", 1024), atol=1e-15)


def test_stft_matches_scipy_shorttimefft_with_same_framing():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(5000)
    ours = audio.stft(x)
    # Same framing: pad 768 in front, frame m starts at m*256 of the padded signal.
    padded = audio.pad_for_analysis(x)
    sft = ShortTimeFFT(get_window("hann", 1024), hop=256, fs=44100, mfft=1024, phase_shift=None)
    # phase_shift=None: phase relative to the slice start, as rfft. ShortTimeFFT centres slice p at p*hop; slice p covers [p*hop - 512, p*hop + 512).
    ref = sft.stft(padded, p0=2, p1=2 + ours.shape[0]).T
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert ours.shape[1] == 513


def test_padding_covers_last_sample_with_four_frames():
    x = np.ones(3001)
    padded = audio.pad_for_analysis(x)
    n_frames = (len(padded) - 1024) // 256 + 1
    last = 768 + 3000
    covering = [m for m in range(n_frames) if m * 256 <= last < m * 256 + 1024]
    assert len(covering) == 4
    first = [m for m in range(n_frames) if m * 256 <= 768 < m * 256 + 1024]
    assert len(first) == 4


def test_full_scale_sine_peaks_near_48_db():
    t = np.arange(44100) / 44100
    x = np.sin(2 * np.pi * 44100 * 40 / 1024 * t)  # exactly on bin 40
    db = audio.magnitude_db(np.abs(audio.stft(x)))
    assert abs(db[100, 40] - 20 * np.log10(256)) < 0.01  # 48.16 dB


def test_normalisation_round_trip_and_clip():
    norm = audio.Normalisation()
    mag = np.array([1e-6, 1e-4, 1.0, 10.0, 316.0, 1e4])
    v = audio.normalise(mag, norm)
    expected = np.clip((20 * np.log10(np.maximum(mag, 1e-4)) + 80) / 130, 0, 1)
    np.testing.assert_allclose(v, expected)
    np.testing.assert_allclose(audio.denormalise(v[1:5], norm), mag[1:5], rtol=1e-12)
    assert v[0] == 0 and v[-1] == 1
    with pytest.raises(ValueError, match="db_max"):
        audio.Normalisation(db_min=10, db_max=0)


def test_load_audio_mixes_and_resamples(tmp_path):
    rng = np.random.default_rng(2)
    st = rng.uniform(-0.5, 0.5, (4800, 2)).astype(np.float32)
    p = tmp_path / "x.wav"
    sf.write(p, st, 48000, subtype="FLOAT")
    y = audio.load_audio(p)
    ref = resample_poly(st.mean(axis=1), 147, 160)
    np.testing.assert_allclose(y, ref, atol=1e-6)
    assert len(y) == 4410


def test_load_audio_names_unreadable_file(tmp_path):
    p = tmp_path / "bad.flac"
    p.write_bytes(b"not audio")
    with pytest.raises(ValueError, match="bad.flac"):
        audio.load_audio(p)


def test_cut_windows_shapes_and_bounds():
    spec = np.arange(300 * 513, dtype=np.float32).reshape(300, 513)
    w = audio.cut_windows(spec, [0, 172])
    assert w.shape == (2, 128, 513)
    np.testing.assert_array_equal(w[1], spec[172:300])
    with pytest.raises(ValueError, match="window starts"):
        audio.cut_windows(spec, [173])
