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

from ..data.audio import Normalisation

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
    arch = "vector"

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
            "arch": self.arch,
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


# --- The spatial-latent VAE: Netbend's default since 2026-12 -------------------------------
#
# The paper's vector latent (one 512-number vector per 743 ms window) cannot say where the hits
# of a drum break are, and its KL price collapses the posterior (models/docs/training.md). This
# variant keeps the decoder's bendable layers 1-4 exactly (Table 1's 8x33, 17x65, 32x129, 64x257
# at width 0.25: 128/64/32/16 channels) and replaces the vector by a map of `latent_channels`
# x 8 x 33 (one cell per 16 frames x 16 bins). The graphs still take and give a flat z
# [B, latent_dim] (latent_dim = latent_channels * 8 * 33): the map is flattened at the end of
# the encoder and unflattened at the start of the decoder, so every reader of `z` is unchanged.
#
# Encoder: 4 stride-2 convolutions mirroring the decoder's resolutions
#   128x513 -> 64x257 -> 32x129 -> 17x65 -> 8x33   (BatchNorm + LeakyReLU each)
# then a 3x3 convolution to mean and log-variance maps.
# Decoder: stage 1 = 3x3 convolution latent -> layer 1's channels (+ BatchNorm + LeakyReLU),
# stages 2-5 as the paper's (a full-resolution refinement convolution after stage 5 was measured
# and dropped: it tripled the training step for the CPU budget here).

LATENT_GRID = DECODER_RESOLUTIONS[0]  # (8, 33)
SPATIAL_ENCODER_CHANNELS = (64, 128, 256, 512)  # x width: 16/32/64/128 at 0.25
SPATIAL_ENCODER_CONV_PARAMS = (
    ((4, 5), (2, 2), (1, 2)),  # 128x513 -> 64x257
    ((4, 5), (2, 2), (1, 2)),  # -> 32x129
    ((4, 5), (2, 2), (2, 2)),  # -> 17x65
    ((3, 5), (2, 2), (0, 2)),  # -> 8x33
)


class SpatialEncoder(nn.Module):
    def __init__(self, width: float, latent_channels: int):
        super().__init__()
        layers, c_in = [], 1
        for c, (k, s, p) in zip(SPATIAL_ENCODER_CHANNELS, SPATIAL_ENCODER_CONV_PARAMS):
            c_out = scaled(c, width)
            layers += [nn.Conv2d(c_in, c_out, k, stride=s, padding=p), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        self.to_latent = nn.Conv2d(c_in, 2 * latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, N_FRAMES, N_BINS):
            raise ValueError(f"encoder input must be [B, 1, {N_FRAMES}, {N_BINS}], got {list(x.shape)}")
        mu, logvar = self.to_latent(self.convs(x)).chunk(2, dim=1)
        return mu.flatten(1), logvar.flatten(1)


class LatentUnflatten(nn.Module):
    """The decoder's stem: flat z [B, latent_dim] -> latent map [B, latent_channels, 8, 33]."""

    def __init__(self, latent_channels: int):
        super().__init__()
        self.latent_channels = latent_channels

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.view(z.shape[0], self.latent_channels, *LATENT_GRID)


class SpatialDecoder(nn.Module):
    def __init__(self, width: float, latent_channels: int):
        super().__init__()
        chans = [scaled(c, width) for c in DECODER_CHANNELS]
        self.stem = LatentUnflatten(latent_channels)
        stages = [nn.Sequential(nn.Conv2d(latent_channels, chans[0], 3, padding=1), nn.BatchNorm2d(chans[0]),
                                nn.LeakyReLU(0.2))]
        for c_in, c_out, (k, s, p) in zip(chans, chans[1:] + [1], DECODER_CONV_PARAMS[1:]):
            conv = nn.ConvTranspose2d(c_in, c_out, k, stride=s, padding=p)
            if c_out > 1:
                stages.append(nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)))
            else:
                stages.append(nn.Sequential(conv, nn.Sigmoid()))
        self.stages = nn.ModuleList(stages)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.stem(z)
        for stage in self.stages:
            h = stage(h)
        return h


