"""Spectrogram VAE of Netbend (paper Sec. 3.2, Table 1), one file.

Input: [B, 1, 128, 513] normalised dB spectrogram windows in [0, 1] (docs/signal.md).

Encoder: 5 Conv2d, kernel 5x5, stride 2, no padding, each + BatchNorm + LeakyReLU:
128x513 -> 62x255 -> 29x126 -> 13x61 -> 5x29 -> 1x13, then one Linear to
(mu, logvar), each latent_dim (512) wide.

Decoder: `stem` = Linear(latent -> C0*4*17) + reshape to [B, C0, 4, 17], then 5
`stages` (ConvTranspose2d + BatchNorm + LeakyReLU; the last ConvTranspose2d + sigmoid).
Stage outputs match Table 1's resolution column exactly:

  stage  out (HxWxC)    kernel  stride  padding   (Table 1 padding)
  1      8x33x512       5x5     1x2     0x2       0x2
  2      17x65x256      3x5     2x2     0x2       2x2  <- H padding 0 (2 gives 13)
  3      32x129x128     4x5     2x2     2x2       2x2
  4      64x257x64      4x5     2x2     1x2       2x2  <- H padding 1 (2 gives 62)
  5      128x513x1      4x5     2x2     1x2       2x2  <- H padding 1 (2 gives 126)

No output_padding is needed. The table's padding column is inconsistent with its own
resolution column for stages 2, 4 and 5 along the time (H) axis; the resolution column is
authoritative. `width` multiplies every channel count (the 1-channel output stays 1).
"""
from __future__ import annotations

import torch
from torch import nn

N_FRAMES, N_BINS = 128, 513
ENCODER_CHANNELS = (64, 128, 256, 512, 512)
DECODER_CHANNELS = (512, 256, 128, 64)  # stage 5 outputs 1 channel at every width
STEM_SHAPE = (4, 17)
ENCODER_RESOLUTIONS = ((62, 255), (29, 126), (13, 61), (5, 29), (1, 13))
DECODER_RESOLUTIONS = ((8, 33), (17, 65), (32, 129), (64, 257), (128, 513))
# (kernel, stride, padding) per decoder stage; see the module docstring.
DECODER_CONV_PARAMS = (
    ((5, 5), (1, 2), (0, 2)),
    ((3, 5), (2, 2), (0, 2)),
    ((4, 5), (2, 2), (2, 2)),
    ((4, 5), (2, 2), (1, 2)),
    ((4, 5), (2, 2), (1, 2)),
)


def scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class Encoder(nn.Module):
    def __init__(self, width: float, latent_dim: int):
        super().__init__()
        layers, c_in = [], 1
        for c in ENCODER_CHANNELS:
            c_out = scaled(c, width)
            layers += [nn.Conv2d(c_in, c_out, 5, stride=2), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        h, w = ENCODER_RESOLUTIONS[-1]
        self.to_latent = nn.Linear(c_in * h * w, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, N_FRAMES, N_BINS):
            raise ValueError(f"encoder input must be [B, 1, {N_FRAMES}, {N_BINS}], got {list(x.shape)}")
        mu, logvar = self.to_latent(self.convs(x).flatten(1)).chunk(2, dim=1)
        return mu, logvar


class DecoderStem(nn.Module):
    def __init__(self, latent_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        self.fc = nn.Linear(latent_dim, channels * STEM_SHAPE[0] * STEM_SHAPE[1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc(z).view(z.shape[0], self.channels, *STEM_SHAPE)


class Decoder(nn.Module):
    def __init__(self, width: float, latent_dim: int):
        super().__init__()
        chans = [scaled(c, width) for c in DECODER_CHANNELS] + [1]
        self.stem = DecoderStem(latent_dim, chans[0])
        stages, c_in = [], chans[0]
        for i, (c_out, (k, s, p)) in enumerate(zip(chans, DECODER_CONV_PARAMS)):
            conv = nn.ConvTranspose2d(c_in, c_out, k, stride=s, padding=p)
            if i < 4:
                stages.append(nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)))
            else:
                stages.append(nn.Sequential(conv, nn.Sigmoid()))
            c_in = c_out
        self.stages = nn.ModuleList(stages)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.stem(z)
        for stage in self.stages:
            h = stage(h)
        return h


class SpectrogramVAE(nn.Module):
    def __init__(self, width: float = 1.0, latent_dim: int = 512):
        super().__init__()
        if not 0 < width <= 4:
            raise ValueError(f"width must be in (0, 4], got {width}")
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.width, self.latent_dim = float(width), int(latent_dim)
        self.encoder = Encoder(self.width, self.latent_dim)
        self.decoder = Decoder(self.width, self.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (reconstruction, mu, logvar); samples z in training, uses mu in eval."""
        mu, logvar = self.encoder(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decoder(z), mu, logvar

    def config(self) -> dict:
        return {
            "width": self.width,
            "latent_dim": self.latent_dim,
            "encoder_channels": [scaled(c, self.width) for c in ENCODER_CHANNELS],
            "encoder_resolutions": [list(r) for r in ENCODER_RESOLUTIONS],
            "decoder_channels": [scaled(c, self.width) for c in DECODER_CHANNELS] + [1],
            "decoder_resolutions": [list(r) for r in DECODER_RESOLUTIONS],
            "stem_shape": [scaled(DECODER_CHANNELS[0], self.width), *STEM_SHAPE],
            "n_params": sum(p.numel() for p in self.parameters()),
        }

    @classmethod
    def from_checkpoint(cls, path, map_location="cpu") -> "SpectrogramVAE":
        """Loads a checkpoint dict with keys 'config' (width, latent_dim) and 'model' (state dict)."""
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
        if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
            raise ValueError(f"{path}: not a SpectrogramVAE checkpoint (needs keys 'config' and 'model')")
        model = cls(width=ckpt["config"]["width"], latent_dim=ckpt["config"]["latent_dim"])
        model.load_state_dict(ckpt["model"])
        model.eval()
        return model


def vae_loss(recon, target, mu, logvar, beta: float):
    """Per-element mean squared error plus beta * KL(q(z|x) || N(0, I)) averaged over the batch."""
    rec = torch.mean((recon - target) ** 2)
    kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
    return rec + beta * kl, rec, kl
