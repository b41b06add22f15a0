"""Small files kept in memory while they are unchanged on disk.

Rule 1: an entry is used only while ``os.stat`` of its path still gives the same
device, inode, size and modification time in nanoseconds (the identity the strong ETag
is built from, so the cache never serves bytes that the ETag would not also vouch for),
and the same mode, owner, group and status-change time: a ``chmod`` or ``chown`` that
would make a fresh ``open()`` by the server fail drops the entry, so the cache never
serves what the server could no longer read.  Every request still stats the file; only
opening, reading and resolving symlinks are saved (on this 2-core machine, about a
third of a 1 KiB request).
Rule 2: only small files are kept, and the whole cache is bounded; it is dropped
entry by entry in insertion order when full, never grown past its bound.
"""

from __future__ import annotations

import os
import threading

__all__ = ["CachedFile", "FileCache", "Identity"]


#: A file version's identity: device, inode, size, mtime, mode, owner, group, ctime.
Identity = tuple[int, int, int, int, int, int, int, int]


class CachedFile:
    """A file's bytes with the stat result they were read under.

    ``content_type`` and ``last_modified`` are filled in by the handler the first
    time it needs them, so they too are computed once per file version.
    """

    __slots__ = ("content_type", "data", "identity", "last_modified", "stat")

    def __init__(self, identity: Identity, stat: os.stat_result, data: bytes) -> None:
        self.identity = identity
        self.stat = stat
        self.data = data
        self.content_type: str | None = None
        self.last_modified: str | None = None


def identity(info: os.stat_result) -> Identity:
    """Return what must not change for a cached copy to stay valid."""
    return (
        info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
        info.st_mode, info.st_uid, info.st_gid, info.st_ctime_ns,
    )  # fmt: skip


class FileCache:
    """A bounded, thread-safe cache of small files' bytes, validated by ``stat``.

    *max_file_size* is the largest file kept; *max_total* bounds the bytes kept
    altogether.  Entries are checked against a fresh ``os.stat`` result on every
    lookup, so a file edited on disk is read again at once.

    .. versionadded:: 0.1
    """

    def __init__(self, max_file_size: int = 65536, max_total: int = 32 << 20) -> None:
        self.max_file_size = max_file_size
        self.max_total = max_total
        self._entries: dict[str, CachedFile] = {}
        self._total = 0
        self._lock = threading.Lock()

    def get(self, path: str, info: os.stat_result) -> CachedFile | None:
        """Return the entry for *path* if *info* (a fresh stat) still matches it."""
        entry = self._entries.get(path)
        if entry is None or entry.identity != identity(info):
            return None
        return entry

    def load(self, path: str, info: os.stat_result) -> CachedFile | None:
        """Read *path* and keep it, if it is small and did not change while read.

        Returns ``None`` (and keeps nothing) for a file over :attr:`max_file_size`,
        one that cannot be read, or one whose stat changed under the read.
        """
        if info.st_size > self.max_file_size:
            return None
        try:
            with open(path, "rb") as f:
                opened = os.fstat(f.fileno())
                data = f.read(self.max_file_size + 1)
        except OSError:
            return None
        if identity(opened) != identity(info) or len(data) != info.st_size:
            return None  # replaced or written to meanwhile: serve it the slow way
        entry = CachedFile(identity(info), opened, data)
        with self._lock:
            previous = self._entries.pop(path, None)
            if previous is not None:
                self._total -= len(previous.data)
            while self._entries and self._total + len(data) > self.max_total:
                oldest = next(iter(self._entries))
                self._total -= len(self._entries.pop(oldest).data)
            self._entries[path] = entry
            self._total += len(data)
        return entry

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._total = 0
