"""Directory listings: read a directory once, render it as HTML or as JSON.

Rule 1: everything from the file system or the request that reaches the page is
escaped: names with :func:`html.escape`, links with :func:`urllib.parse.quote`
(``surrogatepass``, so undecodable names keep a link that finds them again), and the
page is encoded with ``surrogateescape`` as :mod:`http.server` does.
Rule 2: the HTML keeps the lines :mod:`http.server`'s page has (title, ``<h1>``,
``href="NAME"`` and ``>NAME<``), so scripts that scrape the stdlib's listing still
work; the table around them is devserve's.
Rule 3: no sockets and no HTTP here; the handler decides which renderer answers.
"""

from __future__ import annotations

import datetime
import html
import os
import stat
import sys
import urllib.parse
from collections.abc import Callable, Iterable
from typing import NamedTuple

from .paths import unquote_path

__all__ = [
    "SORT_KEYS",
    "Entry",
    "listing_page",
    "render_html",
    "render_json",
    "scan_directory",
    "sort_entries",
]

#: The columns a listing can be sorted by, as given in ``?sort=``.
SORT_KEYS = ("name", "size", "modified")


class Entry(NamedTuple):
    """One directory entry as listed: name, kind, size and modification time."""

    name: str
    is_dir: bool
    is_symlink: bool
    size: int | None
    mtime: float | None

    @property
    def link(self) -> str:
        """The entry's relative URL, percent-encoded, with ``/`` after a directory."""
        return urllib.parse.quote(self.name + ("/" if self.is_dir else ""), errors="surrogatepass")

    @property
    def label(self) -> str:
        """The entry's name as shown: ``name/`` for a directory, ``name@`` for a symlink."""
        if self.is_dir:
            return self.name + "/"
        return self.name + ("@" if self.is_symlink else "")


def scan_directory(
    path: str, keep: Callable[[os.DirEntry[str]], bool] | None = None
) -> list[Entry]:
    """Return the entries of directory *path* for which *keep* is true.

    Raises :exc:`OSError` when the directory cannot be read.  An entry that
    cannot be stat'ed (a dangling symlink) is listed without size or time.
    """
    entries = []
    with os.scandir(path) as iterator:
        for item in iterator:
            if keep is not None and not keep(item):
                continue
            try:
                info = item.stat()
            except OSError:
                entries.append(Entry(item.name, False, item.is_symlink(), None, None))
                continue
            is_dir = stat.S_ISDIR(info.st_mode)
            entries.append(
                Entry(
                    item.name,
                    is_dir,
                    item.is_symlink(),
                    None if is_dir else info.st_size,
                    info.st_mtime,
                )
            )
    return entries


def sort_entries(
    entries: Iterable[Entry], key: str = "name", descending: bool = False
) -> list[Entry]:
    """Sort *entries* by *key* (one of :data:`SORT_KEYS`), directories always first."""

    def name_key(entry: Entry) -> str:
        return entry.name.lower()

    def value(entry: Entry) -> tuple[float, str]:
        if key == "size":
            return (float(entry.size or 0), name_key(entry))
        if key == "modified":
            return (entry.mtime or 0.0, name_key(entry))
        return (0.0, name_key(entry))

    ordered = sorted(entries, key=value, reverse=descending)
    # A stable sort on the kind alone keeps the order above within each kind.
    return sorted(ordered, key=lambda entry: not entry.is_dir)


_STYLE = """<style type="text/css">
:root { color-scheme: light dark; }
body { font-family: system-ui, sans-serif; margin: 1.5em; }
table { border-collapse: collapse; min-width: 50%; }
th, td { text-align: left; padding: 0.2em 1.2em 0.2em 0; }
td.size, th.size { text-align: right; }
td.size, td.modified { font-variant-numeric: tabular-nums; white-space: nowrap; }
th a { color: inherit; }
tr:hover td { background: color-mix(in srgb, currentColor 8%, transparent); }
</style>"""


