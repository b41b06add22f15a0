"""Find the WSGI application an ``--app`` value names.

Rule 1: the forms are those of ``flask --app`` and gunicorn: ``MODULE``,
``MODULE:NAME``, ``MODULE:factory(ARGS)``, and the same with ``path/to/file.py`` for
``MODULE``.  Factory arguments are Python literals, read with :func:`ast.literal_eval`;
nothing in the value is ever executed as code.
Rule 2: every failure is one :exc:`AppLoadError` whose message says what was looked
for, where, and what to do; an exception raised *inside* the imported module keeps its
traceback, because that is the user's bug, not a wrong ``--app``: the user's own frames
only (not importlib's or devserve's), and the file and line it points at first.
Rule 3: :func:`error_app` answers every request with that error while the application
cannot be loaded (a reloader's child after a bad save), instead of leaving clients
waiting: a page for browsers, text otherwise.
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..dev.overlay import Failure

__all__ = ["AppLoadError", "error_app", "load_app", "load_target", "parse_app_spec"]

# Looked for, in order, when the value names no attribute (Flask looks for these too).
_DEFAULT_NAMES = ("app", "application")
_DEFAULT_FACTORIES = ("create_app", "make_app")


class AppLoadError(Exception):
    """The ``--app`` value does not lead to a WSGI application; the message says why.

    *where* is ``(file, line)`` of the user's code the error points at, when it came
    from inside the application (``None`` for a wrong ``--app``); *summary* is the
    error's one line (``SyntaxError: invalid syntax``).
    """

    def __init__(
        self, message: str, where: tuple[str, int] | None = None, summary: str = ""
    ) -> None:
        super().__init__(message)
        self.where = where
        self.summary = summary or message.partition("\n")[0]

    def failure(self) -> Failure:
        """This error as the pages open under live reload show it.

        The detail is the message without its first line, which the summary and
        the place already say: the user's frames, down to the caret of a syntax error.
        """
        from ..dev.overlay import Failure

        return Failure.load(self.summary, self.where, str(self).partition("\n")[2])


def parse_app_spec(spec: str) -> tuple[str, str | None, tuple[Any, ...] | None, dict[str, Any]]:
    """Split *spec* into ``(module or path, attribute, factory args, factory kwargs)``.

    *factory args* is ``None`` when the attribute is not called.
    """
    target, name = spec, None
    # A Windows drive ("C:\\app.py") has its colon second; the attribute's comes later.
    drive = spec[1:2] == ":" and spec[2:3] in ("\\", "/")
    colon = spec.find(":", 2 if drive else 0)
    if colon >= 0:
        target, name = spec[:colon], spec[colon + 1 :].strip()
    if not target or name == "":
        raise AppLoadError("%r is not MODULE:NAME" % spec)
    if name is None or "(" not in name:
        if name is not None and not all(part.isidentifier() for part in name.split(".")):
            raise AppLoadError("%r is not a Python name in %r" % (name, spec))
        return target, name, None, {}
    try:
        call = ast.parse(name, mode="eval").body
    except SyntaxError:
        raise AppLoadError("cannot read the factory call %r in %r" % (name, spec)) from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise AppLoadError("%r is not a call like create_app() in %r" % (name, spec))
    try:
        args = tuple(ast.literal_eval(arg) for arg in call.args)
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
    except ValueError:
        raise AppLoadError(
            "the arguments of %r must be Python literals (strings, numbers...)" % name
        ) from None
    if len(kwargs) != len(call.keywords):
        raise AppLoadError("**kwargs cannot be used in %r" % name)
    return target, call.func.id, args, kwargs


def load_app(spec: str) -> Any:
    """Import what *spec* names and return the WSGI application it leads to.

    A path (``path/to/app.py``, or anything ending in ``.py`` or holding a path
    separator) is imported as a module, with its directory — or the top of the
    package it belongs to — put first on :data:`sys.path`; a module name is
    imported with the current directory first on :data:`sys.path`, as ``flask run``
    and gunicorn do.  Without a name, ``app``, ``application``, then the factories
    ``create_app()`` and ``make_app()`` are tried.  Raises :exc:`AppLoadError`.

    .. versionadded:: 0.1
    """
    return _check_app(_load_object(spec), spec)


def load_target(spec: str) -> Any:
    """Import what *spec* names, as :func:`load_app` does, for ``--mount``.

    A request handler class, or a :func:`functools.partial` of one, comes back as it
    is; anything else must be a WSGI application.  Raises :exc:`AppLoadError`.

    .. versionadded:: 0.1
    """
    from ..mount.table import is_handler

    obj = _load_object(spec)
    return obj if is_handler(obj) else _check_app(obj, spec)


def _load_object(spec: str) -> Any:
    target, name, args, kwargs = parse_app_spec(spec)
    module = _import(target)
    if name is None:
        return _default_app(module, target)
    try:
        obj = getattr(module, name)
    except AttributeError:
        raise AppLoadError(
            "module %r has no attribute %r (its names: %s)"
            % (module.__name__, name, ", ".join(_public_names(module)) or "none")
        ) from None
    if args is None and _is_bare_factory(obj):
        # flask calls a function named without parentheses that takes no arguments
        # and cannot be an application (app:create_app): so does devserve.
        args = ()
    if args is not None:
        obj = _call_factory(obj, "%s:%s" % (target, name), args, kwargs)
    return obj


def _is_bare_factory(obj: Any) -> bool:
    if not inspect.isfunction(obj):
        return False
    signature = inspect.signature(obj)
    try:
        signature.bind(None, None)
    except TypeError:
        pass
    else:
        return False  # it can be called as app(environ, start_response): an application
    try:
        signature.bind()
    except TypeError:
        return False
    return True


def _import(target: str) -> Any:
    if target.endswith(".py") or os.sep in target or (os.altsep and os.altsep in target):
        module_name, root = _module_for_path(target)
    else:
        module_name, root = target, os.getcwd()
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and (module_name + ".").startswith(error.name + "."):
            raise AppLoadError(
                "could not import %r: no module named %r (looked in %s and sys.path)"
                % (module_name, error.name, root)
            ) from None
        raise _inner_error("importing %r" % module_name) from None
    except Exception:
        raise _inner_error("importing %r" % module_name) from None


def _module_for_path(path: str) -> tuple[str, str]:
    path = os.path.realpath(path)
    if not os.path.isfile(path):
        raise AppLoadError("cannot load %r: no such file" % path)
    directory, filename = os.path.split(path)
    parts = [os.path.splitext(filename)[0]]
    if parts[0] == "__init__":
        directory, parts[0] = os.path.split(directory)
    # A file inside a package is imported as part of it, so relative imports work.
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.insert(0, package)
    return ".".join(parts), directory


# Frames of these are the machinery's, not the user's: left out of a load error.
_NOT_THE_USERS = (
    "<frozen ",
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # devserve
    os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep,  # importlib
)


def _inner_error(doing: str) -> AppLoadError:
    """The error being handled, raised while *doing*, as the user would want to read it."""
    error = sys.exc_info()[1]
    assert error is not None
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(_NOT_THE_USERS)
    ]
    summary = "".join(traceback.format_exception_only(type(error), error)).strip()
    where: tuple[str, int] | None = None
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        where = (error.filename, error.lineno)  # its own lines say where (and the caret)
    elif frames:
        where = (frames[-1].filename, frames[-1].lineno or 0)
    lines = "".join(traceback.format_list(frames)) + summary
    head = summary.splitlines()[-1] if summary else type(error).__name__
    if where is not None:
        head = "%s, line %d: %s" % (where[0], where[1], head)
    message = "error while %s: %s\n%s" % (doing, head, lines.rstrip())
    return AppLoadError(message, where, summary.splitlines()[-1] if summary else head)


def _public_names(module: Any) -> list[str]:
    return sorted(n for n in vars(module) if not n.startswith("_"))[:20]


def _default_app(module: Any, target: str) -> Any:
    for name in _DEFAULT_NAMES:
        obj = getattr(module, name, None)
        if obj is not None:
            return _check_app(obj, "%s:%s" % (target, name))
    for name in _DEFAULT_FACTORIES:
        factory = getattr(module, name, None)
        if factory is not None:
            app = _call_factory(factory, "%s:%s" % (target, name), (), {})
            return _check_app(app, "%s:%s()" % (target, name))
    raise AppLoadError(
        "found no application in %r: name it, as in %s:NAME (looked for %s)"
        % (module.__name__, target, ", ".join((*_DEFAULT_NAMES, *_DEFAULT_FACTORIES)))
    )


def _call_factory(factory: Any, where: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not callable(factory):
        raise AppLoadError("%s is a %s, not a factory to call" % (where, type(factory).__name__))
    try:
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as error:
        raise AppLoadError("cannot call %s with those arguments: %s" % (where, error)) from None
    except ValueError:
        pass  # no signature to check (a builtin): let the call tell
    try:
        return factory(*args, **kwargs)
    except Exception:
        raise _inner_error("calling %s()" % where) from None


def _check_app(obj: Any, where: str) -> Any:
    if not callable(obj):
        raise AppLoadError(
            "%s is a %s, not a WSGI application (a callable taking environ and "
            "start_response)" % (where, type(obj).__name__)
        )
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return obj  # no signature to check: trust it
    try:
        signature.bind(None, None)
    except TypeError:
        try:
            signature.bind()
        except TypeError:
            hint = ""
        else:
            hint = "; it takes no arguments, so it may be a factory: write %s()" % where
        raise AppLoadError(
            "%s cannot be called as app(environ, start_response)%s" % (where, hint)
        ) from None
    return obj


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.3rem;color:#b00020}code,pre{font:14px/1.4 ui-monospace,monospace}
pre{background:#f6f6f6;padding:1rem;overflow:auto}</style></head>
<body><h1>%(title)s</h1><p><code>%(where)s</code></p><pre>%(detail)s</pre>
<p>devserve serves this page until the application loads again: save a fix and reload.</p>
</body></html>
"""


def error_app(error: AppLoadError) -> Callable[..., Iterable[bytes]]:
    """A WSGI application that answers every request ``500`` with *error*.

    Browsers (``Accept: text/html``) get a page that names the file, the line and the
    error; other clients get the same as plain text.
    """
    where = "%s, line %d" % error.where if error.where is not None else ""
    text = "%s\n%s\n\n%s\n" % (error.summary, where, error)
    page = _PAGE % {
        "title": html.escape(error.summary),
        "where": html.escape(where),
        "detail": html.escape(str(error)),
    }

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        as_html = "text/html" in environ.get("HTTP_ACCEPT", "")
        body = (page if as_html else text).encode("utf-8")
        kind = "text/html" if as_html else "text/plain"
        start_response(
            "500 Internal Server Error",
            [("Content-Type", kind + "; charset=utf-8"), ("Content-Length", str(len(body))),
             ("Cache-Control", "no-store")],
        )  # fmt: skip
        return [body]

    return app
