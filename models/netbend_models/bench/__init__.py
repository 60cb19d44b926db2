"""Speed of bend graphs in onnxruntime: unbent, neutral and active decoders side by side, for the
VAE (vae) and StyleGAN2 (stylegan2); timing and tables (common)."""
