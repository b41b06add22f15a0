"""Run an installed CPython test module with stdlib modules swapped for devserve's.

Usage: python run_suite.py TEST_MODULE OLD=NEW [OLD=NEW ...] [-k SUBSTRING ...]

``OLD=NEW`` makes ``import OLD`` (and ``from PARENT import LEAF``) give module NEW.
Names the test module imports from OLD that NEW lacks are filled with a placeholder
class whose use fails, so the tests of a class devserve has not built yet fail one by
one instead of the whole module failing to import.  ``-k SUBSTRING`` (repeatable) runs
only the tests whose id contains one of the substrings.  Prints one JSON object: test
id -> outcome (pass, fail, error, skip, xfail, xpass).
"""

from __future__ import annotations

import importlib
import json
import sys
import unittest
from collections.abc import Iterator
from typing import Any


class _NotBuiltYet:
    """Stands in for a class devserve does not provide yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("devserve does not provide this class yet")


def swap(old: str, new: str) -> None:
    original = importlib.import_module(old)
    replacement = importlib.import_module(new)
    for name in getattr(original, "__all__", ()):
        if not hasattr(replacement, name):
            setattr(replacement, name, type(name, (_NotBuiltYet,), {}))
    sys.modules[old] = replacement
    parent, _, leaf = old.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), leaf, replacement)


class Recorder(unittest.TestResult):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, str] = {}

    def _record(self, test: unittest.TestCase, outcome: str) -> None:
        self.outcomes[test.id()] = outcome

    def addSuccess(self, test: unittest.TestCase) -> None:
        self._record(test, "pass")

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self._record(test, "fail")

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self._record(test, "error")

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        self._record(test, "skip")

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:
        self._record(test, "xfail")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        self._record(test, "xpass")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            super().addSubTest(test, subtest, err)
            self._record(test, "fail")


def _tests(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _tests(item)
        else:
            yield item


def main(argv: list[str]) -> int:
    module_name, *rest = argv
    swaps: list[str] = []
    patterns: list[str] = []
    items = iter(rest)
    for item in items:
        if item == "-k":
            patterns.append(next(items))
        else:
            swaps.append(item)
    for item in swaps:
        old, _, new = item.partition("=")
        swap(old, new)
    module = importlib.import_module(module_name)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    if patterns:
        suite = unittest.TestSuite(
            test for test in _tests(suite) if any(p in test.id() for p in patterns)
        )
    result = Recorder()
    suite.run(result)
    # Module cleanups (setUpModule's chdir) run like unittest.main would run them.
    unittest.case.doModuleCleanups()
    for test, trace in result.failures + result.errors:
        sys.stderr.write("=== %s\n%s\n" % (test.id() if hasattr(test, "id") else test, trace))
    sys.stdout.write(json.dumps(result.outcomes) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
