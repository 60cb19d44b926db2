"""A StyleGAN2 generator (Karras et al. 2020, config F) in one file, for network bending images.

It loads the checkpoint format the network-bending papers used, rosinality's stylegan2-pytorch: a
`.pt` holding `g_ema` (the generator's state dict), optionally `latent_avg` (converted official
weights) and `args` (its own training runs). Module and parameter names here are chosen so that
`g_ema` loads with `load_state_dict(strict=True)`:

    style.{1..n_mlp}.weight/bias          mapping MLP (style.0 is the parameter-free PixelNorm)
    input.input                           the learned 4x4 constant [1, C4, 4, 4]
    conv1.*, to_rgb1.*                    the 4x4 styled conv and its RGB output
    convs.{2k}.*, convs.{2k+1}.*          per resolution 8, 16, ...: upsampling conv, then conv
    to_rgbs.{k}.*                         per resolution: RGB output added to the upsampled skip
    noises.noise_{i}                      the stored noise images, one per styled conv
  a styled conv: conv.weight [1, out, in, k, k], conv.modulation.weight/bias, conv.blur.kernel
  (upsampling convs only), noise.weight [1], activate.bias [out]

Everything is computed with plain PyTorch operations (no custom CUDA kernels), in forms that the
TorchScript ONNX exporter handles with a dynamic batch: the modulated convolution scales the
input by the style and the output by the demodulation coefficients ("non-fused"), which equals
scaling the weight per sample, and the FIR up-sampling is a zero insertion plus a depthwise
convolution.

Styled convolutions are the bendable layers, numbered from 1: layer 1 is the 4x4 conv (`conv1`),
layers 2, 3 the two 8x8 convs, ... (2 log2(size) - 3 layers: 9 at 64 px, 17 at 1024 px). The
papers' layer n (from 8x8) is layer n + 1 here.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # keeps the activations' second moment through leaky ReLU


def rosinality_channels(size: int, channel_multiplier: int = 2, width: float = 1.0) -> dict[int, int]:
    """Channels per resolution of config F (512 up to 32 px, then 256 cm at 64 px halving each
    octave) scaled by `width` for small models (at least 1 channel)."""
    full = {4: 512, 8: 512, 16: 512, 32: 512}
    for i, res in enumerate((64, 128, 256, 512, 1024)):
        full[res] = (256 >> i) * channel_multiplier
    return {res: max(1, round(c * width)) for res, c in full.items() if res <= size}


def fir_kernel(taps=BLUR_TAPS, gain: float = 1.0) -> torch.Tensor:
    k = torch.tensor(taps, dtype=torch.float32)
    k = k[None, :] * k[:, None]
    return k / k.sum() * gain


class FirFilter(nn.Module):
    """Optional 2x zero-insertion up-sampling, padding, then a separable-kernel low-pass applied
    to every channel. The kernel is a buffer named `kernel` (as in the checkpoints); the gain of
    up**2 keeps the mean after three of four samples were zeros."""

    def __init__(self, pad: tuple[int, int], up: int = 1, gain: float | None = None):
        super().__init__()
        self.up, self.pad = up, pad
        self.register_buffer("kernel", fir_kernel(gain=float(up * up) if gain is None else gain))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c, h, w = x.shape
        if self.up == 2:
            # every sample followed by a zero along both axes: [.., h, 1, w, 1] -> [.., h, 2, w, 2]
            x = F.pad(x.reshape(-1, c, h, 1, w, 1), (0, 1, 0, 0, 0, 1)).reshape(-1, c, 2 * h, 2 * w)
        p0, p1 = self.pad
        x = F.pad(x, (p0, p1, p0, p1))
        # every channel filtered alike: channels folded into the batch, one single-channel conv.
        # conv2d correlates; flipping makes it the convolution FIR filtering means (a no-op for
        # the symmetric taps, kept so that any kernel behaves as a filter)
        kh, kw = self.kernel.shape
        out = F.conv2d(x.reshape(-1, 1, x.shape[2], x.shape[3]), self.kernel.flip((0, 1)).reshape(1, 1, kh, kw))
        return out.reshape(-1, c, out.shape[2], out.shape[3])


class EqualLinear(nn.Module):
    """Linear layer with the equalised learning rate: weights stored as N(0, 1) / lr_mul and
    scaled by lr_mul / sqrt(in) at run time; optional leaky ReLU (x sqrt 2) after the bias."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(in_dim), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(out, LRELU_SLOPE) * LRELU_GAIN if self.activate else out


