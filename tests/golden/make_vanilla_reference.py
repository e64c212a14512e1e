"""Golden values for tests/vanilla_golden.rs: 50 steps of the course tutorial's
vanilla GAN loop, run with PyTorch in float64, exchanged with Rust as safetensors.

    .venv/bin/python tests/golden/make_vanilla_reference.py   # rewrites vanilla_reference.safetensors

The tutorial (course notebook "GAN on MNIST"): G = Linear(100,128) ->
LeakyReLU -> Dropout(0.5) -> Linear(128,784) -> Tanh, D = Linear(784,128) ->
LeakyReLU -> Dropout(0.5) -> Linear(128,1) -> Sigmoid, LeakyReLU with PyTorch's
default slope 0.01, one Adam(lr 1e-3, betas (0.9, 0.999)) per network. Each
batch: FIRST the G step (z ~ U[-1,1]^100, fake = G(z),
g_loss = BCE(D(fake), 1), G update), THEN the D step on the real batch and the
SAME fakes, detached: d_loss = (BCE(D(real), 1) + BCE(D(fake), 0)) / 2, D update.

Differences from the tutorial, all for an exact comparison:
- float64 throughout (both sides), so the two implementations agree to
  ~1e-13 and the test can ask for 1e-9.
- Dropout p = 0 in both nets, here and in the Rust test: the crate's CPU
  dropout draws its masks from its own SplitMix64 stream, not from libtorch's
  generator, so masks cannot be matched. Everything else runs in training mode.
- 50 batches of 16 (not 128) digits, to keep the file small.
- The initial weights are PyTorch's default init (U(+-1/sqrt(fan_in)), seed 0)
  rounded to float16, and the codes z_i are U[-1,1] rounded to float16: stored
  as float16 (half the bytes of float32) and widened exactly to float64 on both
  sides. The final weights are stored in float64.
- The real digits are not stored: step i uses the crate's embedded training
  digits `real_index[i]` (data/mnist-10k/train-images-idx3-ubyte.gz, the file
  the crate embeds, checksummed by tests/data_files.rs), scaled as the crate
  scales them, x = byte / 127.5 - 1, computed in float64 on both sides.
  `real_sum[i]` (the sum of batch i) lets the Rust side check it read the same.

Stored (names; G's and D's variables under the crate's names, src/gan/nets.rs,
NetArch::Mlp: G fc1, fc2; D fc1, head):
  init.g.fc1.weight [128,100] ... init.d.head.bias [1]   float16, initial weights
  final.g.fc1.weight ... final.d.head.bias                float64, after 50 steps
  z [50,16,100] float16; real_index [50,16] int64; real_sum [50] float64
  g_loss, d_loss, d_real, d_fake [50] float64: per step, the G loss, the D
  loss, and D's mean probability on the real and on the fake batch in the D
  step (before D's update).
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
OUT = Path(__file__).resolve().parent / "vanilla_reference.safetensors"
STEPS, BATCH, LATENT, IMG = 50, 16, 100, 784
DROPOUT = 0.0  # the tutorial's 0.5; 0 so that both sides compute the same (see above)


def train_images():
    raw = gzip.open(ROOT / "data" / "mnist-10k" / "train-images-idx3-ubyte.gz").read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    assert magic == 2051 and rows * cols == IMG
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, IMG)


def nets():
    # Built in float32 as PyTorch does by default, so the init is PyTorch's own.
    generator = nn.Sequential(
        nn.Linear(LATENT, 128), nn.LeakyReLU(0.01), nn.Dropout(DROPOUT), nn.Linear(128, IMG), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Linear(IMG, 128), nn.LeakyReLU(0.01), nn.Dropout(DROPOUT), nn.Linear(128, 1), nn.Sigmoid())
    return generator, discriminator


# nn.Sequential's indices -> the crate's variable names.
G_NAMES = {"0": "fc1", "3": "fc2"}
D_NAMES = {"0": "fc1", "3": "head"}


def named(prefix, module, names):
    out = {}
    for key, p in module.state_dict().items():
        idx, what = key.split(".")
        out[f"{prefix}.{names[idx]}.{what}"] = p.detach().clone().contiguous()
    return out


def main():
    torch.manual_seed(0)
    generator, discriminator = nets()
    # Round the init to float16 (the stored form), then compute in float64.
    with torch.no_grad():
        for p in list(generator.parameters()) + list(discriminator.parameters()):
            p.copy_(p.half().float())
    generator, discriminator = generator.double().train(), discriminator.double().train()
    init = {k: v.half() for k, v in {**named("init.g", generator, G_NAMES), **named("init.d", discriminator, D_NAMES)}.items()}

    images = train_images()
    real_index = torch.randperm(len(images))[: STEPS * BATCH].view(STEPS, BATCH)
    z = (torch.rand(STEPS, BATCH, LATENT, dtype=torch.float64) * 2 - 1).half()

    optim_gener = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.9, 0.999))
    optim_discr = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.9, 0.999))
    valid = torch.ones(BATCH, dtype=torch.float64)
    fake = torch.zeros(BATCH, dtype=torch.float64)
    log = {k: [] for k in ["g_loss", "d_loss", "d_real", "d_fake", "real_sum"]}
    for i in range(STEPS):
        features = torch.from_numpy(images[real_index[i].numpy()].copy()).double() / 127.5 - 1
        zi = z[i].double()

        # Train Generator (first, as the tutorial does)
        generated_features = generator(zi)
        discr_pred = discriminator(generated_features).view(-1)
        gener_loss = F.binary_cross_entropy(discr_pred, valid)
        optim_gener.zero_grad()
        gener_loss.backward()
        optim_gener.step()

        # Train Discriminator on the real batch and the same fakes, detached
        discr_pred_real = discriminator(features).view(-1)
        real_loss = F.binary_cross_entropy(discr_pred_real, valid)
        discr_pred_fake = discriminator(generated_features.detach()).view(-1)
        fake_loss = F.binary_cross_entropy(discr_pred_fake, fake)
        discr_loss = 0.5 * (real_loss + fake_loss)
        optim_discr.zero_grad()
        discr_loss.backward()
        optim_discr.step()

        log["g_loss"].append(gener_loss.item())
        log["d_loss"].append(discr_loss.item())
        log["d_real"].append(discr_pred_real.mean().item())
        log["d_fake"].append(discr_pred_fake.mean().item())
        log["real_sum"].append(features.sum().item())

    out = dict(init)
    out.update(named("final.g", generator, G_NAMES))
    out.update(named("final.d", discriminator, D_NAMES))
    out.update({k: torch.tensor(v, dtype=torch.float64) for k, v in log.items()})
    out.update({"z": z.contiguous(), "real_index": real_index.contiguous()})
    save_file(out, str(OUT))
    moved = max((out[f"final.{k[5:]}"] - out[k].double()).abs().max().item() for k in init)
    print(f"wrote {OUT.name} ({OUT.stat().st_size} bytes): torch {torch.__version__}; "
          f"g_loss {log['g_loss'][0]:.4f} -> {log['g_loss'][-1]:.4f}, d_loss {log['d_loss'][0]:.4f} -> {log['d_loss'][-1]:.4f}, "
          f"D(real) {log['d_real'][-1]:.3f}, D(fake) {log['d_fake'][-1]:.3f}, largest weight change {moved:.4f}")


if __name__ == "__main__":
    main()
