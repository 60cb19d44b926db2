"""Train a spectrogram VAE.

--arch spatial (the default model, models/docs/training.md): the spatial-latent VAE, Adam lr 1e-3
halving every --lr-half-life steps (floor lr/16), betas (0.9, 0.999), batch 16, loss
vae.spectral_loss (L1 + 0.5 SC + beta 1e-3 x KL per latent element; --onset-weight adds the
onset-envelope term, off for the shipped model).
--arch vector (the paper's configuration, models/vae-paper): Adam lr 3e-4, betas (0, 0.99), batch
64, loss vae.vae_loss (MSE + beta 1e-3 x KL summed over the latent).

Data: --data DIR, a folder written by `netbend_models.data.dataset` (READY, train.npy and
validation.npy: float16 [N, 128, 513] normalised dB windows in [0, 1]), or --synthetic N for N
random spectrum-like windows (development and tests).
Checkpoints go to models/runs/<name>/last.pt every epoch and every --checkpoint-minutes; the
checkpoint with the lowest validation loss so far is also kept as best.pt. --max-minutes stops
cleanly (checkpoint written) when the time budget is spent, so a later --resume continues.
"""
from __future__ import annotations

import argparse
import functools
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..cli import run_tool
from .model import ARCHITECTURES, SpatialSpectrogramVAE, SpectrogramVAE, build_model, spectral_loss, vae_loss

KL_BETA = 1e-3  # small: reconstruction quality matters more than a smooth latent space here
# Per architecture: (loss, lr, Adam betas, batch).
RECIPES = {
    "spatial": (spectral_loss, 1e-3, (0.9, 0.999), 16),
    "vector": (vae_loss, 3e-4, (0.0, 0.99), 64),
}


def learning_rate(base: float, step: int, half_life: int) -> float:
    """base halved every half_life steps, never below base / 16 (half_life 0: constant)."""
    if half_life <= 0:
        return base
    return base * max(0.5 ** (step / half_life), 1 / 16)


def synthetic_windows(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    tilt = torch.linspace(0.9, 0.1, 513)
    return (tilt + 0.1 * torch.rand(n, 1, 128, 513, generator=g)).clamp(0, 1)


def load_split(data_dir: Path, split: str) -> torch.Tensor:
    """One split of a dataset folder as a float16 [N, 1, 128, 513] tensor (converted per batch:
    float32 would double the ~3 GB the training split takes in memory)."""
    if not (data_dir / "READY").exists():
        raise FileNotFoundError(f"{data_dir}: not a finished dataset folder (no READY file); build it "
                                "with `python -m netbend_models.data.dataset --out DIR`")
    path = data_dir / f"{split}.npy"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (the dataset folder has no {split} split)")
    a = np.load(path, mmap_mode="r")
    if a.ndim != 3 or a.shape[1:] != (128, 513):
        raise ValueError(f"{path}: windows must be [N, 128, 513], got {list(a.shape)}")
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float16)).unsqueeze(1)


@torch.no_grad()
def validation_loss(model, windows: torch.Tensor, batch: int, beta: float, loss_fn=vae_loss) -> float:
    """Mean loss of the eval-mode model (z = mu) over the given windows."""
    model.eval()
    total = 0.0
    for i in range(0, len(windows), batch):
        x = windows[i:i + batch].float()
        recon, mu, logvar = model(x)
        total += loss_fn(recon, x, mu, logvar, beta)[0].item() * len(x)
    model.train()
    return total / max(len(windows), 1)


