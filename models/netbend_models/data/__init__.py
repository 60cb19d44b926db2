"""Training data: audio I/O and the spectrogram conventions (audio), the drum-break sequencer (drums),
the spectrogram window set (dataset) and the StyleGAN2 demo's image set (image_dataset)."""
