"""Feature clustering (Entropy 2022 Sec. 4): the pipelines for the VAE (vae) and StyleGAN2
(stylegan2), the per-layer CNN (cnn), k-means (kmeans), the quality report (report) and per-clip
clusters from an exported model (clip_clusters)."""
