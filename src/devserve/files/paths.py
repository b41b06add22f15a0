"""Which request paths a file server may serve: the checks behind its safety flags.

Rule 1: each check answers one question about one request and never serves, logs or
answers anything itself; :class:`~devserve.files.handler.SimpleHTTPRequestHandler` decides
what status to send.
Rule 2: the Windows-only tricks are refused on every platform, so a tree served from
Linux behaves the same when it is later served from Windows, and so a test on Linux
proves the Windows behaviour; except a colon, which POSIX file names may hold
(``2024-01-01T10:00.log``) and which means something (a drive, a stream) only where
``os.path`` is Windows', looked up at call time as :mod:`http.server` does.
Rule 3: containment is checked on real paths (symlinks resolved), because a path that
looks inside the root is not inside it when one of its components is a symlink.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import urllib.parse

__all__ = [
    "contained",
    "hidden_segment",
    "request_segments",
    "unquote_path",
    "windows_trick",
]

# Windows opens these device names in any directory, whatever the extension.
_DEVICE_NAME = re.compile(
    r"(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9]|CONIN\$|CONOUT\$)(?:\..*)?",
    re.ASCII | re.IGNORECASE | re.DOTALL,
)
# An 8.3 short name (PROGRA~1) reaches a file under another name, past dotfile hiding.
_SHORT_NAME = re.compile(r"[^~.]{1,6}~[0-9]+(?:\.[^.]{0,3})?", re.ASCII | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Dot-directories that are served even when dotfiles are hidden: RFC 8615's
#: well-known URIs are meant to be fetched.
PUBLIC_DOT_NAMES = frozenset({".well-known"})


def unquote_path(path: str) -> str:
    """Percent-decode a URL path as :mod:`http.server` does: UTF-8, with lone surrogates kept.

    A path whose escapes are not UTF-8 at all is decoded with replacement characters.
    """
    try:
        return urllib.parse.unquote(path, errors="surrogatepass")
    except UnicodeDecodeError:
        return urllib.parse.unquote(path)


def request_segments(path: str) -> list[str]:
    """Return the decoded segments of a request target's path, ``.`` and ``..`` kept.

    The query and fragment are dropped and percent-escapes decoded as
    :meth:`~devserve.SimpleHTTPRequestHandler.translate_path` decodes them,
    so ``%2f`` separates segments here too.
    """
    decoded = unquote_path(path.split("#", 1)[0].split("?", 1)[0])
    return [segment for segment in decoded.split("/") if segment]


def windows_trick(segments: list[str]) -> str | None:
    """Return why *segments* would be unsafe on Windows, or ``None`` if they are not.

    Refused: ``..`` (even where it would normalise away), a backslash, a colon
    where ``os.path`` is Windows' (drive letters, NTFS alternate data streams such
    as ``file::$DATA``; on POSIX a colon is an ordinary character), a trailing dot
    or space (Windows drops them, so ``..%20`` is ``..``: gh-157504),
    device names (``CON``, ``NUL.txt``), 8.3 short names and control characters.
    """
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            return "parent directory segment"
        if "\\" in segment:
            return "backslash"
        if ":" in segment and os.path.sep == "\\":
            return "colon"
        if segment.endswith((".", " ")):
            return "trailing dot or space"
        if _CONTROL.search(segment):
            return "control character"
        if _DEVICE_NAME.fullmatch(segment):
            return "device name"
        if _SHORT_NAME.fullmatch(segment):
            return "short name"
    return None


def hidden_segment(segments: list[str]) -> bool:
    """Whether the normalised path has a segment starting with a dot (``.git``, ``.env``).

    The names in ``PUBLIC_DOT_NAMES`` (``.well-known``) are not hidden.
    """
    normal = posixpath.normpath("/" + "/".join(segments))
    return any(
        segment.startswith(".") and segment not in PUBLIC_DOT_NAMES for segment in normal.split("/")
    )


def contained(path: str, root: str) -> bool:
    """Whether *path*, symlinks resolved, is *root* or inside it (*root* resolved too)."""
    real_root = _real_root(root) if os.path.isabs(root) else os.path.realpath(root)
    real = os.path.realpath(path)
    if real == real_root:
        return True
    prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
    return real.startswith(prefix)


@functools.lru_cache(maxsize=64)
def _real_root(root: str) -> str:
    # The served root is resolved once, not on every request (an lstat per component);
    # a root replaced by a symlink while serving keeps its first resolution.
    return os.path.realpath(root)
