"""Werkzeug's interactive debugger around an application, trusting the hosts served.

Rule 1: the PIN is printed when the server starts, reloader or not (Werkzeug prints it
only under its own reloader, wz#1073), unless ``WERKZEUG_DEBUG_PIN=off``.
Rule 2: the debugger trusts the hosts the server actually answers on — the bound
address, and for a wildcard bind the machine's names and addresses — never a wildcard
itself (GHSA-2g68-c3qc-8985): a browser must name a real host to reach the console.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["debug_app", "served_hosts"]

_WILDCARDS = ("", "0.0.0.0", "::")


def served_hosts(hosts: Iterable[str]) -> list[str]:
    """Return the host names a browser may use for servers bound to *hosts*.

    IPv6 addresses are given in brackets, as they appear in ``Host``.
    """
    names: list[str] = []
    for host in hosts:
        if host in _WILDCARDS:
            machine = socket.gethostname()
            candidates = [machine]
            # A machine whose own name does not resolve is reached by that name alone.
            with contextlib.suppress(OSError):
                candidates += [str(info[4][0]) for info in socket.getaddrinfo(machine, None)]
        else:
            candidates = [host]
        for name in candidates:
            name = str(name).partition("%")[0]
            if ":" in name and not name.startswith("["):
                name = "[%s]" % name
            if name not in names:
                names.append(name)
    return names


def debug_app(app: Any, hosts: Iterable[str], *, evalex: bool = True) -> Any:
    """Wrap *app* in :class:`werkzeug.debug.DebuggedApplication` and print its PIN.

    *hosts* are the addresses the server is bound to; see :func:`served_hosts`.
    A Flask application is put in debug mode, so its errors reach the debugger
    instead of becoming Flask's own 500 page.  Needs Werkzeug (the ``debug`` extra).

    .. versionadded:: 0.1
    """
    try:
        from werkzeug.debug import DebuggedApplication
    except ImportError:
        raise RuntimeError("--debug needs Werkzeug: pip install 'devserve[debug]'") from None
    config = getattr(app, "config", None)
    if isinstance(config, dict) and "PROPAGATE_EXCEPTIONS" in config:
        app.debug = True
    debugged = DebuggedApplication(app, evalex=evalex, pin_logging=False)
    for name in served_hosts(hosts):
        if name not in debugged.trusted_hosts:
            debugged.trusted_hosts.append(name)
    pin = debugged.pin if evalex else None
    sys.stderr.write(" * Debugger is active!\n")
    if pin:
        sys.stderr.write(" * Debugger PIN: %s\n" % pin)
    sys.stderr.flush()
    return debugged
