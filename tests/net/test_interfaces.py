"""The machine's network addresses, as a wildcard bind's banner lists them.

The filter is a pure function, tested on given addresses; the discovery runs for real
and must return usable addresses (or none), never loopback and never an error.
"""

from __future__ import annotations

import ast
import ipaddress
import subprocess
import sys
import time

import pytest

from devserve.net.interfaces import NAME_DEADLINE, machine_addresses, reachable_addresses


@pytest.mark.parametrize(
    ("candidates", "kept"),
    [
        (["192.168.1.5"], ["192.168.1.5"]),
        (["127.0.0.1", "127.0.1.1", "::1"], []),
        (["0.0.0.0", "::"], []),
        (["169.254.10.1", "fe80::1%eth0", "fe80::1"], []),
        (["224.0.0.1", "ff02::1"], []),
        (["2001:db8::5", "10.0.0.2"], ["10.0.0.2", "2001:db8::5"]),
        (["10.0.0.2", "10.0.0.2", "::ffff:10.0.0.2"], ["10.0.0.2"]),
        (["my-laptop", "", "10.0.0.3"], ["10.0.0.3"]),
        (["10.0.0.9", "10.0.0.3"], ["10.0.0.9", "10.0.0.3"]),
    ],
    ids=["private", "loopback", "wildcards", "link-local", "multicast", "ipv4-first",
         "duplicates-and-mapped", "names", "order-kept"],
)  # fmt: skip
def test_reachable_addresses(candidates: list[str], kept: list[str]) -> None:
    assert reachable_addresses(candidates) == kept


def test_machine_addresses_are_usable_ip_addresses() -> None:
    found = machine_addresses()
    assert len(found) == len(set(found))
    for text in found:
        address = ipaddress.ip_address(text)  # raises for anything but an address
        assert not address.is_loopback
        assert not address.is_unspecified
        assert not address.is_link_local


STALLED_RESOLVER = """
import socket, sys, time
real = socket.getaddrinfo
def stalled(host, *args, **kwargs):
    if host == socket.gethostname():
        time.sleep(60)  # a name the network's DNS does not know, asked again and again
    return real(host, *args, **kwargs)
socket.getaddrinfo = stalled
from devserve.net.interfaces import machine_addresses
started = time.monotonic()
found = machine_addresses()
print(time.monotonic() - started, found)
"""


def test_a_resolver_that_never_answers_delays_the_addresses_half_a_second() -> None:
    # The banner of a wildcard bind waits for these: a stalled host-name lookup must not
    # stall devserve's start, nor keep the process from exiting afterwards.
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", STALLED_RESOLVER], capture_output=True, text=True, timeout=30
    )
    took_process = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    took, _, listed = done.stdout.partition(" ")
    assert NAME_DEADLINE <= float(took) < NAME_DEADLINE + 1.0
    found = ast.literal_eval(listed)
    assert found == reachable_addresses(found)  # the routing table's, still filtered
    assert took_process < 10  # the stalled lookup's thread did not hold the exit
