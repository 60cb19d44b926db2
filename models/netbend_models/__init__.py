"""Netbend model code: VAE, bend blocks, ONNX export."""
