"""Live reload in a real headless browser: Debian's Chromium, driven over DevTools.

The page is served by ``devserve --livereload`` (and by ``--app ... --reload
--livereload`` for a Flask template); the test edits files on disk and watches the
page change with no navigation asked for.  Chromium is installed with apt-get when
missing; where it cannot be, the tests skip, except under ``CI=true``, where they
fail.  Set ``DEVSERVE_SCREENSHOTS=DIR`` to keep the screenshots (docs/_static).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cdp import Chromium, Page, install_chromium
from support.cli import Devserve, flask_project, start_app, stop_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    binary = install_chromium()
    if binary is None:
        reason = "Chromium is not installed and 'apt-get install chromium' was not possible"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the browser test must run)")
        pytest.skip(reason)
    browser = Chromium(binary, tmp_path_factory.mktemp("chromium") / "profile")
    yield browser
    browser.stop()


@pytest.fixture
def page(chromium: Chromium) -> Iterator[Page]:
    tab = chromium.page()
    tab.call("Page.enable")
    tab.call("Runtime.enable")
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        width=720, height=360, deviceScaleFactor=1, mobile=False,
    )  # fmt: skip
    yield tab
    tab.navigate("about:blank")
    tab.close()


def keep(page: Page, tmp_path: Path, name: str) -> None:
    """Take a screenshot; copy it to $DEVSERVE_SCREENSHOTS when that is set."""
    path = tmp_path / name
    page.screenshot(path)
    assert path.read_bytes().startswith(b"\x89PNG")
    target = os.environ.get("DEVSERVE_SCREENSHOTS")
    if target:
        shutil.copy(path, Path(target) / name)


PAGE = """<!doctype html>
<html><head><title>devserve live reload</title>
<link rel="stylesheet" href="style.css"></head>
<body><main><h1>%s</h1><p>Served by <code>devserve --livereload</code>.</p></main></body>
</html>"""
STYLE = """body { font: 20px system-ui, sans-serif; margin: 0; background: %s; color: #1d2433; }
main { padding: 48px; } h1 { font-size: 44px; margin: 0 0 12px; }"""
# A value the page keeps only as long as it is not reloaded.
MARK = "window.__notReloaded = 'still here'"
UNRELOADED = "window.__notReloaded === 'still here'"


def loaded(page: Page, heading: str) -> None:
    page.wait_for(
        "document.readyState === 'complete' && window.__devserveLiveReload === true && "
        "document.querySelector('h1') && document.querySelector('h1').textContent === %r" % heading
    )


def test_page_edit_and_stylesheet_edit_show_without_a_manual_reload(
    page: Page, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE % "Before the edit")
    (site / "style.css").write_text(STYLE % "#fdf6e3")
    server = Devserve("0", "-b", "127.0.0.1", "-d", str(site), "--livereload", "-q")
    try:
        assert server.banner, server.stop()
        page.navigate(server.url + "/")
        loaded(page, "Before the edit")
        keep(page, tmp_path, "livereload-before.png")
        page.evaluate(MARK)

        (site / "index.html").write_text(PAGE % "After the edit")
        loaded(page, "After the edit")
        assert page.evaluate("window.__notReloaded") is None  # the page was reloaded
        keep(page, tmp_path, "livereload-after-html.png")

        page.evaluate(MARK)
        background = "getComputedStyle(document.body).backgroundColor"
        assert page.evaluate(background) == "rgb(253, 246, 227)"
        (site / "style.css").write_text(STYLE % "#d7f0e1")
        page.wait_for("%s === 'rgb(215, 240, 225)'" % background)
        assert page.evaluate(UNRELOADED)  # swapped in place: no navigation
        assert page.evaluate("document.querySelectorAll('link[rel=stylesheet]').length") == 1
        keep(page, tmp_path, "livereload-after-css.png")
    finally:
        code, _out, err = server.stop()
    assert code == 0, err


TEMPLATE = (
    "<!doctype html><html><head><title>Flask</title>"
    '<link rel="stylesheet" href="/static/site.css"></head>'
    "<body><main><h1>%s</h1><p>A Flask template, under <code>--reload --livereload</code>."
    "</p></main></body></html>"
)


def test_flask_template_change_under_reload(page: Page, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    project = flask_project(tmp_path / "project")
    (project / "templates" / "page.html").write_text(TEMPLATE % "Template, first")
    (project / "static" / "site.css").write_text(STYLE % "#e8eefc")
    proc, port = start_app(
        "--app", "app.py:app", "0", "--reload", "--livereload", "-q", cwd=project
    )
    try:
        page.navigate("http://127.0.0.1:%d/" % port)
        loaded(page, "Template, first")
        page.evaluate(MARK)
        time.sleep(0.3)  # the child's watcher has taken its first look
        (project / "templates" / "page.html").write_text(TEMPLATE % "Template, edited")
        loaded(page, "Template, edited")  # the app restarted, then the page reloaded
        assert page.evaluate("window.__notReloaded") is None
        keep(page, tmp_path, "livereload-flask.png")
    finally:
        code, err = stop_app(proc)
    assert code == 0, err


APP = """
VERSION = %r

def app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("<b>not bold</b><img src=x onerror='window.injected = 1'>")
    page = (
        "<!doctype html><html><head><title>App</title></head><body><main>"
        "<h1>" + VERSION + "</h1><p>An application under <code>--reload --livereload</code>."
        "</p></main></body></html>"
    )
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [page.encode()]
"""
OVERLAY = "document.querySelector('[data-devserve=overlay]')"
OVERLAY_TEXT = "(%s && %s.shadowRoot.textContent || '')" % (OVERLAY, OVERLAY)


def test_a_broken_save_shows_over_the_open_page_until_fixed(page: Page, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    source = project / "app.py"
    source.write_text(APP % "Before the bad save")
    proc, port = start_app(
        "--app", "app.py:app", "0", "--reload", "--livereload", "-q", cwd=project
    )
    try:
        page.navigate("http://127.0.0.1:%d/" % port)
        loaded(page, "Before the bad save")
        assert page.evaluate(OVERLAY) is None
        page.evaluate(MARK)
        time.sleep(0.3)  # the child's watcher has taken its first look
        broken = APP % "After the fix" + "def broken(:\n"
        source.write_text(broken)
        text = page.wait_for("%s.includes('SyntaxError')" % OVERLAY_TEXT) and page.evaluate(
            OVERLAY_TEXT
        )
        assert "The application cannot be loaded" in text
        assert "app.py, line %d" % broken.count("\n") in text
        # The page stayed as it was, under the overlay: no navigation to the error page.
        assert page.evaluate(UNRELOADED)
        assert page.evaluate("document.querySelector('h1').textContent") == "Before the bad save"
        keep(page, tmp_path, "livereload-overlay.png")

        source.write_text(APP % "After the fix")
        loaded(page, "After the fix")
        assert page.evaluate("window.__notReloaded") is None  # reloaded once it loads
        assert page.evaluate(OVERLAY) is None
    finally:
        code, err = stop_app(proc)
    assert code == 0, err


def test_a_500_shows_over_the_page_as_text_and_can_be_dismissed(page: Page, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(APP % "An app")
    proc, port = start_app("--app", "app.py:app", "0", "--livereload", "-q", cwd=project)
    try:
        page.navigate("http://127.0.0.1:%d/" % port)
        page.wait_for("window.__devserveLiveReload === true && document.readyState === 'complete'")
        page.evaluate(MARK)
        page.evaluate("fetch('/boom?token=t0ken')")
        page.wait_for("%s.includes('GET /boom answered 500')" % OVERLAY_TEXT)
        text = page.evaluate(OVERLAY_TEXT)
        assert "app.py, line 6" in text
        assert "t0ken" not in text
        # Server text is shown as text, never parsed as HTML.
        assert "RuntimeError: <b>not bold</b><img src=x onerror='window.injected = 1'>" in text
        assert page.evaluate("%s.shadowRoot.querySelectorAll('b, img').length" % OVERLAY) == 0
        assert page.evaluate("window.injected") is None
        assert (
            page.evaluate(
                "getComputedStyle(%s.shadowRoot.querySelector('.panel')).position" % OVERLAY
            )
            == "fixed"
        )
        page.evaluate("%s.shadowRoot.querySelector('button').click()" % OVERLAY)
        page.wait_for("%s === null" % OVERLAY)
        assert page.evaluate(UNRELOADED)
    finally:
        code, err = stop_app(proc)
    assert code == 0, err
