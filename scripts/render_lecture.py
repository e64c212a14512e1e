"""Executes notebooks once and exports each as offline pages and slides, in
two versions: the instructor's and the students'.

    .venv/bin/python scripts/render_lecture.py OUT [--executed DIR [--require-executed]] NOTEBOOK.ipynb [...]

Called by scripts/render_lecture.sh, which first vendors MathJax, require.js,
jQuery and reveal.js into OUT/vendor (see there). For each notebook it writes

    OUT/executed/<stem>.ipynb             the notebook with its outputs (one execution)
    OUT/instructor/<stem>.html, .slides.html   every cell, solutions shown
    OUT/student/<stem>.html, .slides.html      `solution` cells removed; the outputs
                                               of `exercise` and `check` cells cleared
    OUT/student/<stem>.ipynb              the students' notebook (no solutions, no outputs)

then OUT/index.html linking both versions. The pages of both versions load
the one OUT/vendor/ (relative URLs), so OUT/ works from file:// offline.

A notebook runs in its own folder (its setup cell's `path = ".."` is
relative to it), strictly (GAN_TUTORIAL_STRICT=1; a cell writing to stderr
fails, as in the tests), and both versions come from that one execution.
With `--executed DIR`, a notebook that DIR/<stem>.ipynb holds already
executed (the notebook tests leave such copies, see
tests/notebooks/nbstrict.py) is not executed again, provided its cells'
sources are those of the notebook now; a missing or stale copy is executed
here, or is an error with `--require-executed`. The students' version is the
executed one with cells removed or cleared, so solutions are run (and checked)
whichever version is read. Files are written to a temporary name and renamed;
a failure leaves earlier outputs as they were.
"""
import argparse
import copy
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


BUILDS = ("instructor", "student")
SOLUTION, EXERCISE, CHECK = "solution", "exercise", "check"


def tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def student_version(nb):
    """The students' copy of an executed notebook: `solution` cells removed,
    the outputs of `exercise` cells (the stub's run) and of `check` cells
    (which report on the solution) cleared."""
    out = copy.deepcopy(nb)
    out.cells = [c for c in out.cells if SOLUTION not in tags(c)]
    for cell in out.cells:
        if cell.cell_type == "code" and tags(cell) & {EXERCISE, CHECK}:
            cell.outputs = []
            cell.execution_count = None
    out.metadata.setdefault("gan_tutorial", {})["build"] = "student"
    return out


def blank_notebook(nb):
    """A notebook with no outputs at all (what a student opens and runs)."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    out.metadata.get("gan_tutorial", {}).pop("executed", None)
    return out


def exporter_config(vendor="../vendor"):
    """nbconvert's templates with the vendored scripts (relative URLs) instead of CDNs."""
    c = Config()
    c.HTMLExporter.embed_images = True
    c.HTMLExporter.mathjax_url = f"{vendor}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    c.HTMLExporter.require_js_url = f"{vendor}/requirejs/require.js"
    c.HTMLExporter.jquery_url = f"{vendor}/jquery/dist/jquery.min.js"
    c.SlidesExporter.reveal_url_prefix = f"{vendor}/reveal.js"
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


def same_sources(a, b):
    """True when two notebooks have the same cells (type and source) in the same order."""
    key = lambda nb: [(c.cell_type, c.source) for c in nb.cells]
    return key(a) == key(b)


def wanted_mode():
    return (os.environ.get("GAN_TUTORIAL_NOTEBOOK_MODE") or "full").strip().lower()


def reuse_executed(nb, stem, executed_dir, require):
    """The copy DIR/<stem>.ipynb executed by the notebook tests, or None
    (then the caller executes). A copy whose cells differ from the notebook's
    is stale and never used."""
    if executed_dir is None:
        return None
    path = Path(executed_dir) / f"{stem}.ipynb"
    why = None
    if not path.is_file():
        why = f"no executed copy at {path} (did the notebook pass under the notebook tests?)"
    else:
        done = nbformat.read(path, as_version=4)
        if not same_sources(done, nb):
            why = f"{path} was executed from other cell sources than the notebook has now"
        elif not all(c.get("execution_count") for c in done.cells if c.cell_type == "code"):
            why = f"{path} has cells that were not executed"
        elif (done.metadata.get("gan_tutorial", {}).get("executed", {}).get("mode") or "full") != wanted_mode():
            why = f"{path} was executed in another run mode than {wanted_mode()}"
        else:
            return done
    if require:
        raise RenderError(why)
    print(f"{stem}: {why}; executing it here", flush=True)
    return None


def execute(nb, notebook, out):
    stem = notebook.stem
    ep = ExecutePreprocessor(kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT, startup_timeout=120)
    try:
        ep.preprocess(nb, {"metadata": {"path": str(notebook.parent)}})
    except CellExecutionError as e:
        failed = out / "executed" / f"{stem}.failed.ipynb"
        write_atomic(failed, nbformat.writes(nb))
        raise RenderError(f"a cell failed (the partly executed notebook: {failed}):\n{e}\n"
                          f"--- the cell's outputs ---\n{failed_cell_report(nb)}") from None
    for index, cell in enumerate(nb.cells):
        err = unexpected_stderr(cell) if cell.cell_type == "code" else ""
        if err:
            raise RenderError(f"cell {index} wrote to stderr (with evcxr: a `?` error or a caught panic; "
                              f"tag the cell `allow-stderr` if that is expected):\n{cell.source}\n---\n{err}")
    return nb


