"""A Django project's static files in ``DEBUG``, served as ``manage.py runserver`` does.

Rule 1: only a Django project's application is looked at — Django's own WSGI handler,
or the object the project's ``WSGI_APPLICATION`` setting names (a ``wsgi.py`` that
wraps the handler in middleware) — and only when Django is already imported: this
module looks in ``sys.modules`` and never imports Django for any other
application.
Rule 2: the serving is ``runserver``'s: when ``django.contrib.staticfiles`` is in
``INSTALLED_APPS`` and ``DEBUG`` is true at start-up, requests for ``STATIC_URL`` go
to ``django.contrib.staticfiles.handlers.StaticFilesHandler``, which finds each file
in the apps' ``static`` directories and ``STATICFILES_DIRS`` as it is asked for, so
no ``collectstatic`` is needed.
Rule 3: the files are served where the project's pages link to them: ``STATIC_URL``
as Django resolves it once, when it is first read, here at start-up (a relative one
under ``/``), whatever prefix the project itself is served under (``--script-name``,
a ``--mount``).  A mount that already holds that path (``--static``) is answered
instead.
Rule 4: settings the staticfiles app refuses to serve with (no ``STATIC_URL``) add
nothing and are said in the banner's note, not raised: the application itself still
runs, as it would under a production server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = ["StaticFiles", "django_static"]

_STATICFILES = "django.contrib.staticfiles"


class StaticFiles(NamedTuple):
    """A Django project's static files: what serves them, where, and the banner's note."""

    #: A WSGI application for the requests under :attr:`prefix`, or ``None``.
    app: Any
    #: The URL path the pages link to (``STATIC_URL``'s, without its last slash).
    prefix: str
    note: str | None


_NONE = StaticFiles(None, "", None)


def django_static(app: Any, mounted: Iterable[str] = ()) -> StaticFiles:
    """Return what serves *app*'s project's static files, and where, as ``runserver`` does.

    Nothing (:attr:`StaticFiles.app` ``None``) unless *app* is a Django project's
    application in ``DEBUG`` with ``django.contrib.staticfiles`` installed.  *mounted*
    are the URL prefixes already served otherwise (``--static``, ``--mount``): one
    that holds ``STATIC_URL`` serves it instead.  Mount :attr:`StaticFiles.app` at
    :attr:`StaticFiles.prefix` (a :class:`~devserve.MountTable`).

    .. versionadded:: 0.1
    """
    if not _is_django_project(app):
        return _NONE
    from django.apps import apps
    from django.conf import settings

    if not apps.is_installed(_STATICFILES) or not settings.DEBUG:
        return _NONE
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.exceptions import ImproperlyConfigured

    try:
        # Reads STATIC_URL, which Django resolves (and keeps) now: what pages link to.
        handler = StaticFilesHandler(app)
    except ImproperlyConfigured as error:
        return StaticFiles(None, "", "Static files: not served (%s)" % error)
    if handler.base_url.netloc:
        # STATIC_URL on another host (a CDN): runserver serves nothing there either.
        return _NONE
    public = handler.base_url.path
    if not public.rstrip("/"):
        return StaticFiles(None, "", "Static files: not served (STATIC_URL is the root)")
    if any((public + "/").startswith(mount.rstrip("/") + "/") for mount in mounted):
        return _NONE
    note = "Static files: %s at %s (DEBUG, as runserver)" % (_STATICFILES, public)

    def static_files(environ: dict[str, Any], start_response: Any) -> Any:
        # Mounted at the prefix, asked as if at the root: the handler looks a file up
        # by the whole path, which starts with STATIC_URL's.
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        return handler({**environ, "SCRIPT_NAME": "", "PATH_INFO": path}, start_response)

    return StaticFiles(static_files, public.rstrip("/"), note)


def _is_django_project(app: Any) -> bool:
    handlers = sys.modules.get("django.core.handlers.wsgi")
    conf = sys.modules.get("django.conf")
    registry = sys.modules.get("django.apps.registry")
    if handlers is None or conf is None or registry is None:
        return False
    settings = conf.settings
    # Asking for INSTALLED_APPS before django.setup() would raise.
    if not settings.configured or not registry.apps.apps_ready:
        return False
    if isinstance(app, handlers.WSGIHandler):
        return True
    # A wsgi.py may wrap Django's handler (Sentry, WhiteNoise): runserver wraps the
    # object WSGI_APPLICATION names, whatever it is, and so does this.
    module, _, name = str(settings.WSGI_APPLICATION or "").rpartition(".")
    loaded = sys.modules.get(module) if module else None
    return loaded is not None and getattr(loaded, name, None) is app
