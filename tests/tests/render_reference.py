"""Independent NumPy + onnxruntime reference of `netbend render`'s spectrogram path (neutral bend):
STFT (netbend_models.data.audio), db-minmax normalisation with the manifest's constants, 128-frame
windows every `hop` frames, window k holding frames (k + 1) hop - 128 .. (k + 1) hop - 1 (silence
before the first frame and after the last), encoder -> mu -> decoder with every bend stage empty
(K = 0), frame t taken from window t // hop, its last `fade` frames of each hop sin^2
cross-faded into window t // hop + 1, denormalisation. `--layout offline` is hop = fade = 64 (two
windows cover every frame), `plugin-default` 32 / 12, `plugin-low-latency` 12 / 3. Compares with
the magnitude `netbend render --dump-magnitude` wrote.

argv: model_dir audio_file dumped_magnitude.f32 [hop fade]
"""
import json
import sys

import numpy as np
import onnxruntime as ort
import soundfile as sf

from netbend_models.data.audio import Normalisation, denormalise, normalise, stft

model_dir, audio_path, dump_path = sys.argv[1:4]
H, F = (int(v) for v in sys.argv[4:6]) if len(sys.argv) > 4 else (64, 64)
manifest = json.load(open(f"{model_dir}/manifest.json"))
n = manifest["normalisation"]
norm = Normalisation(amin=n["amin"], db_min=n["db_min"], db_max=n["db_max"])
signal, rate = sf.read(audio_path, dtype="float64", always_2d=True)
assert rate == 44_100, rate
spec = normalise(np.abs(stft(signal[:, 0])), norm)  # [T, 513]
T, bins = spec.shape
W = 128
count = (T + H - 1) // H + 1
front = W - H
padded = np.zeros(((count - 1) * H + W, bins))  # normalise(0) == 0 (silence)
padded[front:front + T] = spec
windows = np.stack([padded[k * H:k * H + W] for k in range(count)]).astype(np.float32)

opts = ort.SessionOptions()
enc = ort.InferenceSession(f"{model_dir}/encoder.onnx", opts)
dec = ort.InferenceSession(f"{model_dir}/decoder.onnx", opts)
mu = enc.run(["mu"], {"spectrogram": windows[:, None]})[0]
feeds = {"z": mu}
for i in dec.get_inputs():
    if i.name == "z":
        continue
    shape = [0 if isinstance(d, str) else d for d in i.shape]
    dtype = np.int64 if i.type == "tensor(int64)" else np.float32
    feeds[i.name] = np.zeros(shape, dtype=dtype)
out = dec.run(["spectrogram"], feeds)[0][:, 0].astype(np.float64)  # [count, W, bins]

o = np.arange(F)
fade = np.sin(np.pi * (o + 0.5) / (2 * F)) ** 2
result = np.zeros((T, bins))
for t in range(T):
    k, off = divmod(t, H)
    a = out[k, t + W - (k + 1) * H]
    if off < H - F:
        result[t] = a
        continue
    b = out[k + 1, t + W - (k + 2) * H]
    f = fade[off - (H - F)]
    result[t] = (1 - f) * a + f * b
expected = denormalise(result, norm)

got = np.fromfile(dump_path, dtype="<f4").reshape(-1, bins).astype(np.float64)
assert got.shape == expected.shape, (got.shape, expected.shape)
# Compare in the normalised (dB) domain, where the model works.
got_v = (20 * np.log10(np.maximum(got, 1e-30)) - norm.db_min) / (norm.db_max - norm.db_min)
exp_v = (20 * np.log10(np.maximum(expected, 1e-30)) - norm.db_min) / (norm.db_max - norm.db_min)
err = np.abs(got_v - exp_v)
print(f"hop {H} fade {F}: frames {T}, windows {count}: max |dv| {err.max():.2e}, mean {err.mean():.2e}")
assert err.max() < 1e-5, err.max()
assert err.mean() < 1e-6, err.mean()
