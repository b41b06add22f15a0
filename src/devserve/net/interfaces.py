"""The machine's own network addresses: where a server bound to a wildcard is reached.

Rule 1: nothing is sent and nothing is required: the addresses come from the routing
table (a UDP socket "connected" to a documentation address says which local address
the default route uses; UDP's connect sends no packet) and from the host name's
addresses; a machine without a network has none, and that is an answer, never an error.
Rule 1a: the host name's lookup may ask a resolver that never answers (a laptop's name
unknown to the network's DNS): it gets :data:`NAME_DEADLINE` seconds in a thread of its
own, and the start-up banner does not wait for it longer.
Rule 2: only addresses another machine could use are returned: no loopback, no
wildcard, no link-local (a URL cannot carry the interface an ``fe80::`` address needs).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterable

__all__ = ["NAME_DEADLINE", "machine_addresses", "reachable_addresses"]

#: Seconds the host name's addresses are waited for (Rule 1a).
NAME_DEADLINE = 0.5

# RFC 5737 and RFC 3849 documentation addresses: routed like any remote host, never owned.
_ROUTE_PROBES = ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"))


def reachable_addresses(candidates: Iterable[str]) -> list[str]:
    """Return the addresses among *candidates* that other machines can connect to.

    IPv4 first, each once, in the order given; names that are not IP addresses,
    loopback, unspecified, link-local and multicast addresses are left out.
    """
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(str(candidate).partition("%")[0])
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if (
            address.is_loopback
            or address.is_unspecified
            or address.is_link_local
            or address.is_multicast
            or address in found
        ):
            continue
        found.append(address)
    found.sort(key=lambda address: address.version)  # stable: order kept within a family
    return [str(address) for address in found]


def machine_addresses() -> list[str]:
    """Return this machine's network addresses, as :func:`reachable_addresses` keeps them."""
    candidates: list[str] = []
    for family, probe in _ROUTE_PROBES:
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.connect((probe, 9))
            candidates.append(str(udp.getsockname()[0]))
    candidates += _host_name_addresses(NAME_DEADLINE)
    return reachable_addresses(candidates)


def _host_name_addresses(deadline: float) -> list[str]:
    """The host name's addresses, or none if the resolver takes over *deadline* seconds."""
    found: list[str] = []

    def resolve() -> None:
        with contextlib.suppress(OSError, UnicodeError):
            infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
            found.extend([str(info[4][0]) for info in infos])

    # A daemon: a lookup that never returns must not keep the process from exiting.
    lookup = threading.Thread(target=resolve, name="devserve-hostname", daemon=True)
    lookup.start()
    lookup.join(deadline)
    return [] if lookup.is_alive() else found
