"""Golden values for tests/attack_golden.rs: FGSM, BIM and PGD on a small trained
LeNet, computed with PyTorch, exchanged with Rust as safetensors.

    .venv/bin/python tests/golden/make_attack_reference.py   # rewrites attack_reference.safetensors

The model is the crate's LeNet (src/classifier/mod.rs): inputs in [0, 1],
normalised inside ((x - 0.1307) / 0.3081), Conv(1,6,5,pad 2)-ReLU-MaxPool2,
Conv(6,16,5)-ReLU-MaxPool2, 400-120-84-10. It is trained for 150 Adam steps on
the embedded digits so that its gradients are those of a real classifier,
then the digits and outputs are stored in float64 and the weights in float32,
and both sides compute in float64 (the Rust test runs in float64 too, so
that sign(grad) cannot flip on rounding).

Stored: the weights under the crate's parameter names, 8 test digits `x`
[8,1,28,28] and labels `y`, the PGD random start `delta0`, and the outputs
`fgsm` (eps 0.1), `fgsm_targeted` (eps 0.1 towards (y+1) mod 10), `bim`
(eps 0.1, 5 steps of 0.025 from x itself), `bim_targeted` (eps 0.2, 10 steps of
0.05 towards (y+1) mod 10), `pgd` (eps 0.1, 5 steps of 0.025 from delta0),
`pgd_targeted` (eps 0.2, 10 steps of 0.05 towards (y+1) mod 10), `logits`.
"""
import gzip
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "attack_reference.safetensors"


def load(stem):
    raw = gzip.open(ROOT / "data" / "mnist-10k" / f"{stem}.gz").read()
    if stem.endswith("images-idx3-ubyte"):
        n = struct.unpack(">IIII", raw[:16])[1]
        return np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 1, 28, 28)
    return np.frombuffer(raw[8:], dtype=np.uint8)


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
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def grad_of(model, x, y, target=None):
    x = x.detach().requires_grad_(True)
    logits = model(x)
    obj = F.cross_entropy(logits, y) if target is None else -F.cross_entropy(logits, target)
    return torch.autograd.grad(obj, x)[0]


def fgsm(model, x, y, eps, target=None):
    return (x + eps * grad_of(model, x, y, target).sign()).clamp(0, 1)


def pgd_from(model, x, y, eps, alpha, steps, delta0, target=None):
    # Same order of operations as src/attack/{pgd,bim,mod}.rs: project onto the
    # eps-ball with max/min, then clamp to [0, 1].
    project = lambda a: torch.minimum(torch.maximum(a, x - eps), x + eps).clamp(0, 1)
    adv = project(x + delta0)
    for _ in range(steps):
        adv = project(adv + alpha * grad_of(model, adv, y, target).sign()).detach()
    return adv


def main():
    torch.manual_seed(0)
    xtr = torch.from_numpy(load("train-images-idx3-ubyte").copy()).float() / 255
    ytr = torch.from_numpy(load("train-labels-idx1-ubyte").copy()).long()
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(150):
        idx = torch.randint(0, len(xtr), (64,))
        loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    weights = {name: p.detach().float().contiguous() for name, p in model.state_dict().items()}
    model = model.double().eval()
    x = torch.from_numpy(load("t10k-images-idx3-ubyte")[:8].copy()).double() / 255
    y = torch.from_numpy(load("t10k-labels-idx1-ubyte")[:8].copy()).long()
    delta0 = (torch.rand(x.shape, dtype=torch.float64) * 2 - 1) * 0.1
    out = dict(weights)  # float32, as trained; both sides compute in float64
    out.update({
        "x": x, "y": y, "delta0": delta0,
        "logits": model(x).detach(),
        "fgsm": fgsm(model, x, y, 0.1).detach(),
        "fgsm_targeted": fgsm(model, x, y, 0.1, target=(y + 1) % 10).detach(),
        # BIM is PGD without the random start.
        "bim": pgd_from(model, x, y, 0.1, 0.025, 5, torch.zeros_like(x)).detach(),
        "bim_targeted": pgd_from(model, x, y, 0.2, 0.05, 10, torch.zeros_like(x), target=(y + 1) % 10).detach(),
        "pgd": pgd_from(model, x, y, 0.1, 0.025, 5, delta0).detach(),
        "pgd_targeted": pgd_from(model, x, y, 0.2, 0.05, 10, delta0 * 2, target=(y + 1) % 10).detach(),
    })
    save_file(out, str(OUT))
    acc = (model(x).argmax(1) == y).double().mean().item()
    print(f"wrote {OUT.name}: torch {torch.__version__}, clean accuracy on the 8 digits {acc:.3f}, "
          f"fgsm changes {(out['fgsm'] != x).double().mean().item():.3f} of pixels")


if __name__ == "__main__":
    main()
