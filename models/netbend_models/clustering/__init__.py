"""Feature clustering (Entropy 2022 Sec. 4): the pipelines for the VAE (vae) and StyleGAN2
(stylegan2) and what they share (common: CNN training, k-means per layer, outputs), the per-layer
CNN (cnn), k-means (kmeans), the VAE's activations (vae_activations), the quality report (report),
and per-clip clusters from an exported model (clip_clusters, clip_windows)."""
