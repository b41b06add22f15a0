"""Write tests/vectors/ into a directory as a seed corpus for fuzz_http11.py.

Each vector is written twice, with the first byte the target reads as the strict
switch set and clear: ``python fuzz/seed.py DIR``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.vectors import ALL  # noqa: E402  (tests/ is not a package)


def main() -> None:
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for vector in ALL:
        for strict in (b"\x01", b"\x00"):
            data = strict + vector.data
            (target / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


if __name__ == "__main__":
    main()
