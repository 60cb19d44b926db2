"""Netbend model code: audio conventions, drum sequencer, dataset, VAE, bend blocks, ONNX export."""
