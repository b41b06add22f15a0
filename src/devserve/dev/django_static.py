"""A Django project's static files in ``DEBUG``, served as ``manage.py runserver`` does.

Rule 1: only a Django project's application is wrapped — Django's own WSGI handler,
or the object the project's ``WSGI_APPLICATION`` setting names (a ``wsgi.py`` that
wraps the handler in middleware) — and only when Django is already imported: this
module looks in ``sys.modules`` and never imports Django for any other
application.
Rule 2: the wrapping is ``runserver``'s: when ``django.contrib.staticfiles`` is in
``INSTALLED_APPS`` and ``DEBUG`` is true at start-up, the application is put inside
``django.contrib.staticfiles.handlers.StaticFilesHandler``, which finds each file
in the apps' ``static`` directories and ``STATICFILES_DIRS`` as it is asked for, so
no ``collectstatic`` is needed.  A ``--static`` mount that holds ``STATIC_URL`` is
answered first, so the application is then left as it was.  Under a ``SCRIPT_NAME``
(``--script-name``), which that handler does not expect, its requests reach it as if
the application were mounted at the root.
Rule 3: settings the staticfiles app refuses to serve with (no ``STATIC_URL``) leave
the application unwrapped and are said in the banner's note, not raised: the
application itself still runs, as it would under a production server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["django_static"]

_STATICFILES = "django.contrib.staticfiles"


def django_static(
    app: Any, script_name: str = "", mounted: Iterable[str] = ()
) -> tuple[Any, str | None]:
    """Return *app* serving its project's static files, and a note for the banner.

    *app* is returned unchanged, with the note ``None``, unless it is a Django
    project's application in ``DEBUG`` with ``django.contrib.staticfiles`` installed.
    *script_name* is the prefix the application is mounted under; *mounted* are the
    URL prefixes the server answers from directories before the application sees
    the request (``--static``): one that holds ``STATIC_URL`` serves it instead.

    .. versionadded:: 0.1
    """
    if not _is_django_project(app):
        return app, None
    from django.apps import apps
    from django.conf import settings

    if not apps.is_installed(_STATICFILES) or not settings.DEBUG:
        return app, None
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.exceptions import ImproperlyConfigured

    try:
        wrapped = StaticFilesHandler(app)
    except ImproperlyConfigured as error:
        return app, "Static files: not served (%s)" % error
    if wrapped.base_url.netloc:
        # STATIC_URL on another host (a CDN): runserver serves nothing there either.
        return app, None
    prefix = wrapped.base_url.path
    public = script_name.rstrip("/") + prefix
    if any((public + "/").startswith(mount.rstrip("/") + "/") for mount in mounted):
        return app, None
    note = "Static files: %s at %s (DEBUG, as runserver)" % (_STATICFILES, public)
    if not script_name:
        return wrapped, note

    def at_the_root(environ: dict[str, Any], start_response: Any) -> Any:
        # StaticFilesHandler looks a file up by the request's whole path, SCRIPT_NAME
        # included, which never starts with STATIC_URL's path under a prefix: its
        # requests reach it as if the application were mounted at the root.
        if environ.get("PATH_INFO", "").startswith(prefix):
            environ = {**environ, "SCRIPT_NAME": ""}
        return wrapped(environ, start_response)

    return at_the_root, note


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
