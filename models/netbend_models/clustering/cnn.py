"""Per-layer metric-learning CNN for feature clustering (Entropy 2022 Sec. 4.1, EvoMusArt 2021 Sec. 4.1).

One CNN per bendable layer reads ONE feature's activation map as a 1-channel image [N, 1, H, W]
and is trained (softmax feature learning) to say which feature of the layer it came from. After
training, the 10-d bottleneck is the feature's embedding; k-means on embeddings gives clusters.

    stage 1:  stem Conv 3x3, 1 -> 50, stride 2, BN, ReLU           (ceil(H/2), ceil(W/2))
              ResidualUnit  channel split 25 | 25, residual branch on the second half, shuffle
    stage 2..depth:
              DownUnit      ShuffleNet v2 stride-2 unit, 50 -> 50   (halves again)
              ResidualUnit
    flatten -> Linear(.., 10) = bottleneck (embedding, linear)
            -> Linear(10, n_features) = classifier (logits; softmax in the loss)

Each stage halves the map, so the depth grows with the resolution: the spectrogram VAE's layers
1-4 (8x33, 17x65, 32x129, 64x257) use depth 1-4 (Table 1) and all end near 4x17x50, like the
paper's StyleGAN2 CNNs end at 4x4x50. The feature depth (50) and "one residual block per stage"
are the paper's; the exact unit design (kernel 3, ReLU, where the residual add sits) is ours.
Stage 1 halves with the stem's stride (as ShuffleNet's own stem does) rather than a DownUnit on
the full-resolution map: that keeps 50-channel tensors off the full 64x257 map of layer 4, which
made a training step 3x slower on this (loaded) CPU: 31 s instead of 9.5 s per batch of 100.

The input is the raw activation map as the decoder produces it (`act.L{l}` of the bend graph),
no per-map normalisation: a map's level is part of what distinguishes features.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DEPTH = 50
EMBEDDING_DIM = 10
VAE_LAYER_DEPTHS = {1: 1, 2: 2, 3: 3, 4: 4}  # paper Table 1, "CNN Depth"


def channel_shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    """[N, g*c, H, W] -> interleave the g groups' channels (ShuffleNet)."""
    _, c, h, w = x.shape
    return x.reshape(-1, groups, c // groups, h, w).transpose(1, 2).reshape(-1, c, h, w)


def conv_bn(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, depthwise: bool = False,
            relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2,
                        groups=c_in if depthwise else 1, bias=False), nn.BatchNorm2d(c_out)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DownUnit(nn.Module):
    """ShuffleNet v2 spatial down-sampling unit: two stride-2 branches, concatenated, shuffled."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        half = c_out // 2
        self.left = nn.Sequential(conv_bn(c_in, c_in, 3, 2, depthwise=True, relu=False), conv_bn(c_in, half))
        self.right = nn.Sequential(conv_bn(c_in, half), conv_bn(half, half, 3, 2, depthwise=True, relu=False),
                                   conv_bn(half, half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(torch.cat([self.left(x), self.right(x)], dim=1))


class ResidualUnit(nn.Module):
    """Channel split: the first half passes through, the second gets a residual
    1x1 -> depthwise 3x3 -> 1x1 branch; concatenate, shuffle."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.branch = nn.Sequential(conv_bn(half, half), conv_bn(half, half, 3, depthwise=True, relu=False),
                                    conv_bn(half, half, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat([a, F.relu(b + self.branch(b))], dim=1))


class EmbeddingCNN(nn.Module):
    """Classifier over a layer's features; `embed` gives the 10-d bottleneck."""

    def __init__(self, height: int, width: int, n_features: int, depth: int,
                 feature_depth: int = FEATURE_DEPTH, embedding_dim: int = EMBEDDING_DIM):
        super().__init__()
        if depth < 1 or height < 1 or width < 1 or n_features < 1:
            raise ValueError(f"need depth >= 1, a map of at least 1x1 and >= 1 feature; got depth {depth}, "
                             f"{height}x{width}, {n_features} features")
        if feature_depth % 2:
            raise ValueError(f"feature_depth must be even (channel split), got {feature_depth}")
        self.height, self.width, self.n_features, self.depth = height, width, n_features, depth
        stages = [nn.Sequential(conv_bn(1, feature_depth, 3, stride=2), ResidualUnit(feature_depth))]
        stages += [nn.Sequential(DownUnit(feature_depth, feature_depth), ResidualUnit(feature_depth))
                   for _ in range(depth - 1)]
        self.stages = nn.Sequential(*stages)
        h, w = height, width
        for _ in range(depth):
            h, w = (h + 1) // 2, (w + 1) // 2  # kernel 3, stride 2, padding 1
        self.final_shape = (feature_depth, h, w)
        self.bottleneck = nn.Linear(feature_depth * h * w, embedding_dim)
        self.classifier = nn.Linear(embedding_dim, n_features)

    def config(self) -> dict:
        return {"height": self.height, "width": self.width, "n_features": self.n_features, "depth": self.depth,
                "feature_depth": self.final_shape[0], "embedding_dim": self.bottleneck.out_features}

    def embed(self, maps: torch.Tensor) -> torch.Tensor:
        """[N, 1, H, W] activation maps -> [N, 10] embeddings."""
        if maps.dim() != 4 or tuple(maps.shape[1:]) != (1, self.height, self.width):
            raise ValueError(f"maps must be [N, 1, {self.height}, {self.width}], got {list(maps.shape)}")
        return self.bottleneck(self.stages(maps).flatten(1))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Logits over the layer's features, [N, n_features]."""
        return self.classifier(self.embed(maps))


class Embedder(nn.Module):
    """The CNN up to the bottleneck: what is exported to ONNX (`maps` -> `embedding`)."""

    def __init__(self, cnn: EmbeddingCNN):
        super().__init__()
        self.cnn = cnn

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.cnn.embed(maps)
