"""A Django project's static files under ``devserve --app``, as ``runserver`` serves them.

Each test writes a project with ``django-admin startproject`` (the admin and
``django.contrib.staticfiles`` installed, ``DEBUG = True``, ``STATIC_URL =
'static/'``), runs ``devserve --app mysite.wsgi`` from its directory as a real
process, and asks for the admin's stylesheet: no ``collectstatic`` is ever run.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import DevserveProcess
from support.processes import TIMEOUT

django = pytest.importorskip("django", reason="Django is not installed (pip install django)")

STYLESHEET = "/static/admin/css/base.css"
ADMIN_CSS = (Path(django.__file__).parent / "contrib/admin/static/admin/css/base.css").read_bytes()
NOTE = "Static files: django.contrib.staticfiles at %s (DEBUG, as runserver)"


def get(server: DevserveProcess, path: str) -> tuple[int, str | None, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)],
        check=True, timeout=60,
    )  # fmt: skip
    return tmp_path


def edit_settings(project: Path, old: str, new: str) -> None:
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    assert old in text
    settings.write_text(text.replace(old, new))


@pytest.fixture
def launch() -> Iterator[list[DevserveProcess]]:
    started: list[DevserveProcess] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def start(started: list[DevserveProcess], project: Path, *args: str) -> DevserveProcess:
    server = DevserveProcess("0", "-b", "127.0.0.1", *args, cwd=project)
    started.append(server)
    assert server.banner, server.stop()
    return server


def test_static_files_are_served_in_debug_only(
    project: Path, launch: list[DevserveProcess]
) -> None:
    # A project's own STATICFILES_DIRS are found as the apps' static directories are.
    (project / "assets").mkdir()
    (project / "assets" / "site.css").write_text("h1 { color: red }")
    edit_settings(project, "STATIC_URL = 'static/'",
                  "STATIC_URL = 'static/'\nSTATICFILES_DIRS = [BASE_DIR / 'assets']")  # fmt: skip
    server = start(launch, project, "--app", "mysite.wsgi")
    assert get(server, STYLESHEET) == (200, "text/css", ADMIN_CSS)
    assert get(server, "/static/site.css")[::2] == (200, b"h1 { color: red }")
    assert get(server, "/static/admin/css/missing.css")[0] == 404
    # The project's own pages are still Django's.
    assert get(server, "/admin/login/")[0] == 200
    status, out, _err = server.stop()  # the banner's notes may follow its first lines
    assert (status, out.count(NOTE % "/static/")) == (0, 1)

    edit_settings(project, "DEBUG = True", "DEBUG = False")
    edit_settings(project, "ALLOWED_HOSTS = []", "ALLOWED_HOSTS = ['127.0.0.1']")
    server = start(launch, project, "--app", "mysite.wsgi")
    assert get(server, STYLESHEET)[0] == 404
    status, out, _err = server.stop()
    assert (status, "Static files" in out) == (0, False)


def test_static_files_under_reload(project: Path, launch: list[DevserveProcess]) -> None:
    server = start(launch, project, "--app", "mysite.wsgi", "--reload")
    assert get(server, STYLESHEET) == (200, "text/css", ADMIN_CSS)
    status, out, _err = server.stop()
    assert status == 0
    # The parent's banner is printed before a child imports the project; the first
    # child says it once.
    assert out.count(NOTE % "/static/") == 1


WRAPPED_WSGI = """
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

