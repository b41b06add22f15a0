"""CGIHTTPRequestHandler: run CGI scripts (RFC 3875) found in the CGI directories.

Rule 1: the class is a drop-in for :class:`http.server.CGIHTTPRequestHandler`, which
Python 3.13 deprecates and 3.15 removes:
:attr:`~devserve.CGIHTTPRequestHandler.cgi_directories`,
:meth:`~devserve.CGIHTTPRequestHandler.is_cgi`,
:meth:`~devserve.CGIHTTPRequestHandler.run_cgi`, the same 403, 404 and 501 answers and
the path collapsing that closed CVE-2014-4650 and bpo-19435.  It never imports the
stdlib :mod:`!cgi` module, never warns, and never forks the (threaded) server: scripts
are started with :mod:`subprocess`, and as ``nobody`` when the server runs as root.
Rule 2: the server writes the response, not the script.  The script's header block is
parsed (``Status``, ``Location``, ``Content-Length``; every other field checked as
:meth:`~devserve.BaseHTTPRequestHandler.send_header` checks it) and the body is framed
by the server: a length, chunks, or the end of the connection.
Rule 3: a script never outlives its request: it runs in its own process group, which
is killed after :attr:`~devserve.CGIHTTPRequestHandler.cgi_timeout` seconds without
progress, when the client goes away, or when anything else fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import stat
import sys
import tempfile
import urllib.parse
from http import HTTPStatus
from typing import Any, BinaryIO, ClassVar

from ..files.handler import SimpleHTTPRequestHandler
from ..files.paths import hidden_segment, request_segments, windows_trick
from ..http11 import body_allowed
from ..http11.response import Framing
from ..http11.target import origin_form
from ..net.servers import HTTPServer
from ..net.unix import remote_addr
from .environ import ScriptRequest, build_environ
from .process import ScriptProcess, ScriptTimeout
from .script_head import BadScriptResponse, ScriptHead, parse_script_head

__all__ = [
    "BadScriptResponse",
    "CGIHTTPRequestHandler",
    "ScriptHead",
    "executable",
    "nobody_uid",
    "parse_script_head",
]

_COPY_CHUNK = 65536
# Chunked request bodies are spooled to learn CONTENT_LENGTH; this much stays in memory.
_SPOOL_IN_MEMORY = 1 << 20
# A script's header block larger than this is not a header block.
_MAX_SCRIPT_HEAD = 65536
_MAX_LOCAL_REDIRECTS = 10
# A blank line ends the script's header block; scripts end lines with LF or CRLF.
_HEAD_END = re.compile(rb"(?:^|\n)\r?\n")


def _url_collapse_path(path: str) -> str:
    """Return *path* percent-decoded, with ``.`` and ``..`` resolved and empty segments dropped.

    The query string is kept, undecoded.  The result has the shape of
    :mod:`http.server`'s helper, which CPython's tests pin: the directory part,
    a ``/``, then the last segment (``''`` gives ``'//'``, ``'/a'`` gives
    ``'//a'``, ``'/a/b/'`` gives ``'/a/b/'``).  Raises :exc:`IndexError` when
    ``..`` climbs above the root.  Decoding first is what makes ``/cgi-bin%2f``
    a CGI directory (CVE-2014-4650).
    """
    route, _, query = path.partition("?")
    *directories, last = urllib.parse.unquote(route).split("/")
    kept: list[str] = []
    for segment in directories:
        if segment == "..":
            if not kept:
                raise IndexError("path climbs above the root: %r" % path)
            kept.pop()
        elif segment not in ("", "."):
            kept.append(segment)
    if last == "..":
        if not kept:
            raise IndexError("path climbs above the root: %r" % path)
        kept.pop()
        last = ""
    elif last == ".":
        last = ""
    if query:
        last += "?" + query
    return "/" + "/".join(kept) + "/" + last


_nobody: tuple[int, int] | None = None


def _nobody_ids() -> tuple[int, int]:
    global _nobody
    if _nobody is None:
        try:
            import pwd
        except ImportError:
            _nobody = (-1, -1)
            return _nobody
        try:
            entry = pwd.getpwnam("nobody")
            _nobody = (entry.pw_uid, entry.pw_gid)
        except KeyError:
            uid = 1 + max(entry.pw_uid for entry in pwd.getpwall())
            _nobody = (uid, uid)
    return _nobody


def nobody_uid() -> int:
    """Return the user id of ``nobody``.

    Without such a user it is one more than the largest user id; without
    :mod:`pwd` (Windows) it is ``-1``.
    """
    return _nobody_ids()[0]


def executable(path: str | os.PathLike[str]) -> bool:
    """Return whether *path* may be executed by the server's user."""
    return os.access(path, os.X_OK)


