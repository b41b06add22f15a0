"""devserve.http11.errors: every error carries the status to answer with."""

from __future__ import annotations

import pytest

import devserve.http11 as http11
from devserve.http11 import errors


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (errors.ProtocolError, 400),
        (errors.BadRequestLine, 400),
        (errors.URITooLong, 414),
        (errors.HeaderFieldsTooLarge, 431),
        (errors.BadHeader, 400),
        (errors.BadFraming, 400),
        (errors.IncompleteMessage, 400),
        (errors.BodyTooLarge, 413),
        (errors.UnsupportedTransferCoding, 501),
        (errors.UnsupportedHTTPVersion, 505),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_status(cls: type[errors.ProtocolError], status: int) -> None:
    error = cls("reason")
    assert error.status == status
    assert isinstance(error, errors.ProtocolError)


def test_attributes() -> None:
    error = errors.BadHeader("Bad header", explain="why", version="HTTP/1.0")
    assert (error.message, error.explain, error.version) == ("Bad header", "why", "HTTP/1.0")
    assert str(error) == "Bad header"
    bare = errors.ProtocolError("x")
    assert (bare.explain, bare.version) == (None, None)


def test_incomplete_message_is_a_framing_error() -> None:
    assert issubclass(errors.IncompleteMessage, errors.BadFraming)


def test_package_exports_resolve() -> None:
    for name in http11.__all__:
        assert getattr(http11, name) is not None, name
    assert sorted(errors.__all__) == sorted(
        name for name in vars(errors) if isinstance(vars(errors)[name], type)
    )
