"""Golden values for tests/adv_d_golden.rs: adversarial training of the
discriminator (issue 16), FGSM and DAT on D's inputs, computed with PyTorch in
float64 and exchanged with Rust as safetensors.

    .venv/bin/python tests/golden/make_adv_d_reference.py   # rewrites adv_d_reference.safetensors

Written from the method's description, not from the crate's code:

D is the crate's MLP discriminator (src/gan/nets.rs, NetArch::Mlp, no
normalisation, dropout 0) on 8x8 images, hidden width 16, LeakyReLU(0.2):
x [n, 64] -> fc1 Linear(64, 16) -> LeakyReLU(0.2) -> head Linear(16, 1) -> a
raw output (a logit). Its D loss is the non-saturating GAN's BCE on logits:
L_D = 0.5 * BCE(D(real), 1) + 0.5 * BCE(D(fake), 0), each a batch mean.
Images live in [-1, 1].

FGSM (the SNGAN-FGSM recipe), eps = 0.02, reals and fakes:
    g = grad of L_D (on the current D) w.r.t. the inputs (D's parameters untouched)
    x_adv = clamp(x + eps * sign(g), -1, 1)
then one D step: L_D on (real_adv, fake_adv); its value and D's parameter
gradients are stored.

DAT (Li et al. 2020, arXiv:2008.09041), t = 1:
    r = mean D(real), f = mean D(fake), raw outputs, held constant
    fake_adv = clamp(fake - clamp(grad_fake |mean D(fake) - r|, -t, t), -1, 1)
    real_adv = real - clamp(grad_real |mean D(real) - f|, -t, t)
the authors' order scores real_adv unclamped ("dat"); "dat_clamp_first"
clamps real_adv to [-1, 1] before scoring. Then one D step: L_D on
(real_adv, fake_adv) only; its value and D's parameter gradients are stored
for both orders. "dat_t" uses t = 0.005, small enough that the clamp of the
gradient binds on some pixels.

The batches are U[-1, 1] with some pixels set to exactly -1 and 1, so that the
clamps to [-1, 1] act (and the two DAT orders differ).

Stored (float64): d.fc1.weight [16,64], d.fc1.bias [16], d.head.weight [1,16],
d.head.bias [1] (the crate's names); real, fake [6,64]; fgsm.real, fgsm.fake,
fgsm.loss, fgsm.grad.<param>; dat.real, dat.fake, dat.loss, dat.grad.<param>;
dat_clamp_first.(same); dat_t.real, dat_t.fake.
"""
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent / "adv_d_reference.safetensors"
N, SIDE, WIDTH, SLOPE = 6, 8, 16, 0.2
EPS, T, SMALL_T = 0.02, 1.0, 0.005


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(SIDE * SIDE, WIDTH)
        self.head = nn.Linear(WIDTH, 1)

    def forward(self, x):
        return self.head(F.leaky_relu(self.fc1(x), SLOPE))


def d_loss(d, real, fake):
    lr, lf = d(real), d(fake)
    return 0.5 * F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + \
        0.5 * F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))


def fgsm(d, real, fake, eps):
    xr, xf = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    gr, gf = torch.autograd.grad(d_loss(d, xr, xf), [xr, xf])
    return (real + eps * gr.sign()).clamp(-1, 1), (fake + eps * gf.sign()).clamp(-1, 1)


def dat(d, real, fake, t, clamp_first):
    with torch.no_grad():
        r, f = d(real).mean(), d(fake).mean()
    xf = fake.clone().requires_grad_(True)
    gf, = torch.autograd.grad((d(xf).mean() - r).abs(), [xf])
    fake_adv = (fake - gf.clamp(-t, t)).clamp(-1, 1)
    xr = real.clone().requires_grad_(True)
    gr, = torch.autograd.grad((d(xr).mean() - f).abs(), [xr])
    real_adv = real - gr.clamp(-t, t)
    if clamp_first:
        real_adv = real_adv.clamp(-1, 1)
    return real_adv, fake_adv


def d_step(d, real, fake):
    """L_D on the given inputs and D's parameter gradients (one D step's backward)."""
    d.zero_grad(set_to_none=True)
    loss = d_loss(d, real, fake)
    loss.backward()
    return loss.detach(), {name: p.grad.detach().clone() for name, p in d.named_parameters()}


def batch(gen):
    x = torch.rand(N, SIDE * SIDE, generator=gen, dtype=torch.float64) * 2 - 1
    x[:, ::5] = 1.0
    x[:, 2::7] = -1.0
    return x


def main():
    torch.manual_seed(0)
    d = D().double()
    gen = torch.Generator().manual_seed(1)
    real, fake = batch(gen), batch(gen)
    out = {f"d.{k}": v.detach().clone().contiguous() for k, v in d.state_dict().items()}
    out.update({"real": real, "fake": fake})
    fr, ff = fgsm(d, real, fake, EPS)
    loss, grads = d_step(d, fr, ff)
    out.update({"fgsm.real": fr, "fgsm.fake": ff, "fgsm.loss": loss.reshape(1)})
    out.update({f"fgsm.grad.{k}": g for k, g in grads.items()})
    for key, clamp_first in [("dat", False), ("dat_clamp_first", True)]:
        ar, af = dat(d, real, fake, T, clamp_first)
        loss, grads = d_step(d, ar, af)
        out.update({f"{key}.real": ar.detach(), f"{key}.fake": af.detach(), f"{key}.loss": loss.reshape(1)})
        out.update({f"{key}.grad.{k}": g for k, g in grads.items()})
    ar, af = dat(d, real, fake, SMALL_T, False)
    out.update({"dat_t.real": ar.detach(), "dat_t.fake": af.detach()})
    out = {k: v.detach().contiguous() for k, v in out.items()}
    save_file(out, str(OUT))
    outside = ((out["dat.real"].abs() > 1).double().mean()).item()
    bound = (((out["dat_t.real"] - real).abs() >= SMALL_T - 1e-15).double().mean()).item()
    print(f"wrote {OUT.name}: torch {torch.__version__}; fgsm moved {(out['fgsm.real'] != real).double().mean().item():.3f} "
          f"of real pixels; dat's unclamped real_adv has {outside:.3f} of pixels outside [-1, 1]; "
          f"t = {SMALL_T} binds on {bound:.3f} of real pixels")


if __name__ == "__main__":
    main()
