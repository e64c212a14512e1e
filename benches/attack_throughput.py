"""FGSM and PGD-40 throughput (images/s) in PyTorch from Python, timed the
same way as benches/attack_throughput.rs (which runs this script and prints
both). Same LeNet weights (a safetensors file written by the Rust side), same
test digits, same batch size, float32, CPU. The attacks are written as
torchattacks writes them: autograd.grad of the cross-entropy w.r.t. the
input, sign step, projection onto the eps-ball, clamp to [0, 1].
Prints one JSON object on the last line.
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
import torch.nn.functional as F
from safetensors.torch import load_file


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = (x - 0.1307) / 0.3081
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


def grad_of(model, x, y):
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(F.cross_entropy(model(x), y), x)[0]


def fgsm(model, x, y, eps):
    return (x + eps * grad_of(model, x, y).sign()).clamp(0, 1).detach()


def pgd(model, x, y, eps, steps):
    alpha = 2.5 * eps / steps
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        adv = adv + alpha * grad_of(model, adv, y).sign()
        adv = torch.minimum(torch.maximum(adv, x - eps), x + eps).clamp(0, 1).detach()
    return adv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = LeNet()
    model.load_state_dict(load_file(args.weights))
    model.eval()
    raw = gzip.open(Path(args.data) / "t10k-images-idx3-ubyte.gz").read()
    x = torch.from_numpy(np.frombuffer(raw[16:], dtype=np.uint8)[: args.n * 784].reshape(args.n, 1, 28, 28).copy()).float() / 255
    raw = gzip.open(Path(args.data) / "t10k-labels-idx1-ubyte.gz").read()
    y = torch.from_numpy(np.frombuffer(raw[8:], dtype=np.uint8)[: args.n].copy()).long()
    result = {"impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "n": args.n, "batch": args.batch}
    for name, attack in [("fgsm", lambda a, b: fgsm(model, a, b, args.eps)), ("pgd40", lambda a, b: pgd(model, a, b, args.eps, 40))]:
        attack(x[: args.batch], y[: args.batch])  # warm-up
        # Only the attack is timed, as on the Rust side; the accuracy check comes after.
        start, cpu0 = time.perf_counter(), time.process_time()
        advs = [attack(x[s : s + args.batch], y[s : s + args.batch]) for s in range(0, args.n, args.batch)]
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
        with torch.no_grad():
            correct = sum((model(adv).argmax(1) == y[s : s + args.batch]).sum().item() for adv, s in zip(advs, range(0, args.n, args.batch)))
        result[name] = {"images_per_s": args.n / elapsed, "images_per_cpu_s": args.n / cpu, "seconds": elapsed, "robust_accuracy": correct / args.n}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
