"""The spectrogram VAE's bendable-layer activations, through forward hooks on decoder.stages[l-1]:
what the clustering pipeline (vae.py) trains on and the quality report (report.py) ablates."""
from __future__ import annotations

from contextlib import contextmanager

import torch

from ..vae.model import SpectrogramVAE


@contextmanager
def capture(vae: SpectrogramVAE, layers, edit=None):
    """Forward hooks on decoder.stages[l-1] that store each layer's output in the yielded dict.
    `edit(layer, output) -> output` may replace the output (ablation); what is stored is the
    unedited activation."""
    store: dict[int, torch.Tensor] = {}

    def hook_for(l):
        def hook(_module, _inp, out):
            store[l] = out.detach()
            return edit(l, out) if edit is not None else None
        return hook

    handles = [vae.decoder.stages[l - 1].register_forward_hook(hook_for(l)) for l in layers]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def activations(vae: SpectrogramVAE, windows: torch.Tensor, layers, batch: int = 16,
                dtype=torch.float16) -> dict[int, torch.Tensor]:
    """Layer l -> [n, C, H, W] activations of the windows (eval mode, z = mu), stored as `dtype`."""
    vae.eval()
    out = {l: [] for l in layers}
    with capture(vae, layers) as store:
        for i in range(0, len(windows), batch):
            vae(windows[i:i + batch])
            for l in layers:
                out[l].append(store[l].to(dtype))
    return {l: torch.cat(v) for l, v in out.items()}