class CGIHTTPRequestHandler(SimpleHTTPRequestHandler):
    """Serve files, and run CGI scripts for requests under :attr:`cgi_directories`.

    This is :class:`http.server.CGIHTTPRequestHandler`: ``GET``, ``HEAD`` and
    ``POST`` to a path under a CGI directory run the script it names, with the
    environment of RFC 3875 (and ``PATH_INFO`` for the rest of the path);
    other ``GET`` and ``HEAD`` requests are served as files, other ``POST``
    requests get 501.  Scripts run as ``nobody`` when the server runs as root.

    Unlike :mod:`http.server`, the script's own headers are honoured (``Status``
    sets the status, ``Location`` redirects, a local ``Location`` path is served
    in its place), the response is framed for keep-alive, the request body is
    streamed to the script (chunked bodies too), the body of a ``HEAD``
    response is not sent, a script that fails before its headers gives 500 and
    one that hangs 504 after :attr:`cgi_timeout`, and a file inside a CGI
    directory is never served as a file.  Unlike Python 3.13, it does not warn.
    See :doc:`/cgi`.
    """

    #: URL paths of the directories whose files are run as scripts; a class-level
    #: list, as in :mod:`http.server`, so appending to it affects every handler.
    #: ``""`` (a devserve addition) makes the whole directory a CGI directory, as
    #: ``--mount PREFIX=cgi:DIR`` does.
    cgi_directories: ClassVar[list[str]] = ["/cgi-bin", "/htbin"]
    #: Run scripts as executables (their ``#!`` line chooses the interpreter);
    #: when false, Python scripts are run with :data:`sys.executable` instead, as
    #: :mod:`http.server` does where it cannot fork.
    have_fork: ClassVar[bool] = hasattr(os, "fork")
    #: Seconds a script may go without writing output or reading its input
    #: before it is killed (504 if it sent no headers yet), or ``None``.
    #:
    #: .. versionadded:: 0.1
    cgi_timeout: float | None = 60.0

    cgi_info: tuple[str, str]
    _cgi_redirects = 0

    # -- dispatch -------------------------------------------------------------

    def do_POST(self) -> None:
        """Run the CGI script a ``POST`` names; other paths get 501."""
        if self._cgi_target():
            self.run_cgi()
        elif self._status_code is None:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, "Can only POST to CGI scripts")

    def send_head(self) -> BinaryIO | None:
        """Run the CGI script the request names, or send the file's head as files are."""
        if self._cgi_target():
            self.run_cgi()
            return None
        if self._status_code is not None:
            return None
        path = self.translate_path(self.path)
        if self._inside_cgi_directory(path):
            # A script's source is never served, whatever spelling reached it
            # (case-insensitive file systems, symlinks, '..' tricks).
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        return super().send_head()

    def _cgi_target(self) -> bool:
        """Whether the request names a script; an answered bad path counts as not."""
        try:
            found = self.is_cgi()
        except IndexError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return False
        if not found:
            return False
        segments = request_segments(origin_form(self.path))
        if self.strict_paths and windows_trick(segments) is not None:
            self.send_error(HTTPStatus.BAD_REQUEST, "Refused path")
            return False
        if not self.serve_dotfiles and hidden_segment(segments):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return False
        return True

    def is_cgi(self) -> bool:
        """Return whether ``self.path`` is under one of :attr:`cgi_directories`.

        The path (in origin form: an absolute-form target's path, RFC 9112
        §3.2.2) is collapsed with ``_url_collapse_path()`` first (which raises
        :exc:`IndexError` for a path above the root); the first directory
        prefix found in the list wins, and ``self.cgi_info`` is set to
        ``(directory, rest)``, where *rest* keeps the query string.
        """
        collapsed = _url_collapse_path(origin_form(self.path))
        directories = self.cgi_directories
        if "" in directories:
            self.cgi_info = "", collapsed[1:]
            return True
        end = collapsed.find("/", 1)
        while end > 0:
            if collapsed[:end] in directories:
                self.cgi_info = collapsed[:end], collapsed[end + 1 :]
                return True
            end = collapsed.find("/", end + 1)
        return False

    def is_executable(self, path: str) -> bool:
        """Return whether the script at file system *path* may be executed."""
        return executable(path)

    def is_python(self, path: str) -> bool:
        """Return whether *path* names a Python script (``.py`` or ``.pyw``)."""
        return os.path.splitext(path)[1].lower() in (".py", ".pyw")

    def _inside_cgi_directory(self, path: str) -> bool:
        roots = set()
        for directory in self.cgi_directories:
            with contextlib.suppress(OSError, ValueError):
                info = os.stat(self.translate_path(directory))
                roots.add((info.st_dev, info.st_ino))
        if not roots:
            return False
        # Compared by identity, not by name: on a case-insensitive file system
        # '/CGI-BIN/x.py' is the script '/cgi-bin/x.py'.
        parent = os.path.dirname(os.path.realpath(path))
        while True:
            with contextlib.suppress(OSError, ValueError):
                info = os.stat(parent)
                if (info.st_dev, info.st_ino) in roots:
                    return True
            up = os.path.dirname(parent)
            if up == parent:
                return False
            parent = up

    # -- running a script -----------------------------------------------------

    def run_cgi(self) -> None:
        """Run the script ``self.cgi_info`` names and send its response.

        Sends 404 if there is no such script, 403 if it is not a regular
        file or not executable, 500 if it cannot be started or fails before
        sending its headers, and 504 if it hangs past :attr:`cgi_timeout`.
        """
        directory, rest = self.cgi_info
        rest, _, query = rest.partition("?")
        # bpo-38863: a CGI directory may hold directories; walk down while they exist.
        while "/" in rest:
            first, _, remainder = rest.partition("/")
            if not os.path.isdir(self.translate_path(directory + "/" + first)):
                break
            directory, rest = directory + "/" + first, remainder
        script, slash, extra = rest.partition("/")
        path_info = slash + extra
        script_name = directory + "/" + script
        script_file = self.translate_path(script_name)
        try:
            mode = os.stat(script_file).st_mode
        except (OSError, ValueError):
            self.send_error(HTTPStatus.NOT_FOUND, "No such CGI script (%r)" % script_name)
            return
        if not self._inside_root(script_file):
            # Scripts are contained as files are: a symlink that leaves the served
            # directory is not run (unless allow_symlink_escape, --follow-symlinks).
            self.send_error(HTTPStatus.NOT_FOUND, "No such CGI script (%r)" % script_name)
            return
        if not stat.S_ISREG(mode):
            self.send_error(
                HTTPStatus.FORBIDDEN, "CGI script is not a plain file (%r)" % script_name
            )
            return
        interpreted = not self.have_fork and self.is_python(script_name)
        if not interpreted and not self.is_executable(script_file):
            self.send_error(HTTPStatus.FORBIDDEN, "CGI script is not executable (%r)" % script_name)
            return
        with contextlib.ExitStack() as stack:
            body, length = self._script_input(stack)
            request = ScriptRequest(
                method=self.command or "GET",
                script_name=self.mount_prefix + script_name,
                path_info=path_info,
                path_translated=self.translate_path(path_info) if path_info else None,
                query_string=query,
                server_protocol=self.request_version,
                server_software=self.version_string(),
                server_name=self._server_name(),
                server_port=self._server_port(),
                remote_addr=remote_addr(self.client_address),
                headers=list(self.headers.items()),
                content_length=length,
            )
            argv = self._command(script_file, interpreted, query)
            process = self._spawn(script_name, argv, build_environ(request, os.environ), body)
            if process is not None:
                stack.callback(self._end_script, process)
                self._relay(script_name, process)

    def _server_name(self) -> str:
        server = self.server
        if isinstance(server, HTTPServer):
            return server.server_name
        return str(server.server_address[0]) if isinstance(server.server_address, tuple) else ""

    def _server_port(self) -> int:
        server = self.server
        if isinstance(server, HTTPServer):
            return server.server_port
        return int(server.server_address[1]) if isinstance(server.server_address, tuple) else 0

    def _command(self, script_file: str, interpreted: bool, query: str) -> list[str]:
        argv = [script_file]
        if interpreted:
            interpreter = sys.executable
            if interpreter.lower().endswith("w.exe"):
                # pythonw has no standard streams to talk to the server through.
                interpreter = interpreter[:-5] + interpreter[-4:]
            argv = [interpreter, "-u", script_file]
        # RFC 3875 §4.4: a query without '=' is a search, passed as an argument as
        # http.server passes it; never one that starts with '-' (CVE-2012-1823).
        words = query.replace("+", " ")
        if words and "=" not in words and not words.startswith("-"):
            argv.append(words)
        return argv

    def _script_input(self, stack: contextlib.ExitStack) -> tuple[Any, int | None]:
        """Return ``(read, length)`` for the script's standard input; ``(None, None)`` if none."""
        head = self.request_head
        if self._cgi_redirects or head is None:
            return None, None  # a local redirect is a GET without a body
        if head.chunked:
            # RFC 3875 §4.1.2: CONTENT_LENGTH is the body's length, so a chunked
            # body is read first, into memory up to a point and to disk beyond.
            spool = stack.enter_context(tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY))  # noqa: SIM115
            reader = self.body_reader()
            while chunk := reader.read(_COPY_CHUNK):
                spool.write(chunk)
            length = spool.tell()
            spool.seek(0)
            return spool.read, length
        if head.content_length is None:
            return None, None
        return self.body_reader().read, head.content_length

    def _spawn(
        self, script_name: str, argv: list[str], env: dict[str, str], body: Any
    ) -> ScriptProcess | None:
        as_nobody = hasattr(os, "geteuid") and os.geteuid() == 0
        try:
            return ScriptProcess(
                argv,
                env,
                body,
                timeout=self.cgi_timeout,
                user=_nobody_ids() if as_nobody else None,
                log=lambda line: self.log_error("%s: %s", script_name, line),
            )
        except (OSError, ValueError) as error:
            hint = ""
            if as_nobody:
                hint = " (it runs as nobody: the script, its directories and its interpreter"
                hint += " must be readable and executable by nobody)"
            self.log_error("CGI script %r could not be started: %s%s", script_name, error, hint)
            self.send_error(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "CGI script could not be started (%r)" % script_name,
            )
            return None

    def _end_script(self, process: ScriptProcess) -> None:
        if not process.ended:
            # The handler is done with it (the client left, or something failed):
            # a script never outlives its request.
            process.kill()
        if process.feeding and not process.wait_fed(self.drain_timeout):
            # The response is complete but the client is still sending a body nobody
            # reads, past the drain deadline: stop reading it, and let the connection go.
            # (Read away within the deadline, it leaves no unread input whose close
            # would reset the connection under the response.)
            self.close_connection = True
            with contextlib.suppress(OSError, AttributeError):
                self.connection.shutdown(socket.SHUT_RD)
        killed_before = process.killed
        code = process.close()
        if code is None and not killed_before:
            self.log_error("CGI script killed: it kept running after its output ended")
        elif code:
            self.log_error("CGI script exit code %d", code)
        if process.body_error is not None:
            self.close_connection = True
            self.log_error("request body not fully delivered: %s", process.body_error)

    # -- the script's response ------------------------------------------------

    def _relay(self, script_name: str, process: ScriptProcess) -> None:
        try:
            head, data = self._read_script_head(process)
        except ScriptTimeout:
            self.log_error("CGI script %r killed: no response after %ss", script_name,
                           self.cgi_timeout)  # fmt: skip
            process.kill()
            self.send_error(HTTPStatus.GATEWAY_TIMEOUT, "CGI script timed out")
            return
        except BadScriptResponse as error:
            process.kill()
            self.log_error("CGI script %r: %s", script_name, error)
            self.send_error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "CGI script failed (%r)" % script_name
            )
            return
        try:
            if head.local_redirect:
                assert head.location is not None
                try:
                    self._discard(process)  # RFC 3875 §6.2.2: there should be none
                except ScriptTimeout:
                    process.kill()
                self._local_redirect(head.location)
            else:
                self._send_script_response(process, head, data)
        except ScriptTimeout:
            # The head is out: the client must see an error, not an end, of the body.
            self.log_error("CGI script %r killed: stalled after %ss", script_name,
                           self.cgi_timeout)  # fmt: skip
            process.kill()
            self.abandon_response()

    def _read_script_head(self, process: ScriptProcess) -> tuple[ScriptHead, bytes]:
        buffer = b""
        while True:
            match = _HEAD_END.search(buffer)
            if match is not None:
                return parse_script_head(buffer[: match.start()]), buffer[match.end() :]
            if len(buffer) > _MAX_SCRIPT_HEAD:
                raise BadScriptResponse("no end of the header block in %d bytes" % len(buffer))
            data = process.read()
            if data is None:
                break
            buffer += data
        if buffer.endswith(b"\n"):
            # The header block ends with the output: a response without a body.
            return parse_script_head(buffer.rstrip(b"\r\n")), b""
        code = process.close()
        raise BadScriptResponse("ended (exit code %s) before the end of its header block" % code)

    def _local_redirect(self, location: str) -> None:
        depth = self._cgi_redirects
        if depth >= _MAX_LOCAL_REDIRECTS:
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR, "CGI local redirect loop")
            return
        self._cgi_redirects = depth + 1
        self.path = location
        try:
            # RFC 3875 §6.2.2: serve what a GET of that path would get, as Apache does.
            if self.command == "HEAD":
                self.do_HEAD()
            else:
                self.command = "GET"
                self.do_GET()
        finally:
            self._cgi_redirects = depth

    def _send_script_response(self, process: ScriptProcess, head: ScriptHead, data: bytes) -> None:
        code = head.status
        if code is None:
            code = HTTPStatus.FOUND if head.location is not None else HTTPStatus.OK
        reason = head.reason
        if reason is None and code == HTTPStatus.OK:
            reason = "Script output follows"  # http.server's phrase
        self.send_response(code, reason)
        for name, value in head.fields:
            self.send_header(name, value)
        if head.location is not None:
            self.send_header("Location", head.location)
        length = head.content_length
        declared = length is not None
        if length is None and body_allowed(code, self.command):
            data += process.read_ready()
            if process.ended:
                length = len(data)  # all of it is here: a length keeps the connection
        body = self.start_body(length, declared=declared)
        if body.framing is Framing.NONE:
            self.wfile.flush()
            self._discard(process)
            return
        while True:
            body.write(data)
            self.wfile.flush()
            more = process.read()
            if more is None:
                break
            data = more + process.read_ready()
        if not body.finish():
            self.abandon_response()

    def _discard(self, process: ScriptProcess) -> None:
        while process.read() is not None:
            pass