def export(nb, stem, notebook_dir):
    """(page, slides) HTML of one executed notebook, checked to load nothing from the network."""
    config = exporter_config()
    resources = {"metadata": {"name": stem, "path": str(notebook_dir)}}
    page, _ = HTMLExporter(config=config, template_name="lab").from_notebook_node(nb, resources=dict(resources))
    slides, _ = SlidesExporter(config=config, extra_loaders=[SLIDES_TEMPLATE],
                               template_file="gan_tutorial_slides.html.j2").from_notebook_node(nb, resources=dict(resources))
    for name, text in [("page", page), ("slides", slides)]:
        urls = sorted(set(REMOTE.findall(text)))
        if urls:
            raise RenderError(f"the {name} loads from the network, it would not work offline: {', '.join(urls)}")
    return page, slides


def render(notebook, out, executed_dir=None, require_executed=False):
    notebook = Path(notebook).resolve()
    stem = notebook.stem
    source_nb = nbformat.read(notebook, as_version=4)

    t0 = time.monotonic()
    nb = reuse_executed(source_nb, stem, executed_dir, require_executed)
    how = "executed by the notebook tests"
    if nb is None:
        nb = execute(source_nb, notebook, out)
        how = "executed here"
    t_exec = time.monotonic() - t0

    t1 = time.monotonic()
    versions = {"instructor": nb, "student": student_version(nb)}
    rendered = {build: export(version, stem, notebook.parent) for build, version in versions.items()}
    t_export = time.monotonic() - t1

    write_atomic(out / "executed" / f"{stem}.ipynb", nbformat.writes(nb))
    (out / "executed" / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    for build, (page, slides) in rendered.items():
        write_atomic(out / build / f"{stem}.html", page)
        write_atomic(out / build / f"{stem}.slides.html", slides)
    write_atomic(out / "student" / f"{stem}.ipynb", nbformat.writes(blank_notebook(versions["student"])))
    mode = nb.metadata.get("gan_tutorial", {}).get("executed", {}).get("mode") or os.environ.get("GAN_TUTORIAL_NOTEBOOK_MODE") or "full"
    print(f"{stem}: {t_exec + t_export:.0f} s ({how} {t_exec:.1f} s, export {t_export:.1f} s, mode {mode})"
          f" -> {out}/{{instructor,student}}/{stem}.html, .slides.html", flush=True)


def notebook_title(executed, default):
    if executed.exists():
        for cell in nbformat.read(executed, as_version=4).cells:
            heading = next((l for l in cell.source.splitlines() if l.startswith("# ")), None)
            if cell.cell_type == "markdown" and heading:
                return heading[2:].strip()
    return default


def write_index(out):
    rows = []
    for executed in sorted((out / "executed").glob("*.ipynb")):
        stem = executed.stem
        if stem.endswith(".failed"):
            continue
        title = notebook_title(executed, stem)
        links = []
        for build in BUILDS:
            if (out / build / f"{stem}.html").exists():
                links.append(f'<a href="{build}/{html.escape(stem)}.html">{build}</a>'
                             f' (<a href="{build}/{html.escape(stem)}.slides.html">slides</a>)')
        if links:
            rows.append(f"  <li>{html.escape(title)}: {' · '.join(links)}</li>")
    rows = "\n".join(rows)
    write_atomic(out / "index.html", f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gan_tutorial: the lecture</title>
<style>body {{ font-family: sans-serif; max-width: 52em; margin: 2em auto; line-height: 1.6; }}</style>
</head>
<body>
<h1>gan_tutorial: the lecture</h1>
<p>The notebooks, executed. Each page works offline. The <em>instructor</em> version shows every
solution; the <em>student</em> version has the solutions removed and the exercises' outputs cleared
(its notebooks, to work in: <code>student/NN_name.ipynb</code>).</p>
<ol>
{rows}
</ol>
</body>
</html>
""")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--executed", type=Path, default=None,
                   help="a folder of notebooks the tests executed (reused when their cells match)")
    p.add_argument("--require-executed", action="store_true",
                   help="fail rather than execute a notebook that --executed does not hold")
    args = p.parse_args(argv)
    out = args.out.resolve()
    for d in ["executed", *BUILDS]:
        (out / d).mkdir(parents=True, exist_ok=True)
    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        if not args.require_executed:
            print(f"render_lecture: no Jupyter kernel named {KERNEL_NAME!r}: run 'make setup-kernel' (kernel/install.sh)", file=sys.stderr)
            return 1
    os.environ.setdefault("GAN_TUTORIAL_STRICT", "1")
    for notebook in args.notebooks:
        try:
            render(notebook, out, args.executed, args.require_executed)
        except RenderError as e:
            print(f"render_lecture: {Path(notebook).stem}: {e}\n(the outputs of an earlier render, if any, are unchanged)",
                  file=sys.stderr)
            return 1
    write_index(out)
    print(out / "index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
