"""The small-file cache: never stale, bounded, and invisible on the wire."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from devserve.files.cache import FileCache
from devserve.files.handler import SimpleHTTPRequestHandler
from support.sockets import read_all


def handler_for(root: Path, cache: FileCache | None) -> type[SimpleHTTPRequestHandler]:
    class Files(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        etags = True
        allow_symlink_escape = False
        file_cache = cache

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Files


def get(server: Any, path: str) -> bytes:
    with server.connect() as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % path.encode())
        return read_all(sock)


def test_an_edited_file_is_served_new_at_once(serve: Any, tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"first")
    server = serve(handler_for(tmp_path, FileCache()))
    assert get(server, "/page.txt").endswith(b"\r\n\r\nfirst")
    page.write_bytes(b"other")  # same size
    stamp = os.stat(page).st_mtime_ns + 1_000_000
    os.utime(page, ns=(stamp, stamp))
    assert get(server, "/page.txt").endswith(b"\r\n\r\nother")
    page.write_bytes(b"much longer now")
    assert get(server, "/page.txt").endswith(b"\r\n\r\nmuch longer now")


def test_answers_are_the_same_with_and_without_the_cache(serve: Any, tmp_path: Path) -> None:
    (tmp_path / "a.css").write_bytes(b"body{}")
    cached = serve(handler_for(tmp_path, FileCache()))
    plain = serve(handler_for(tmp_path, None))

    def masked(answer: bytes) -> bytes:
        return re.sub(rb"Date: [^\r]+", b"Date: *", answer)

    for _ in range(2):  # the second request is served from memory
        assert masked(get(cached, "/a.css")) == masked(get(plain, "/a.css"))


def test_large_files_are_not_kept(serve: Any, tmp_path: Path) -> None:
    cache = FileCache(max_file_size=1024)
    (tmp_path / "big.bin").write_bytes(b"x" * 5000)
    server = serve(handler_for(tmp_path, cache))
    assert get(server, "/big.bin").endswith(b"\r\n\r\n" + b"x" * 5000)
    assert cache.get(str(tmp_path / "big.bin"), os.stat(tmp_path / "big.bin")) is None


def test_a_symlink_out_of_the_root_is_refused_with_the_cache(serve: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    server = serve(handler_for(root, FileCache()))
    for _ in range(2):
        answer = get(server, "/link.txt")
        assert answer.startswith(b"HTTP/1.1 404 ")
        assert b"secret" not in answer


def test_the_cache_stays_within_its_bound(tmp_path: Path) -> None:
    cache = FileCache(max_file_size=100, max_total=250)
    paths = []
    for number in range(5):
        path = tmp_path / ("f%d" % number)
        path.write_bytes(b"y" * 100)
        paths.append(path)
        assert cache.load(str(path), os.stat(path)) is not None
    kept = [p for p in paths if cache.get(str(p), os.stat(p)) is not None]
    assert kept == paths[-2:]  # the oldest entries went first


@pytest.mark.parametrize("change", ["replace", "grow"])
def test_a_stale_stat_is_not_cached(tmp_path: Path, change: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    before = os.stat(path)
    if change == "replace":
        (tmp_path / "g").write_bytes(b"xyz")
        os.replace(tmp_path / "g", path)
    else:
        path.write_bytes(b"abcdef")
    assert FileCache().load(str(path), before) is None


@pytest.mark.parametrize("change", ["chmod", "chown"])
def test_a_permission_change_drops_the_entry(serve: Any, tmp_path: Path, change: str) -> None:
    page = tmp_path / "secret.txt"
    page.write_bytes(b"secret")
    cache = FileCache()
    cached = serve(handler_for(tmp_path, cache))
    plain = serve(handler_for(tmp_path, None))
    assert get(cached, "/secret.txt").endswith(b"\r\n\r\nsecret")
    assert cache.get(str(page), os.stat(page)) is not None
    if change == "chmod":
        page.chmod(0)
    elif os.geteuid() == 0:
        os.chown(page, os.getuid(), os.getgid() + 1)  # another group
    else:
        os.chown(page, os.getuid(), os.getgid())  # only root may give a file away: ctime
    # The cached copy no longer vouches for the file: whatever a fresh open() gives now
    # (403/404 for a user the mode shuts out; the bytes again for root) is the answer.
    assert cache.get(str(page), os.stat(page)) is None
    status = get(cached, "/secret.txt").split(b"\r\n", 1)[0]
    assert status == get(plain, "/secret.txt").split(b"\r\n", 1)[0]
