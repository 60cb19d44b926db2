"""Train a small StyleGAN2 on an image set from data/image_dataset.py (the demo model), on the CPU.

    python -m netbend_models.stylegan2.train --data data/emoji64 --name stylegan2-demo
        [--channels 4:128,8:128,16:64,32:32,64:16] [--style-dim 256] [--batch 16]
        [--max-minutes M] [--resume] [--threads 1]

Losses (StyleGAN2, Karras et al. 2020): non-saturating logistic loss for G and D, R1 on real
images every `--r1-every` D steps ("lazy" regularisation, scaled by that interval), no path
length regularisation and no style mixing (both are refinements; omitted to keep CPU steps
cheap). Adam (lr 0.002, betas 0 / 0.99), an exponential moving average of G (`g_ema`, half-life
10k images), horizontal flips of the data.

Checkpoints: runs/<name>/last.pt every `--checkpoint-minutes` and at the end, in rosinality's
layout (`g`, `d`, `g_ema`, `g_optim`, `d_optim`, `args` as a plain dict, `latent_avg`), so
export/stylegan2.py reads it like any rosinality checkpoint; a grid of g_ema samples (fixed seeds)
beside it; the log in runs/<name>/train.log.txt; a tqdm bar on stdout. `--resume` continues from
last.pt (same settings: they are taken from the checkpoint).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..cli import run_tool
from .model import LRELU_GAIN, LRELU_SLOPE, FirFilter, Generator

DEFAULT_CHANNELS = "4:128,8:128,16:64,32:32,64:16"  # ~3 CPU s a step (batch 16) on this machine
SAMPLE_SEEDS = list(range(16))


class EqualConv(nn.Module):
    """Conv with the equalised learning rate; optional blur + stride 2 down-sampling and a
    bias + leaky ReLU (x sqrt 2)."""

    def __init__(self, in_ch, out_ch, kernel, down=False, bias=True, activate=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.down, self.activate = down, activate
        # low-pass before a stride-2 conv: padding so that n samples give n / 2 outputs
        p = 2 + kernel - 1
        self.blur = FirFilter(pad=((p + 1) // 2, p // 2)) if down else None
        self.padding = 0 if down else kernel // 2

    def forward(self, x):
        if self.blur is not None:
            x = self.blur(x)
        out = F.conv2d(x, self.weight * self.scale, stride=2 if self.down else 1, padding=self.padding)
        if self.bias is not None:
            out = out + self.bias[None, :, None, None]
        return F.leaky_relu(out, LRELU_SLOPE) * LRELU_GAIN if self.activate else out


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = EqualConv(in_ch, in_ch, 3)
        self.conv2 = EqualConv(in_ch, out_ch, 3, down=True)
        self.skip = EqualConv(in_ch, out_ch, 1, down=True, bias=False, activate=False)

    def forward(self, x):
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2.0)


class Discriminator(nn.Module):
    """StyleGAN2's residual discriminator: from-RGB, residual blocks down to 4x4, minibatch
    standard deviation (groups of up to 4), conv, two linear layers."""

    def __init__(self, size: int, channels: dict[int, int]):
        super().__init__()
        log_size = int(math.log2(size))
        self.from_rgb = EqualConv(3, channels[size], 1)
        self.blocks = nn.Sequential(*[ResBlock(channels[2 ** i], channels[2 ** (i - 1)])
                                      for i in range(log_size, 2, -1)])
        c4 = channels[4]
        self.final_conv = EqualConv(c4 + 1, c4, 3)
        self.fc1 = nn.Parameter(torch.randn(c4, c4 * 16))
        self.fc1_bias = nn.Parameter(torch.zeros(c4))
        self.fc2 = nn.Parameter(torch.randn(1, c4))
        self.fc2_bias = nn.Parameter(torch.zeros(1))

    def forward(self, img):
        x = self.blocks(self.from_rgb(img))
        b, c, h, w = x.shape
        group = min(b, 4)
        while b % group:  # the batch must split into whole groups
            group -= 1
        std = x.reshape(group, -1, c, h, w).var(0, unbiased=False).add(1e-8).sqrt().mean((1, 2, 3))
        x = torch.cat([x, std.repeat(group).reshape(b, 1, 1, 1).expand(b, 1, h, w)], 1)
        x = self.final_conv(x).flatten(1)
        x = F.leaky_relu(F.linear(x, self.fc1 / math.sqrt(x.shape[1]), self.fc1_bias), LRELU_SLOPE) * LRELU_GAIN
        return F.linear(x, self.fc2 / math.sqrt(x.shape[1]), self.fc2_bias)


def parse_channels(text: str) -> dict[int, int]:
    return {int(r): int(c) for r, c in (item.split(":") for item in text.split(","))}


def noises_for(g: Generator, batch: int, gen: torch.Generator) -> list[torch.Tensor]:
    return [torch.randn(batch, 1, r, r, generator=gen) for r in g.layer_resolutions()]


def generate(g: Generator, batch: int, gen: torch.Generator) -> torch.Tensor:
    z = torch.randn(batch, g.style_dim, generator=gen)
    return g(z, noises_for(g, batch, gen))


def save_grid(g_ema: Generator, path: Path):
    from PIL import Image
    with torch.no_grad():
        z, noises = g_ema.sample_inputs(SAMPLE_SEEDS)
        img = g_ema(z, noises)
    img = ((img.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    n, s = len(SAMPLE_SEEDS), g_ema.size
    side = int(math.ceil(math.sqrt(n)))
    grid = np.full((side * s, side * s, 3), 255, np.uint8)
    for i, im in enumerate(img):
        grid[(i // side) * s:(i // side + 1) * s, (i % side) * s:(i % side + 1) * s] = im
    Image.fromarray(grid).save(path)


def build(args: dict):
    channels = {int(r): c for r, c in args["channels"].items()}
    g = Generator(args["size"], style_dim=args["style_dim"], n_mlp=args["n_mlp"], channels=channels)
    g_ema = Generator(args["size"], style_dim=args["style_dim"], n_mlp=args["n_mlp"], channels=channels).eval()
    g_ema.load_state_dict(g.state_dict())
    d = Discriminator(args["size"], channels)
    r1_ratio = args["r1_every"] / (args["r1_every"] + 1)  # lazy regularisation (StyleGAN2 App. C)
    g_optim = torch.optim.Adam(g.parameters(), lr=args["lr"], betas=(0.0, 0.99))
    d_optim = torch.optim.Adam(d.parameters(), lr=args["lr"] * r1_ratio, betas=(0.0, 0.99 ** r1_ratio))
    return g, g_ema, d, g_optim, d_optim


def train(args: dict, run_dir: Path, resume: bool, max_minutes: float | None, checkpoint_minutes: float):
    run_dir.mkdir(parents=True, exist_ok=True)
    last = run_dir / "last.pt"
    step, seen, start_wall = 0, 0, 0.0
    if resume and last.is_file():
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        args = {**ckpt["args"], "steps": args["steps"]}
        g, g_ema, d, g_optim, d_optim = build(args)
        for module, key in ((g, "g"), (g_ema, "g_ema"), (d, "d"), (g_optim, "g_optim"), (d_optim, "d_optim")):
            module.load_state_dict(ckpt[key])
        step, seen, start_wall = ckpt["step"], ckpt["images_seen"], ckpt["train_seconds"]
        rng_state = ckpt["rng"]
    else:
        torch.manual_seed(args["seed"])
        g, g_ema, d, g_optim, d_optim = build(args)
        rng_state = None
    images = np.load(Path(args["data"]) / "images.npy")
    data = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    if data.shape[-1] != args["size"]:
        raise ValueError(f"data is {data.shape[-1]} px, the model {args['size']} px")
    gen = torch.Generator().manual_seed(args["seed"] + 1)
    if rng_state is not None:
        gen.set_state(rng_state)
    ema_beta = 0.5 ** (args["batch"] / 10_000)
    log = open(run_dir / "train.log.txt", "a")
    log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} start at step {step}: {json.dumps(args)}\n")
    log.flush()
    session_start = last_ckpt = time.monotonic()
    cpu_start = time.process_time()

    def checkpoint():
        with torch.no_grad():
            latent_avg = g_ema.mean_latent(4096, seed=0)
        state = {"g": g.state_dict(), "d": d.state_dict(), "g_ema": g_ema.state_dict(),
                 "g_optim": g_optim.state_dict(), "d_optim": d_optim.state_dict(), "args": args,
                 "latent_avg": latent_avg, "step": step, "images_seen": seen, "rng": gen.get_state(),
                 "train_seconds": start_wall + time.monotonic() - session_start}
        torch.save(state, run_dir / "last.pt.tmp")
        (run_dir / "last.pt.tmp").replace(last)  # never a half-written last.pt
        save_grid(g_ema, run_dir / "samples.png")
        save_grid(g_ema, run_dir / f"samples-{step:06d}.png")

    bar = tqdm(total=args["steps"], initial=step, desc="stylegan2", dynamic_ncols=True)
    stopped = "steps"
    while step < args["steps"]:
        idx = torch.randint(len(data), (args["batch"],), generator=gen)
        real = data[idx]
        flip = torch.rand(args["batch"], generator=gen) < 0.5
        real = torch.where(flip[:, None, None, None], real.flip(3), real)

        # D: softplus(D(fake)) + softplus(-D(real)), every r1_every steps + R1 (gamma / 2 |grad|^2)
        g.requires_grad_(False)
        d.requires_grad_(True)
        with torch.no_grad():
            fake = generate(g, args["batch"], gen)
        d_loss = F.softplus(d(fake)).mean() + F.softplus(-d(real)).mean()
        d_optim.zero_grad(set_to_none=True)
        d_loss.backward()
        r1 = torch.zeros(())
        if step % args["r1_every"] == 0:
            real_r = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(d(real_r).sum(), real_r, create_graph=True)
            r1 = grad.square().sum((1, 2, 3)).mean()
            (args["r1_gamma"] / 2 * r1 * args["r1_every"]).backward()
        d_optim.step()

        # G: softplus(-D(G(z)))
        g.requires_grad_(True)
        d.requires_grad_(False)
        g_loss = F.softplus(-d(generate(g, args["batch"], gen))).mean()
        g_optim.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optim.step()
        with torch.no_grad():
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.lerp_(p, 1.0 - ema_beta)

        step += 1
        seen += args["batch"]
        bar.update(1)
        bar.set_postfix(d=f"{d_loss.item():.3f}", g=f"{g_loss.item():.3f}", r1=f"{r1.item():.3f}")
        if step % 10 == 0:
            cpu = (time.process_time() - cpu_start) / 10  # CPU s/step: steadier than wall on a shared machine
            cpu_start = time.process_time()
            log.write(f"{time.strftime('%H:%M:%S')} step {step} images {seen} d {d_loss.item():.4f} "
                      f"g {g_loss.item():.4f} r1 {r1.item():.4f} cpu {cpu:.2f} s/step\n")
            log.flush()
        now = time.monotonic()
        if max_minutes is not None and now - session_start > 60 * max_minutes:
            stopped = "max-minutes"
            break
        if now - last_ckpt > 60 * checkpoint_minutes:
            checkpoint()
            last_ckpt = now
    checkpoint()
    bar.close()
    log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} stopped ({stopped}) at step {step}, {seen} images\n")
    log.close()
    return step


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="netbend_models.data.image_dataset output directory")
    p.add_argument("--name", default="stylegan2-demo")
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--channels", default=DEFAULT_CHANNELS, help="resolution:channels, comma separated")
    p.add_argument("--style-dim", type=int, default=256)
    p.add_argument("--n-mlp", type=int, default=8)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.002)
    # gamma ~ 0.0002 res^2 / batch (the StyleGAN2-ADA heuristic) gives 0.05 at 64 px, batch 16
    p.add_argument("--r1-gamma", type=float, default=0.05)
    p.add_argument("--r1-every", type=int, default=16)
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--checkpoint-minutes", type=float, default=15.0)
    p.add_argument("--resume", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    args = {"data": str(a.data), "size": a.size, "channels": parse_channels(a.channels), "style_dim": a.style_dim,
            "n_mlp": a.n_mlp, "batch": a.batch, "lr": a.lr, "lr_mlp": 0.01, "r1_gamma": a.r1_gamma,
            "r1_every": a.r1_every, "steps": a.steps, "seed": a.seed}
    step = train(args, a.runs / a.name, a.resume, a.max_minutes, a.checkpoint_minutes)
    print(f"stopped at step {step}; checkpoint {a.runs / a.name / 'last.pt'}")


if __name__ == "__main__":
    run_tool(main)
