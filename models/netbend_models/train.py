"""Train the spectrogram VAE (Adam lr 3e-4, betas (0, 0.99), batch 64 as in the paper).

Data: --data DIR of .npy files, each [N, 128, 513] float32 normalised dB windows in [0, 1]
(the real dataset loader is to be wired to dataset.py once models/data/READY exists), or
--synthetic N for N random spectrum-like windows (development and tests).
Checkpoints go to models/runs/<name>/last.pt every epoch and every --checkpoint-minutes.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .vae import SpectrogramVAE, vae_loss

KL_BETA = 1e-3  # small: reconstruction quality matters more than a smooth latent space here


def synthetic_windows(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    tilt = torch.linspace(0.9, 0.1, 513)
    return (tilt + 0.1 * torch.rand(n, 1, 128, 513, generator=g)).clamp(0, 1)


def load_windows(data_dir: Path) -> torch.Tensor:
    files = sorted(data_dir.glob("*.npy"))
    if not files:
        raise FileNotFoundError(f"{data_dir}: no .npy window files")
    arrays = [np.load(f) for f in files]
    for f, a in zip(files, arrays):
        if a.ndim != 3 or a.shape[1:] != (128, 513):
            raise ValueError(f"{f}: windows must be [N, 128, 513], got {a.shape}")
    return torch.from_numpy(np.concatenate(arrays).astype(np.float32)).unsqueeze(1)


def save(path: Path, model, opt, epoch: int, step: int):
    tmp = path.with_suffix(".tmp")
    torch.save({"config": model.config(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                "epoch": epoch, "step": step}, tmp)
    tmp.replace(path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", default="default")
    p.add_argument("--runs", type=Path, default=Path(__file__).resolve().parents[1] / "runs")
    p.add_argument("--data", type=Path)
    p.add_argument("--synthetic", type=int, default=0)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--beta", type=float, default=KL_BETA)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    run = args.runs / args.name
    run.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=run / "train.log.txt", level=logging.INFO, format="%(asctime)s %(message)s")
    if args.data is None and args.synthetic <= 0:
        p.error("give --data DIR or --synthetic N")
    x = load_windows(args.data) if args.data else synthetic_windows(args.synthetic)
    model = SpectrogramVAE(width=args.width)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4, betas=(0.0, 0.99))
    ckpt_path, epoch0, step = run / "last.pt", 0, 0
    if args.resume:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if ckpt["config"]["width"] != args.width:
            raise ValueError(f"{ckpt_path}: width {ckpt['config']['width']} != --width {args.width}")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        epoch0, step = ckpt["epoch"], ckpt["step"]
    last_save = time.time()
    for epoch in range(epoch0, args.epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in tqdm(range(0, len(x), args.batch), desc=f"epoch {epoch + 1}"):
            batch = x[order[i:i + args.batch]]
            recon, mu, logvar = model(batch)
            loss, rec, kl = vae_loss(recon, batch, mu, logvar, args.beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 20 == 0:
                logging.info("epoch %d step %d loss %.5f rec %.5f kl %.3f", epoch + 1, step, loss, rec, kl)
            if time.time() - last_save > 60 * args.checkpoint_minutes:
                save(ckpt_path, model, opt, epoch, step)  # mid-epoch: resume redoes this epoch
                last_save = time.time()
        save(ckpt_path, model, opt, epoch + 1, step)
        logging.info("epoch %d done, step %d, checkpoint %s", epoch + 1, step, ckpt_path)
        last_save = time.time()


if __name__ == "__main__":
    main()
