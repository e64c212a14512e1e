"""The DCGAN preset's training step in PyTorch, for benches/dcgan_step.rs,
which runs this script and prints both sides.

The same networks as the crate's `Variant::Dcgan` on 28x28 MNIST (src/gan/nets.rs):
  G: z 100 -> Linear -> (2w)x7x7, BN, ReLU -> ConvT 4x4/2 w x14x14, BN, ReLU -> ConvT 4x4/2 1x28x28 -> Tanh
  D: Conv 4x4/2 w x14x14, LeakyReLU 0.2 -> Conv 4x4/2 (2w)x7x7, BN, LeakyReLU 0.2 -> Linear -> 1
with N(0, 0.02) convolution weights and N(1, 0.02) BN scales; Adam 2e-4 (0.5,
0.999) for both; batch 64 (last partial batch dropped); Gaussian z; the
non-saturating loss with BCE on logits; D step first, then G. Every step reads
both losses back as Python floats (`.item()`), as the crate's trainer records
plain numbers each step: on CUDA that synchronises once per step on both sides.

Data: the embedded MNIST subset (data/mnist-10k), scaled to [-1, 1], on the
device. Times `steps` iterations after `warmup`; prints one JSON object.
"""
import argparse
import gzip
import json
import struct
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parent.parent


def load_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: not an IDX image file"
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, 1, rows, cols)


class G(nn.Module):
    def __init__(self, w, latent=100):
        super().__init__()
        self.c0 = 2 * w
        self.fc = nn.Linear(latent, self.c0 * 49)
        self.bn0 = nn.BatchNorm1d(self.c0 * 49)
        self.up0 = nn.ConvTranspose2d(self.c0, w, 4, 2, 1)
        self.bn1 = nn.BatchNorm2d(w)
        self.up1 = nn.ConvTranspose2d(w, 1, 4, 2, 1)

    def forward(self, z):
        h = torch.relu(self.bn0(self.fc(z))).view(-1, self.c0, 7, 7)
        h = torch.relu(self.bn1(self.up0(h)))
        return torch.tanh(self.up1(h))


class D(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.conv0 = nn.Conv2d(1, w, 4, 2, 1)
        self.conv1 = nn.Conv2d(w, 2 * w, 4, 2, 1)
        self.bn1 = nn.BatchNorm2d(2 * w)
        self.head = nn.Linear(2 * w * 49, 1)

    def forward(self, x):
        h = nn.functional.leaky_relu(self.conv0(x), 0.2)
        h = nn.functional.leaky_relu(self.bn1(self.conv1(h)), 0.2)
        return self.head(h.flatten(1))


def dcgan_init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    images = load_images(ROOT / "data" / "mnist-10k" / "train-images-idx3-ubyte.gz")
    data = (torch.from_numpy(images.astype(np.float32)) / 127.5 - 1.0).to(dev)
    g, d = G(args.width).to(dev), D(args.width).to(dev)
    g.apply(dcgan_init)
    d.apply(dcgan_init)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    n_batches = data.shape[0] // args.batch

    def step(i):
        if i % n_batches == 0:
            step.order = torch.randperm(data.shape[0], device=dev)
        idx = step.order[(i % n_batches) * args.batch:(i % n_batches + 1) * args.batch]
        real = data[idx]
        b = real.shape[0]
        ones, zeros = torch.ones(b, 1, device=dev), torch.zeros(b, 1, device=dev)
        z = torch.randn(b, 100, device=dev)
        fake = g(z)
        opt_d.zero_grad(set_to_none=True)
        d_loss = bce(d(real), ones) + bce(d(fake.detach()), zeros)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        g_loss = bce(d(fake), ones)
        g_loss.backward()
        opt_g.step()
        return d_loss.item(), g_loss.item()

    for i in range(args.warmup):
        step(i)
    t = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        d_loss, g_loss = step(i)
    seconds = time.perf_counter() - t
    print(json.dumps({"its": args.steps / seconds, "ms_per_step": 1000 * seconds / args.steps, "steps": args.steps,
                      "device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "last_d_loss": d_loss, "last_g_loss": g_loss}))


if __name__ == "__main__":
    main()
