"""StyleGAN2 image models: the generator and rosinality checkpoints (model), CPU training of the
demo model (train)."""
