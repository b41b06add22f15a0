"""``.env`` and ``.flaskenv`` for ``--app``, loaded as ``flask run`` loads them.

Rule 1: with python-dotenv installed, ``--env-file FILE`` is loaded first, then ``.env``
and ``.flaskenv`` found from the current directory upwards (``.env`` before
``.flaskenv``, so it wins); a variable already set is never overridden, so the shell's
value wins over all of them.  ``--no-dotenv`` (or ``FLASK_SKIP_DOTENV=1``) skips the two
found files; a named ``--env-file`` is always loaded.
Rule 2: without python-dotenv, files that would have been loaded are named in one tip,
as flask does; a named ``--env-file`` is a usage error instead (it was asked for).
Rule 3: app mode only: files mode stays :mod:`http.server`'s superset, and nothing loaded
here is meant for CGI scripts.
"""

from __future__ import annotations

import os

from .profile import UsageError

__all__ = ["load_env_files"]

_FOUND = (".env", ".flaskenv")


def load_env_files(env_file: str | None, skip: bool) -> tuple[list[str], str | None]:
    """Load the environment files; return the paths loaded and a tip to print, if any."""
    skip = skip or os.environ.get("FLASK_SKIP_DOTENV", "") not in ("", "0", "false", "no")
    found = [] if skip else [path for name in _FOUND if (path := _find(name))]
    try:
        import dotenv
    except ImportError:
        if env_file:
            raise UsageError(
                "--env-file needs python-dotenv: pip install 'devserve[dotenv]'"
            ) from None
        if not found:
            return [], None
        names = ", ".join(os.path.basename(path) for path in found)
        return [], "Tip: %s not loaded: pip install python-dotenv to use them" % names
    loaded = []
    for path in [env_file] if env_file else []:
        if not os.path.isfile(path):
            raise UsageError("--env-file %r: no such file" % path)
        loaded.append(os.path.abspath(path))
    loaded += found
    for path in loaded:
        dotenv.load_dotenv(path, encoding="utf-8", override=False)
    return loaded, None


def _find(name: str) -> str | None:
    """*name* in the current directory or the nearest parent that has one."""
    directory = os.getcwd()
    while True:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
