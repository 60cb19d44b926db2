"""Netbend model directories: the exporters (vae, stylegan2), what they share (common) and the ONNX
graph passes it applies (neutral_skip, morph_skip, shared_grid, separable_sample)."""
