"""Netbend model directories: the exporters (vae, stylegan2) and the ONNX graph passes they apply
(neutral_skip, morph_skip, shared_grid, separable_sample)."""
