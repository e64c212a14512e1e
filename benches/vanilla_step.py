"""The tutorial's vanilla GAN training loop in PyTorch, timed the same way
as the Rust bench (benches/vanilla_step.rs runs this script and prints both).

Same data (the embedded 9,003-digit MNIST subset, scaled to [-1, 1]), same
networks, Adam lr 0.001, batch 128, uniform latent on [-1, 1], one G step
then one D step per batch. Prints one JSON object on the last line.

--pipeline picks the data pipeline:
  tutorial (default): a Dataset that turns each uint8 image into a float
      tensor and normalises it per item, as torchvision's MNIST with
      transforms.Compose([ToTensor(), Normalize((0.5,), (0.5,))]) does in the
      tutorial (minus the PIL conversion, so a little faster than the real thing);
  tensor: the whole set pre-normalised into one tensor (TensorDataset), the
      fastest plain-PyTorch pipeline, closest to what the Rust side does.

--keep-graphs stores the loss tensors themselves in the history, as the
tutorial's code does, instead of plain floats: their autograd graphs stay
alive and memory grows with every step.
"""
import argparse
import gzip
import json
import resource
import struct
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn


def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_images(path):
    raw = gzip.open(path).read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    assert magic == 0x803, f"{path}: bad magic {magic:#x}"
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows * cols)


class Generator(nn.Module):
    def __init__(self, latent_dim=100, hidden_dim=128, output_dim=784):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(), nn.Dropout(0.5),
            nn.Linear(hidden_dim, output_dim), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(input_dim, hidden_dim), nn.LeakyReLU(), nn.Dropout(0.5),
            nn.Linear(hidden_dim, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class TutorialMnist(torch.utils.data.Dataset):
    """Per-item conversion, as ToTensor() + Normalize((0.5,), (0.5,)) do."""

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        x = torch.from_numpy(self.images[i].reshape(1, 28, 28).copy()).float().div(255)  # ToTensor
        x = (x - 0.5) / 0.5  # Normalize
        return x, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--keep-graphs", action="store_true")
    ap.add_argument("--pipeline", choices=["tutorial", "tensor"], default="tutorial")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = load_images(Path(args.data) / "train-images-idx3-ubyte.gz")
    if args.pipeline == "tutorial":
        dataset = TutorialMnist(images)
    else:
        dataset = torch.utils.data.TensorDataset(torch.from_numpy(images.copy()).float() / 127.5 - 1.0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, shuffle=True)
    G, D = Generator(), Discriminator()
    g_optim = torch.optim.Adam(G.parameters(), lr=0.001)
    d_optim = torch.optim.Adam(D.parameters(), lr=0.001)
    criterion = nn.BCELoss()
    g_losses, d_losses = [], []
    rss = []
    steps = 0
    start = time.perf_counter()
    for epoch in range(args.epochs):
        G.train()
        D.train()
        for batch in loader:
            real = batch[0].view(-1, 784)
            n = real.size(0)
            ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            # generator step
            z = 2 * torch.rand(n, 100) - 1
            fake = G(z)
            g_loss = criterion(D(fake), ones)
            g_optim.zero_grad()
            g_loss.backward()
            g_optim.step()
            # discriminator step
            real_loss = criterion(D(real), ones)
            fake_loss = criterion(D(fake.detach()), zeros)
            d_loss = 0.5 * (real_loss + fake_loss)
            d_optim.zero_grad()
            d_loss.backward()
            d_optim.step()
            if args.keep_graphs:
                g_losses.append(g_loss)
                d_losses.append(d_loss)
            else:
                g_losses.append(g_loss.item())
                d_losses.append(d_loss.item())
            steps += 1
        rss.append(rss_mb())
    elapsed = time.perf_counter() - start
    print(json.dumps({
        "impl": "pytorch",
        "pipeline": args.pipeline,
        "keep_graphs": args.keep_graphs,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "seconds": elapsed,
        "it_per_s": steps / elapsed,
        "rss_mb_per_epoch": rss,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final_g_loss": float(g_losses[-1]),
    }))


if __name__ == "__main__":
    main()
