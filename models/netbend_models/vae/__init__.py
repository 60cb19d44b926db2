"""The spectrogram VAEs: the model (model), training (train), held-out metrics (evaluate), clip
quality through `netbend render` (quality) and checkpoints rebuilt from exported models
(rebuild_checkpoint)."""
