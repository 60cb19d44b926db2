"""The bend block of docs/bend-graph.md as PyTorch modules: the block and its stages (block), what
every stage shares (core), the spatial stages (affine); and bend inputs as onnxruntime feeds (inputs)."""
