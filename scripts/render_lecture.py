"""Executes notebooks once and exports each as an offline page and slides.

    .venv/bin/python scripts/render_lecture.py OUT NOTEBOOK.ipynb [...]

Called by scripts/render_lecture.sh, which first vendors MathJax, require.js,
jQuery and reveal.js into OUT/vendor (see there). For each notebook it writes
OUT/executed/<stem>.ipynb, OUT/<stem>.html (nbconvert's lab template) and
OUT/<stem>.slides.html (reveal.js), then OUT/index.html. The notebook runs in
its own folder (its setup cell's `path = ".."` is relative to it), strictly
(GAN_TUTORIAL_STRICT=1; a cell writing to stderr fails, as in the tests), and
the page and slides come from that one execution. Files are written to a
temporary name and renamed; a failure leaves earlier outputs as they were.
"""
import html
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbconvert import HTMLExporter, SlidesExporter
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor
from traitlets.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel"))
from gan_kernel import KERNEL_NAME, unexpected_stderr  # noqa: E402

CELL_TIMEOUT = int(os.environ.get("GAN_TUTORIAL_CELL_TIMEOUT", "1800"))
REMOTE = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", re.I)

# reveal/index.html.j2 imports mermaid from a CDN on every page; the lab
# template loads it only when the notebook has a diagram. Do the same.
SLIDES_TEMPLATE = DictLoader({"gan_tutorial_slides.html.j2": """
{%- extends 'index.html.j2' -%}
{% from 'mermaidjs.html.j2' import mermaid_js %}
{%- block html_head_js_mermaidjs -%}
{{ mermaid_js(resources.mermaid_js_url, resources.mermaid_layout_elk_js_url) }}
{%- endblock html_head_js_mermaidjs -%}
"""})


class RenderError(Exception):
    pass


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def exporter_config():
    """nbconvert's templates with the vendored scripts (relative URLs) instead of CDNs."""
    c = Config()
    c.HTMLExporter.embed_images = True
    c.HTMLExporter.mathjax_url = "vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    c.HTMLExporter.require_js_url = "vendor/requirejs/require.js"
    c.HTMLExporter.jquery_url = "vendor/jquery/dist/jquery.min.js"
    c.SlidesExporter.reveal_url_prefix = "vendor/reveal.js"
    # The exporter's default theme, simple, imports Google Fonts; white ships its font.
    c.SlidesExporter.reveal_theme = "white"
    # A slide taller than the screen scrolls (uses the vendored jQuery).
    c.SlidesExporter.reveal_scroll = True
    return c


def failed_cell_report(nb):
    """The outputs of the cell that failed (evcxr's error text is often in its streams)."""
    ran = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    cell = next((c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                ran[-1] if ran else None)
    shown = ""
    for o in (cell or {}).get("outputs", []):
        if o.get("output_type") == "stream":
            shown += f"[{o.get('name')}] {o.get('text', '')}"
        elif o.get("output_type") == "error":
            shown += f"[error] {o.get('ename', '')}: {o.get('evalue', '')}\n" + "\n".join(o.get("traceback", [])) + "\n"
    return shown or "(none)"


def render(notebook, out):
    notebook = Path(notebook).resolve()
    stem = notebook.stem
    nb = nbformat.read(notebook, as_version=4)

    t0 = time.monotonic()
    ep = ExecutePreprocessor(kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT, startup_timeout=120)
    try:
        ep.preprocess(nb, {"metadata": {"path": str(notebook.parent)}})
    except CellExecutionError as e:
        failed = out / "executed" / f"{stem}.failed.ipynb"
        write_atomic(failed, nbformat.writes(nb))
        raise RenderError(f"a cell failed (the partly executed notebook: {failed}):\n{e}\n"
                          f"--- the cell's outputs ---\n{failed_cell_report(nb)}") from None
    t_exec = time.monotonic() - t0
    for index, cell in enumerate(nb.cells):
        err = unexpected_stderr(cell) if cell.cell_type == "code" else ""
        if err:
            raise RenderError(f"cell {index} wrote to stderr (with evcxr: a `?` error or a caught panic; "
                              f"tag the cell `allow-stderr` if that is expected):\n{cell.source}\n---\n{err}")

    t1 = time.monotonic()
    config = exporter_config()
    resources = {"metadata": {"name": stem, "path": str(notebook.parent)}}
    page, _ = HTMLExporter(config=config, template_name="lab").from_notebook_node(nb, resources=dict(resources))
    slides, _ = SlidesExporter(config=config, extra_loaders=[SLIDES_TEMPLATE],
                               template_file="gan_tutorial_slides.html.j2").from_notebook_node(nb, resources=dict(resources))
    t_export = time.monotonic() - t1
    for name, text in [("page", page), ("slides", slides)]:
        urls = sorted(set(REMOTE.findall(text)))
        if urls:
            raise RenderError(f"the {name} loads from the network, it would not work offline: {', '.join(urls)}")

    write_atomic(out / "executed" / f"{stem}.ipynb", nbformat.writes(nb))
    (out / "executed" / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    write_atomic(out / f"{stem}.html", page)
    write_atomic(out / f"{stem}.slides.html", slides)
    mode = os.environ.get("GAN_TUTORIAL_NOTEBOOK_MODE") or "full"
    print(f"{stem}: {t_exec + t_export:.0f} s (execute {t_exec:.1f} s, export {t_export:.1f} s, mode {mode})"
          f" -> {out / (stem + '.html')}, {out / (stem + '.slides.html')}", flush=True)


def notebook_title(executed, default):
    if executed.exists():
        for cell in nbformat.read(executed, as_version=4).cells:
            heading = next((l for l in cell.source.splitlines() if l.startswith("# ")), None)
            if cell.cell_type == "markdown" and heading:
                return heading[2:].strip()
    return default


def write_index(out):
    rows = []
    for page in sorted(out.glob("*.html")):
        if page.name == "index.html" or page.name.endswith(".slides.html"):
            continue
        stem = page.stem
        title = notebook_title(out / "executed" / f"{stem}.ipynb", stem)
        slides = f"{stem}.slides.html"
        link = f' · <a href="{html.escape(slides)}">slides</a>' if (out / slides).exists() else ""
        rows.append(f'  <li><a href="{html.escape(page.name)}">{html.escape(title)}</a>{link}</li>')
    rows = "\n".join(rows)
    write_atomic(out / "index.html", f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gan_tutorial: the lecture</title>
<style>body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.6; }}</style>
</head>
<body>
<h1>gan_tutorial: the lecture</h1>
<p>The notebooks, executed. Each page works offline.</p>
<ol>
{rows}
</ol>
</body>
</html>
""")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out, notebooks = Path(argv[0]).resolve(), argv[1:]
    (out / "executed").mkdir(parents=True, exist_ok=True)
    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        print(f"render_lecture: no Jupyter kernel named {KERNEL_NAME!r}: run 'make setup' (kernel/install.sh)", file=sys.stderr)
        return 1
    os.environ.setdefault("GAN_TUTORIAL_STRICT", "1")
    for notebook in notebooks:
        try:
            render(notebook, out)
        except RenderError as e:
            print(f"render_lecture: {Path(notebook).stem}: {e}\n(the outputs of an earlier render, if any, are unchanged)",
                  file=sys.stderr)
            return 1
    write_index(out)
    print(out / "index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
