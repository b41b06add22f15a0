"""The programs in examples/, run as their docstrings say: on a port, stopped by pid."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.processes import serving

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


@contextmanager
def running_command(argv: list[str], port: int, cwd: Path | None = None) -> Iterator[int]:
    """Run *argv* until the block ends; yield *port* once it answers; Ctrl+C it by pid."""
    with serving(argv, port, cwd=cwd):
        yield port


def devserve_command() -> list[str]:
    """The ``devserve`` script installed beside this Python, else ``python -m devserve``."""
    script = Path(sys.executable).parent / "devserve"
    return [str(script)] if script.exists() else [sys.executable, "-m", "devserve"]
