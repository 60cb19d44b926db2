"""A numerical bend stage exported with the TorchScript exporter runs in onnxruntime with a
dynamic channel list, including K = 0 (exact identity) — the property the cheap neutral path needs."""

import io

import numpy as np
import onnxruntime as ort
import torch

from netbend_models.bend import NumericStage


def _export_multiply_stage() -> ort.InferenceSession:
    example = (torch.randn(1, 6, 5, 7), torch.tensor([1, 3]), torch.ones(2), torch.ones(2, 1))
    buffer = io.BytesIO()
    torch.onnx.export(
        NumericStage("multiply"), example, buffer, dynamo=False, opset_version=20,
        input_names=["x", "idx", "mix", "params"], output_names=["y"],
        dynamic_axes={"idx": {0: "K"}, "mix": {0: "K"}, "params": {0: "K"}},
    )
    return ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])


def test_exported_stage_k0_identity_and_subset():
    session = _export_multiply_stage()
    x = np.random.default_rng(1).standard_normal((1, 6, 5, 7)).astype(np.float32)
    empty = {"x": x, "idx": np.zeros(0, np.int64), "mix": np.zeros(0, np.float32),
             "params": np.zeros((0, 1), np.float32)}
    assert np.array_equal(session.run(None, empty)[0], x)

    bent = session.run(None, {"x": x, "idx": np.array([3, 1], np.int64),
                              "mix": np.array([1.0, 0.5], np.float32),
                              "params": np.array([[2.0], [-1.0]], np.float32)})[0]
    np.testing.assert_allclose(bent[0, 3], 2.0 * x[0, 3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(bent[0, 1], x[0, 1] + 0.5 * (-x[0, 1] - x[0, 1]), rtol=0, atol=1e-6)
    assert np.array_equal(bent[:, [0, 2, 4, 5]], x[:, [0, 2, 4, 5]])


def test_exported_morphology_stage_runs_with_k0():
    from netbend_models.bend import MorphologyStage

    example = (torch.randn(1, 6, 9, 11), torch.tensor([1, 3]), torch.ones(2), torch.full((2, 1), 2.0))
    buffer = io.BytesIO()
    torch.onnx.export(
        MorphologyStage("dilate"), example, buffer, dynamo=False, opset_version=20,
        input_names=["x", "idx", "mix", "params"], output_names=["y"],
        dynamic_axes={"idx": {0: "K"}, "mix": {0: "K"}, "params": {0: "K"}},
    )
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(4).standard_normal((1, 6, 9, 11)).astype(np.float32)
    out = session.run(None, {"x": x, "idx": np.zeros(0, np.int64), "mix": np.zeros(0, np.float32),
                             "params": np.zeros((0, 1), np.float32)})[0]
    assert np.array_equal(out, x)
