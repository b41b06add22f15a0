"""The banner's URLs: a wildcard's ``Local:`` and ``Network:`` lines, a Unix socket's line.

No test binds a wildcard address: the lines for one are a pure function of the bound
host and the addresses found, tested here with given addresses; a real server on
loopback shows that the banner lists no network address for it.
"""

from __future__ import annotations

import pytest

from devserve.cli.banner import network_lines
from support.cli import DevserveProcess

FOUND = ["192.168.1.5", "10.0.0.2", "2001:db8::5"]


@pytest.mark.parametrize(
    ("host", "scheme", "lines"),
    [
        ("0.0.0.0", "http", ["  Local:   http://127.0.0.1:8000/",
                             "  Network: http://192.168.1.5:8000/",
                             "  Network: http://10.0.0.2:8000/"]),
        ("::", "https", ["  Local:   https://[::1]:8000/",
                         "  Network: https://192.168.1.5:8000/",
                         "  Network: https://10.0.0.2:8000/",
                         "  Network: https://[2001:db8::5]:8000/"]),
        ("127.0.0.1", "http", []),
        ("::1", "http", []),
        ("192.168.1.5", "http", []),
    ],
    ids=["ipv4-wildcard", "dual-stack-wildcard", "loopback", "loopback6", "one-address"],
)  # fmt: skip
def test_network_lines(host: str, scheme: str, lines: list[str]) -> None:
    assert network_lines(host, 8000, scheme, FOUND) == lines


def test_a_wildcard_with_no_address_found_still_gets_its_local_url() -> None:
    assert network_lines("0.0.0.0", 8000, "http", []) == ["  Local:   http://127.0.0.1:8000/"]


def test_network_lines_in_colour_paint_the_urls() -> None:
    (local,) = network_lines("0.0.0.0", 8000, "http", [], color=True)
    assert local == "  Local:   \x1b[36mhttp://127.0.0.1:8000/\x1b[0m"


@pytest.mark.parametrize("bind", [[], ["-b", "127.0.0.1"]], ids=["default", "ipv4-loopback"])
def test_a_loopback_banner_lists_no_network_address(bind: list[str]) -> None:
    server = DevserveProcess("0", *bind)
    try:
        assert server.banner, server.stdout
        assert "Network:" not in server.stdout
        assert "Local:" not in server.stdout
    finally:
        server.stop()