def stamped(app):
    def wrapper(environ, start_response):
        def stamp(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Wrapped", "yes")], exc_info)
        return app(environ, stamp)
    return wrapper

application = stamped(get_wsgi_application())
"""


def test_a_wrapped_application_under_a_script_name(
    project: Path, launch: list[DevserveProcess]
) -> None:
    # wsgi.py may put Django's handler in middleware: WSGI_APPLICATION still names it.
    (project / "mysite" / "wsgi.py").write_text(WRAPPED_WSGI)
    server = start(launch, project, "--app", "mysite.wsgi", "--script-name", "/site")
    # Served where the project's pages link to them: Django resolves a relative
    # STATIC_URL once, at start-up, without the prefix (as under runserver).
    status, _type, page = get(server, "/site/admin/login/")
    assert (status, page.count(b'href="/static/admin/css/base.css"')) == (200, 1)
    assert get(server, STYLESHEET) == (200, "text/css", ADMIN_CSS)
    assert NOTE % "/static/" in server.stop()[1]


def test_a_missing_static_url_is_a_note(project: Path, launch: list[DevserveProcess]) -> None:
    edit_settings(project, "STATIC_URL = 'static/'", "STATIC_URL = None")
    server = start(launch, project, "--app", "mysite.wsgi")
    status, content_type, body = get(server, "/nowhere")
    # The project answers (its DEBUG page for a missing URL), as under a production server.
    assert (status, content_type) == (404, "text/html; charset=utf-8")
    assert b"Using the URLconf defined in <code>mysite.urls</code>" in body
    assert (
        "Static files: not served (You're using the staticfiles app without having set "
        "the required STATIC_URL setting.)"
    ) in server.stop()[1]


NOT_DJANGO = """
import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application

settings.configure(DEBUG=True, INSTALLED_APPS=["django.contrib.admin",
                   "django.contrib.auth", "django.contrib.contenttypes",
                   "django.contrib.staticfiles"],
                   STATIC_URL="/static/", ROOT_URLCONF="plain", ALLOWED_HOSTS=["*"])
urlpatterns = []
django_app = get_wsgi_application()

def app(environ, start_response):
    if environ["PATH_INFO"].startswith("/django/"):
        return django_app(environ, start_response)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"mine: " + environ["PATH_INFO"].encode()]
"""


def test_an_application_that_only_uses_django_is_left_alone(
    tmp_path: Path, launch: list[DevserveProcess]
) -> None:
    # A dispatcher with a Django project under /django/: the application that was
    # loaded is not Django's, so /static/ is its own.
    (tmp_path / "plain.py").write_text(NOT_DJANGO)
    server = start(launch, tmp_path, "--app", "plain:app")
    assert get(server, STYLESHEET) == (200, "text/plain", b"mine: " + STYLESHEET.encode())
    assert "Static files" not in server.stop()[1]


def test_a_static_mount_holding_static_url_wins(
    project: Path, launch: list[DevserveProcess]
) -> None:
    (project / "collected" / "admin" / "css").mkdir(parents=True)
    (project / "collected" / "admin" / "css" / "base.css").write_text("collected")
    server = start(launch, project, "--app", "mysite.wsgi", "--static", "/static=collected")
    assert get(server, STYLESHEET)[::2] == (200, b"collected")
    assert get(server, "/static/admin/css/forms.css")[0] == 404
    # The banner does not claim what the mount answers.
    assert "Static files" not in server.stop()[1]


def test_a_mounted_project_serves_its_static_files_where_its_pages_link_to_them(
    project: Path, launch: list[DevserveProcess]
) -> None:
    server = start(launch, project, "--mount", "/site=mysite.wsgi:application")
    status, _type, page = get(server, "/site/admin/login/")
    assert (status, page.count(b'href="/static/admin/css/base.css"')) == (200, 1)
    assert get(server, STYLESHEET) == (200, "text/css", ADMIN_CSS)
    assert get(server, "/static/admin/css/missing.css")[0] == 404
    status, out, _err = server.stop()
    assert (status, out.count(NOTE % "/static/")) == (0, 1)


def test_a_static_url_under_the_mounts_own_prefix_is_served_there(
    project: Path, launch: list[DevserveProcess]
) -> None:
    edit_settings(project, "STATIC_URL = 'static/'", "STATIC_URL = '/site/static/'")
    server = start(launch, project, "--mount", "/site=mysite.wsgi:application")
    status, _type, page = get(server, "/site/admin/login/")
    assert (status, page.count(b'href="/site/static/admin/css/base.css"')) == (200, 1)
    assert get(server, "/site" + STYLESHEET) == (200, "text/css", ADMIN_CSS)
    assert NOTE % "/site/static/" in server.stop()[1]


def test_a_static_url_no_prefix_can_be_is_a_note(
    project: Path, launch: list[DevserveProcess]
) -> None:
    edit_settings(project, "STATIC_URL = 'static/'", "STATIC_URL = '/st%20atic/'")
    server = start(launch, project, "--app", "mysite.wsgi")
    assert get(server, "/admin/login/")[0] == 200  # the project still runs
    status, out, err = server.stop()
    assert (status, "Traceback" in err) == (0, False)
    assert "Static files: not served (a mount prefix cannot hold" in out
