"""Netbend model code, one sub-package per subject (nothing is imported here):

- data: audio conventions, drum sequencer, the spectrogram and image training sets
- vae: the spectrogram VAEs, training, evaluation, clip quality, checkpoint rebuild
- stylegan2: the StyleGAN2 generator and its training
- bend: the bend block (PyTorch) and its inputs as onnxruntime feeds
- export: model directories (ONNX) for both model kinds, and the graph passes
- clustering: feature clustering, its report, per-clip clusters
- bench: bend-graph speed in onnxruntime
- cli: what the command-line tools share
"""