def save(path: Path, model, opt, epoch: int, step: int, history: list):
    tmp = path.with_suffix(".tmp")
    torch.save({"config": model.config(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                "epoch": epoch, "step": step, "history": history}, tmp)
    tmp.replace(path)


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__)
    p.add_argument("--name", default="default")
    p.add_argument("--runs", type=Path, default=Path(__file__).resolve().parents[2] / "runs")
    p.add_argument("--data", type=Path)
    p.add_argument("--synthetic", type=int, default=0)
    p.add_argument("--arch", choices=ARCHITECTURES, default="spatial")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--latent-channels", type=int, default=32, help="spatial latent channels (8x33 each)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=0, help="0: the architecture's recipe (16 spatial, 64 vector)")
    p.add_argument("--lr", type=float, default=0.0, help="0: the recipe's (1e-3 spatial, 3e-4 vector)")
    p.add_argument("--lr-half-life", type=int, default=0,
                   help="halve the learning rate every N steps (floor lr/16; 0: constant)")
    p.add_argument("--beta", type=float, default=KL_BETA)
    p.add_argument("--onset-weight", type=float, default=0.0,
                   help="spatial: weight of the onset-envelope term of vae.spectral_loss (0: off, as for "
                        "the shipped model; measured in models/docs/spatial-vae.md)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop cleanly after this much training time (0: no limit); --resume continues")
    p.add_argument("--validation-windows", type=int, default=512,
                   help="validation windows scored after each epoch (evenly spaced over the split)")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    run = args.runs / args.name
    run.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=run / "train.log.txt", level=logging.INFO, format="%(asctime)s %(message)s")
    if args.data is None and args.synthetic <= 0:
        p.error("give --data DIR or --synthetic N")
    if args.data:
        x = load_split(args.data, "train")
        val_all = load_split(args.data, "validation")
        pick = np.linspace(0, len(val_all) - 1, min(args.validation_windows, len(val_all))).astype(int)
        val = val_all[torch.from_numpy(pick)]
        del val_all
    else:
        x = synthetic_windows(args.synthetic)
        val = synthetic_windows(max(args.synthetic // 4, 1), seed=1)
    loss_fn, base_lr, betas, batch = RECIPES[args.arch]
    args.batch, args.lr = args.batch or batch, args.lr or base_lr
    if args.onset_weight:
        if args.arch != "spatial":
            p.error("--onset-weight is a term of the spatial model's loss (--arch spatial)")
        loss_fn = functools.partial(spectral_loss, onset_weight=args.onset_weight)
    if args.arch == "spatial":
        model = SpatialSpectrogramVAE(width=args.width, latent_channels=args.latent_channels)
    else:
        model = SpectrogramVAE(width=args.width)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=betas)
    ckpt_path, best_path, epoch0, step, history = run / "last.pt", run / "best.pt", 0, 0, []
    if args.resume:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        wanted, got = model.config(), {"arch": "vector", **ckpt["config"]}
        for key in ("arch", "width", "latent_dim"):
            if got[key] != wanted[key]:
                raise ValueError(f"{ckpt_path}: {key} {got[key]} does not match the arguments ({wanted[key]})")
        model = build_model(ckpt["config"])
        model.load_state_dict(ckpt["model"])
        opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=betas)
        opt.load_state_dict(ckpt["optimizer"])
        epoch0, step, history = ckpt["epoch"], ckpt["step"], ckpt.get("history", [])
    logging.info("start: epoch %d step %d, %d training windows, %s", epoch0, step, len(x), model.config())
    started = last_save = time.time()
    out_of_time = False
    for epoch in range(epoch0, args.epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in tqdm(range(0, len(x), args.batch), desc=f"epoch {epoch + 1}/{args.epochs}"):
            for group in opt.param_groups:
                group["lr"] = learning_rate(args.lr, step, args.lr_half_life)
            batch = x[order[i:i + args.batch]].float()
            recon, mu, logvar = model(batch)
            loss, rec, kl = loss_fn(recon, batch, mu, logvar, args.beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 20 == 0:
                logging.info("epoch %d step %d loss %.5f rec %.5f kl %.3f", epoch + 1, step, loss, rec, kl)
            if args.max_minutes and time.time() - started > 60 * args.max_minutes:
                out_of_time = True
                break
            if time.time() - last_save > 60 * args.checkpoint_minutes:
                save(ckpt_path, model, opt, epoch, step, history)  # mid-epoch: resume redoes this epoch
                last_save = time.time()
        if out_of_time:
            save(ckpt_path, model, opt, epoch, step, history)
            logging.info("time budget of %.1f min spent at epoch %d step %d; checkpoint %s (resume redoes "
                         "this epoch)", args.max_minutes, epoch + 1, step, ckpt_path)
            break
        val_loss = validation_loss(model, val, args.batch, args.beta, loss_fn)
        history.append({"epoch": epoch + 1, "step": step, "validation_loss": val_loss,
                        "minutes": round((time.time() - started) / 60, 2)})
        save(ckpt_path, model, opt, epoch + 1, step, history)
        if val_loss <= min(h["validation_loss"] for h in history):
            save(best_path, model, opt, epoch + 1, step, history)
        logging.info("epoch %d done, step %d, validation loss %.5f, checkpoint %s",
                     epoch + 1, step, val_loss, ckpt_path)
        last_save = time.time()

if __name__ == "__main__":
    run_tool(main)