class SpatialSpectrogramVAE(nn.Module):
    """Same interface as SpectrogramVAE (encoder -> flat mu/logvar, decoder.stem + 5 decoder.stages)."""

    arch = "spatial"

    def __init__(self, width: float = 0.25, latent_channels: int = 32):
        super().__init__()
        if not 0 < width <= 4:
            raise ValueError(f"width must be in (0, 4], got {width}")
        if latent_channels < 1:
            raise ValueError(f"latent_channels must be >= 1, got {latent_channels}")
        self.width, self.latent_channels = float(width), int(latent_channels)
        self.latent_dim = self.latent_channels * LATENT_GRID[0] * LATENT_GRID[1]
        self.encoder = SpatialEncoder(self.width, self.latent_channels)
        self.decoder = SpatialDecoder(self.width, self.latent_channels)

    forward = SpectrogramVAE.forward

    def latent_shape(self) -> list[int]:
        return [self.latent_channels, *LATENT_GRID]

    def config(self) -> dict:
        return {
            "arch": self.arch,
            "width": self.width,
            "latent_channels": self.latent_channels,
            "latent_dim": self.latent_dim,
            "latent_shape": self.latent_shape(),
            "encoder_channels": [scaled(c, self.width) for c in SPATIAL_ENCODER_CHANNELS],
            "encoder_resolutions": [list(r) for r in DECODER_RESOLUTIONS[3::-1]],
            "decoder_channels": [scaled(c, self.width) for c in DECODER_CHANNELS] + [1],
            "decoder_resolutions": [list(r) for r in DECODER_RESOLUTIONS],
            "n_params": sum(p.numel() for p in self.parameters()),
        }


ARCHITECTURES = ("spatial", "vector")


def build_model(config: dict) -> nn.Module:
    """The model a checkpoint's `config` describes (no `arch`: the paper's vector VAE)."""
    arch = config.get("arch", "vector")
    if arch == "spatial":
        return SpatialSpectrogramVAE(width=config["width"], latent_channels=config["latent_channels"])
    if arch == "vector":
        return SpectrogramVAE(width=config["width"], latent_dim=config["latent_dim"])
    raise ValueError(f"unknown architecture {arch!r}; allowed: {list(ARCHITECTURES)}")


def load_checkpoint(path, map_location="cpu") -> nn.Module:
    """Either architecture from a train.py checkpoint, in eval mode."""
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except OSError:
        raise
    except Exception as exc:  # pickle and zip errors come in many types
        raise ValueError(f"{path}: not a Netbend VAE checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise ValueError(f"{path}: not a Netbend VAE checkpoint (needs keys 'config' and 'model')")
    model = build_model(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model


def spectral_loss(recon, target, mu, logvar, beta: float, onset_weight: float = 0.0):
    """The default model's loss (models/docs/training.md): L1 on the normalised dB values (every
    bin counts, as in LSD) + 0.5 x spectral convergence of the magnitudes (the loud bins, as in
    SC) + onset_weight x `onset_envelope_loss` (the hits; 0 for the shipped model) + beta x
    the KL divergence averaged over latent elements. Returns (loss, rec, kl) with kl in nats per
    window (summed over the latent)."""
    l1 = torch.mean(torch.abs(recon - target))
    mag_t, mag_r = normalised_to_magnitude(target), normalised_to_magnitude(recon)
    sc = torch.mean(torch.linalg.vector_norm(mag_t - mag_r, dim=(1, 2, 3))
                    / torch.linalg.vector_norm(mag_t, dim=(1, 2, 3)).clamp_min(1e-6))
    kl_elements = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
    rec = l1 + 0.5 * sc
    if onset_weight:
        rec = rec + onset_weight * onset_envelope_loss(recon, target)
    return rec + beta * kl_elements.mean(), rec, kl_elements.sum(dim=1).mean()


def onset_envelope(x: torch.Tensor) -> torch.Tensor:
    """[N, 1, frames, bins] normalised dB -> [N, frames - 1]: the mean over bins of the positive
    frame-to-frame increase, the onset envelope that the quality score correlates (quality.py),
    here in normalised units. Averaged over bins, the rises of noise-like bins mostly cancel out
    and the hits stand out."""
    rise = torch.relu(x[:, 0, 1:, :] - x[:, 0, :-1, :])
    return rise.mean(dim=2)


def onset_envelope_loss(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |onset envelope of recon - that of target| over windows and frames: the L1 and SC
    terms score each frame on its own, so a hit smeared over its neighbours costs them little;
    this term pays for every frame whose rise is missing or misplaced."""
    return torch.mean(torch.abs(onset_envelope(recon) - onset_envelope(target)))


def normalised_to_magnitude(x: torch.Tensor, norm: Normalisation = Normalisation()) -> torch.Tensor:
    """db-minmax inverse (docs/signal.md) in torch: x in [0, 1] -> magnitude."""
    return torch.pow(10.0, (x * (norm.db_max - norm.db_min) + norm.db_min) / 20.0)