class PixelNorm(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)


class ModulatedConv(nn.Module):
    """Weight modulation/demodulation (StyleGAN2 Sec. 2.2), optionally up-sampling 2x with a
    stride-2 transposed convolution followed by the FIR low-pass."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, style_dim: int, demodulate: bool = True,
                 upsample: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.demodulate, self.upsample, self.kernel = demodulate, upsample, kernel
        if upsample:
            # transposed conv makes 2n + k - 2 samples; padding (1, 1) before the 4-tap filter
            # (k = 3) brings them back to 2n, aligned like the checkpoints were trained; gain 4
            # because the stride-2 transposed conv spreads each input over a quarter of the outputs
            self.blur = FirFilter(pad=(1, 1), gain=4.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        style = self.modulation(w)  # [B, in]
        weight = self.weight[0] * self.scale  # [out, in, k, k]
        x = x * style[:, :, None, None]
        if self.upsample:
            out = self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        else:
            out = F.conv2d(x, weight, padding=self.kernel // 2)
        if self.demodulate:
            # 1 / ||w'_o|| with w'[o, i] = w[o, i] * style[i]: sum_i style_i^2 sum_k w[o, i, k]^2
            norm = style.square() @ weight.square().sum((2, 3)).t()
            out = out * torch.rsqrt(norm + 1e-8)[:, :, None, None]
        return out


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight * noise


class BiasLeakyReLU(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.bias[None, :, None, None], LRELU_SLOPE) * LRELU_GAIN


class StyledConv(nn.Module):
    """Modulated 3x3 conv, per-pixel noise, bias, leaky ReLU: one bendable layer."""

    def __init__(self, in_ch: int, out_ch: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = BiasLeakyReLU(out_ch)

    def forward(self, x, w, noise):
        return self.activate(self.noise(self.conv(x, w), noise))


class ToRGB(nn.Module):
    """1x1 modulated conv to RGB (no demodulation) plus the up-sampled RGB of the level below."""

    def __init__(self, in_ch: int, style_dim: int, upsample: bool = True):
        super().__init__()
        if upsample:
            # 2n zero-inserted samples, padded (2, 1) for the 4-tap filter: 2n outputs
            self.upsample = FirFilter(pad=(2, 1), up=2)
        self.conv = ModulatedConv(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, w, skip=None):
        out = self.conv(x, w) + self.bias
        return out if skip is None else out + self.upsample(skip)


class ConstantInput(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, 4, 4))

    def forward(self, batch_like: torch.Tensor) -> torch.Tensor:
        # expand to the batch of w without a Python int, so that B stays dynamic in ONNX
        return self.input.expand(batch_like.shape[0], -1, -1, -1)


class Generator(nn.Module):
    """StyleGAN2 generator: mapping z -> w, synthesis w+ [B, n_latent, style_dim] -> RGB in about
    [-1, 1], [B, 3, size, size].

    `channels` maps each resolution 4..size to its channel count (default: rosinality's config F
    with `channel_multiplier`, scaled by `width`)."""

    def __init__(self, size: int, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 width: float = 1.0, channels: dict[int, int] | None = None, lr_mlp: float = 0.01):
        super().__init__()
        log_size = int(round(math.log2(size)))
        if size < 4 or 2 ** log_size != size:
            raise ValueError(f"StyleGAN2 size must be a power of two >= 4, got {size}")
        self.size, self.style_dim, self.n_mlp, self.log_size = size, style_dim, n_mlp, log_size
        self.channels = dict(channels) if channels else rosinality_channels(size, channel_multiplier, width)
        missing = [2 ** i for i in range(2, log_size + 1) if 2 ** i not in self.channels]
        if missing:
            raise ValueError(f"no channel count for resolutions {missing}")
        self.style = nn.Sequential(PixelNorm(), *[EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activate=True)
                                                  for _ in range(n_mlp)])
        c4 = self.channels[4]
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, style_dim)
        self.to_rgb1 = ToRGB(c4, style_dim, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_ch = c4
        for i in range(3, log_size + 1):
            out_ch = self.channels[2 ** i]
            self.convs.append(StyledConv(in_ch, out_ch, style_dim, upsample=True))
            self.convs.append(StyledConv(out_ch, out_ch, style_dim))
            self.to_rgbs.append(ToRGB(out_ch, style_dim))
            in_ch = out_ch
        self.num_layers = 2 * log_size - 3  # styled convs = noise inputs = bendable layers
        self.n_latent = 2 * log_size - 2  # w+ rows: one per styled conv, the last one for the final RGB
        self.noises = nn.Module()
        for i, res in enumerate(self.layer_resolutions()):
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))

    def layer_resolutions(self) -> list[int]:
        return [4] + [2 ** (i // 2 + 3) for i in range(self.num_layers - 1)]

    def layers(self) -> list[dict]:
        """Bendable layers (the manifest's `layers` without the activation name)."""
        names = ["conv1"] + [f"convs.{i}" for i in range(self.num_layers - 1)]
        return [{"index": n + 1, "name": name, "channels": self.channels[res], "height": res, "width": res}
                for n, (name, res) in enumerate(zip(names, self.layer_resolutions()))]

    def styled_convs(self) -> list[StyledConv]:
        return [self.conv1, *self.convs]

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.style(z)

    @staticmethod
    def truncate(w: torch.Tensor, psi: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """mean + psi (w - mean), written as w psi + mean (1 - psi) so that psi = 1 returns w exactly.
        psi: [B]; w: [B, n_latent, D]; mean: [D]."""
        p = psi.reshape(-1, 1, 1)
        return w * p + mean * (1.0 - p)

    def synthesis(self, w_plus: torch.Tensor, noises: list[torch.Tensor], bend=None) -> torch.Tensor:
        """w_plus [B, n_latent, D], noises[i] [B or 1, 1, r_i, r_i] -> image.

        bend(layer, activation) -> activation, if given, runs after each styled conv (layer from 1)."""
        if len(noises) != self.num_layers:
            raise ValueError(f"synthesis takes {self.num_layers} noise images, got {len(noises)}")
        bend = bend or (lambda layer, h: h)
        h = bend(1, self.conv1(self.input(w_plus), w_plus[:, 0], noises[0]))
        rgb = self.to_rgb1(h, w_plus[:, 1])
        for k, to_rgb in enumerate(self.to_rgbs):
            i = 2 * k + 1  # index of this resolution's first conv in w+, noises and layers - 1
            h = bend(i + 1, self.convs[2 * k](h, w_plus[:, i], noises[i]))
            h = bend(i + 2, self.convs[2 * k + 1](h, w_plus[:, i + 1], noises[i + 1]))
            rgb = to_rgb(h, w_plus[:, i + 2], rgb)
        return rgb

    def forward(self, z: torch.Tensor, noises: list[torch.Tensor], psi: float = 1.0,
                mean_latent: torch.Tensor | None = None) -> torch.Tensor:
        """z [B, D] -> image, truncated towards mean_latent when psi != 1 (same w on every layer)."""
        w = self.mapping(z).unsqueeze(1).expand(-1, self.n_latent, -1)
        if psi != 1.0:
            if mean_latent is None:
                raise ValueError("truncation psi != 1 needs the mean latent")
            w = self.truncate(w, torch.full((z.shape[0],), float(psi)), mean_latent)
        return self.synthesis(w, noises)

    # ---- deterministic inputs -------------------------------------------------------------------

    def sample_inputs(self, seeds: list[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """z [B, D] and the per-layer noise images [B, 1, r, r] for each seed: one torch.Generator
        per seed draws z and then the noise of layers 1, 2, ... in order, so an image depends
        only on its own seed (not on its position in a batch)."""
        zs, noises = [], [[] for _ in range(self.num_layers)]
        for seed in seeds:
            g = torch.Generator().manual_seed(int(seed))
            zs.append(torch.randn(self.style_dim, generator=g))
            for i, res in enumerate(self.layer_resolutions()):
                noises[i].append(torch.randn(1, res, res, generator=g))
        return torch.stack(zs), [torch.stack(n) for n in noises]

    def stored_noises(self, batch: int = 1) -> list[torch.Tensor]:
        """The checkpoint's fixed noise images (rosinality's randomize_noise=False)."""
        return [getattr(self.noises, f"noise_{i}").expand(batch, -1, -1, -1) for i in range(self.num_layers)]

    @torch.no_grad()
    def mean_latent(self, n: int = 4096, seed: int = 0) -> torch.Tensor:
        """Mean of w over n z drawn with `seed` (as rosinality's generate.py does, 4096 samples)."""
        z = torch.randn(n, self.style_dim, generator=torch.Generator().manual_seed(seed))
        return self.mapping(z).double().mean(0).float()

    def config(self) -> dict:
        return {"size": self.size, "style_dim": self.style_dim, "n_mlp": self.n_mlp,
                "channels": {str(r): c for r, c in sorted(self.channels.items())},
                "n_params": sum(p.numel() for p in self.parameters())}

    # ---- rosinality checkpoints -----------------------------------------------------------------

    @classmethod
    def from_state_dict(cls, state: dict, lr_mlp: float = 0.01) -> "Generator":
        """Build the generator a `g_ema` state dict describes (size, widths, mapping depth are read
        from the tensor shapes) and load it strictly. lr_mlp cannot be read from the weights:
        0.01 is rosinality's default."""
        try:
            n_mlp = sum(1 for k in state if k.startswith("style.") and k.endswith(".weight"))
            style_dim = state["style.1.weight"].shape[1]
            n_rgbs = sum(1 for k in state if k.startswith("to_rgbs.") and k.endswith(".conv.weight"))
            size = 2 ** (n_rgbs + 2)
            channels = {4: state["conv1.conv.weight"].shape[1]}
            for k in range(n_rgbs):
                channels[2 ** (k + 3)] = state[f"convs.{2 * k}.conv.weight"].shape[1]
        except KeyError as exc:
            raise ValueError(f"not a rosinality StyleGAN2 generator state dict: missing {exc}") from exc
        g = cls(size, style_dim=style_dim, n_mlp=n_mlp, channels=channels, lr_mlp=lr_mlp)
        g.load_state_dict(state, strict=True)
        return g


def load_rosinality(path: Path, trust: bool = False) -> tuple[Generator, torch.Tensor | None, dict]:
    """A rosinality stylegan2-pytorch checkpoint -> (generator `g_ema` in eval mode, the stored
    `latent_avg` or None, facts for the provenance).

    Loads with weights_only=True: converted official weights (g_ema, latent_avg, ...) load that way.
    Checkpoints of rosinality's train.py also pickle an argparse Namespace, which needs
    trust=True (only for files you trust: unpickling can run code)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=not trust)
    except OSError:
        raise
    except Exception as exc:  # pickle errors come in many types
        with open(path, "rb") as f:
            head = f.read(2)
        if trust or not (head == b"PK" or head[:1] == b"\x80"):  # torch.save writes a zip or (legacy) a pickle
            raise ValueError(f"{path} is not a PyTorch checkpoint ({type(exc).__name__}: {exc})") from exc
        raise ValueError(f"{path} could not be loaded as plain tensors ({type(exc).__name__}); if it is "
                         "a training checkpoint you trust, load it with --trust-checkpoint") from exc
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        raise ValueError(f"{path} holds no `g_ema`: not a rosinality StyleGAN2 checkpoint")
    # rosinality's train.py keeps args as an argparse Namespace, stylegan2/train.py as a dict
    args = ckpt.get("args")
    lr_mlp = args.get("lr_mlp", 0.01) if isinstance(args, dict) else getattr(args, "lr_mlp", 0.01)
    try:
        g = Generator.from_state_dict(ckpt["g_ema"], lr_mlp=lr_mlp).eval()
    except (RuntimeError, ValueError) as exc:  # missing, unexpected or misshapen weights
        raise ValueError(f"{path}: {exc}") from exc
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is not None:
        latent_avg = latent_avg.reshape(-1).float()
    facts = {"checkpoint": path.name, **g.config()}
    for key in ("step", "iteration", "images_seen"):
        if isinstance(ckpt.get(key), int):
            facts[key] = ckpt[key]
    return g, latent_avg, facts