def _size_text(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    raise AssertionError("unreachable")


def _time_text(mtime: float | None) -> str:
    if mtime is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _rfc3339(mtime: float | None) -> str | None:
    if mtime is None:
        return None
    moment = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def render_html(
    entries: list[Entry],
    displaypath: str,
    encoding: str,
    *,
    sort: str = "name",
    descending: bool = False,
    parent: bool = True,
) -> bytes:
    """Render a listing page; *displaypath* must already be HTML-escaped.

    Column headings link to the same listing sorted by that column (``?sort=``
    and ``?order=``); *parent* adds a ``../`` row.
    """
    title = "Directory listing for %s" % displaypath
    lines = [
        "<!DOCTYPE HTML>",
        '<html lang="en">',
        "<head>",
        '<meta charset="%s">' % encoding,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        _STYLE,
        "<title>%s</title>\n</head>" % title,
        "<body>\n<h1>%s</h1>" % title,
        "<hr>\n<table>",
        "<thead><tr>",
    ]
    for column, heading in zip(SORT_KEYS, ("Name", "Size", "Modified"), strict=True):
        order = "desc" if column == sort and not descending else "asc"
        arrow = (" \u2193" if descending else " \u2191") if column == sort else ""
        lines.append(
            '<th class="%s"><a href="?sort=%s&amp;order=%s">%s</a>%s</th>'
            % (column, column, order, heading, arrow)
        )
    lines.append("</tr></thead>\n<tbody>")
    if parent:
        lines.append('<tr><td><a href="../">../</a></td><td class="size">-</td><td></td></tr>')
    for entry in entries:
        lines.append(
            '<tr><td><a href="%s">%s</a></td><td class="size" title="%s">%s</td>'
            '<td class="modified">%s</td></tr>'
            % (
                entry.link,
                html.escape(entry.label, quote=False),
                "" if entry.size is None else "%d bytes" % entry.size,
                _size_text(entry.size),
                _time_text(entry.mtime),
            )
        )
    lines.append("</tbody>\n</table>\n<hr>\n</body>\n</html>\n")
    return "\n".join(lines).encode(encoding, "surrogateescape")


def render_json(entries: list[Entry], urlpath: str) -> bytes:
    """Render a listing as a JSON object: ``{"path": ..., "entries": [...]}``.

    Each entry has ``name``, ``url`` (relative, percent-encoded), ``is_dir``,
    ``is_symlink``, ``size`` (bytes, ``null`` for directories), ``modified``
    (RFC 3339, UTC) and ``mtime`` (seconds since the epoch).
    """
    document = {
        "path": urlpath,
        "entries": [
            {
                "name": entry.name,
                "url": entry.link,
                "is_dir": entry.is_dir,
                "is_symlink": entry.is_symlink,
                "size": entry.size,
                "modified": _rfc3339(entry.mtime),
                "mtime": entry.mtime,
            }
            for entry in entries
        ],
    }
    # ensure_ascii keeps undecodable names (lone surrogates) representable.
    import json  # only for clients that ask for JSON: it costs 3 ms at start-up

    return (json.dumps(document, ensure_ascii=True, indent=1) + "\n").encode("ascii")


def listing_page(entries: list[Entry], url: str, *, as_json: bool) -> tuple[bytes, str]:
    """Return the listing of *entries* for the request *url* and its ``Content-Type``.

    The query orders it (``?sort=name|size|modified``, ``?order=asc|desc``); the
    page names the directory by the URL's path, decoded and escaped.
    """
    target = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(target.query)
    sort = query.get("sort", ["name"])[-1]
    if sort not in SORT_KEYS:
        sort = "name"
    descending = query.get("order", ["asc"])[-1] == "desc"
    entries = sort_entries(entries, sort, descending)
    if as_json:
        return render_json(entries, unquote_path(target.path)), "application/json"
    encoding = sys.getfilesystemencoding()
    body = render_html(
        entries,
        html.escape(unquote_path(url), quote=False),
        encoding,
        sort=sort,
        descending=descending,
        parent=target.path not in ("", "/"),
    )
    return body, "text/html; charset=%s" % encoding
