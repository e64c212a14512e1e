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


class Conv1InputGrad(torch.autograd.Function):
    """conv1 (1 -> 6 channels, 5x5, pad 2) with its input gradient computed as
    the crate computes it (src/classifier/input_grad.rs): one depthwise
    convolution of the batch folded into channels, then a sum over the six
    channels, instead of convolution_backward (slow on the CPU for one input
    channel). Only the input's gradient: attacks need nothing else."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(weight)
        return F.conv2d(x, weight, bias, padding=2)

    @staticmethod
    def backward(ctx, g):
        (weight,) = ctx.saved_tensors
        n = g.shape[0]
        flipped = weight.flip(2, 3).repeat(n, 1, 1, 1)
        gx = F.conv2d(g.reshape(1, n * 6, 28, 28), flipped, padding=2, groups=n * 6).view(n, 6, 28, 28).sum(1, keepdim=True)
        return gx, None, None


class LeNetGroupedConv1Grad(LeNet):
    """The same LeNet, conv1's input gradient as above: PyTorch with the crate's formulation."""

    def forward(self, x):
        x = (x - 0.1307) / 0.3081
        x = F.max_pool2d(F.relu(Conv1InputGrad.apply(x, self.conv1.weight, self.conv1.bias)), 2)
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
    grouped = LeNetGroupedConv1Grad()
    grouped.load_state_dict(load_file(args.weights))
    grouped.eval()
    # "fgsm"/"pgd40": autograd as everyone writes it; "*_grouped": conv1's input gradient as the crate computes it.
    for name, net, attack in [
        ("fgsm", model, lambda m, a, b: fgsm(m, a, b, args.eps)),
        ("pgd40", model, lambda m, a, b: pgd(m, a, b, args.eps, 40)),
        ("fgsm_grouped", grouped, lambda m, a, b: fgsm(m, a, b, args.eps)),
        ("pgd40_grouped", grouped, lambda m, a, b: pgd(m, a, b, args.eps, 40)),
    ]:
        attack(net, x[: args.batch], y[: args.batch])  # warm-up
        # Only the attack is timed, as on the Rust side; the accuracy check comes after.
        start, cpu0 = time.perf_counter(), time.process_time()
        advs = [attack(net, x[s : s + args.batch], y[s : s + args.batch]) for s in range(0, args.n, args.batch)]
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
        with torch.no_grad():
            correct = sum((model(adv).argmax(1) == y[s : s + args.batch]).sum().item() for adv, s in zip(advs, range(0, args.n, args.batch)))
        result[name] = {"images_per_s": args.n / elapsed, "images_per_cpu_s": args.n / cpu, "seconds": elapsed, "robust_accuracy": correct / args.n}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
