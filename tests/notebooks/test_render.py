"""The rendered lecture works in a real browser, offline.

Renders notebooks/01_vanilla_gan.ipynb with scripts/render_lecture.sh (quick
mode: a short training run) into build/ci-artifacts/lecture/, then opens the
page and the slides in Debian's headless Chromium, driven by playwright, with
every request that is not a local file blocked: the pages must need nothing
from the network. Checks that the plots are embedded and decoded, that MathJax
typeset the math, that reveal.js started, and saves screenshots to
build/ci-artifacts/.

Run: .venv/bin/pytest tests/notebooks/test_render.py
"""
import os
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEM = "01_vanilla_gan"
NOTEBOOK = ROOT / "notebooks" / f"{STEM}.ipynb"
ARTIFACTS = ROOT / "build" / "ci-artifacts"
# Not build/lecture: a quick render must not replace an instructor's full one.
LECTURE = ARTIFACTS / "lecture"

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium as root, with no attempt to reach the network by itself
# (shared TECH-NOTES, "Headless Chromium").
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# Cells of the notebook, by tag (nbconvert's lab template puts each tag on the
# cell as the CSS class celltag_<tag>), whose output is one image.
IMAGE_CELLS = ["real-digits", "loss-plot", "sample-grid", "sample-row"]
LOSS_PLOT_SIZE = (800, 450)  # LossPlotOptions::default()

TIMEOUT_MS = 60_000


# --- helpers -----------------------------------------------------------------


def png_size(path):
    """(width, height) of a PNG file; fails the test if it is not one."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


class OfflinePage:
    """A page opened from file:// in a fresh context where every request to
    anything but a local file is refused and recorded, as are script errors."""

    def __init__(self, browser, path, viewport=(1280, 800)):
        assert path.is_file(), f"{path} was not rendered"
        self.network = []  # URLs the page tried to fetch from the network
        self.errors = []  # uncaught script errors
        self.context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, service_workers="block"
        )
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("request", self._request)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri(), wait_until="load")

    def _route(self, route):
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    def _request(self, request):
        if not request.url.startswith(LOCAL_SCHEMES):
            self.network.append(request.url)

    def image_sizes(self, tag):
        """Natural (width, height) of each image in the cell tagged `tag`, once decoded."""
        images = self.page.locator(f".celltag_{tag} img")
        assert images.count() >= 1, f"no image in the cell tagged {tag!r}"
        return [
            tuple(images.nth(i).evaluate("img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"))
            for i in range(images.count())
        ]

    def assert_offline(self):
        # Give late requests (fonts, lazily loaded scripts) a moment to show.
        self.page.wait_for_timeout(500)
        assert not self.network, f"the page tried to use the network: {self.network}"
        assert not self.errors, f"script errors on the page: {self.errors}"

    def close(self):
        self.context.close()


def assert_images(page):
    sizes = {tag: page.image_sizes(tag) for tag in IMAGE_CELLS}
    for tag, found in sizes.items():
        for width, height in found:
            assert width > 0 and height > 0, f"image in {tag!r} did not decode: {sizes}"
    assert sizes["loss-plot"] == [LOSS_PLOT_SIZE], f"loss plot size: {sizes['loss-plot']}"
    return sizes


def wait_for_mathjax(page):
    """Wait until MathJax has typeset the page; return the number of typeset
    formulas. MathJax runs a queued callback only after the typesetting that
    the template queued at start-up."""
    page.wait_for_function("() => window.MathJax && window.MathJax.Hub && window.MathJax.isReady")
    page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
    errors = page.locator(".mjx-merror, .MathJax_Error").count()
    assert errors == 0, f"MathJax reports {errors} formula error(s)"
    # MathJax's own TeX web fonts (families MJXc-TeX-*w, from vendor/mathjax/fonts)
    # were found: without them the math would show in fallback fonts.
    fonts = page.evaluate(
        "() => [...document.fonts].filter(f => /^MJXc-TeX-.*w$/.test(f.family)).map(f => [f.family, f.status])"
    )
    assert any(status == "loaded" for _, status in fonts), f"no MathJax web font loaded: {fonts}"
    assert not [f for f in fonts if f[1] == "error"], f"MathJax web fonts failed to load: {fonts}"
    return page.locator(".MathJax_CHTML, .MathJax, mjx-container").count()


def assert_screenshot(path):
    assert path.is_file() and path.stat().st_size > 0, f"no screenshot at {path}"
    width, height = png_size(path)
    assert width > 0 and height > 0
    return width, height


# --- fixtures ----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install chromium: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lecture(browser):
    """Render the notebook (executed, quick mode) once for this module."""
    env = dict(os.environ, GAN_TUTORIAL_NOTEBOOK_MODE="quick", GAN_TUTORIAL_LECTURE_DIR=str(LECTURE))
    result = subprocess.run(
        [str(ROOT / "scripts" / "render_lecture.sh"), str(NOTEBOOK)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"render_lecture.sh failed:\n{result.stdout}\n{result.stderr}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return LECTURE


@pytest.fixture
def open_offline(browser):
    pages = []

    def open_(path, **kwargs):
        page = OfflinePage(browser, path, **kwargs)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


# --- tests -------------------------------------------------------------------


def test_render_writes_page_slides_and_index(lecture):
    index = (lecture / "index.html").read_text(encoding="utf-8")
    assert f'href="{STEM}.html"' in index and f'href="{STEM}.slides.html"' in index
    assert (lecture / "executed" / f"{STEM}.ipynb").is_file()


def test_page_shows_plots_and_math_offline(lecture, open_offline):
    view = open_offline(lecture / f"{STEM}.html")
    assert_images(view)
    assert wait_for_mathjax(view.page) > 0, "MathJax typeset nothing"

    screenshot = ARTIFACTS / f"{STEM}.png"
    screenshot.unlink(missing_ok=True)
    view.page.screenshot(path=str(screenshot), full_page=True)
    width, height = assert_screenshot(screenshot)
    assert height > 2000, f"full-page screenshot is only {width}x{height}"
    view.assert_offline()


def test_slides_start_offline_with_plots(lecture, open_offline):
    view = open_offline(lecture / f"{STEM}.slides.html", viewport=(1280, 720))
    page = view.page
    # reveal.js, loaded through require.js, marks its root `.ready` once initialised.
    page.wait_for_selector(".reveal.ready")
    assert page.locator(".reveal .slides section").count() > 1
    assert page.locator(".reveal .slides section.present").count() >= 1
    assert_images(view)
    assert wait_for_mathjax(page) > 0, "MathJax typeset nothing in the slides"

    screenshot = ARTIFACTS / f"{STEM}.slides.png"
    screenshot.unlink(missing_ok=True)
    page.screenshot(path=str(screenshot))
    assert assert_screenshot(screenshot) == (1280, 720)
    view.assert_offline()
